/* Importing images through the public API: OCI layout, oci-archive, docker-archive. */
#include <crio.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char fixtures[128];
static crio_config *cfg;
static crio *c;

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void setup(void)
{
    strcpy(dir, "/tmp/crio-import-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    /* The fixture images are built once per run, deterministically, and reused. */
    snprintf(fixtures, sizeof fixtures, "%s/../fixture-images", getenv("CRIO_TEST_BUILD") ? getenv("CRIO_TEST_BUILD") : "build/tests");
    run("/usr/bin/python3 tests/fixtures/images.py build %s >/dev/null", fixtures);
    char root[128], runroot[128], regs[128];
    snprintf(root, sizeof root, "%s/root", dir);
    snprintf(runroot, sizeof runroot, "%s/run", dir);
    snprintf(regs, sizeof regs, "%s/registries.conf", dir);
    cr_assert_eq(crio_config_new(&cfg), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.root", root), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.runroot", runroot), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.image.registries_conf", regs), 0);
    cr_assert_eq(crio_open(&c, cfg), 0, "%s", crio_error_message(crio_error_last()));
}

static void teardown(void)
{
    crio_close(c);
    crio_config_free(cfg);
    run("rm -rf %s", dir);
}

TestSuite(import, .init = setup, .fini = teardown, .timeout = 120);

static const char *errmsg(void)
{
    return crio_error_message(crio_error_last());
}

/* The file's content under the image's top layer that has it. */
static int layer_has(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test -n \"$(ls %s/root/layers/*/diff/%s 2>/dev/null)\"", dir, path);
    return system(cmd) == 0;
}

Test(import, oci_layout_directory)
{
    char layout[256];
    snprintf(layout, sizeof layout, "%s/busybox", fixtures);
    crio_image *img = NULL;
    cr_assert_eq(crio_image_import(&img, c, layout, "example.com/test/busybox:imported"), 0, "%s", errmsg());
    cr_assert_eq(crio_image_repo_tag_count(img), 1);
    cr_assert_str_eq(crio_image_repo_tag(img, 0), "example.com/test/busybox:imported");
    cr_assert_eq(strlen(crio_image_id(img)), 64);
    cr_assert_gt(crio_image_size(img), 100000);
    cr_assert(strstr(crio_image_config_json(img), "\"Cmd\""));
    cr_assert(layer_has("bin/busybox"));
    crio_image *again = NULL;
    cr_assert_eq(crio_image_get(&again, c, "example.com/test/busybox:imported"), 0);
    cr_assert_str_eq(crio_image_id(again), crio_image_id(img));
    crio_image_free(again);
    /* By id prefix too. */
    char prefix[13];
    memcpy(prefix, crio_image_id(img), 12);
    prefix[12] = '\0';
    cr_assert_eq(crio_image_get(&again, c, prefix), 0, "%s", errmsg());
    crio_image_free(again);
    crio_image_free(img);
    cr_assert_eq(crio_image_remove(c, "example.com/test/busybox:imported"), 0, "%s", errmsg());
    cr_assert_eq(crio_image_get(&again, c, "example.com/test/busybox:imported"), CRIO_ENOTFOUND);
    cr_assert_not(layer_has("bin/busybox"), "its layers went with it");
}

Test(import, oci_archive_and_docker_archive)
{
    char tarball[256];
    snprintf(tarball, sizeof tarball, "%s/busybox-oci.tar", dir);
    run("tar -C %s/busybox -cf %s .", fixtures, tarball);
    crio_image *img = NULL;
    cr_assert_eq(crio_image_import(&img, c, tarball, "example.com/oci/busybox:1"), 0, "%s", errmsg());
    cr_assert_str_eq(crio_image_repo_tag(img, 0), "example.com/oci/busybox:1");
    char oci_id[65];
    strcpy(oci_id, crio_image_id(img));
    crio_image_free(img);

    /* docker save format, written by skopeo; the name comes from the archive. */
    snprintf(tarball, sizeof tarball, "%s/busybox-docker.tar", dir);
    run("skopeo copy -q oci:%s/busybox:1 docker-archive:%s:example.com/docker/busybox:7 >/dev/null", fixtures, tarball);
    cr_assert_eq(crio_image_import(&img, c, tarball, NULL), 0, "%s", errmsg());
    /* The same content as the OCI import: one image carrying both names. */
    cr_assert_str_eq(crio_image_id(img), oci_id);
    cr_assert_eq(crio_image_repo_tag_count(img), 2);
    cr_assert(!strcmp(crio_image_repo_tag(img, 0), "example.com/docker/busybox:7") ||
              !strcmp(crio_image_repo_tag(img, 1), "example.com/docker/busybox:7"));
    cr_assert(strstr(crio_image_config_json(img), "\"Cmd\""));
    crio_image_free(img);
    crio_image_list *l = NULL;
    cr_assert_eq(crio_image_list_get(&l, c, NULL), 0);
    cr_assert_geq(crio_image_list_count(l), 1);
    crio_image_list_free(l);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s/root/tmp", dir);
    run("test -z \"$(ls -A %s)\"", tmp);
}

