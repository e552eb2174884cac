/* crioctl: CRI log files: parsing, tail, timestamps, and following a file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crioctl.h"
#include "logs.h"

#define NS_PER_SEC 1000000000LL

/* A line longer than this with no newline yet is printed as it is, so that
 * a runaway writer cannot make crioctl buffer without bound. */
#define MAX_CARRY ((size_t)16 * 1024 * 1024)

/* How often a follow re-checks the file when inotify is not available. */
#define FALLBACK_POLL_MS 250

/* ---- Times ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

static bool days_in_month_ok(unsigned y, unsigned m, unsigned d)
{
    static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    return !(m == 2 && d == 29 && !leap);
}

/* "YYYY-MM-DD" at s; false when not a valid date. */
static bool parse_date(const char *s, size_t len, unsigned *y, unsigned *m, unsigned *d)
{
    return len >= 10 && s[4] == '-' && s[7] == '-' && digits(s, 4, y) && digits(s + 5, 2, m) &&
           digits(s + 8, 2, d) && days_in_month_ok(*y, *m, *d);
}

/* ".123456789" at s (any number of digits, 9 kept); returns the length used. */
static size_t parse_fraction(const char *s, size_t len, int64_t *ns)
{
    size_t i = 1;
    int64_t scale = 100000000;

    *ns = 0;
    if (len < 2 || s[0] != '.' || s[1] < '0' || s[1] > '9')
        return 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        *ns += (s[i] - '0') * scale;
        scale /= 10;
    }
    return i;
}

/* "Z", "+hh:mm" or "-hh:mm"; returns the length used (0: none). */
static size_t parse_zone(const char *s, size_t len, int *offset)
{
    unsigned hh, mm;

    if (len >= 1 && (s[0] == 'Z' || s[0] == 'z')) {
        *offset = 0;
        return 1;
    }
    if (len >= 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':' && digits(s + 1, 2, &hh) &&
        digits(s + 4, 2, &mm) && hh < 24 && mm < 60) {
        *offset = (int)(hh * 3600 + mm * 60) * (s[0] == '-' ? -1 : 1);
        return 6;
    }
    return 0;
}

int crioctl_parse_rfc3339(const char *s, size_t len, int64_t *ns, int *tz_offset)
{
    unsigned y, mo, d, h, mi, sec;
    int64_t frac = 0;
    size_t i;

    if (!parse_date(s, len, &y, &mo, &d) || len < 19 || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':' || !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec) ||
        h > 23 || mi > 59 || sec > 60)
        return -EINVAL;
    i = 19 + parse_fraction(s + 19, len - 19, &frac);
    size_t z = parse_zone(s + i, len - i, tz_offset);
    if (!z || i + z != len)
        return -EINVAL;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - *tz_offset;
    *ns = secs * NS_PER_SEC + frac;
    return 0;
}

void crioctl_format_rfc3339nano(char *buf, size_t n, int64_t ns, int tz_offset)
{
    int64_t secs = ns / NS_PER_SEC, frac = ns % NS_PER_SEC;
    int64_t y;
    unsigned mo, d;
    char fbuf[16] = "", zbuf[16] = "Z";

    if (frac < 0) { /* floor division: times before 1970 */
        frac += NS_PER_SEC;
        secs--;
    }
    secs += tz_offset;
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    civil_from_days(days, &y, &mo, &d);
    if (frac) {
        snprintf(fbuf, sizeof(fbuf), ".%09lld", (long long)frac);
        for (size_t k = strlen(fbuf); fbuf[k - 1] == '0'; k--)
            fbuf[k - 1] = '\0';
    }
    if (tz_offset) {
        int a = tz_offset < 0 ? -tz_offset : tz_offset;
        snprintf(zbuf, sizeof(zbuf), "%c%02d:%02d", tz_offset < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
    }
    snprintf(buf, n, "%04lld-%02u-%02uT%02lld:%02lld:%02lld%s%s", (long long)y, mo, d, (long long)(rem / 3600),
             (long long)(rem % 3600 / 60), (long long)(rem % 60), fbuf, zbuf);
}

int crioctl_local_offset(int64_t ns)
{
    time_t t = (time_t)(ns / NS_PER_SEC);
    struct tm tm;

    if (!localtime_r(&t, &tm))
        return 0;
    return (int)tm.tm_gmtoff;
}

void crioctl_format_go_time(char *buf, size_t n, int64_t ns)
{
    int64_t secs = ns / NS_PER_SEC, frac = ns % NS_PER_SEC;
    char fbuf[16] = "";
    struct tm tm;
    time_t t;

    if (frac < 0) {
        frac += NS_PER_SEC;
        secs--;
    }
    t = (time_t)secs;
    if (!localtime_r(&t, &tm)) {
        snprintf(buf, n, "%lld", (long long)ns);
        return;
    }
    if (frac) {
        snprintf(fbuf, sizeof(fbuf), ".%09lld", (long long)frac);
        for (size_t k = strlen(fbuf); fbuf[k - 1] == '0'; k--)
            fbuf[k - 1] = '\0';
    }
    long off = tm.tm_gmtoff, a = off < 0 ? -off : off;
    snprintf(buf, n, "%04d-%02d-%02d %02d:%02d:%02d%s %c%02ld%02ld %s", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fbuf, off < 0 ? '-' : '+', a / 3600, a % 3600 / 60,
             tm.tm_zone ? tm.tm_zone : "");
}

/* A Unix time "secs[.frac]". */
static int parse_unix_time(const char *s, int64_t *out)
{
    int64_t secs = 0, frac = 0;
    size_t i = 0, len = strlen(s);

    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (secs > (INT64_MAX / NS_PER_SEC - 9) / 10)
            return -EINVAL;
        secs = secs * 10 + (s[i] - '0');
    }
    if (i == 0)
        return -EINVAL;
    if (i < len) {
        size_t f = parse_fraction(s + i, len - i, &frac);
        if (!f || i + f != len)
            return -EINVAL;
    }
    *out = secs * NS_PER_SEC + frac;
    return 0;
}

