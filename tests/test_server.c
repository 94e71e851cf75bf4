/*
 * test_server.c: end-to-end tests of `ratelab serve`.
 *
 * Every test starts real `ratelab serve` processes on free 127.0.0.1 ports
 * (and a private redis-server where the store matters) and checks status
 * codes, bodies, headers and counters over HTTP with libcurl.  Limits come
 * from --env files written per test, so the suite does not depend on the
 * caller's environment (the limit variables are cleared at start).
 *
 * NOTE: tests on the utc-day window assume no UTC midnight falls between
 * their first and last request; one that does can fail once.
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "tst_serve.h"
#include "tst_support.h"

#define FOLDER "/get-folder-access"
#define VALIDATOR "/get-validator-access"
#define MINER_SPECIFIC "/get-miner-specific-access"

/* ---- helpers ---- */

static char *write_env(const char *text)
{
    const char *dir = tst_tmpdir();
    return dir != NULL ? tst_write_file(dir, "limits.env", text) : NULL;
}

static char *url_of(const tst_serve *s, const char *path)
{
    /* Thread-local: the two-server test posts from eight threads at once. */
    static _Thread_local char buf[128];
    snprintf(buf, sizeof(buf), "%s%s", s->url, path);
    return buf;
}

/* POSTs a miner body; ts_offset_s is added to the current time. */
static long post_miner(const tst_serve *s, const char *hotkey, long ts_offset_s,
                       const char *signature, tst_http_reply *out)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"coldkey\":\"cold1\",\"hotkey\":\"%s\",\"timestamp\":%ld,\"signature\":\"%s\"}",
             hotkey, (long)time(NULL) + ts_offset_s, signature);
    tst_http(out, "POST", url_of(s, FOLDER), body);
    return out->status;
}

/* POSTs a miner body and returns the status alone. */
static long miner_status(const tst_serve *s, const char *hotkey, const char *signature)
{
    tst_http_reply r;
    long status = post_miner(s, hotkey, 0, signature, &r);
    tst_http_reply_free(&r);
    return status;
}

static long post_validator(const tst_serve *s, const char *path, const char *hotkey,
                           const char *miner_hotkey, tst_http_reply *out)
{
    char body[512], extra[160] = "";
    if (miner_hotkey != NULL)
        snprintf(extra, sizeof(extra), ",\"miner_hotkey\":\"%s\"", miner_hotkey);
    snprintf(body, sizeof(body),
             "{\"hotkey\":\"%s\",\"signature\":\"sig\",\"timestamp\":%ld%s}", hotkey,
             (long)time(NULL), extra);
    tst_http(out, "POST", url_of(s, path), body);
    return out->status;
}

/* Returns the "detail" string of a reply, or "" (static buffer). */
static const char *detail_of(const tst_http_reply *r)
{
    static char buf[256];
    json_t *j = json_loads(r->body, 0, NULL);
    const char *d = json_string_value(json_object_get(j, "detail"));
    snprintf(buf, sizeof(buf), "%s", d != NULL ? d : "");
    json_decref(j);
    return buf;
}

/* Reads an integer at "a.b" in /rate-limits; -1 when missing. */
static long long rate_limits_value(const tst_serve *s, const char *outer, const char *inner)
{
    tst_http_reply r;
    long long v = -1;

    tst_http(&r, "GET", url_of(s, "/rate-limits"), NULL);
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *x = json_object_get(json_object_get(j, outer), inner);
    if (json_is_integer(x))
        v = (long long)json_integer_value(x);
    json_decref(j);
    tst_http_reply_free(&r);
    return v;
}

static long long header_value(const tst_http_reply *r, const char *name)
{
    char buf[64];
    return tst_http_header(r, name, buf, sizeof(buf)) != NULL ? atoll(buf) : -1;
}

/* Starts a server with the default options. */
static int start_plain(tst_serve *s)
{
    char *none[] = {NULL};
    return tst_serve_start_argv(s, none);
}

/* Starts a server with a dotenv file of limits plus extra arguments
 * (NULL-terminated). */
static int __attribute__((sentinel)) start_with_limits(tst_serve *s, const char *env_text, ...)
{
    char *env = write_env(env_text);
    char *args[24];
    int n = 0;
    va_list ap;

    args[n++] = "--env";
    args[n++] = env;
    va_start(ap, env_text);
    for (const char *a = va_arg(ap, const char *); a != NULL && n < 23;
         a = va_arg(ap, const char *))
        args[n++] = (char *)a;
    va_end(ap);
    args[n] = NULL;
    int rc = tst_serve_start_argv(s, args);
    free(env);
    return rc;
}

/* ---- options ---- */

