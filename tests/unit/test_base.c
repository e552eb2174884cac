/* lib/base: errors, ids, atomic files, bounded reads, log levels. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/id.h"
#include "base/json.h"

static char tmpdir[64];

static void make_tmp(void)
{
    strcpy(tmpdir, "/tmp/crio-base-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

Test(error, set_returns_code_and_keeps_message)
{
    crio_error_clear();
    cr_assert_null(crio_error_last());
    int r = crio_error_set(CRIO_ENOTFOUND, "container %s", "abc");
    cr_assert_eq(r, CRIO_ENOTFOUND);
    const crio_error *e = crio_error_last();
    cr_assert_eq(crio_error_code(e), CRIO_ENOTFOUND);
    cr_assert_str_eq(crio_error_message(e), "container abc");
    cr_assert_eq(crio_error_errno(e), 0);
}

Test(error, wrap_adds_context_and_keeps_code)
{
    crio_error_set_errno(CRIO_EPERM, EACCES, "open %s", "/x");
    int r = crio_error_wrap(CRIO_ERROR, "pull %s", "busybox");
    cr_assert_eq(r, CRIO_EPERM);
    cr_assert_str_eq(crio_error_message(crio_error_last()), "pull busybox: open /x: Permission denied");
    cr_assert_eq(crio_error_errno(crio_error_last()), EACCES);
}

Test(error, wrap_long_message_is_truncated_safely)
{
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    crio_error_set(CRIO_EINVAL, "%s", big);
    crio_error_wrap(CRIO_EINVAL, "%s", big);
    cr_assert_lt(strlen(crio_error_message(crio_error_last())), 1024);
}

Test(error, errno_mapping)
{
    cr_assert_eq(crio_error_from_errno(ENOENT), CRIO_ENOTFOUND);
    cr_assert_eq(crio_error_from_errno(EEXIST), CRIO_EEXISTS);
    cr_assert_eq(crio_error_from_errno(EACCES), CRIO_EPERM);
    cr_assert_eq(crio_error_from_errno(EBUSY), CRIO_EBUSY);
    cr_assert_eq(crio_error_from_errno(ENOMEM), CRIO_ENOMEM);
    cr_assert_eq(crio_error_sys(ENOENT, "stat %s", "/nope"), CRIO_ENOTFOUND);
    cr_assert_str_eq(crio_error_message(crio_error_last()), "stat /nope: No such file or directory");
}

Test(error, codes_are_negated_grpc_codes)
{
    cr_assert_eq(CRIO_ENOTFOUND, -5);
    cr_assert_eq(CRIO_EBUSY, -9);
    cr_assert_eq(CRIO_EAUTH, -16);
    cr_assert_str_eq(crio_strerror(CRIO_EINVAL), "CRIO_EINVAL");
    cr_assert_str_eq(crio_strerror(-99), "CRIO_UNKNOWN_CODE");
}

static void *other_thread(void *arg)
{
    *(int *)arg = crio_error_last() == NULL;
    crio_error_set(CRIO_EINTERNAL, "other thread");
    return NULL;
}

Test(error, last_error_is_per_thread)
{
    crio_error_set(CRIO_EINVAL, "main thread");
    int other_saw_none = 0;
    pthread_t t;
    pthread_create(&t, NULL, other_thread, &other_saw_none);
    pthread_join(t, NULL);
    cr_assert(other_saw_none);
    cr_assert_str_eq(crio_error_message(crio_error_last()), "main thread");
}

Test(id, new_ids_are_hex_and_distinct)
{
    char a[CRIO_ID_LEN + 1], b[CRIO_ID_LEN + 1];
    cr_assert_eq(crio_id_new(a), 0);
    cr_assert_eq(crio_id_new(b), 0);
    cr_assert(crio_id_valid(a));
    cr_assert(crio_id_valid(b));
    cr_assert_str_neq(a, b);
    cr_assert_not(crio_id_valid("abc"));
    cr_assert_not(crio_id_valid("Z000000000000000000000000000000000000000000000000000000000000000"));
}

Test(id, prefix_lookup)
{
    const char *ids[] = { "abc111", "abc222", "def333", "abc" };
    const char *m = NULL;
    cr_assert_eq(crio_id_lookup_prefix(&m, "def", ids, 4), 0);
    cr_assert_str_eq(m, "def333");
    cr_assert_eq(crio_id_lookup_prefix(&m, "abc1", ids, 4), 0);
    cr_assert_str_eq(m, "abc111");
    /* "abc" is ambiguous as a prefix but an exact id wins. */
    cr_assert_eq(crio_id_lookup_prefix(&m, "abc", ids, 4), 0);
    cr_assert_str_eq(m, "abc");
    cr_assert_eq(crio_id_lookup_prefix(&m, "ab", ids, 4), CRIO_EINVAL);
    cr_assert(strstr(crio_error_message(crio_error_last()), "ambiguous"));
    cr_assert_eq(crio_id_lookup_prefix(&m, "fff", ids, 4), CRIO_ENOTFOUND);
    cr_assert_eq(crio_id_lookup_prefix(&m, "", ids, 4), CRIO_EINVAL);
    cr_assert_eq(crio_id_lookup_prefix(&m, "../etc", ids, 4), CRIO_EINVAL);
}

