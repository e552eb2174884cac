/*
 * crioctl logs: reading a container's log file as crictl (the kubelet's log
 * reader) does.  The file is in the CRI log format, one record a line:
 *
 *   2016-10-06T00:17:09.669794202Z stdout F the text of the line
 *   <RFC 3339 time>                <stream> <tag> <content>
 *
 * tag "F" ends a line; "P" is a fragment of a longer line that the next
 * records continue (the runtime splits long lines).  Fragments are joined on
 * output: a fragment is written without its newline, and with --timestamps
 * only the first fragment of a line carries the time.
 *
 * The parsing, tail and formatting functions are pure, for the unit tests;
 * crioctl_log_read does the file work (and following, with inotify).
 */
#ifndef CRIO_CLI_LOGS_H
#define CRIO_CLI_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { CRIOCTL_LOG_STDOUT = 1, CRIOCTL_LOG_STDERR = 2, CRIOCTL_LOG_BOTH = 3 };

/* One record (line) of a CRI log file; text points into the line. */
typedef struct {
    int64_t time_ns;  /* UTC, nanoseconds since the epoch */
    int tz_offset;    /* of the timestamp as written, seconds east of UTC */
    int stream;       /* CRIOCTL_LOG_STDOUT or CRIOCTL_LOG_STDERR */
    bool partial;     /* tag "P": the line goes on in the next record */
    const char *text; /* the content, without the newline */
    size_t text_len;
} crioctl_log_record;

/* Parses one line of a log file (`len` bytes, without the '\n').  Returns 0,
 * or -EINVAL when it is not a CRI log record. */
int crioctl_log_parse_line(const char *line, size_t len, crioctl_log_record *rec);

/*
 * Parses an RFC 3339 time with an optional fraction (up to 9 digits are
 * kept) and a zone "Z" or "+hh:mm" into UTC nanoseconds and the zone's
 * offset.  Returns 0 or -EINVAL.
 */
int crioctl_parse_rfc3339(const char *s, size_t len, int64_t *ns, int *tz_offset);

/* Formats as Go's time.RFC3339Nano: "2006-01-02T15:04:05.999999999Z07:00"
 * (trailing zeros of the fraction dropped, "Z" for a zero offset). */
void crioctl_format_rfc3339nano(char *buf, size_t n, int64_t ns, int tz_offset);

/* The local time zone's offset from UTC at `ns`, in seconds. */
int crioctl_local_offset(int64_t ns);

/* Formats as Go prints a time.Time (%v) in the local zone, which crictl's
 * "Created:" lines show: "2006-01-02 15:04:05.999999999 -0700 MST". */
void crioctl_format_go_time(char *buf, size_t n, int64_t ns);

/*
 * Parses --since: a relative duration before `now_ns` ("42m", "1h30m", as
 * crioctl_parse_duration), a Unix time ("1700000000", "1700000000.5"), or an
 * RFC 3339 time, also without the zone (local time), the seconds or the
 * time of day ("2013-01-02T13:23:37", "2013-01-02T13:23", "2013-01-02").
 * Returns 0 with *out_ns, or -EINVAL.
 */
int crioctl_log_parse_since(const char *s, int64_t now_ns, int64_t *out_ns);

/*
 * The offset in data[0..len) where the last `lines` log lines start; 0 when
 * there are fewer, `len` for 0 lines; all (0) when lines < 0.  A line is
 * what is printed as one: a run of "P" fragments and the "F" record that
 * ends it (the kubelet counts records instead, which cuts long lines).  A
 * line that is not a record counts as one; so does an unterminated last
 * fragment.
 */
size_t crioctl_log_tail_start(const char *data, size_t len, long lines);

/* Writes records to the output streams. */
typedef struct {
    /* Options. */
    bool timestamps;     /* prefix each line with its time (RFC3339Nano) */
    int64_t since_ns;    /* skip records older than this; 0: none */
    int streams;         /* CRIOCTL_LOG_STDOUT and/or CRIOCTL_LOG_STDERR */
    int64_t limit_bytes; /* stop after writing this many bytes; < 0: no limit */
    /* State. */
    bool mid_line;       /* the last record written was a fragment */
    int64_t written;
} crioctl_log_writer;

/* A writer with the defaults: both streams, no limit. */
void crioctl_log_writer_init(crioctl_log_writer *w);

/* True once limit_bytes have been written. */
bool crioctl_log_writer_full(const crioctl_log_writer *w);

/*
 * Writes the records of the complete lines in data[0..len) to `out` (stdout
 * records, and lines that are not records, as they are) and `err` (stderr
 * records).  A last line without its '\n' is left for the next call, unless
 * `final`.  Returns the number of bytes consumed.
 */
size_t crioctl_log_write(crioctl_log_writer *w, const char *data, size_t len, bool final, FILE *out,
                         FILE *err);

/* Asked while following: 1 when the container still runs, 0 when it does
 * not (the rest of the file is printed, then the read ends), < 0 to stop
 * with an error (reported by the callback). */
typedef int (*crioctl_log_running_fn)(void *payload);

typedef struct {
    const char *path;
    long tail;                      /* lines from the end; < 0: all */
    bool follow;                    /* wait for more until the container stops */
    int check_ms;                   /* how often `running` is asked (follow) */
    crioctl_log_running_fn running; /* NULL: runs until interrupted */
    void *payload;
} crioctl_log_read_opts;

/*
 * Prints the log file at o->path through the writer, and with o->follow the
 * lines appended after, until the container stops.  A rotated file (renamed
 * away and a new one created under the path) is finished, then the new one
 * is read from its start; a truncated one is read again from its start.
 * Returns 0, or -errno (the file could not be opened or read; stated in
 * *what, a static string) or the callback's error.
 */
int crioctl_log_read(const crioctl_log_read_opts *o, crioctl_log_writer *w, FILE *out, FILE *err,
                     const char **what);

#endif
