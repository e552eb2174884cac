/* The registry client's parsing helpers (live transfers: tests/unit/test_registry_live.c). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <crio/common.h>

#include "image/registry.h"

Test(auth_challenge, bearer_with_all_parameters)
{
    crio_auth_challenge ch;
    cr_assert_eq(crio_auth_challenge_parse(&ch, "Bearer realm=\"https://auth.example.com/token\",service=\"registry.example.com\",scope=\"repository:library/busybox:pull\""), 0);
    cr_assert_str_eq(ch.scheme, "Bearer");
    cr_assert_str_eq(ch.realm, "https://auth.example.com/token");
    cr_assert_str_eq(ch.service, "registry.example.com");
    cr_assert_str_eq(ch.scope, "repository:library/busybox:pull");
}

Test(auth_challenge, basic_and_unquoted_and_error)
{
    crio_auth_challenge ch;
    cr_assert_eq(crio_auth_challenge_parse(&ch, "Basic realm=\"Registry Realm\""), 0);
    cr_assert_str_eq(ch.scheme, "Basic");
    cr_assert_str_eq(ch.realm, "Registry Realm");
    cr_assert_eq(crio_auth_challenge_parse(&ch, "Bearer realm=http://127.0.0.1:1/t, error=\"invalid_token\""), 0);
    cr_assert_str_eq(ch.realm, "http://127.0.0.1:1/t");
    cr_assert_str_eq(ch.error, "invalid_token");
    cr_assert_str_eq(ch.service, "");
}

Test(auth_challenge, malformed)
{
    crio_auth_challenge ch;
    cr_assert_eq(crio_auth_challenge_parse(&ch, ""), CRIO_EINVAL);
    cr_assert_eq(crio_auth_challenge_parse(&ch, "Bearer realm=\"unterminated"), CRIO_EINVAL);
    cr_assert_eq(crio_auth_challenge_parse(&ch, "Bearer realm"), CRIO_EINVAL);
}

Test(registry_error, message_from_body)
{
    const char *body = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\",\"detail\":null}]}";
    char *m = crio_registry_error_message(body, strlen(body));
    cr_assert_str_eq(m, "UNAUTHORIZED: authentication required");
    free(m);
    cr_assert_null(crio_registry_error_message("<html>", 6));
    cr_assert_null(crio_registry_error_message("{\"errors\":[]}", 13));
    cr_assert_null(crio_registry_error_message(NULL, 0));
}
