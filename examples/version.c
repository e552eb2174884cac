/*
 * The smallest libcrio program: load the configuration, open a scratch root,
 * and print the runtime's identity and readiness.
 *
 *   cc version.c $(pkg-config --cflags --libs libcrio) -o crio-version
 *   ./crio-version /tmp/scratch-root
 */
#include <crio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : "/tmp/crio-example";
    char runroot[4096];
    snprintf(runroot, sizeof runroot, "%s/run", root);

    crio_config *cfg = NULL;
    if (crio_config_new(&cfg) < 0 || crio_config_set(cfg, "crio.root", root) < 0 ||
        crio_config_set(cfg, "crio.runroot", runroot) < 0) {
        fprintf(stderr, "config: %s\n", crio_error_message(crio_error_last()));
        return 1;
    }
    crio *c = NULL;
    if (crio_open(&c, cfg) < 0) {
        fprintf(stderr, "open: %s\n", crio_error_message(crio_error_last()));
        crio_config_free(cfg);
        return 1;
    }
    printf("RuntimeName: %s\nRuntimeVersion: %s\nRuntimeApiVersion: %s\n", crio_runtime_name(),
           crio_version(), crio_runtime_api_version());

    crio_status *st = NULL;
    if (crio_status_get(&st, c) == 0) {
        for (size_t i = 0; i < crio_status_condition_count(st); i++)
            printf("%s: %s %s\n", crio_status_condition_type(st, i),
                   crio_status_condition_ok(st, i) ? "true" : "false", crio_status_condition_reason(st, i));
        crio_status_free(st);
    }
    crio_close(c);
    crio_config_free(cfg);
    return 0;
}