static void test_bad_options_exit_2(void)
{
    const char *cases[][3] = {
        {"--listen", "nowhere", NULL},
        {"--listen", "127.0.0.1:70000", NULL},
        {"--policy", "sometimes", NULL},
        {"--window", "tomorrow", NULL},
        {"--threads", "0", NULL},
        {"--threads", "many", NULL},
        {"--max-connections", "0", NULL},
        {"--connection-timeout", "1500ms", NULL},
        {"--max-connections-per-ip", "0", NULL},
        {"--max-connections-per-ip", "2000", NULL}, /* over the default 1024 */
        {"--request-timeout", "0s", NULL},
        {"--request-timeout", "1500ms", NULL},
        {"--store", "mongodb://x", NULL},
        {"--store", "redis://127.0.0.1:1/0", NULL},
        {"--validators", "/nonexistent/validators.txt", NULL},
        {"--env", "/nonexistent/limits.env", NULL},
        {"--bogus", NULL, NULL},
        {"stray-argument", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tst_output out;
        char *args[4] = {"serve", (char *)cases[i][0], (char *)cases[i][1], NULL};
        CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(&out, args), 0);
        if (out.status != 2)
            fprintf(stderr, "case %s %s: status %d\n", cases[i][0],
                    cases[i][1] ? cases[i][1] : "", out.status);
        CU_ASSERT_EQUAL(out.status, 2);
        CU_ASSERT_TRUE(tst_contains(out.err, "ratelab"));
        CU_ASSERT_STRING_EQUAL(out.out, "");
        tst_output_free(&out);
    }
}

static void test_bad_limit_value_exit_2(void)
{
    char *env = write_env("DAILY_LIMIT_PER_MINER=20k\n");
    tst_output out;

    tst_ratelab(&out, "serve", "--env", env, NULL);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT_TRUE(tst_contains(out.err, "DAILY_LIMIT_PER_MINER"));
    tst_output_free(&out);
    free(env);
}

/* ---- the miner route ---- */

static void test_miner_success_body_headers(void)
{
    tst_serve s;
    tst_http_reply r;

    CU_ASSERT_EQUAL_FATAL(start_plain(&s), 0);
    CU_ASSERT_EQUAL(post_miner(&s, "hot1", 0, "good", &r), 200);
    json_t *j = json_loads(r.body, 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "folder")), "data/hotkey=hot1/");
    CU_ASSERT_TRUE(json_is_true(json_object_get(j, "fake")));
    CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "expiry"));
    CU_ASSERT_TRUE(tst_contains(json_string_value(json_object_get(j, "url")), "example.invalid"));
    json_decref(j);
    CU_ASSERT_EQUAL(header_value(&r, "X-RateLimit-Limit"), 20);
    CU_ASSERT_EQUAL(header_value(&r, "X-RateLimit-Remaining"), 19);
    CU_ASSERT_TRUE(header_value(&r, "X-RateLimit-Reset") > 0);
    CU_ASSERT_TRUE(header_value(&r, "X-RateLimit-Reset") <= 86400);
    CU_ASSERT_EQUAL(header_value(&r, "Retry-After"), -1);
    tst_http_reply_free(&r);
    tst_serve_stop(&s, SIGTERM);
}

static void test_default_limit_21st_rejected(void)
{
    tst_serve s;
    tst_http_reply r;

    CU_ASSERT_EQUAL_FATAL(start_plain(&s), 0);
    for (int i = 1; i <= 20; i++)
        CU_ASSERT_EQUAL(miner_status(&s, "miner20", "ok"), 200);
    CU_ASSERT_EQUAL(post_miner(&s, "miner20", 0, "ok", &r), 429);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"detail\":\"Daily limit of 20 exceeded.\"}");
    CU_ASSERT_EQUAL(header_value(&r, "X-RateLimit-Remaining"), 0);
    CU_ASSERT_TRUE(header_value(&r, "Retry-After") > 0);
    tst_http_reply_free(&r);
    /* A 429 consumes nothing: the global count stays at 20. */
    CU_ASSERT_EQUAL(rate_limits_value(&s, "current_usage", "global_requests_today"), 20);
    CU_ASSERT_EQUAL(miner_status(&s, "other-miner", "ok"), 200);
    tst_serve_stop(&s, SIGTERM);
}

static void test_timestamps_400_and_counted(void)
{
    tst_serve s;
    tst_http_reply r;
    char body[256];

    CU_ASSERT_EQUAL_FATAL(start_plain(&s), 0);
    CU_ASSERT_EQUAL(post_miner(&s, "ts1", -400, "ok", &r), 400);
    CU_ASSERT_STRING_EQUAL(detail_of(&r), "Invalid timestamp");
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(post_miner(&s, "ts1", 120, "ok", &r), 400);
    CU_ASSERT_STRING_EQUAL(detail_of(&r), "Invalid timestamp");
    tst_http_reply_free(&r);

    /* A timestamp that is fine but an expiry already past. */
    snprintf(body, sizeof(body),
             "{\"coldkey\":\"c\",\"hotkey\":\"ts1\",\"timestamp\":%ld,\"signature\":\"ok\","
             "\"expiry\":%ld}",
             (long)time(NULL) - 10, (long)time(NULL) - 5);
    tst_http(&r, "POST", url_of(&s, FOLDER), body);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT_STRING_EQUAL(detail_of(&r), "Invalid timestamp");
    CU_ASSERT_EQUAL(header_value(&r, "X-RateLimit-Remaining"), 17);
    tst_http_reply_free(&r);

    /* Deployed order: all three were counted before the timestamp check. */
    CU_ASSERT_EQUAL(rate_limits_value(&s, "current_usage", "global_requests_today"), 3);
    tst_serve_stop(&s, SIGTERM);
}

/* A body without "timestamp" is taken as sent now, as the deployed request
 * model defaults it; an expiry already past still gets 400. */
