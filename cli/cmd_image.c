/*
 * crioctl: image commands, as crictl has them: pull, images, inspecti, rmi,
 * imagefsinfo; and `image import`, which crictl lacks.
 *
 * pull and import use crio-server's own libcrio.v1.Images service (a pull
 * that streams per-layer progress; an import): the CRI has neither.  The
 * other commands speak the CRI ImageService.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "api.pb-c.h"
#include "crioctl.h"
#include "libcrio.pb-c.h"

#define IMAGE_SERVICE "/runtime.v1.ImageService/"
#define LIBCRIO_IMAGES "/libcrio.v1.Images/"

/* Width of a progress bar, between the brackets, on a wide enough terminal. */
#define BAR_WIDTH 30

const char crioctl_help_pull[] =
    "      --creds USER[:PASSWORD]  credentials for the registry\n"
    "      --auth AUTH              credentials as base64 \"USER:PASSWORD\"\n"
    "  -u, --username USER          the registry user; the password is read from the terminal\n"
    "      --pull-timeout DURATION  give up after DURATION (2m, 1h30m); 0, the default, waits\n"
    "                               as long as the pull takes (the global --timeout does not apply)\n"
    "On a terminal, a progress bar per layer shows the download.\n";

#define IMAGES_OPTIONS                                                              \
    "  -q, --quiet           only show image ids\n"                                   \
    "      --digests         show digests\n"                                          \
    "      --no-trunc        show ids and digests in full\n"                          \
    "      --pinned          show whether each image is pinned\n"                     \
    "  -v, --verbose         show every field of each image\n"                        \
    "  -o, --output FORMAT   output format: table (the default) or json\n"

#define IMPORT_OPTIONS                                                              \
    "      --name NAME       name the image NAME (a reference); default: the name\n"  \
    "                        recorded in the layout or archive\n"                     \
    "  PATH                  an OCI image layout directory or an OCI/Docker archive\n" \
    "                        on the server's host; a relative path is taken from\n"   \
    "                        crioctl's working directory\n"

const char crioctl_help_images[] = IMAGES_OPTIONS;

const char crioctl_help_image[] = IMAGES_OPTIONS "image import (prints the image id; runs without a deadline):\n"
                                                 IMPORT_OPTIONS;

const char crioctl_help_inspecti[] =
    "  -o, --output FORMAT   output format: json (the default) or table\n"
    "  -q, --quiet           do not ask for verbose information\n";

const char crioctl_help_rmi[] =
    "  -a, --all             remove all images\n";

const char crioctl_help_imagefsinfo[] =
    "  -o, --output FORMAT   output format: json (the default) or table\n";

/* ---- Helpers ---- */

/* Binary units with one decimal, for progress: "512B", "12.3MiB". */
static void binary_size(char *buf, size_t n, uint64_t v)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    double d = (double)v;
    size_t i = 0;

    if (v < 1024) {
        snprintf(buf, n, "%" PRIu64 "B", v);
        return;
    }
    d /= 1024.0;
    while (d >= 1024.0 && i + 1 < sizeof(units) / sizeof(units[0])) {
        d /= 1024.0;
        i++;
    }
    snprintf(buf, n, "%.1f%s", d, units[i]);
}

/* crictl's getTruncatedID: drop `prefix`, keep CRIOCTL_TRUNCATED_ID_LEN characters. */
static void truncated_id(char *buf, size_t n, const char *id, const char *prefix)
{
    size_t pl = strlen(prefix);

    if (strncmp(id, prefix, pl) == 0)
        id += pl;
    crioctl_truncate_id(buf, n, id);
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* obj[key] = item (taken); false when out of memory. */
static bool add_member(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return false;
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return false;
    }
    return true;
}

static Runtime__V1__ImageSpec *image_spec(Runtime__V1__ImageSpec *spec, const char *name)
{
    runtime__v1__image_spec__init(spec);
    spec->image = (char *)name;
    return spec;
}

/* ImageStatus of `name` into *out (free it; its image is NULL when absent).  0, or -1 (printed). */
static int image_status(crioctl_ctx *ctx, const char *name, bool verbose, Runtime__V1__ImageStatusResponse **out)
{
    Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
    Runtime__V1__ImageSpec spec;
    ProtobufCMessage *m;

    req.image = image_spec(&spec, name);
    req.verbose = verbose;
    if (crioctl_call(ctx, CRIOCTL_IMAGE_SERVICE, IMAGE_SERVICE "ImageStatus", &req.base,
                     &runtime__v1__image_status_response__descriptor, &m) < 0)
        return -1;
    *out = (Runtime__V1__ImageStatusResponse *)m;
    return 0;
}