/* A local time "YYYY-MM-DD[THH:MM[:SS[.frac]]]" (no zone). */
static int parse_local_time(const char *s, int64_t *out)
{
    size_t len = strlen(s);
    unsigned y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t frac = 0;
    struct tm tm = { 0 };

    if (!parse_date(s, len, &y, &mo, &d))
        return -EINVAL;
    if (len > 10) {
        if ((s[10] != 'T' && s[10] != 't') || len < 16 || s[13] != ':' || !digits(s + 11, 2, &h) ||
            !digits(s + 14, 2, &mi) || h > 23 || mi > 59)
            return -EINVAL;
        if (len > 16 && (s[16] != ':' || len < 19 || !digits(s + 17, 2, &sec) || sec > 60 ||
                         19 + parse_fraction(s + 19, len - 19, &frac) != len))
            return -EINVAL;
        if (len != 16 && len < 19)
            return -EINVAL;
    } else if (len != 10) {
        return -EINVAL;
    }
    tm.tm_year = (int)y - 1900;
    tm.tm_mon = (int)mo - 1;
    tm.tm_mday = (int)d;
    tm.tm_hour = (int)h;
    tm.tm_min = (int)mi;
    tm.tm_sec = (int)sec;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    *out = (int64_t)t * NS_PER_SEC + frac;
    return 0;
}

int crioctl_log_parse_since(const char *s, int64_t now_ns, int64_t *out_ns)
{
    long ms;
    int off;

    if (!s || !*s)
        return -EINVAL;
    if (parse_unix_time(s, out_ns) == 0)
        return 0;
    /* A duration needs its unit here: a bare number is a Unix time. */
    if (crioctl_parse_duration(s, &ms) == 0) {
        *out_ns = now_ns - (int64_t)ms * 1000000;
        return 0;
    }
    if (crioctl_parse_rfc3339(s, strlen(s), out_ns, &off) == 0)
        return 0;
    return parse_local_time(s, out_ns);
}

/* ---- Records ---- */

int crioctl_log_parse_line(const char *line, size_t len, crioctl_log_record *rec)
{
    const char *sp1 = memchr(line, ' ', len), *sp2, *tag, *end = line + len;

    if (!sp1 || crioctl_parse_rfc3339(line, (size_t)(sp1 - line), &rec->time_ns, &rec->tz_offset) < 0)
        return -EINVAL;
    sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
    if (!sp2)
        return -EINVAL;
    if (sp2 - sp1 - 1 == 6 && memcmp(sp1 + 1, "stdout", 6) == 0)
        rec->stream = CRIOCTL_LOG_STDOUT;
    else if (sp2 - sp1 - 1 == 6 && memcmp(sp1 + 1, "stderr", 6) == 0)
        rec->stream = CRIOCTL_LOG_STDERR;
    else
        return -EINVAL;
    /* The tag: "F" or "P", maybe with more ':'-separated tags after. */
    tag = sp2 + 1;
    if (tag >= end || (*tag != 'F' && *tag != 'P') || (tag + 1 < end && tag[1] != ' ' && tag[1] != ':'))
        return -EINVAL;
    rec->partial = *tag == 'P';
    const char *sp3 = memchr(tag, ' ', (size_t)(end - tag));
    /* The content follows one space; a record of an empty line may lack it. */
    rec->text = sp3 ? sp3 + 1 : end;
    rec->text_len = (size_t)(end - rec->text);
    return 0;
}