static void test_missing_timestamp_is_now(void)
{
    tst_serve s;
    tst_http_reply r;
    char body[256];

    CU_ASSERT_EQUAL_FATAL(start_plain(&s), 0);
    tst_http(&r, "POST", url_of(&s, FOLDER),
             "{\"coldkey\":\"c\",\"hotkey\":\"nots1\",\"signature\":\"ok\"}");
    CU_ASSERT_EQUAL(r.status, 200);
    tst_http_reply_free(&r);

    snprintf(body, sizeof(body),
             "{\"coldkey\":\"c\",\"hotkey\":\"nots1\",\"signature\":\"ok\",\"expiry\":%ld}",
             (long)time(NULL) - 5);
    tst_http(&r, "POST", url_of(&s, FOLDER), body);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT_STRING_EQUAL(detail_of(&r), "Invalid timestamp");
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(rate_limits_value(&s, "current_usage", "global_requests_today"), 2);
    tst_serve_stop(&s, SIGTERM);
}

/* The help names the page with the details and the timestamp default. */
static void test_help_points_to_docs(void)
{
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "help", "serve", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT_TRUE(tst_contains(out.out, "docs/serve.md"));
    CU_ASSERT_TRUE(tst_contains(out.out, "without \"timestamp\" counts as sent now"));
    tst_output_free(&out);
}

static void test_bad_signature_401(void)
{
    tst_serve s;
    tst_http_reply r;

    CU_ASSERT_EQUAL_FATAL(start_plain(&s), 0);
    CU_ASSERT_EQUAL(post_miner(&s, "sig1", 0, "bad-signature", &r), 401);
    CU_ASSERT_STRING_EQUAL(detail_of(&r), "Invalid signature");
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(post_miner(&s, "sig1", 0, "", &r), 401);
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(miner_status(&s, "sig1", "good"), 200);
    tst_serve_stop(&s, SIGTERM);
}

/* Two failed requests then a good one against a limit of 2. */
static void check_failed_auth_quota(const char *policy, long want_last, long long want_global)
{
    tst_serve s;

    CU_ASSERT_EQUAL_FATAL(start_with_limits(&s, "DAILY_LIMIT_PER_MINER=2\n", "--policy",
                                            policy, NULL),
                          0);
    CU_ASSERT_EQUAL(miner_status(&s, "victim", "bad"), 401);
    tst_http_reply r;
    CU_ASSERT_EQUAL(post_miner(&s, "victim", -1000, "ok", &r), 400);
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(miner_status(&s, "victim", "ok"), want_last);
    CU_ASSERT_EQUAL(rate_limits_value(&s, "current_usage", "global_requests_today"), want_global);
    tst_serve_stop(&s, SIGTERM);
}

static void test_deployed_failed_auth_counts(void)
{
    check_failed_auth_quota("deployed", 429, 2);
}

static void test_atomic_failed_auth_free(void)
{
    check_failed_auth_quota("atomic", 200, 1);
}

/* ---- validator routes ---- */

static void test_non_validator_401(void)
{
    tst_serve s;
    tst_http_reply r;

    CU_ASSERT_EQUAL_FATAL(start_plain(&s), 0);
    CU_ASSERT_EQUAL(post_validator(&s, VALIDATOR, "Nobody", NULL, &r), 401);
    CU_ASSERT_STRING_EQUAL(detail_of(&r), "You are not validator");
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(post_validator(&s, MINER_SPECIFIC, "Nobody", "m1", &r), 401);
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(post_validator(&s, VALIDATOR, "val1", NULL, &r), 200);
    CU_ASSERT_TRUE(tst_contains(r.body, "\"validator_hotkey\":\"val1\""));
    tst_http_reply_free(&r);
    tst_serve_stop(&s, SIGTERM);
}

static void test_validator_list_file(void)
{
    const char *dir = tst_tmpdir();
    char *list = tst_write_file(dir, "validators.txt", "# validators\nvalA\n\n  Nval  \n");
    tst_serve s;
    tst_http_reply r;

    CU_ASSERT_EQUAL_FATAL(tst_serve_start(&s, "--validators", list, NULL), 0);
    CU_ASSERT_EQUAL(post_validator(&s, VALIDATOR, "valA", NULL, &r), 200);
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(post_validator(&s, VALIDATOR, "Nval", NULL, &r), 200);
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(post_validator(&s, VALIDATOR, "valB", NULL, &r), 401);
    tst_http_reply_free(&r);
    tst_serve_stop(&s, SIGTERM);

    char *bad = tst_write_file(dir, "bad.txt", "ok1\nnot a hotkey\n");
    tst_output out;
    tst_ratelab(&out, "serve", "--validators", bad, NULL);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT_TRUE(tst_contains(out.err, "bad.txt:2"));
    tst_output_free(&out);
    free(list);
    free(bad);
}