/* ---- pull ---- */

struct layer_bar {
    char *digest;
    uint64_t done, total;
};

struct pull_view {
    bool tty;
    struct layer_bar *bars;
    size_t n, cap;
    size_t drawn; /* bar lines on the screen, below which the cursor is */
    char *image_ref;
};

/* The terminal's size (80x24 when unknown). */
static void term_size(int *cols, int *rows)
{
    struct winsize ws;

    *cols = 80;
    *rows = 24;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
        if (ws.ws_col > 0)
            *cols = ws.ws_col;
        if (ws.ws_row > 0)
            *rows = ws.ws_row;
    }
}

/* "sha256:0123456789ab…" for a digest; other strings as they are (cut). */
static void short_digest(char *buf, size_t n, const char *digest)
{
    const char *colon = strchr(digest, ':');

    if (colon && strlen(colon + 1) > 12)
        snprintf(buf, n, "%.*s%.12s\xe2\x80\xa6", (int)(colon - digest + 1), digest, colon + 1);
    else
        snprintf(buf, n, "%.80s", digest);
}

static void draw_bar(const struct layer_bar *b, int cols)
{
    char label[128], done[32], total[32], sizes[80], bar[BAR_WIDTH + 1];
    int width = BAR_WIDTH;

    short_digest(label, sizeof(label), b->digest);
    binary_size(done, sizeof(done), b->done);
    if (b->total) {
        binary_size(total, sizeof(total), b->total);
        snprintf(sizes, sizeof(sizes), "%s/%s", done, total);
    } else {
        snprintf(sizes, sizeof(sizes), "%s", done);
    }
    /* label "  [" bar "] " sizes, and one column spare so the line never wraps. */
    int fixed = (int)(crioctl_text_width(label) + 5 + strlen(sizes)) + 1;
    if (fixed + width > cols)
        width = cols - fixed;
    if (width < 5) {
        printf("\r%s  %s\x1b[K\n", label, sizes);
        return;
    }
    int filled = 0;
    if (b->total)
        filled = b->done >= b->total ? width : (int)((double)b->done / (double)b->total * width);
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '=' : ' ';
    if (b->total && filled < width)
        bar[filled] = '>';
    bar[width] = '\0';
    printf("\r%s  [%s] %s\x1b[K\n", label, bar, sizes);
}

/*
 * Redraws the bars in place: up to the first bar line, then each line over
 * its old self.  Only as many as fit on the screen (the last ones): the
 * cursor cannot move above its top.
 */
static void draw_bars(struct pull_view *v)
{
    int cols, rows;
    size_t shown = v->n;

    term_size(&cols, &rows);
    if (rows > 1 && shown > (size_t)rows - 1)
        shown = (size_t)rows - 1;
    if (v->drawn)
        printf("\x1b[%zuA", v->drawn);
    for (size_t i = v->n - shown; i < v->n; i++)
        draw_bar(&v->bars[i], cols);
    v->drawn = shown;
    fflush(stdout);
}

static int on_pull_event(crioctl_ctx *ctx, const ProtobufCMessage *msg, void *payload)
{
    const Libcrio__V1__PullEvent *ev = (const Libcrio__V1__PullEvent *)msg;
    struct pull_view *v = payload;

    if (ev->image_ref && ev->image_ref[0]) {
        free(v->image_ref);
        v->image_ref = strdup(ev->image_ref);
        if (!v->image_ref) {
            crioctl_error(ctx, "out of memory");
            return 1;
        }
        return 0;
    }
    if (!v->tty || !ev->digest || !ev->digest[0])
        return 0;
    size_t i;
    for (i = 0; i < v->n; i++)
        if (strcmp(v->bars[i].digest, ev->digest) == 0)
            break;
    if (i == v->n) {
        if (v->n == v->cap) {
            size_t cap = v->cap ? v->cap * 2 : 8;
            struct layer_bar *b = realloc(v->bars, cap * sizeof(*b));
            if (!b)
                return 0; /* progress is a nicety */
            v->bars = b;
            v->cap = cap;
        }
        v->bars[i].digest = strdup(ev->digest);
        if (!v->bars[i].digest)
            return 0;
        v->n++;
    }
    v->bars[i].done = ev->done;
    v->bars[i].total = ev->total;
    draw_bars(v);
    return 0;
}

