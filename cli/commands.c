/* crioctl: the command table, global options and help. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <crio.h>

#include "crioctl.h"

static int cmd_help(crioctl_ctx *ctx, int argc, char **argv);

#define OUTPUT_OPTION "  -o, --output FORMAT   output format: table or json\n"

const crioctl_command crioctl_commands[] = {
    { "version", NULL, "Display runtime version information", "[OPTIONS]",
      OUTPUT_OPTION, crioctl_cmd_version },
    { "info", NULL, "Display information of the container runtime", "[OPTIONS]",
      "  -o, --output FORMAT   output format: json (the default) or table (the same)\n"
      "  -q, --quiet           do not ask for the runtime's verbose information\n",
      crioctl_cmd_info },
    { "runtime-config", NULL, "Retrieve the container runtime configuration", "[OPTIONS]",
      OUTPUT_OPTION, crioctl_cmd_runtime_config },
    { "pull", NULL, "Pull an image from a registry", "[OPTIONS] NAME[:TAG|@DIGEST]", crioctl_help_pull,
      crioctl_cmd_pull },
    { "images", "img", "List images", "[OPTIONS] [REPOSITORY[:TAG]]", crioctl_help_images, crioctl_cmd_images },
    { "image", NULL, "List images (as images), or import one (image import PATH)",
      "[OPTIONS] [REPOSITORY[:TAG]] | import [--name NAME] PATH", crioctl_help_image, crioctl_cmd_image },
    { "inspecti", NULL, "Return the status of one or more images", "[OPTIONS] IMAGE...", crioctl_help_inspecti,
      crioctl_cmd_inspecti },
    { "rmi", NULL, "Remove one or more images", "[OPTIONS] IMAGE...", crioctl_help_rmi, crioctl_cmd_rmi },
    { "imagefsinfo", NULL, "Return image filesystem info", "[OPTIONS]", crioctl_help_imagefsinfo,
      crioctl_cmd_imagefsinfo },
    { "runp", NULL, "Run a new pod", "[OPTIONS] POD_CONFIG", crioctl_help_runp, crioctl_cmd_runp },
    { "pods", NULL, "List pods", "[OPTIONS]", crioctl_help_pods, crioctl_cmd_pods },
    { "inspectp", NULL, "Display the status of one or more pods", "[OPTIONS] POD-ID...", crioctl_help_inspectp,
      crioctl_cmd_inspectp },
    { "stopp", NULL, "Stop one or more running pods", "POD-ID...", NULL, crioctl_cmd_stopp },
    { "rmp", NULL, "Remove one or more pods", "[OPTIONS] POD-ID...", crioctl_help_rmp, crioctl_cmd_rmp },
    { "create", NULL, "Create a new container", "[OPTIONS] POD-ID CONTAINER_CONFIG POD_CONFIG",
      crioctl_help_create, crioctl_cmd_create },
    { "start", NULL, "Start one or more created containers", "CONTAINER-ID...", NULL, crioctl_cmd_start },
    { "run", NULL, "Run a new container inside a new pod", "[OPTIONS] CONTAINER_CONFIG POD_CONFIG",
      crioctl_help_run, crioctl_cmd_run },
    { "ps", NULL, "List containers", "[OPTIONS]", crioctl_help_ps, crioctl_cmd_ps },
    { "inspect", NULL, "Display the status of one or more containers", "[OPTIONS] CONTAINER-ID...",
      crioctl_help_inspect, crioctl_cmd_inspect },
    { "stop", NULL, "Stop one or more running containers", "[OPTIONS] CONTAINER-ID...", crioctl_help_stop,
      crioctl_cmd_stop },
    { "rm", NULL, "Remove one or more containers", "[OPTIONS] CONTAINER-ID...", crioctl_help_rm, crioctl_cmd_rm },
    { "exec", NULL, "Run a command in a running container", "[OPTIONS] CONTAINER-ID COMMAND [ARG...]",
      crioctl_help_exec, crioctl_cmd_exec },
    { "update", NULL, "Update the resources of one or more running containers", "[OPTIONS] CONTAINER-ID...",
      crioctl_help_update, crioctl_cmd_update },
    { "logs", NULL, "Fetch the logs of a container", "[OPTIONS] CONTAINER-ID", crioctl_help_logs,
      crioctl_cmd_logs },
    { "stats", NULL, "List the resource usage of containers", "[OPTIONS] [CONTAINER-ID]", crioctl_help_stats,
      crioctl_cmd_stats },
    { "statsp", NULL, "List the resource usage of pods", "[OPTIONS] [POD-ID]", crioctl_help_statsp,
      crioctl_cmd_statsp },
    { "events", "event", "Stream the events of containers", "[OPTIONS]", crioctl_help_events,
      crioctl_cmd_events },
    { "help", "h", "Show a list of commands or help for one command", "[COMMAND]", NULL,
      cmd_help },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};

const crioctl_command *crioctl_command_find(const char *name)
{
    for (const crioctl_command *c = crioctl_commands; c->name; c++)
        if (strcmp(c->name, name) == 0 || (c->alias && strcmp(c->alias, name) == 0))
            return c;
    return NULL;
}

static void list_commands(FILE *f)
{
    fputs("Commands:\n", f);
    for (const crioctl_command *c = crioctl_commands; c->name; c++) {
        char name[64];
        if (c->alias)
            snprintf(name, sizeof(name), "%s, %s", c->name, c->alias);
        else
            snprintf(name, sizeof(name), "%s", c->name);
        fprintf(f, "  %-22s %s\n", name, c->summary);
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "crioctl: a client for CRI container runtimes (libcrio %s)\n"
            "\n"
            "Usage: crioctl [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS...]\n"
            "\n",
            crio_version());
    list_commands(f);
    fputs("\n"
          "Global options:\n"
          "  -r, --runtime-endpoint ENDPOINT  the CRI runtime service's socket (default:\n"
          "                                   $CONTAINER_RUNTIME_ENDPOINT, else " CRIOCTL_DEFAULT_ENDPOINT ")\n"
          "  -i, --image-endpoint ENDPOINT    the CRI image service's socket (default:\n"
          "                                   $IMAGE_SERVICE_ENDPOINT, else the runtime endpoint)\n"
          "  -t, --timeout DURATION           timeout of each call: 2s, 500ms, 1m30s; 0 for none\n"
          "                                   (default: 10s)\n"
          "  -o, --output FORMAT              output format: table or json (default: per command)\n"
          "  -D, --debug                      print each call and its outcome to stderr\n"
          "  -h, --help                       show this help\n"
          "  -v, --version                    print the version of crioctl\n"
          "\n"
          "Run 'crioctl help COMMAND' for the options of a command.\n",
          f);
}

void crioctl_command_help(FILE *f, const crioctl_command *cmd)
{
    fprintf(f, "%s\n\nUsage: crioctl [GLOBAL OPTIONS] %s %s\n", cmd->summary, cmd->name,
            cmd->usage ? cmd->usage : "");
    if (cmd->alias)
        fprintf(f, "Alias: %s\n", cmd->alias);
    fprintf(f, "\nOptions:\n%s  -h, --help            show this help\n",
            cmd->options ? cmd->options : "");
}

void crioctl_getopt_begin(void)
{
    optind = 0; /* glibc: a full re-initialization */
    opterr = 0;
}