Test(import, hostile_and_bad_archives_are_refused)
{
    char tarball[256];
    snprintf(tarball, sizeof tarball, "%s/evil.tar", dir);
    run("mkdir -p %s/e && echo x > %s/e/f && tar -C %s/e -cf %s --transform 's|^f$|../../escape|' f", dir, dir, dir, tarball);
    cr_assert_eq(crio_image_import(NULL, c, tarball, "example.com/evil:1"), CRIO_EINVAL);
    cr_assert(strstr(errmsg(), "unsafe entry"), "%s", errmsg());
    snprintf(tarball, sizeof tarball, "%s/junk.tar", dir);
    run("head -c 3000 /dev/urandom > %s", tarball);
    cr_assert_eq(crio_image_import(NULL, c, tarball, "example.com/junk:1"), CRIO_EINVAL);
    cr_assert_eq(crio_image_import(NULL, c, "/nonexistent/layout", "example.com/x:1"), CRIO_ENOTFOUND);
    /* A layout whose blob was tampered with: digest mismatch, nothing stored. */
    char copy[256];
    snprintf(copy, sizeof copy, "%s/tampered", dir);
    run("cp -r %s/busybox %s && for f in %s/blobs/sha256/*; do if [ $(stat -c %%s $f) -gt 100000 ]; then printf X | dd of=$f bs=1 seek=5000 conv=notrunc 2>/dev/null; fi; done", fixtures, copy, copy);
    cr_assert_eq(crio_image_import(NULL, c, copy, "example.com/tampered:1"), CRIO_EDATALOSS, "%s", errmsg());
    crio_image_list *l = NULL;
    cr_assert_eq(crio_image_list_get(&l, c, NULL), 0);
    cr_assert_eq(crio_image_list_count(l), 0, "nothing kept of failed imports");
    crio_image_list_free(l);
    cr_assert_not(layer_has("bin/busybox"));
}

/* The vfs driver: each layer is the whole tree, whiteouts and opaque dirs applied. */
Test(import, vfs_driver_layers_are_whole_trees)
{
    /* A second handle on a fresh root configured for vfs. */
    char root[160], runroot[160];
    snprintf(root, sizeof root, "%s/vfsroot", dir);
    snprintf(runroot, sizeof runroot, "%s/vfsrun", dir);
    crio_config *vcfg = NULL;
    cr_assert_eq(crio_config_copy(&vcfg, cfg), 0);
    cr_assert_eq(crio_config_set(vcfg, "crio.root", root), 0);
    cr_assert_eq(crio_config_set(vcfg, "crio.runroot", runroot), 0);
    cr_assert_eq(crio_config_set(vcfg, "crio.storage_driver", "vfs"), 0);
    crio *v = NULL;
    cr_assert_eq(crio_open(&v, vcfg), 0, "%s", errmsg());
    char layout[256];
    snprintf(layout, sizeof layout, "%s/multilayer", fixtures);
    crio_image *img = NULL;
    cr_assert_eq(crio_image_import(&img, v, layout, "example.com/multilayer:1"), 0, "%s", errmsg());
    /* The top layer (the last chain id of the record) holds the final tree. */
    char top[512];
    snprintf(top, sizeof top,
             "%s/layers/$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"layers\"][-1][7:])' %s/images/%s.json)/diff",
             root, root, crio_image_id(img));
    run("grep -qx 'layer 2' %s/opt/layer2.txt", top);
    run("grep -qx 'replaced by layer 3' %s/opt/keep.txt", top);
    run("grep -qx 'new in layer 2' %s/opt/data/new.txt", top);
    run("test ! -e %s/opt/removed.txt && test ! -e %s/opt/gone && test ! -e %s/opt/data/a.txt && test ! -e %s/opt/data/sub",
        top, top, top, top);
    run("test \"$(stat -c %%i %s/bin/busybox)\" = \"$(stat -c %%i %s/bin/sh)\"", top, top);
    run("grep -qx '{\"driver\":\"vfs\"}' %s/storage.json", root);
    crio_image_free(img);
    crio_close(v);
    crio_config_free(vcfg);
}
