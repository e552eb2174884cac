/* lib/storage/store: blobs, layers, image records, leftovers, gc, claims. */
#include <criterion/criterion.h>
#include <crio/common.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "storage/store.h"

static char root[64];
static crio_store *st;

static void setup(void)
{
    strcpy(root, "/tmp/crio-store-XXXXXX");
    cr_assert_not_null(mkdtemp(root));
    cr_assert_eq(crio_store_open(&st, root, "overlay"), 0);
}

static void teardown(void)
{
    crio_store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(store, .init = setup, .fini = teardown);

static void sha256_of(char out[72], const void *data, size_t len)
{
    unsigned char md[32];
    EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
    strcpy(out, "sha256:");
    for (int i = 0; i < 32; i++)
        sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

static bool exists(const char *fmt, const char *arg)
{
    char p[512];
    snprintf(p, sizeof p, fmt, root, arg);
    return access(p, F_OK) == 0;
}

static void put_blob(char digest[72], const char *content)
{
    sha256_of(digest, content, strlen(content));
    int fd;
    char *tmp;
    cr_assert_eq(crio_store_tmp_file(st, &fd, &tmp), 0);
    cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    cr_assert_eq(crio_store_blob_commit(st, tmp, digest), 0);
    free(tmp);
}

Test(store, blobs_commit_and_read)
{
    char d[72];
    put_blob(d, "{\"hello\":1}");
    cr_assert(crio_store_blob_exists(st, d));
    char *data;
    size_t len;
    cr_assert_eq(crio_store_blob_read(st, d, &data, &len, 1024), 0);
    cr_assert_str_eq(data, "{\"hello\":1}");
    free(data);
    cr_assert_not(crio_store_blob_exists(st, "sha256:0000000000000000000000000000000000000000000000000000000000000000"));
    cr_assert_not(crio_store_blob_exists(st, "sha256:../../etc/passwd"));
    char *p = NULL;
    cr_assert_eq(crio_store_blob_path(&p, st, "sha256:../x"), CRIO_EINVAL);
    cr_assert_eq(crio_store_blob_remove(st, d), 0);
    cr_assert_not(crio_store_blob_exists(st, d));
}

Test(store, chain_ids)
{
    char c[72];
    const char *d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const char *d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    cr_assert_eq(crio_chain_id(c, NULL, d1), 0);
    cr_assert_str_eq(c, d1, "the first layer's chain id is its diff id");
    char want[72], joined[200];
    snprintf(joined, sizeof joined, "%s %s", d1, d2);
    sha256_of(want, joined, strlen(joined));
    cr_assert_eq(crio_chain_id(c, d1, d2), 0);
    cr_assert_str_eq(c, want);
}

static void make_layer(const char *chain, const char *diff, const char *file)
{
    char *tmp;
    cr_assert_eq(crio_store_layer_tmp(st, &tmp), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/diff/%s", tmp, file);
    FILE *f = fopen(p, "w");
    fputs(file, f);
    fclose(f);
    cr_assert_eq(crio_store_layer_commit(st, tmp, chain, diff, NULL, 4), 0);
    free(tmp);
}

Test(store, layers_publish_once)
{
    const char *c = "sha256:aaaa111111111111111111111111111111111111111111111111111111111111";
    cr_assert_not(crio_store_layer_exists(st, c));
    make_layer(c, c, "one");
    cr_assert(crio_store_layer_exists(st, c));
    /* A second pull that unpacked the same layer meanwhile: no error, first wins. */
    make_layer(c, c, "two");
    char *dir;
    cr_assert_eq(crio_store_layer_dir(&dir, st, c), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/one", dir);
    cr_assert_eq(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/two", dir);
    cr_assert_eq(access(p, F_OK), -1);
    free(dir);
}

static cJSON *record(const char *id, const char *layer, const char *config)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "id", id);
    cJSON *layers = cJSON_AddArrayToObject(r, "layers");
    if (layer)
        cJSON_AddItemToArray(layers, cJSON_CreateString(layer));
    if (config)
        cJSON_AddStringToObject(r, "config_digest", config);
    return r;
}

Test(store, image_records)
{
    const char *id = "1234567890123456789012345678901234567890123456789012345678901234";
    cJSON *r = record(id, NULL, NULL);
    cr_assert_eq(crio_store_image_put(st, r), 0);
    cJSON_Delete(r);
    cJSON *got = NULL;
    cr_assert_eq(crio_store_image_get(st, id, &got), 0);
    cr_assert_str_eq(crio_json_string(got, "id"), id);
    cJSON_Delete(got);
    cJSON *all = NULL;
    cr_assert_eq(crio_store_image_list(st, &all), 0);
    cr_assert_eq(cJSON_GetArraySize(all), 1);
    cJSON_Delete(all);
    cr_assert_eq(crio_store_image_delete(st, id), 0);
    cr_assert_eq(crio_store_image_get(st, id, &got), CRIO_ENOTFOUND);
    cr_assert_eq(crio_store_image_delete(st, id), CRIO_ENOTFOUND);
    cr_assert_eq(crio_store_image_get(st, "../../x", &got), CRIO_EINVAL);
}

Test(store, gc_keeps_what_images_name)
{
    const char *keep = "sha256:bbbb111111111111111111111111111111111111111111111111111111111111";
    const char *drop = "sha256:cccc111111111111111111111111111111111111111111111111111111111111";
    make_layer(keep, keep, "k");
    make_layer(drop, drop, "d");
    char cfg[72], orphan[72];
    put_blob(cfg, "config");
    put_blob(orphan, "orphan");
    cJSON *r = record("1111111111111111111111111111111111111111111111111111111111111111", keep, cfg);
    cr_assert_eq(crio_store_image_put(st, r), 0);
    cJSON_Delete(r);
    cr_assert_eq(crio_store_layers_gc(st), 2);
    cr_assert(crio_store_layer_exists(st, keep));
    cr_assert_not(crio_store_layer_exists(st, drop));
    cr_assert(crio_store_blob_exists(st, cfg));
    cr_assert_not(crio_store_blob_exists(st, orphan));
}

Test(store, reopen_removes_leftovers_of_interrupted_work)
{
    int fd;
    char *tmp;
    cr_assert_eq(crio_store_tmp_file(st, &fd, &tmp), 0);
    close(fd);
    char *ltmp;
    cr_assert_eq(crio_store_layer_tmp(st, &ltmp), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/diff/deep", ltmp);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/images/.tmp-1234.json-XXXX", root);
    FILE *f = fopen(p, "w");
    fclose(f);
    crio_store_close(st);
    cr_assert_eq(crio_store_open(&st, root, "overlay"), 0);
    cr_assert_eq(access(tmp, F_OK), -1);
    cr_assert_eq(access(ltmp, F_OK), -1);
    cr_assert_eq(access(p, F_OK), -1);
    cr_assert(exists("%s/blobs/sha256%s", ""));
    free(tmp);
    free(ltmp);
}

static atomic_int order;
static atomic_int second_got;

static void *second_claimer(void *arg)
{
    crio_store_claim(st, "sha256:k");
    atomic_store(&second_got, atomic_fetch_add(&order, 1));
    crio_store_release(st, "sha256:k");
    return NULL;
}

Test(store, claims_serialise_work_on_one_key)
{
    atomic_store(&order, 0);
    cr_assert_eq(crio_store_claim(st, "sha256:k"), 1);
    pthread_t t;
    pthread_create(&t, NULL, second_claimer, NULL);
    /* The second claimer cannot proceed while we hold the key. */
    usleep(50000);
    int mine = atomic_fetch_add(&order, 1);
    crio_store_release(st, "sha256:k");
    pthread_join(t, NULL);
    cr_assert_eq(mine, 0);
    cr_assert_eq(atomic_load(&second_got), 1);
    /* Another key is independent. */
    cr_assert_eq(crio_store_claim(st, "sha256:other"), 1);
    crio_store_release(st, "sha256:other");
}