static int bad_option(crioctl_ctx *ctx, int opt, char **argv, const char *what)
{
    const char *arg = argv[optind - 1];

    if (opt == ':')
        crioctl_error(ctx, "option %s needs an argument (see 'crioctl %s--help')", arg, what);
    else if (optopt && optopt != '?')
        crioctl_error(ctx, "unknown option -%c (see 'crioctl %s--help')", optopt, what);
    else
        crioctl_error(ctx, "unknown option %s (see 'crioctl %s--help')", arg, what);
    return 1;
}

static int set_output(crioctl_ctx *ctx, const char *arg)
{
    crioctl_output o;

    if (crioctl_parse_output(arg, &o) < 0) {
        crioctl_error(ctx, "unknown output format \"%s\" (use table or json)", arg);
        return 1;
    }
    if (o == CRIOCTL_OUTPUT_YAML) {
        crioctl_error(ctx, "output format yaml is not supported yet (use table or json)");
        return 1;
    }
    ctx->output = o;
    return -1;
}

int crioctl_common_option(crioctl_ctx *ctx, int opt, int argc, char **argv)
{
    char what[64];

    switch (opt) {
    case 'o':
        return set_output(ctx, optarg);
    case 'h':
        crioctl_command_help(stdout, ctx->cmd);
        return 0;
    default:
        snprintf(what, sizeof(what), "%s ", ctx->cmd ? ctx->cmd->name : "");
        return bad_option(ctx, opt, argv, what);
    }
}