static void test_validator_routes_share_counter(void)
{
    tst_serve s;
    tst_http_reply r;

    CU_ASSERT_EQUAL_FATAL(start_with_limits(&s, "DAILY_LIMIT_PER_VALIDATOR=3\n", NULL),
                          0);
    CU_ASSERT_EQUAL(post_validator(&s, VALIDATOR, "v1", NULL, &r), 200);
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(post_validator(&s, MINER_SPECIFIC, "v1", "m1", &r), 200);
    CU_ASSERT_TRUE(tst_contains(r.body, "\"prefix\":\"data/hotkey=m1/\""));
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(post_validator(&s, VALIDATOR, "v1", NULL, &r), 200);
    CU_ASSERT_EQUAL(header_value(&r, "X-RateLimit-Remaining"), 0);
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(post_validator(&s, MINER_SPECIFIC, "v1", "m2", &r), 429);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"detail\":\"Daily limit of 3 exceeded.\"}");
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(post_validator(&s, VALIDATOR, "v1", NULL, &r), 429);
    tst_http_reply_free(&r);
    tst_serve_stop(&s, SIGTERM);
}

static void test_missing_miner_hotkey_400(void)
{
    tst_serve s;
    tst_http_reply r;

    CU_ASSERT_EQUAL_FATAL(start_plain(&s), 0);
    CU_ASSERT_EQUAL(post_validator(&s, MINER_SPECIFIC, "v1", NULL, &r), 400);
    CU_ASSERT_STRING_EQUAL(detail_of(&r), "miner_hotkey is required");
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(post_validator(&s, MINER_SPECIFIC, "v1", "", &r), 400);
    tst_http_reply_free(&r);
    /* Checked before the limiter: nothing counted. */
    CU_ASSERT_EQUAL(rate_limits_value(&s, "current_usage", "global_requests_today"), 0);
    tst_serve_stop(&s, SIGTERM);
}

static void test_global_limit_429(void)
{
    tst_serve s;
    tst_http_reply r;

    CU_ASSERT_EQUAL_FATAL(start_with_limits(&s, "TOTAL_DAILY_LIMIT=2\n", NULL),
                          0);
    CU_ASSERT_EQUAL(miner_status(&s, "g1", "ok"), 200);
    CU_ASSERT_EQUAL(miner_status(&s, "g2", "ok"), 200);
    CU_ASSERT_EQUAL(post_miner(&s, "g3", 0, "ok", &r), 429);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"detail\":\"Global request limit reached.\"}");
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(rate_limits_value(&s, "current_usage", "global_remaining"), 0);
    tst_serve_stop(&s, SIGTERM);
}

/* ---- HTTP errors ---- */

static void test_not_found_and_method(void)
{
    tst_serve s;
    tst_http_reply r;
    char allow[64];

    CU_ASSERT_EQUAL_FATAL(start_plain(&s), 0);
    tst_http(&r, "GET", url_of(&s, "/nowhere"), NULL);
    CU_ASSERT_EQUAL(r.status, 404);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"detail\":\"Not Found\"}");
    tst_http_reply_free(&r);

    tst_http(&r, "GET", url_of(&s, FOLDER), NULL);
    CU_ASSERT_EQUAL(r.status, 405);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"detail\":\"Method Not Allowed\"}");
    CU_ASSERT_PTR_NOT_NULL(tst_http_header(&r, "Allow", allow, sizeof(allow)));
    CU_ASSERT_STRING_EQUAL(allow, "POST");
    tst_http_reply_free(&r);

    tst_http(&r, "POST", url_of(&s, "/rate-limits"), "{}");
    CU_ASSERT_EQUAL(r.status, 405);
    tst_http_reply_free(&r);

    /* A GET with a body: the body is dropped, not stored. */
    tst_http(&r, "GET", url_of(&s, "/rate-limits"), "{\"a\":\"0123456789abcdef\"}");
    CU_ASSERT_EQUAL(r.status, 200);
    tst_http_reply_free(&r);
    tst_serve_stop(&s, SIGTERM);
}

static void test_body_too_large_413(void)
{
    tst_serve s;
    tst_http_reply r;
    size_t n = 20000;
    char *big = malloc(n);
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, ' ', n);
    CU_ASSERT_EQUAL_FATAL(start_plain(&s), 0);
    tst_http_send(&r, "POST", url_of(&s, FOLDER), big, n, NULL);
    CU_ASSERT_EQUAL(r.status, 413);
    tst_http_reply_free(&r);
    tst_http_send(&r, "POST", url_of(&s, FOLDER), big, n, chunked);
    CU_ASSERT_EQUAL(r.status, 413);
    tst_http_reply_free(&r);

    /* Exactly the limit is read and parsed (and is not JSON). */
    tst_http_send(&r, "POST", url_of(&s, FOLDER), big, 16384, NULL);
    CU_ASSERT_EQUAL(r.status, 422);
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(miner_status(&s, "after-big", "ok"), 200);
    tst_serve_stop(&s, SIGTERM);
    free(big);
}

/* Checks that a 422 reply's first error has this loc[1] and type. */
static void check_422(const tst_serve *s, const char *path, const char *body,
                      const char *field, long position, const char *type)
{
    tst_http_reply r;

    tst_http(&r, "POST", url_of(s, path), body);
    CU_ASSERT_EQUAL(r.status, 422);
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *first = json_array_get(json_object_get(j, "detail"), 0);
    json_t *loc = json_object_get(first, "loc");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(loc, 0)), "body");
    if (field != NULL)
        CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(loc, 1)), field);
    if (position >= 0)
        CU_ASSERT_EQUAL(json_integer_value(json_array_get(loc, 1)), position);
    if (field == NULL && position < 0)
        CU_ASSERT_EQUAL(json_array_size(loc), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "type")), type);
    CU_ASSERT_PTR_NOT_NULL(json_object_get(first, "msg"));
    if (r.status != 422 || json_object_get(first, "type") == NULL)
        fprintf(stderr, "422 check for %s: got %ld %s\n", body, r.status, r.body);
    json_decref(j);
    tst_http_reply_free(&r);
}