Test(fs, atomic_write_replaces_and_leaves_no_temporary, .init = make_tmp, .fini = remove_tmp)
{
    char path[128];
    snprintf(path, sizeof path, "%s/state.json", tmpdir);
    cr_assert_eq(crio_fs_write_atomic(path, "old", 3, 0600), 0);
    cr_assert_eq(crio_fs_write_atomic(path, "new!", 4, 0640), 0);
    char *buf = NULL;
    size_t len = 0;
    cr_assert_eq(crio_fs_read_file(&buf, &len, path, 1024), 0);
    cr_assert_eq(len, 4);
    cr_assert_str_eq(buf, "new!");
    free(buf);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0640);
    DIR *d = opendir(tmpdir);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        entries += e->d_name[0] != '.' || strncmp(e->d_name, ".tmp-", 5) == 0;
    closedir(d);
    cr_assert_eq(entries, 1, "only the file itself remains");
}

Test(fs, atomic_write_into_missing_dir_fails_cleanly, .init = make_tmp, .fini = remove_tmp)
{
    char path[128];
    snprintf(path, sizeof path, "%s/nodir/state.json", tmpdir);
    cr_assert_eq(crio_fs_write_atomic(path, "x", 1, 0600), CRIO_ENOTFOUND);
    cr_assert(strstr(crio_error_message(crio_error_last()), path));
}

Test(fs, remove_temporaries_left_by_a_crash, .init = make_tmp, .fini = remove_tmp)
{
    char path[128];
    snprintf(path, sizeof path, "%s/.tmp-state.json-ABCDEF", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("torn", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/keep", tmpdir);
    f = fopen(path, "w");
    fclose(f);
    cr_assert_eq(crio_fs_remove_temporaries(tmpdir), 1);
    cr_assert_eq(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/.tmp-state.json-ABCDEF", tmpdir);
    cr_assert_eq(access(path, F_OK), -1);
}

Test(fs, read_file_is_bounded, .init = make_tmp, .fini = remove_tmp)
{
    char path[128];
    snprintf(path, sizeof path, "%s/big", tmpdir);
    char data[10000];
    memset(data, 'x', sizeof data);
    cr_assert_eq(crio_fs_write_atomic(path, data, sizeof data, 0600), 0);
    char *buf = NULL;
    cr_assert_eq(crio_fs_read_file(&buf, NULL, path, 5000), CRIO_ENOMEM);
    cr_assert_null(buf);
    cr_assert(strstr(crio_error_message(crio_error_last()), "larger than 5000"));
    size_t len;
    cr_assert_eq(crio_fs_read_file(&buf, &len, path, 10000), 0);
    cr_assert_eq(len, 10000);
    free(buf);
}

Test(fs, mkdir_p, .init = make_tmp, .fini = remove_tmp)
{
    char path[128];
    snprintf(path, sizeof path, "%s/a/b/c", tmpdir);
    cr_assert_eq(crio_fs_mkdir_p(path, 0755), 0);
    cr_assert_eq(crio_fs_mkdir_p(path, 0755), 0, "idempotent");
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert(S_ISDIR(st.st_mode));
    char file[160];
    snprintf(file, sizeof file, "%s/file", path);
    FILE *f = fopen(file, "w");
    fclose(f);
    cr_assert_eq(crio_fs_mkdir_p(file, 0755), CRIO_EEXISTS);
}

Test(json, parse_bounded_and_typed, .init = make_tmp, .fini = remove_tmp)
{
    const char *doc = "{\"a\":\"x\",\"n\":42,\"b\":true,\"f\":1.5}";
    cJSON *j = NULL;
    cr_assert_eq(crio_json_parse(&j, doc, strlen(doc), 1024, "doc"), 0);
    cr_assert_str_eq(crio_json_string(j, "a"), "x");
    cr_assert_null(crio_json_string(j, "n"));
    cr_assert_eq(crio_json_int(j, "n", -1), 42);
    cr_assert_eq(crio_json_int(j, "f", -1), -1, "not an integer");
    cr_assert_eq(crio_json_bool(j, "b", false), true);
    char path[128];
    snprintf(path, sizeof path, "%s/j.json", tmpdir);
    cr_assert_eq(crio_json_write_file(path, j, 0600), 0);
    cJSON_Delete(j);
    cr_assert_eq(crio_json_read_file(&j, path, 1024), 0);
    cr_assert_eq(crio_json_int(j, "n", -1), 42);
    cJSON_Delete(j);
    cr_assert_eq(crio_json_parse(&j, doc, strlen(doc), 10, "manifest"), CRIO_EINVAL);
    cr_assert(strstr(crio_error_message(crio_error_last()), "manifest"));
    cr_assert_eq(crio_json_parse(&j, "{\"a\":", 5, 1024, "doc"), CRIO_EINVAL);
}

Test(log, level_names)
{
    crio_log_level l;
    cr_assert_eq(crio_log_level_parse(&l, "DEBUG"), 0);
    cr_assert_eq(l, CRIO_LOG_DEBUG);
    cr_assert_eq(crio_log_level_parse(&l, "fatal"), 0);
    cr_assert_eq(l, CRIO_LOG_ERROR);
    cr_assert_eq(crio_log_level_parse(&l, "loud"), CRIO_EINVAL);
    cr_assert(strstr(crio_error_message(crio_error_last()), "loud"));
    cr_assert_str_eq(crio_log_level_name(CRIO_LOG_WARN), "warn");
}