/* Reads a password from stdin, without echo on a terminal (crictl's --username).  The
 * prompt goes to stderr, so that stdout has only the pull's result. */
static char *read_password(void)
{
    struct termios old, quiet;
    bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    fputs("Enter Password:", stderr);
    fflush(stderr);
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    n = getline(&line, &cap, stdin);
    if (tty)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    if (n < 0) {
        free(line);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

int crioctl_cmd_pull(crioctl_ctx *ctx, int argc, char **argv)
{
    enum { OPT_CREDS = 256, OPT_AUTH, OPT_PULL_TIMEOUT };
    static const struct option opts[] = { { "creds", required_argument, NULL, OPT_CREDS },
                                          { "auth", required_argument, NULL, OPT_AUTH },
                                          { "username", required_argument, NULL, 'u' },
                                          { "pull-timeout", required_argument, NULL, OPT_PULL_TIMEOUT },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    Libcrio__V1__PullRequest req = LIBCRIO__V1__PULL_REQUEST__INIT;
    struct pull_view view = { 0 };
    const char *creds = NULL, *auth = NULL, *username = NULL;
    char *user = NULL, *password = NULL;
    long pull_timeout = 0, saved_timeout;
    int opt, r;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, "+:u:" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1) {
        switch (opt) {
        case OPT_CREDS:
            creds = optarg;
            break;
        case OPT_AUTH:
            auth = optarg;
            break;
        case 'u':
            username = optarg;
            break;
        case OPT_PULL_TIMEOUT:
            if (crioctl_parse_duration(optarg, &pull_timeout) < 0) {
                crioctl_error(ctx, "invalid --pull-timeout \"%s\": expected a duration such as 2m or 1h30m",
                              optarg);
                return 1;
            }
            break;
        default:
            if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
                return r;
        }
    }
    if (optind >= argc || !argv[optind][0]) {
        crioctl_error(ctx, "image name cannot be empty (usage: crioctl pull [OPTIONS] NAME[:TAG|@DIGEST])");
        return 1;
    }
    if (argc - optind > 1) {
        crioctl_error(ctx, "unexpected argument \"%s\": pull takes one image", argv[optind + 1]);
        return 1;
    }
    req.image = argv[optind];

    /* crictl's getAuth: --username (with a prompt), else --creds, else --auth. */
    if (username && username[0]) {
        password = read_password();
        if (!password) {
            crioctl_error(ctx, "cannot read the password");
            return 1;
        }
        req.username = (char *)username;
        req.password = password;
    } else if (creds && auth) {
        crioctl_error(ctx, "both --creds and --auth are specified");
        return 1;
    } else if (creds) {
        const char *colon = strchr(creds, ':');
        if (!creds[0]) {
            crioctl_error(ctx, "credentials can't be empty");
            return 1;
        }
        if (colon == creds) {
            crioctl_error(ctx, "username can't be empty");
            return 1;
        }
        user = colon ? strndup(creds, (size_t)(colon - creds)) : strdup(creds);
        if (!user) {
            crioctl_error(ctx, "out of memory");
            return 1;
        }
        req.username = user;
        if (colon)
            req.password = (char *)colon + 1;
    } else if (auth) {
        req.auth = (char *)auth;
    }

    view.tty = isatty(STDOUT_FILENO) == 1;
    /* Like crictl, the pull has its own timeout (none by default): a big image takes long. */
    saved_timeout = ctx->timeout_ms;
    ctx->timeout_ms = pull_timeout;
    r = crioctl_call_stream(ctx, CRIOCTL_IMAGE_SERVICE, LIBCRIO_IMAGES "Pull", &req.base,
                            &libcrio__v1__pull_event__descriptor, on_pull_event, &view);
    ctx->timeout_ms = saved_timeout;
    if (r == 0 && !view.image_ref) {
        crioctl_error(ctx, "INTERNAL: the pull ended without naming the image");
        r = -1;
    }
    if (r == 0)
        printf("Image is up to date for %s\n", view.image_ref);
    for (size_t i = 0; i < view.n; i++)
        free(view.bars[i].digest);
    free(view.bars);
    free(view.image_ref);
    free(user);
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
    }
    return r < 0 ? 1 : 0;
}

/* ---- images ---- */

/* crictl's imageByRef order: first tag, else first digest, else id. */
static int image_cmp(const void *a, const void *b)
{
    const Runtime__V1__Image *x = *(Runtime__V1__Image *const *)a, *y = *(Runtime__V1__Image *const *)b;

    if (x->n_repo_tags && y->n_repo_tags)
        return strcmp(x->repo_tags[0], y->repo_tags[0]);
    if (x->n_repo_digests && y->n_repo_digests)
        return strcmp(x->repo_digests[0], y->repo_digests[0]);
    return strcmp(str_or_empty(x->id), str_or_empty(y->id));
}

/* Splits the first repo digest "name@sha256:..." (crictl's normalizeRepoDigest); malloc'd. */
static void repo_digest_parts(const Runtime__V1__Image *img, char **name, char **digest)
{
    const char *at;

    if (!img->n_repo_digests) {
        *name = strdup("<none>");
        *digest = strdup("<none>");
    } else if (!(at = strchr(img->repo_digests[0], '@')) || strchr(at + 1, '@')) {
        *name = strdup("errorName");
        *digest = strdup("errorRepoDigest");
    } else {
        *name = strndup(img->repo_digests[0], (size_t)(at - img->repo_digests[0]));
        *digest = strdup(at + 1);
    }
}

struct images_opts {
    bool quiet, digests, no_trunc, pinned, verbose;
};

static void print_image_verbose(const Runtime__V1__Image *img)
{
    printf("ID: %s\n", str_or_empty(img->id));
    for (size_t i = 0; i < img->n_repo_tags; i++)
        printf("RepoTags: %s\n", img->repo_tags[i]);
    for (size_t i = 0; i < img->n_repo_digests; i++)
        printf("RepoDigests: %s\n", img->repo_digests[i]);
    if (img->size)
        printf("Size: %" PRIu64 "\n", img->size);
    if (img->uid)
        printf("Uid: value:%" PRId64 "\n", img->uid->value);
    if (img->username && img->username[0])
        printf("Username: %s\n", img->username);
    if (img->pinned)
        printf("Pinned: true\n");
    printf("\n");
}

/* Adds an image's rows (one per tag) to the table; returns 0 or -1 (out of memory). */
static int add_image_rows(crioctl_table *t, const Runtime__V1__Image *img, const struct images_opts *o)
{
    char *name = NULL, *digest = NULL, id[80], dig[128], size[32];
    const char *row[6];
    int r = 0;

    repo_digest_parts(img, &name, &digest);
    if (!name || !digest) {
        free(name);
        free(digest);
        return -1;
    }
    crioctl_human_size_precision(size, sizeof(size), (double)img->size, 3);
    if (o->no_trunc) {
        snprintf(id, sizeof(id), "%s", str_or_empty(img->id));
        snprintf(dig, sizeof(dig), "%s", digest);
    } else {
        truncated_id(id, sizeof(id), str_or_empty(img->id), "sha256:");
        truncated_id(dig, sizeof(dig), digest, "sha256:");
    }
    /* crictl's normalizeRepoTagPair: one row per tag, split at the last ':'. */
    for (size_t i = 0; r == 0 && i < (img->n_repo_tags ? img->n_repo_tags : 1); i++) {
        char *repo = NULL;
        const char *tag = "<none>";
        size_t n = 0;
        if (!img->n_repo_tags) {
            repo = strdup(name);
        } else {
            const char *colon = strrchr(img->repo_tags[i], ':');
            if (!colon) {
                repo = strdup("errorRepoTag");
                tag = "errorRepoTag";
            } else {
                repo = strndup(img->repo_tags[i], (size_t)(colon - img->repo_tags[i]));
                tag = colon + 1;
                if (repo && strcmp(repo, "<none>") == 0) {
                    free(repo);
                    repo = strdup(name);
                }
            }
        }
        if (!repo) {
            r = -1;
            break;
        }
        row[n++] = repo;
        row[n++] = tag;
        if (o->digests)
            row[n++] = dig;
        row[n++] = id;
        row[n++] = size;
        if (o->pinned)
            row[n++] = img->pinned ? "true" : "false";
        r = crioctl_table_add(t, n, row) < 0 ? -1 : 0;
        free(repo);
    }
    free(name);
    free(digest);
    return r;
}

static int list_images(crioctl_ctx *ctx, const char *filter, const struct images_opts *o)
{
    Runtime__V1__ListImagesRequest req = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
    Runtime__V1__ImageFilter f = RUNTIME__V1__IMAGE_FILTER__INIT;
    Runtime__V1__ImageSpec spec;
    Runtime__V1__ListImagesResponse *resp;
    ProtobufCMessage *m;
    int r = 0;

    f.image = image_spec(&spec, filter ? filter : "");
    req.filter = &f;
    if (crioctl_call(ctx, CRIOCTL_IMAGE_SERVICE, IMAGE_SERVICE "ListImages", &req.base,
                     &runtime__v1__list_images_response__descriptor, &m) < 0)
        return 1;
    resp = (Runtime__V1__ListImagesResponse *)m;
    if (resp->n_images > 1)
        qsort(resp->images, resp->n_images, sizeof(*resp->images), image_cmp);

    if (ctx->output == CRIOCTL_OUTPUT_JSON) {
        r = crioctl_print_json_doc(ctx, crioctl_pb_to_json(m));
    } else if (o->quiet) {
        for (size_t i = 0; i < resp->n_images; i++)
            printf("%s\n", str_or_empty(resp->images[i]->id));
    } else if (o->verbose) {
        for (size_t i = 0; i < resp->n_images; i++)
            print_image_verbose(resp->images[i]);
    } else {
        crioctl_table *t = crioctl_table_new(10, 3);
        const char *head[6];
        size_t n = 0;
        head[n++] = "IMAGE";
        head[n++] = "TAG";
        if (o->digests)
            head[n++] = "DIGEST";
        head[n++] = "IMAGE ID";
        head[n++] = "SIZE";
        if (o->pinned)
            head[n++] = "PINNED";
        r = t && crioctl_table_add(t, n, head) == 0 ? 0 : -1;
        for (size_t i = 0; r == 0 && i < resp->n_images; i++)
            r = add_image_rows(t, resp->images[i], o);
        if (r < 0) {
            crioctl_error(ctx, "out of memory");
            r = 1;
        } else {
            r = crioctl_table_print(t, stdout) < 0 ? 1 : 0;
        }
        crioctl_table_free(t);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return r;
}

int crioctl_cmd_images(crioctl_ctx *ctx, int argc, char **argv)
{
    enum { OPT_DIGESTS = 256, OPT_NO_TRUNC, OPT_PINNED };
    static const struct option opts[] = { { "quiet", no_argument, NULL, 'q' },
                                          { "verbose", no_argument, NULL, 'v' },
                                          { "digests", no_argument, NULL, OPT_DIGESTS },
                                          { "no-trunc", no_argument, NULL, OPT_NO_TRUNC },
                                          { "pinned", no_argument, NULL, OPT_PINNED },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    struct images_opts o = { 0 };
    int opt, r;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, "+:qv" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1) {
        switch (opt) {
        case 'q':
            o.quiet = true;
            break;
        case 'v':
            o.verbose = true;
            break;
        case OPT_DIGESTS:
            o.digests = true;
            break;
        case OPT_NO_TRUNC:
            o.no_trunc = true;
            break;
        case OPT_PINNED:
            o.pinned = true;
            break;
        default:
            if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
                return r;
        }
    }
    if (argc - optind > 1) {
        crioctl_error(ctx, "unexpected argument \"%s\": %s takes at most one filter (REPOSITORY[:TAG])",
                      argv[optind + 1], ctx->cmd ? ctx->cmd->name : "images");
        return 1;
    }
    return list_images(ctx, optind < argc ? argv[optind] : NULL, &o);
}

/* ---- image import ---- */

static const crioctl_command import_command = {
    "image import", NULL,
    "Import an image from an OCI layout directory or an OCI/Docker archive; print its id",
    "[OPTIONS] PATH", IMPORT_OPTIONS "  (the import runs without a deadline)\n", NULL,
};

/* An absolute form of `path` (the server's working directory is not ours); malloc'd. */
static char *absolute_path(const char *path)
{
    char *cwd, *out = NULL;

    if (path[0] == '/')
        return strdup(path);
    cwd = getcwd(NULL, 0);
    if (!cwd)
        return NULL;
    if (asprintf(&out, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path) < 0)
        out = NULL;
    free(cwd);
    return out;
}

static int image_import(crioctl_ctx *ctx, int argc, char **argv)
{
    enum { OPT_NAME = 256 };
    static const struct option opts[] = { { "name", required_argument, NULL, OPT_NAME },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    Libcrio__V1__ImportRequest req = LIBCRIO__V1__IMPORT_REQUEST__INIT;
    Libcrio__V1__ImportResponse *resp;
    ProtobufCMessage *m;
    const char *name = NULL;
    char *path;
    long saved_timeout;
    int opt, r;

    /* No "+": options may follow the path too (`image import PATH --name NAME`). */
    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, ":" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1) {
        if (opt == OPT_NAME)
            name = optarg;
        else if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
            return r;
    }
    if (argc - optind > 1) {
        crioctl_error(ctx, "unexpected argument \"%s\": import takes one path", argv[optind + 1]);
        return 1;
    }
    if (optind >= argc || !argv[optind][0]) {
        crioctl_error(ctx, "no path given (usage: crioctl image import [--name NAME] PATH)");
        return 1;
    }
    path = absolute_path(argv[optind]);
    if (!path) {
        crioctl_error(ctx, "%s: %s", argv[optind], strerror(errno));
        return 1;
    }
    req.path = path;
    if (name)
        req.name = (char *)name;
    saved_timeout = ctx->timeout_ms;
    ctx->timeout_ms = 0; /* an import takes as long as the image is big */
    r = crioctl_call(ctx, CRIOCTL_IMAGE_SERVICE, LIBCRIO_IMAGES "Import", &req.base,
                     &libcrio__v1__import_response__descriptor, &m);
    ctx->timeout_ms = saved_timeout;
    free(path);
    if (r < 0)
        return 1;
    resp = (Libcrio__V1__ImportResponse *)m;
    if (ctx->output == CRIOCTL_OUTPUT_JSON)
        r = crioctl_print_json_doc(ctx, crioctl_pb_to_json(m));
    else
        printf("%s\n", str_or_empty(resp->image_id));
    protobuf_c_message_free_unpacked(m, NULL);
    return r;
}

int crioctl_cmd_image(crioctl_ctx *ctx, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "import") == 0) {
        const crioctl_command *saved = ctx->cmd;
        int r;
        ctx->cmd = &import_command;
        r = image_import(ctx, argc - 1, argv + 1);
        ctx->cmd = saved;
        return r;
    }
    return crioctl_cmd_images(ctx, argc, argv);
}