static void test_invalid_body_422_loc(void)
{
    tst_serve s;
    char long_key[300];

    memset(long_key, 0, sizeof(long_key));
    strcpy(long_key, "{\"coldkey\":\"c\",\"signature\":\"s\",\"hotkey\":\"");
    memset(long_key + strlen(long_key), 'k', 129);
    strcat(long_key, "\"}");

    CU_ASSERT_EQUAL_FATAL(start_plain(&s), 0);
    check_422(&s, FOLDER, "{\"coldkey\":\"c\",\"signature\":\"s\"}", "hotkey", -1,
              "value_error.missing");
    check_422(&s, FOLDER, "{\"coldkey\":\"c\",\"hotkey\"", NULL, 23, "value_error.jsondecode");
    check_422(&s, FOLDER, "{\"a\":tru}", NULL, 5, "value_error.jsondecode");
    check_422(&s, FOLDER, "{\"a\":1,\n}", NULL, 8, "value_error.jsondecode");
    check_422(&s, FOLDER, "null", NULL, -1, "type_error.dict");
    check_422(&s, FOLDER, "{\"coldkey\":\"c\",\"hotkey\":\"h\",\"signature\":\"s\",\"timestamp\":\"soon\"}",
              "timestamp", -1, "type_error.integer");
    check_422(&s, FOLDER, "{\"coldkey\":\"c\",\"hotkey\":[1],\"signature\":\"s\"}", "hotkey", -1,
              "type_error.str");
    check_422(&s, FOLDER, long_key, "hotkey", -1, "value_error.any_str.max_length");
    check_422(&s, FOLDER, "{\"coldkey\":\"c\",\"hotkey\":\"a:b\",\"signature\":\"s\"}", "hotkey",
              -1, "value_error.str.regex");
    check_422(&s, VALIDATOR, "[1,2]", NULL, -1, "type_error.dict");
    check_422(&s, VALIDATOR, "", NULL, -1, "value_error.missing");
    check_422(&s, VALIDATOR, "{\"hotkey\":\"v\",\"timestamp\":1}", "signature", -1,
              "value_error.missing");
    /* Nothing invalid was counted. */
    CU_ASSERT_EQUAL(rate_limits_value(&s, "current_usage", "global_requests_today"), 0);
    tst_serve_stop(&s, SIGTERM);
}

static void test_hostile_inputs_no_crash(void)
{
    static const char *bodies[] = {
        "{", "}", "null", "\"x\"", "1e999", "{\"hotkey\":\"\\u0000\"}",
        "{\"coldkey\":{},\"hotkey\":{},\"timestamp\":{},\"signature\":{},\"expiry\":{}}",
        "{\"coldkey\":\"c\",\"hotkey\":\"h\",\"signature\":\"s\",\"timestamp\":9223372036854775807,"
        "\"expiry\":-9223372036854775807}",
        "{\"coldkey\":\"c\",\"hotkey\":\"h\",\"signature\":\"s\",\"timestamp\":-1e300}",
        "\xff\xfe\xfd", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    };
    tst_serve s;
    tst_http_reply r;

    CU_ASSERT_EQUAL_FATAL(start_plain(&s), 0);
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        tst_http(&r, "POST", url_of(&s, FOLDER), bodies[i]);
        CU_ASSERT_TRUE(r.status == 422 || r.status == 400);
        tst_http_reply_free(&r);
    }
    tst_http(&r, "GET", url_of(&s, "/%00%ff/../../etc/passwd"), NULL);
    CU_ASSERT_EQUAL(r.status, 404);
    tst_http_reply_free(&r);
    tst_http(&r, "GET", url_of(&s, "/healthcheck"), NULL);
    CU_ASSERT_EQUAL(r.status, 200);
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(tst_serve_stop(&s, SIGTERM), 0);
}

/* ---- /rate-limits, limits and windows ---- */

static void test_rate_limits_after_requests(void)
{
    tst_serve s;

    CU_ASSERT_EQUAL_FATAL(start_plain(&s), 0);
    CU_ASSERT_EQUAL(rate_limits_value(&s, "current_usage", "global_requests_today"), 0);
    for (int i = 0; i < 7; i++) {
        char hotkey[32];
        snprintf(hotkey, sizeof(hotkey), "rl%d", i % 3);
        CU_ASSERT_EQUAL(miner_status(&s, hotkey, "ok"), 200);
    }
    CU_ASSERT_EQUAL(rate_limits_value(&s, "current_usage", "global_requests_today"), 7);
    CU_ASSERT_EQUAL(rate_limits_value(&s, "current_usage", "global_remaining"), 200000 - 7);
    CU_ASSERT_EQUAL(rate_limits_value(&s, "rate_limits", "daily_limit_per_miner"), 20);
    CU_ASSERT_EQUAL(rate_limits_value(&s, "rate_limits", "daily_limit_per_validator"), 10000);
    CU_ASSERT_EQUAL(rate_limits_value(&s, "rate_limits", "total_daily_limit"), 200000);
    tst_serve_stop(&s, SIGTERM);
}

