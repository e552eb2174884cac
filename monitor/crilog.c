/*
 * The container log in the CRI format the kubelet reads:
 *   <RFC3339Nano UTC> <stdout|stderr> <F|P> <text>\n
 * F ends a line; P is a piece of a longer one (a full buffer, or the
 * unfinished last line at exit).  Lines are written straight from the read
 * buffer; only an unfinished line is copied, into the stream's MON_LINE_MAX
 * buffer, so memory does not grow with line length.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "monitor.h"

/* Entries queued for one writev: a read's worth of short lines costs one syscall. */
#define BATCH_IOV 128

struct batch {
    struct iovec iov[BATCH_IOV];
    int n;
    size_t bytes;
};

static const char *const stream_names[] = { "stdout", "stderr" };
static const char newline[] = "\n";

/* Writes `v` as exactly `width` decimal digits. */
static char *put_digits(char *p, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void crilog_timestamp(char out[31], int64_t t)
{
    int64_t secs = t / 1000000000, nsec = t % 1000000000;
    if (nsec < 0) {
        nsec += 1000000000;
        secs--;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    /* Civil date from days since 1970-01-01 (proleptic Gregorian), without
     * gmtime_r: a static glibc would load time zone machinery for it. */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    uint64_t doe = (uint64_t)(z - era * 146097);
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint64_t mp = (5 * doy + 2) / 153;
    uint64_t day = doy - (153 * mp + 2) / 5 + 1;
    uint64_t month = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = (int64_t)yoe + era * 400 + (month <= 2);

    char *p = out;
    p = put_digits(p, (uint64_t)year, 4);
    *p++ = '-';
    p = put_digits(p, month, 2);
    *p++ = '-';
    p = put_digits(p, day, 2);
    *p++ = 'T';
    p = put_digits(p, (uint64_t)rem / 3600, 2);
    *p++ = ':';
    p = put_digits(p, (uint64_t)rem / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, (uint64_t)rem % 60, 2);
    *p++ = '.';
    p = put_digits(p, (uint64_t)nsec, 9);
    *p++ = 'Z';
    *p = '\0';
}

static void note_size(struct crilog *l)
{
    struct stat st;
    l->written = fstat(l->fd, &st) == 0 ? st.st_size : 0;
}

int crilog_open(struct crilog *l, const char *path, int64_t size_max, bool *created)
{
    l->path = path;
    l->size_max = size_max;
    l->pending[0] = l->pending[1] = 0;
    l->failing = false;
    /* O_EXCL first, to know whether a failed create should remove the file. */
    l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0640);
    *created = l->fd >= 0;
    if (l->fd < 0 && errno == EEXIST)
        l->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
    if (l->fd < 0)
        return -1;
    note_size(l);
    return 0;
}

int crilog_reopen(struct crilog *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (l->fd < 0)
        return -1;
    l->failing = false;
    note_size(l);
    return 0;
}

void crilog_close(struct crilog *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

static void batch_flush(struct crilog *l, struct batch *b)
{
    struct iovec *iov = b->iov;
    int n = b->n;
    while (n > 0) {
        ssize_t w = writev(l->fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            /* Report once per failing stretch (a full disk would repeat it per line). */
            if (!l->failing)
                mon_log(MON_ERROR, "write %s: %s", l->path, strerror(errno));
            l->failing = true;
            break;
        }
        l->failing = false;
        l->written += w;
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    b->n = 0;
    b->bytes = 0;
}

static void batch_add(struct batch *b, const void *p, size_t len)
{
    if (len == 0)
        return;
    b->iov[b->n].iov_base = (void *)p;
    b->iov[b->n].iov_len = len;
    b->n++;
}

/*
 * Keeps the file within size_max: when an entry would cross it, the file is
 * truncated and starts again with the newest entries.  Entries queued but
 * not yet written would be truncated at once, so they are dropped instead.
 * Returns false for an entry that cannot fit even in an empty file.
 */
static bool make_room(struct crilog *l, struct batch *b, size_t entry)
{
    if (l->size_max <= 0)
        return true;
    if ((int64_t)entry > l->size_max)
        return false;
    if (l->written + (int64_t)b->bytes + (int64_t)entry <= l->size_max)
        return true;
    b->n = 0;
    b->bytes = 0;
    if (ftruncate(l->fd, 0) < 0)
        mon_log(MON_ERROR, "truncate %s: %s", l->path, strerror(errno));
    l->written = 0;
    return true;
}

/* Queues one entry: header, the buffered start of the line, the rest, newline. */
static void queue_entry(struct crilog *l, struct batch *b, const char *hdr, size_t hdr_len, const char *head,
                        size_t head_len, const char *rest, size_t rest_len)
{
    size_t entry = hdr_len + head_len + rest_len + 1;
    if (l->fd < 0 || !make_room(l, b, entry))
        return;
    if (b->n + 4 > BATCH_IOV)
        batch_flush(l, b);
    batch_add(b, hdr, hdr_len);
    batch_add(b, head, head_len);
    batch_add(b, rest, rest_len);
    batch_add(b, newline, 1);
    b->bytes += entry;
}

/* "<time> <stream> F " and the same with P. */
static size_t make_headers(char hdr[2][48], enum mon_stream s)
{
    char ts[31];
    crilog_timestamp(ts, mon_now_ns());
    for (int i = 0; i < 2; i++) {
        char *p = hdr[i];
        memcpy(p, ts, 30);
        p[30] = ' ';
        memcpy(p + 31, stream_names[s], 6);
        p[37] = ' ';
        p[38] = i == 0 ? 'F' : 'P';
        p[39] = ' ';
    }
    return 40;
}

void crilog_write(struct crilog *l, enum mon_stream s, const char *data, size_t len)
{
    struct batch b = { .n = 0, .bytes = 0 };
    char hdr[2][48];
    size_t hdr_len = make_headers(hdr, s);
    size_t *pend = &l->pending[s];
    char *buf = l->buf[s];

    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t seg = nl ? (size_t)(nl - data) : len;
        /* Text past a full buffer goes out as P pieces; a line's end is written as F. */
        while (*pend + seg > MON_LINE_MAX || (!nl && *pend + seg >= MON_LINE_MAX)) {
            size_t take = MON_LINE_MAX - *pend;
            queue_entry(l, &b, hdr[1], hdr_len, buf, *pend, data, take);
            *pend = 0;
            data += take;
            seg -= take;
            len -= take;
        }
        if (!nl)
            break;
        queue_entry(l, &b, hdr[0], hdr_len, buf, *pend, data, seg);
        *pend = 0;
        data += seg + 1;
        len -= seg + 1;
    }
    /* Queued entries may point into buf: write them before it takes the new tail. */
    batch_flush(l, &b);
    memcpy(buf + *pend, data, len);
    *pend += len;
}

void crilog_flush(struct crilog *l)
{
    for (int s = MON_STDOUT; s <= MON_STDERR; s++) {
        if (l->pending[s] == 0)
            continue;
        struct batch b = { .n = 0, .bytes = 0 };
        char hdr[2][48];
        size_t hdr_len = make_headers(hdr, (enum mon_stream)s);
        queue_entry(l, &b, hdr[1], hdr_len, l->buf[s], l->pending[s], NULL, 0);
        batch_flush(l, &b);
        l->pending[s] = 0;
    }
}