/* The length of the line at data (to its '\n' or the end) and whether it has a '\n'. */
static size_t line_at(const char *data, size_t len, bool *complete)
{
    const char *nl = memchr(data, '\n', len);

    *complete = nl != NULL;
    return nl ? (size_t)(nl - data) : len;
}

/* Does this line end a printed line (not a "P" fragment)? */
static bool ends_line(const char *line, size_t n)
{
    crioctl_log_record rec;

    return crioctl_log_parse_line(line, n, &rec) < 0 || !rec.partial;
}

size_t crioctl_log_tail_start(const char *data, size_t len, long lines)
{
    size_t total = 0, skip, done = 0, at;
    bool open = false, complete;

    if (lines < 0)
        return 0;
    if (lines == 0)
        return len;
    for (at = 0; at < len;) {
        size_t n = line_at(data + at, len - at, &complete);
        open = !ends_line(data + at, n);
        total += !open;
        at += n + complete;
    }
    total += open; /* an unterminated fragment prints as a line */
    if (total <= (size_t)lines)
        return 0;
    skip = total - (size_t)lines;
    for (at = 0; at < len && done < skip;) {
        size_t n = line_at(data + at, len - at, &complete);
        done += ends_line(data + at, n);
        at += n + complete;
    }
    return at;
}

/* ---- Writing ---- */

void crioctl_log_writer_init(crioctl_log_writer *w)
{
    memset(w, 0, sizeof(*w));
    w->streams = CRIOCTL_LOG_BOTH;
    w->limit_bytes = -1;
}

bool crioctl_log_writer_full(const crioctl_log_writer *w)
{
    return w->limit_bytes >= 0 && w->written >= w->limit_bytes;
}

static void emit(crioctl_log_writer *w, FILE *f, const char *data, size_t n)
{
    if (w->limit_bytes >= 0 && (int64_t)n > w->limit_bytes - w->written)
        n = (size_t)(w->limit_bytes - w->written);
    if (n)
        fwrite(data, 1, n, f);
    w->written += (int64_t)n;
}

static void write_line(crioctl_log_writer *w, const char *line, size_t n, FILE *out, FILE *err)
{
    crioctl_log_record rec;
    char ts[64];

    if (crioctl_log_parse_line(line, n, &rec) < 0) {
        /* Not a record (another format, or damage): shown as it is. */
        if (w->streams & CRIOCTL_LOG_STDOUT) {
            emit(w, out, line, n);
            emit(w, out, "\n", 1);
        }
        w->mid_line = false;
        return;
    }
    if (!(rec.stream & w->streams) || (w->since_ns && rec.time_ns < w->since_ns))
        return;
    FILE *f = rec.stream == CRIOCTL_LOG_STDERR ? err : out;
    if (w->timestamps && !w->mid_line) {
        crioctl_format_rfc3339nano(ts, sizeof(ts) - 1, rec.time_ns, rec.tz_offset);
        strcat(ts, " ");
        emit(w, f, ts, strlen(ts));
    }
    emit(w, f, rec.text, rec.text_len);
    if (!rec.partial)
        emit(w, f, "\n", 1);
    w->mid_line = rec.partial;
}

size_t crioctl_log_write(crioctl_log_writer *w, const char *data, size_t len, bool final, FILE *out,
                         FILE *err)
{
    size_t at = 0;
    bool complete;

    while (at < len && !crioctl_log_writer_full(w)) {
        size_t n = line_at(data + at, len - at, &complete);
        if (!complete && !final)
            break;
        write_line(w, data + at, n, out, err);
        at += n + complete;
    }
    return crioctl_log_writer_full(w) ? len : at;
}

/* ---- Reading and following a file ---- */

struct follow {
    const crioctl_log_read_opts *o;
    crioctl_log_writer *w;
    FILE *out, *err;
    int fd;
    dev_t dev;
    ino_t ino;
    off_t offset;
    char *carry; /* read but not yet written: the start of an unfinished line */
    size_t carry_len, carry_cap;
};

static void flush_streams(const struct follow *f)
{
    fflush(f->out);
    fflush(f->err);
}

/* Writes what is carried; with `final`, an unfinished line too. */
static void write_carry(struct follow *f, bool final)
{
    size_t used = crioctl_log_write(f->w, f->carry, f->carry_len, final || f->carry_len >= MAX_CARRY, f->out,
                                    f->err);

    if (used && used < f->carry_len)
        memmove(f->carry, f->carry + used, f->carry_len - used);
    f->carry_len -= used;
}

static int carry_append(struct follow *f, const char *data, size_t n)
{
    if (n == 0)
        return 0;
    if (f->carry_len + n > f->carry_cap) {
        size_t cap = f->carry_cap ? f->carry_cap : 65536;
        while (cap < f->carry_len + n)
            cap *= 2;
        char *p = realloc(f->carry, cap);
        if (!p)
            return -ENOMEM;
        f->carry = p;
        f->carry_cap = cap;
    }
    memcpy(f->carry + f->carry_len, data, n);
    f->carry_len += n;
    return 0;
}