static void test_limits_from_env_and_file(void)
{
    tst_serve s;
    tst_http_reply r;

    /* The environment sets the validator limit, the file the others. */
    setenv("DAILY_LIMIT_PER_VALIDATOR", "777", 1);
    int rc = start_with_limits(&s, "# test\nDAILY_LIMIT_PER_MINER=5\nTOTAL_DAILY_LIMIT=1234\n", NULL);
    unsetenv("DAILY_LIMIT_PER_VALIDATOR");
    CU_ASSERT_EQUAL_FATAL(rc, 0);

    CU_ASSERT_EQUAL(rate_limits_value(&s, "rate_limits", "daily_limit_per_miner"), 5);
    CU_ASSERT_EQUAL(rate_limits_value(&s, "rate_limits", "daily_limit_per_validator"), 777);
    CU_ASSERT_EQUAL(rate_limits_value(&s, "rate_limits", "total_daily_limit"), 1234);
    CU_ASSERT_EQUAL(rate_limits_value(&s, "current_usage", "global_remaining"), 1234);

    /* The limits are enforced, not only reported. */
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(miner_status(&s, "envminer", "ok"), 200);
    CU_ASSERT_EQUAL(post_miner(&s, "envminer", 0, "ok", &r), 429);
    CU_ASSERT_STRING_EQUAL(detail_of(&r), "Daily limit of 5 exceeded.");
    tst_http_reply_free(&r);

    tst_http(&r, "GET", url_of(&s, "/rate-limits"), NULL);
    CU_ASSERT_TRUE(tst_contains(r.body, "limits.env:2"));
    CU_ASSERT_TRUE(tst_contains(r.body, "\"source\":\"environment\""));
    tst_http_reply_free(&r);

    char *log = tst_serve_log(&s);
    CU_ASSERT_TRUE(tst_contains(log, "miner 5 (") && tst_contains(log, "limits.env:2"));
    free(log);
    tst_serve_stop(&s, SIGTERM);
}

static void test_compressed_window_resets(void)
{
    tst_serve s;
    tst_http_reply r;
    long long reset_s = -1;
    int rejected = 0;

    CU_ASSERT_EQUAL_FATAL(start_with_limits(&s, "DAILY_LIMIT_PER_MINER=2\n", "--window", "2s", NULL),
                          0);
    /* Bounded: a 2 s window admits 2, so a 429 comes within a few tries
     * even when a window boundary passes in between. */
    for (int i = 0; i < 20 && !rejected; i++) {
        if (post_miner(&s, "fast", 0, "ok", &r) == 429) {
            rejected = 1;
            reset_s = header_value(&r, "X-RateLimit-Reset");
        }
        tst_http_reply_free(&r);
    }
    CU_ASSERT_TRUE_FATAL(rejected);
    CU_ASSERT_TRUE(reset_s >= 0 && reset_s <= 2);

    struct timespec wait = {(time_t)reset_s, 300 * 1000000L};
    nanosleep(&wait, NULL);
    CU_ASSERT_EQUAL(miner_status(&s, "fast", "ok"), 200);
    tst_serve_stop(&s, SIGTERM);
}

static void test_ipv6_listen(void)
{
    char listen[32], url[64];
    int port = tst_free_port();
    tst_http_reply r = {0};

    snprintf(listen, sizeof(listen), "[::1]:%d", port);
    snprintf(url, sizeof(url), "http://[::1]:%d/healthcheck", port);
    char *argv[] = {(char *)RATELAB_BIN, "serve", "--listen", listen, NULL};
    pid_t pid = tst_spawn(argv, NULL);
    CU_ASSERT_TRUE_FATAL(pid > 0);

    /* Bounded wait: 100 tries 50 ms apart. */
    for (int i = 0; i < 100; i++) {
        tst_http(&r, "GET", url, NULL);
        if (r.status == 200)
            break;
        tst_http_reply_free(&r);
        struct timespec pause = {0, 50 * 1000000L};
        nanosleep(&pause, NULL);
    }
    CU_ASSERT_EQUAL(r.status, 200);
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(tst_stop(pid, SIGTERM, 10000), 0);
}

/* Starts `ratelab serve --listen ADDR:PORT` on a free port, checks that
 * /healthcheck returns 200 on 127.0.0.1, stops it and returns its log
 * (caller frees). */