int crioctl_no_args(crioctl_ctx *ctx, int argc, char **argv)
{
    if (optind < argc) {
        crioctl_error(ctx, "unexpected argument \"%s\": this command takes none", argv[optind]);
        return 1;
    }
    return 0;
}

static int cmd_help(crioctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = { CRIOCTL_COMMON_OPTIONS, { 0, 0, 0, 0 } };
    int opt, r;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, "+:" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1)
        if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
            return r;
    if (optind >= argc) {
        usage(stdout);
        return 0;
    }
    const crioctl_command *c = crioctl_command_find(argv[optind]);
    if (!c) {
        crioctl_error(ctx, "unknown command \"%s\"", argv[optind]);
        list_commands(stderr);
        return 1;
    }
    crioctl_command_help(stdout, c);
    return 0;
}

int crioctl_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "runtime-endpoint", required_argument, NULL, 'r' },
        { "image-endpoint", required_argument, NULL, 'i' },
        { "timeout", required_argument, NULL, 't' },
        { "output", required_argument, NULL, 'o' },
        { "debug", no_argument, NULL, 'D' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'v' },
        { 0, 0, 0, 0 },
    };
    crioctl_ctx ctx = { 0 };
    const char *env;
    int opt, r;

    env = getenv("CONTAINER_RUNTIME_ENDPOINT");
    ctx.runtime_endpoint = env && env[0] ? env : CRIOCTL_DEFAULT_ENDPOINT;
    env = getenv("IMAGE_SERVICE_ENDPOINT");
    ctx.image_endpoint = env && env[0] ? env : NULL;
    ctx.timeout_ms = CRIOCTL_DEFAULT_TIMEOUT_MS;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, "+:r:i:t:o:Dhv", opts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            ctx.runtime_endpoint = optarg;
            break;
        case 'i':
            ctx.image_endpoint = optarg;
            break;
        case 't':
            r = crioctl_parse_duration(optarg, &ctx.timeout_ms);
            if (r < 0) {
                crioctl_error(NULL, "invalid timeout \"%s\": %s", optarg,
                              r == -ERANGE ? "out of range"
                                           : "expected a duration such as 2s, 500ms or 1m30s");
                return 1;
            }
            break;
        case 'o':
            if (set_output(&ctx, optarg) >= 0)
                return 1;
            break;
        case 'D':
            ctx.debug = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'v':
            printf("crioctl version %s\n", crio_version());
            return 0;
        default:
            return bad_option(&ctx, opt, argv, "");
        }
    }
    if (optind >= argc) {
        usage(stdout);
        return 0;
    }

    ctx.cmd = crioctl_command_find(argv[optind]);
    if (!ctx.cmd) {
        crioctl_error(NULL, "unknown command \"%s\"", argv[optind]);
        list_commands(stderr);
        fputs("Run 'crioctl --help' for the global options.\n", stderr);
        return 1;
    }
    r = ctx.cmd->run(&ctx, argc - optind, argv + optind);
    crioctl_ctx_close(&ctx);
    if (fflush(stdout) != 0 && r == 0) {
        crioctl_error(&ctx, "write to stdout: %s", strerror(errno));
        r = 1;
    }
    return r;
}