/* Prints the file as it is now (its last o->tail lines). */
static int print_initial(struct follow *f)
{
    struct stat st;
    size_t size, start, used;
    char *map;

    if (fstat(f->fd, &st) < 0)
        return -errno;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    size = (size_t)st.st_size;
    f->offset = (off_t)size;
    if (size == 0)
        return 0;
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, f->fd, 0);
    if (map == MAP_FAILED)
        return -errno;
    start = crioctl_log_tail_start(map, size, f->o->tail);
    used = crioctl_log_write(f->w, map + start, size - start, !f->o->follow, f->out, f->err);
    int r = carry_append(f, map + start + used, size - start - used);
    munmap(map, size);
    return r;
}

/* Reads what was appended since the last read and writes its complete lines. */
static int drain(struct follow *f)
{
    char buf[65536];
    ssize_t n;
    struct stat st;

    if (fstat(f->fd, &st) == 0 && st.st_size < f->offset) {
        /* Truncated in place (copytruncate): start over. */
        write_carry(f, true);
        f->offset = 0;
    }
    while ((n = pread(f->fd, buf, sizeof(buf), f->offset)) > 0) {
        f->offset += n;
        if (carry_append(f, buf, (size_t)n) < 0)
            return -ENOMEM;
        write_carry(f, false);
        if (crioctl_log_writer_full(f->w))
            break;
    }
    flush_streams(f);
    return n < 0 && errno != EINTR ? -errno : 0;
}

/* After a rotation the path names a new file: finish the old, switch to the new. */
static int follow_rotation(struct follow *f, bool *rotated)
{
    struct stat st;
    int fd, r;

    *rotated = false;
    if (stat(f->o->path, &st) < 0 || (st.st_dev == f->dev && st.st_ino == f->ino))
        return 0; /* the same file; or none yet, between the rename and the create */
    fd = open(f->o->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    r = drain(f);
    write_carry(f, true);
    close(f->fd);
    f->fd = fd;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->offset = 0;
    *rotated = true;
    return r;
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Watches the file's directory: writes, and the renames and creates of a rotation. */
static int watch_dir(const char *path)
{
    char *dir = strdup(path), *slash;
    int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

    if (!dir || ifd < 0) {
        free(dir);
        if (ifd >= 0)
            close(ifd);
        return -1;
    }
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    if (inotify_add_watch(ifd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                        IN_CLOSE_WRITE) < 0) {
        close(ifd);
        ifd = -1;
    }
    free(dir);
    return ifd;
}

/* Waits up to `ms` for a change (or just sleeps without inotify). */
static void wait_change(int ifd, int ms)
{
    struct pollfd p = { .fd = ifd, .events = POLLIN };
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    if (ifd < 0) {
        poll(NULL, 0, ms < FALLBACK_POLL_MS ? ms : FALLBACK_POLL_MS);
        return;
    }
    if (poll(&p, 1, ms) > 0)
        while (read(ifd, buf, sizeof(buf)) > 0) {
            /* Any event means "look again"; which one does not matter. */
        }
}

static int follow_loop(struct follow *f)
{
    const crioctl_log_read_opts *o = f->o;
    int ifd = watch_dir(o->path), check_ms = o->check_ms > 0 ? o->check_ms : 1000, r;
    int64_t next_check = 0;
    bool rotated;

    for (;;) {
        if ((r = drain(f)) < 0 || crioctl_log_writer_full(f->w))
            break;
        if ((r = follow_rotation(f, &rotated)) < 0)
            break;
        if (rotated)
            continue;
        int64_t now = mono_ms();
        if (now >= next_check) {
            int running = o->running ? o->running(o->payload) : 1;
            if (running <= 0) {
                /* Stopped: what it wrote before it stopped is in the file. */
                r = running < 0 ? running : drain(f);
                break;
            }
            next_check = now + check_ms;
        }
        wait_change(ifd, (int)(next_check - now));
    }
    if (r == 0)
        write_carry(f, true);
    flush_streams(f);
    if (ifd >= 0)
        close(ifd);
    return r;
}

int crioctl_log_read(const crioctl_log_read_opts *o, crioctl_log_writer *w, FILE *out, FILE *err,
                     const char **what)
{
    struct follow f = { .o = o, .w = w, .out = out, .err = err };
    int r;

    *what = "open";
    f.fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (f.fd < 0)
        return -errno;
    *what = "read";
    r = print_initial(&f);
    if (r == 0 && o->follow)
        r = follow_loop(&f);
    else if (r == 0)
        write_carry(&f, true);
    flush_streams(&f);
    close(f.fd);
    free(f.carry);
    return r;
}