static char *serve_log_for_listen(const char *addr)
{
    char listen[64], url[64], log_path[200];
    int port = tst_free_port();
    tst_http_reply r = {0};

    snprintf(listen, sizeof(listen), "%s:%d", addr, port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthcheck", port);
    snprintf(log_path, sizeof(log_path), "%s/listen-%d.log", tst_tmpdir(), port);
    char *argv[] = {(char *)RATELAB_BIN, "serve", "--listen", listen, NULL};
    pid_t pid = tst_spawn(argv, log_path);
    if (pid < 0)
        return NULL;
    if (tst_wait_port(port, 10000) == 0)
        tst_http(&r, "GET", url, NULL);
    CU_ASSERT_EQUAL(r.status, 200);
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(tst_stop(pid, SIGTERM, 10000), 0);

    tst_serve done = {.pid = -1};
    snprintf(done.log_path, sizeof(done.log_path), "%s", log_path);
    return tst_serve_log(&done);
}

/* Binding every interface is allowed, with a warning naming the address.
 * The test only sends to 127.0.0.1. */
static void test_non_loopback_listen_warns(void)
{
    char *log = serve_log_for_listen("0.0.0.0");
    CU_ASSERT_TRUE(tst_contains(log, "warn: serve: 0.0.0.0:"));
    CU_ASSERT_TRUE(tst_contains(log, "is not a loopback address"));
    CU_ASSERT_TRUE(tst_contains(log, "fake credentials"));
    CU_ASSERT_TRUE(tst_contains(log, "counts every request"));
    free(log);

    /* All of 127.0.0.0/8 is loopback: no warning. */
    log = serve_log_for_listen("127.0.0.1");
    CU_ASSERT_TRUE(tst_contains(log, "listening on http://127.0.0.1:"));
    CU_ASSERT_FALSE(tst_contains(log, "not a loopback address"));
    free(log);
}

/* ---- logs, signals ---- */

static void test_sigterm_summary_line(void)
{
    tst_serve s;
    tst_http_reply r;

    CU_ASSERT_EQUAL_FATAL(start_with_limits(&s, "DAILY_LIMIT_PER_MINER=1\n", NULL),
                          0);
    CU_ASSERT_EQUAL(miner_status(&s, "sum", "ok"), 200);
    CU_ASSERT_EQUAL(miner_status(&s, "sum", "ok"), 429);
    CU_ASSERT_EQUAL(miner_status(&s, "sum2", "bad"), 401);
    tst_http(&r, "GET", url_of(&s, "/x"), NULL);
    tst_http_reply_free(&r);
    tst_http(&r, "GET", url_of(&s, "/healthcheck"), NULL);
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(tst_serve_stop(&s, SIGTERM), 0);

    char *log = tst_serve_log(&s);
    CU_ASSERT_TRUE(tst_contains(log, "ratelab serve: stopped by SIGTERM: 5 requests: 1 allowed, "
                                     "1 other (rate-limits, healthcheck), 3 rejected"));
    CU_ASSERT_TRUE(tst_contains(log, "client 1,"));
    CU_ASSERT_TRUE(tst_contains(log, "signature 1,"));
    CU_ASSERT_TRUE(tst_contains(log, "not-found 1"));
    CU_ASSERT_TRUE(tst_contains(log, "listening on http://127.0.0.1:"));
    free(log);

    CU_ASSERT_EQUAL_FATAL(start_plain(&s), 0);
    CU_ASSERT_EQUAL(tst_serve_stop(&s, SIGINT), 0);
    log = tst_serve_log(&s);
    CU_ASSERT_TRUE(tst_contains(log, "stopped by SIGINT: 0 requests"));
    free(log);
}

static void test_access_log_file(void)
{
    const char *dir = tst_tmpdir();
    char opt[300], path[200];
    tst_serve s;

    snprintf(path, sizeof(path), "%s/access.log", dir);
    snprintf(opt, sizeof(opt), "--access-log=%s", path);
    CU_ASSERT_EQUAL_FATAL(tst_serve_start(&s, opt, "--threads", "2", NULL), 0);
    CU_ASSERT_EQUAL(miner_status(&s, "logged", "ok"), 200);
    tst_serve_stop(&s, SIGTERM);

    tst_serve fake = {.pid = -1};
    snprintf(fake.log_path, sizeof(fake.log_path), "%s", path);
    char *log = tst_serve_log(&fake);
    CU_ASSERT_TRUE(tst_contains(log, " 127.0.0.1:"));
    CU_ASSERT_TRUE(tst_contains(log, " POST /get-folder-access 200 logged "));
    CU_ASSERT_TRUE(tst_contains(log, "ms\n"));
    free(log);
}

/* ---- Redis ---- */

static void test_redis_health_and_fail_modes(void)
{
    tst_redis redis;
    tst_serve closed, open;
    tst_http_reply r;

    CU_ASSERT_EQUAL_FATAL(tst_redis_start(&redis), 0);
    CU_ASSERT_EQUAL_FATAL(tst_serve_start(&closed, "--store", redis.url, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(tst_serve_start(&open, "--store", redis.url, "--fail-open", NULL), 0);

    tst_http(&r, "GET", url_of(&closed, "/healthcheck"), NULL);
    CU_ASSERT_EQUAL(r.status, 200);
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(miner_status(&closed, "rh", "ok"), 200);
    CU_ASSERT_EQUAL(rate_limits_value(&open, "current_usage", "global_requests_today"), 1);

    tst_redis_stop(&redis);
    tst_http(&r, "GET", url_of(&closed, "/healthcheck"), NULL);
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT_TRUE(tst_contains(r.body, "\"store_ok\":false"));
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(post_miner(&closed, "rh", 0, "ok", &r), 503);
    CU_ASSERT_STRING_EQUAL(detail_of(&r), "Rate limit store unavailable.");
    tst_http_reply_free(&r);
    CU_ASSERT_EQUAL(miner_status(&open, "rh", "ok"), 200);
    CU_ASSERT_EQUAL(miner_status(&open, "rh", "bad"), 401);

    tst_serve_stop(&closed, SIGTERM);
    tst_serve_stop(&open, SIGTERM);
    char *log = tst_serve_log(&closed);
    CU_ASSERT_TRUE(tst_contains(log, "store errors"));
    CU_ASSERT_TRUE(tst_contains(log, "redis://127.0.0.1:"));
    free(log);
}

typedef struct client_job {
    const tst_serve *servers[2];
    int requests;
    int index;
    int allowed;
    int rejected;
    int other;
} client_job;

static void *client_thread(void *arg)
{
    client_job *job = arg;
    for (int i = 0; i < job->requests; i++) {
        const tst_serve *s = job->servers[(i + job->index) % 2];
        long status = miner_status(s, "shared-hotkey", "ok");
        if (status == 200)
            job->allowed++;
        else if (status == 429)
            job->rejected++;
        else
            job->other++;
    }
    return NULL;
}

static void test_two_servers_atomic_exact(void)
{
    enum { CLIENTS = 8, PER_CLIENT = 50 };
    tst_redis redis;
    tst_serve a, b;
    pthread_t threads[CLIENTS];
    client_job jobs[CLIENTS];
    int allowed = 0, rejected = 0, other = 0;

    CU_ASSERT_EQUAL_FATAL(tst_redis_start(&redis), 0);
    CU_ASSERT_EQUAL_FATAL(start_with_limits(&a, "DAILY_LIMIT_PER_MINER=50\n", "--store",
                                            redis.url, "--policy", "atomic", "--threads", "4",
                                            NULL),
                          0);
    CU_ASSERT_EQUAL_FATAL(start_with_limits(&b, "DAILY_LIMIT_PER_MINER=50\n", "--store",
                                            redis.url, "--policy", "atomic", "--threads", "4",
                                            NULL),
                          0);
    /* 8 client threads alternate between the servers, 4 workers each, so
     * up to 8 decisions on one key are in flight at once. */
    for (int i = 0; i < CLIENTS; i++) {
        jobs[i] = (client_job){{&a, &b}, PER_CLIENT, i, 0, 0, 0};
        pthread_create(&threads[i], NULL, client_thread, &jobs[i]);
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        allowed += jobs[i].allowed;
        rejected += jobs[i].rejected;
        other += jobs[i].other;
    }
    CU_ASSERT_EQUAL(allowed, 50);
    CU_ASSERT_EQUAL(rejected, CLIENTS * PER_CLIENT - 50);
    CU_ASSERT_EQUAL(other, 0);
    CU_ASSERT_EQUAL(rate_limits_value(&a, "current_usage", "global_requests_today"), 50);
    CU_ASSERT_EQUAL(rate_limits_value(&b, "current_usage", "global_requests_today"), 50);

    tst_serve_stop(&a, SIGTERM);
    tst_serve_stop(&b, SIGTERM);
    tst_redis_stop(&redis);
}

static int suite_init(void)
{
    unsetenv("DAILY_LIMIT_PER_MINER");
    unsetenv("DAILY_LIMIT_PER_VALIDATOR");
    unsetenv("TOTAL_DAILY_LIMIT");
    unsetenv("RATELAB_LOG");
    tst_http_init();
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"bad options exit 2", test_bad_options_exit_2},
        {"bad limit value exits 2", test_bad_limit_value_exit_2},
        {"miner success body and headers", test_miner_success_body_headers},
        {"default limit: 21st rejected", test_default_limit_21st_rejected},
        {"timestamps 400 and counted", test_timestamps_400_and_counted},
        {"missing timestamp is now", test_missing_timestamp_is_now},
        {"help points to docs", test_help_points_to_docs},
        {"bad signature 401", test_bad_signature_401},
        {"deployed: failed auth counts", test_deployed_failed_auth_counts},
        {"atomic: failed auth is free", test_atomic_failed_auth_free},
        {"non-validator 401", test_non_validator_401},
        {"validator list file", test_validator_list_file},
        {"validator routes share counter", test_validator_routes_share_counter},
        {"missing miner_hotkey 400", test_missing_miner_hotkey_400},
        {"global limit 429", test_global_limit_429},
        {"404 and 405", test_not_found_and_method},
        {"body too large 413", test_body_too_large_413},
        {"invalid body 422 loc", test_invalid_body_422_loc},
        {"hostile inputs do not crash", test_hostile_inputs_no_crash},
        {"rate-limits after requests", test_rate_limits_after_requests},
        {"limits from env and file", test_limits_from_env_and_file},
        {"compressed window resets", test_compressed_window_resets},
        {"IPv6 listen", test_ipv6_listen},
        {"non-loopback listen warns", test_non_loopback_listen_warns},
        {"SIGTERM summary line", test_sigterm_summary_line},
        {"access log file", test_access_log_file},
        {"redis health and fail modes", test_redis_health_and_fail_modes},
        {"two servers atomic: exact limit", test_two_servers_atomic_exact},
        CU_TEST_INFO_NULL,
    };
    return tst_main("server", suite_init, NULL, tests);
}