/* ---- inspecti ---- */

/* {"status": image, then the info map by key, values embedded as JSON when they are JSON}. */
static cJSON *image_status_json(const ProtobufCMessage *msg)
{
    const Runtime__V1__ImageStatusResponse *resp = (const Runtime__V1__ImageStatusResponse *)msg;
    cJSON *root = cJSON_CreateObject();
    Runtime__V1__ImageStatusResponse__InfoEntry **sorted = NULL;
    bool ok = root && add_member(root, "status", crioctl_pb_to_json((const ProtobufCMessage *)resp->image));

    if (ok && resp->n_info) {
        sorted = malloc(resp->n_info * sizeof(*sorted));
        ok = sorted != NULL;
    }
    if (ok && sorted) {
        for (size_t i = 0; i < resp->n_info; i++) { /* insertion sort: the map is small */
            size_t j = i;
            while (j > 0 && strcmp(str_or_empty(sorted[j - 1]->key), str_or_empty(resp->info[i]->key)) > 0) {
                sorted[j] = sorted[j - 1];
                j--;
            }
            sorted[j] = resp->info[i];
        }
        for (size_t i = 0; ok && i < resp->n_info; i++) {
            const char *k = str_or_empty(sorted[i]->key), *v = str_or_empty(sorted[i]->value);
            if (strcmp(k, "status") == 0 || cJSON_GetObjectItemCaseSensitive(root, k))
                continue; /* never shadow the status, nor a key seen already */
            cJSON *parsed = cJSON_ParseWithOpts(v, NULL, 1);
            cJSON *item = parsed ? cJSON_CreateRaw(v) : cJSON_CreateString(v);
            cJSON_Delete(parsed);
            ok = add_member(root, k, item);
        }
    }
    free(sorted);
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static void print_image_status_table(const ProtobufCMessage *msg, bool verbose)
{
    const Runtime__V1__ImageStatusResponse *resp = (const Runtime__V1__ImageStatusResponse *)msg;
    const Runtime__V1__Image *img = resp->image;
    char size[32];

    printf("ID: %s\n", str_or_empty(img->id));
    for (size_t i = 0; i < img->n_repo_tags; i++)
        printf("Tag: %s\n", img->repo_tags[i]);
    for (size_t i = 0; i < img->n_repo_digests; i++)
        printf("Digest: %s\n", img->repo_digests[i]);
    crioctl_human_size_precision(size, sizeof(size), (double)img->size, 3);
    printf("Size: %s\n", size);
    if (verbose) {
        /* Go's %v of a map[string]string: map[k:v ...], keys sorted. */
        printf("Info: map[");
        const char *last = NULL;
        for (size_t n = 0; n < resp->n_info; n++) {
            const Runtime__V1__ImageStatusResponse__InfoEntry *next = NULL;
            for (size_t i = 0; i < resp->n_info; i++) {
                const char *k = str_or_empty(resp->info[i]->key);
                if ((!last || strcmp(k, last) > 0) && (!next || strcmp(k, str_or_empty(next->key)) < 0))
                    next = resp->info[i];
            }
            if (!next)
                break;
            printf("%s%s:%s", last ? " " : "", str_or_empty(next->key), str_or_empty(next->value));
            last = str_or_empty(next->key);
        }
        printf("]\n");
    }
}

/* The status of an image that is present; 0, or -1 (printed). */
static int present_image_status(crioctl_ctx *ctx, const char *name, bool verbose, ProtobufCMessage **out)
{
    Runtime__V1__ImageStatusResponse *resp;

    *out = NULL;
    if (image_status(ctx, name, verbose, &resp) < 0)
        return -1;
    if (!resp->image) {
        crioctl_error(ctx, "no such image \"%s\" present", name);
        protobuf_c_message_free_unpacked(&resp->base, NULL);
        return -1;
    }
    *out = &resp->base;
    return 0;
}

int crioctl_cmd_inspecti(crioctl_ctx *ctx, int argc, char **argv)
{
    static const crioctl_inspector how = { "+:q" CRIOCTL_COMMON_SHORT,
                                           "no image given (usage: crioctl inspecti [OPTIONS] IMAGE...)",
                                           present_image_status, image_status_json, print_image_status_table };

    return crioctl_inspect(ctx, argc, argv, &how);
}

/* ---- rmi ---- */

static bool has_string(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* Removes one image; prints "Deleted: NAME" per name gone.  Returns 0 or -1 (printed). */
static int remove_one(crioctl_ctx *ctx, const char *name)
{
    Runtime__V1__ImageStatusResponse *before = NULL, *after = NULL;
    Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
    Runtime__V1__ImageSpec spec;
    ProtobufCMessage *m;

    if (image_status(ctx, name, false, &before) < 0)
        return -1;
    if (!before->image) {
        crioctl_error(ctx, "no such image %s", name);
        protobuf_c_message_free_unpacked(&before->base, NULL);
        return -1;
    }
    req.image = image_spec(&spec, name);
    if (crioctl_call(ctx, CRIOCTL_IMAGE_SERVICE, IMAGE_SERVICE "RemoveImage", &req.base,
                     &runtime__v1__remove_image_response__descriptor, &m) < 0) {
        protobuf_c_message_free_unpacked(&before->base, NULL);
        return -1;
    }
    protobuf_c_message_free_unpacked(m, NULL);

    /*
     * crictl prints every tag the image had.  Removing one tag of an image
     * with several only untags it, so print the names that are gone: all of
     * them when the image is, else the tags it lost.
     */
    const Runtime__V1__Image *img = before->image;
    bool still = false;
    if (image_status(ctx, img->id, false, &after) == 0 && after->image)
        still = true;
    for (size_t i = 0; i < img->n_repo_tags; i++)
        if (!still || !has_string(after->image->repo_tags, after->image->n_repo_tags, img->repo_tags[i]))
            printf("Deleted: %s\n", img->repo_tags[i]);
    if (!img->n_repo_tags) /* pulled by digest: no tags, name it by its digests */
        for (size_t i = 0; i < img->n_repo_digests; i++)
            if (!still ||
                !has_string(after->image->repo_digests, after->image->n_repo_digests, img->repo_digests[i]))
                printf("Deleted: %s\n", img->repo_digests[i]);
    if (after)
        protobuf_c_message_free_unpacked(&after->base, NULL);
    protobuf_c_message_free_unpacked(&before->base, NULL);
    return 0;
}

int crioctl_cmd_rmi(crioctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    ProtobufCMessage *m = NULL;
    const char **names = NULL;
    size_t n = 0, cap;
    bool all = false, errored = false;
    int opt, r;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, "+:a" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1) {
        if (opt == 'a')
            all = true;
        else if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
            return r;
    }
    if (optind >= argc && !all) {
        crioctl_error(ctx, "no image given (usage: crioctl rmi [OPTIONS] IMAGE...)");
        return 1;
    }
    if (all) {
        Runtime__V1__ListImagesRequest req = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
        if (crioctl_call(ctx, CRIOCTL_IMAGE_SERVICE, IMAGE_SERVICE "ListImages", &req.base,
                         &runtime__v1__list_images_response__descriptor, &m) < 0)
            return 1;
    }
    const Runtime__V1__ListImagesResponse *list = (const Runtime__V1__ListImagesResponse *)m;
    cap = (size_t)(argc - optind) + (list ? list->n_images : 0);
    names = calloc(cap ? cap : 1, sizeof(*names));
    if (!names) {
        crioctl_error(ctx, "out of memory");
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        return 1;
    }
    /* Each name once, in the order given, then every listed image. */
    for (int i = optind; i < argc; i++)
        if (!has_string((char *const *)names, n, argv[i]))
            names[n++] = argv[i];
    for (size_t i = 0; list && i < list->n_images; i++)
        if (!has_string((char *const *)names, n, str_or_empty(list->images[i]->id)))
            names[n++] = str_or_empty(list->images[i]->id);
    if (n == 0)
        fputs("No images to remove\n", stderr);
    for (size_t i = 0; i < n; i++)
        if (remove_one(ctx, names[i]) < 0)
            errored = true;
    free(names);
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    if (errored) {
        crioctl_error(ctx, "unable to remove the image(s)");
        return 1;
    }
    return 0;
}

/* ---- imagefsinfo ---- */

static void print_fs_table(const char *label, Runtime__V1__FilesystemUsage *const *fs, size_t n)
{
    char size[32];

    printf("%s Filesystem \n", label);
    for (size_t i = 0; i < n; i++) {
        crioctl_human_size(size, sizeof(size), fs[i]->used_bytes ? (double)fs[i]->used_bytes->value : 0);
        printf("TimeStamp[%zu]: %" PRId64 "\n", i, fs[i]->timestamp);
        printf("Disk[%zu]: %s\n", i, size);
        printf("Inodes[%zu]: %" PRIu64 "\n", i, fs[i]->inodes_used ? fs[i]->inodes_used->value : 0);
        printf("Mountpoint[%zu]: %s\n", i, fs[i]->fs_id ? str_or_empty(fs[i]->fs_id->mountpoint) : "");
    }
}

int crioctl_cmd_imagefsinfo(crioctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = { CRIOCTL_COMMON_OPTIONS, { 0, 0, 0, 0 } };
    Runtime__V1__ImageFsInfoRequest req = RUNTIME__V1__IMAGE_FS_INFO_REQUEST__INIT;
    Runtime__V1__ImageFsInfoResponse *resp;
    ProtobufCMessage *m;
    int opt, r;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, "+:" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1)
        if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
            return r;
    if (crioctl_no_args(ctx, argc, argv))
        return 1;
    if (crioctl_call(ctx, CRIOCTL_IMAGE_SERVICE, IMAGE_SERVICE "ImageFsInfo", &req.base,
                     &runtime__v1__image_fs_info_response__descriptor, &m) < 0)
        return 1;
    resp = (Runtime__V1__ImageFsInfoResponse *)m;
    if (ctx->output == CRIOCTL_OUTPUT_TABLE) {
        print_fs_table("Container", resp->container_filesystems, resp->n_container_filesystems);
        print_fs_table("Image", resp->image_filesystems, resp->n_image_filesystems);
        r = 0;
    } else {
        cJSON *doc = cJSON_CreateObject();
        if (doc && !add_member(doc, "status", crioctl_pb_to_json(m))) {
            cJSON_Delete(doc);
            doc = NULL;
        }
        r = crioctl_print_json_doc(ctx, doc);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return r;
}
