/*
 * test_hostile_load.c: `ratelab load` against servers that misbehave
 * (hostile_server.h) and against a port where nothing listens.
 *
 * Every run is short (--rate 10 --duration 2s --timeout 1s, 4 connections)
 * and tst_run kills it after RUN_LIMIT_S, so a hang fails the test instead
 * of blocking the suite.  For each server the run must exit 0, count its
 * failures under the expected error kind (the kind libcurl's result maps
 * to in loadgen/lg_stats.c), and still write its results, both the JSON on
 * stdout and the --out file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hostile_server.h"
#include "tst_support.h"

/* A 2 s run with 1 s timeouts ends well within this; only a hang reaches it. */
#define RUN_LIMIT_S 60

typedef struct load_run {
    tst_output out;
    json_t *stdout_json; /* NULL when stdout was not JSON */
    json_t *file_json;   /* NULL when the --out file is missing or bad */
} load_run;

/* Runs a short constant-rate load against port; fills *run. */
static void run_load(int port, load_run *run)
{
    const char *dir = tst_tmpdir();
    char target[64], out_path[512];
    json_error_t jerr;

    snprintf(target, sizeof(target), "http://127.0.0.1:%d", port);
    snprintf(out_path, sizeof(out_path), "%s/result.json", dir);
    char *argv[] = {(char *)RATELAB_BIN, "load", "--target", target, "--rate", "10",
                    "--duration", "2s", "--timeout", "1s", "--connections", "4",
                    "--json", "--out", out_path, NULL};

    memset(run, 0, sizeof(*run));
    tst_run(argv, NULL, RUN_LIMIT_S, &run->out);
    run->stdout_json = json_loads(run->out.out != NULL ? run->out.out : "", 0, &jerr);
    run->file_json = json_load_file(out_path, 0, &jerr);
}

static void load_run_free(load_run *run)
{
    tst_output_free(&run->out);
    json_decref(run->stdout_json);
    json_decref(run->file_json);
}

static long long count_of(json_t *result, const char *key)
{
    return (long long)json_integer_value(json_object_get(result, key));
}

static long long errors_of(json_t *result, const char *kind)
{
    return (long long)json_integer_value(json_object_get(json_object_get(result, "errors"), kind));
}

/* Checks what every hostile run must show: a clean exit within the limit,
 * results in both places, requests sent, and no responses. */
static void check_bounded_run(const load_run *run, const char *kind)
{
    if (run->out.status != 0)
        fprintf(stderr, "\n%s: status %d, stderr:\n%s\n", kind, run->out.status,
                run->out.err != NULL ? run->out.err : "");
    CU_ASSERT_EQUAL(run->out.status, 0);
    CU_ASSERT_PTR_NOT_NULL(run->stdout_json);
    CU_ASSERT_PTR_NOT_NULL(run->file_json);
    CU_ASSERT(count_of(run->file_json, "requests") > 0);
    CU_ASSERT_EQUAL(count_of(run->file_json, "requests"),
                    count_of(run->stdout_json, "requests"));
}

/* Runs against one hostile kind; expects errors of error_kind only. */
static void check_kind(hostile_kind kind, const char *error_kind)
{
    hostile_server server;
    load_run run;

    CU_ASSERT_FATAL(hostile_server_start(&server, kind) == 0);
    run_load(server.port, &run);
    hostile_server_stop(&server);

    check_bounded_run(&run, hostile_kind_name(kind));
    CU_ASSERT(atomic_load(&server.accepted) > 0);
    if (run.file_json != NULL) {
        json_t *r = run.file_json;
        if (errors_of(r, error_kind) == 0 || count_of(r, "responses") != 0)
            fprintf(stderr, "\n%s: expected %s errors, got: %s\n", hostile_kind_name(kind),
                    error_kind, run.out.out);
        CU_ASSERT_EQUAL(count_of(r, "responses"), 0);
        CU_ASSERT(errors_of(r, error_kind) > 0);
        CU_ASSERT_EQUAL(errors_of(r, error_kind), count_of(r, "errors_total"));
    }
    load_run_free(&run);
}

/* The control case: the same harness gets responses from a sane server. */
static void test_load_against_valid_server(void)
{
    hostile_server server;
    load_run run;

    CU_ASSERT_FATAL(hostile_server_start(&server, HOSTILE_OK) == 0);
    run_load(server.port, &run);
    hostile_server_stop(&server);

    CU_ASSERT_EQUAL(run.out.status, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(run.file_json);
    CU_ASSERT(count_of(run.file_json, "responses") > 0);
    CU_ASSERT_EQUAL(count_of(run.file_json, "errors_total"), 0);
    load_run_free(&run);
}

static void test_load_server_stalls(void)
{
    check_kind(HOSTILE_STALL, "timeout");
}

static void test_load_server_resets(void)
{
    check_kind(HOSTILE_RESET, "reset");
}

static void test_load_server_sends_garbage(void)
{
    /* libcurl 7.88 rejects a reply without a status line as HTTP/0.9
     * (CURLE_UNSUPPORTED_PROTOCOL or CURLE_WEIRD_SERVER_REPLY). */
    check_kind(HOSTILE_GARBAGE, "other");
}

static void test_load_server_one_byte_per_second(void)
{
    check_kind(HOSTILE_TRICKLE, "timeout");
}

static void test_load_server_closes_mid_response(void)
{
    check_kind(HOSTILE_CUT, "reset");
}

static void test_load_server_huge_header(void)
{
    /* libcurl rejects a header line over 100 KiB (CURL_MAX_HTTP_HEADER). */
    check_kind(HOSTILE_HUGE_HEADER, "other");
}

static void test_load_nothing_listening(void)
{
    load_run run;
    int port = tst_free_port();

    CU_ASSERT_FATAL(port > 0);
    run_load(port, &run);
    check_bounded_run(&run, "refused");
    if (run.file_json != NULL) {
        CU_ASSERT_EQUAL(count_of(run.file_json, "responses"), 0);
        CU_ASSERT(errors_of(run.file_json, "refused") > 0);
    }
    load_run_free(&run);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"load against valid server", test_load_against_valid_server},
        {"load server stalls", test_load_server_stalls},
        {"load server resets", test_load_server_resets},
        {"load server sends garbage", test_load_server_sends_garbage},
        {"load server one byte per second", test_load_server_one_byte_per_second},
        {"load server closes mid-response", test_load_server_closes_mid_response},
        {"load server huge header", test_load_server_huge_header},
        {"load nothing listening", test_load_nothing_listening},
        CU_TEST_INFO_NULL,
    };
    return tst_main("hostile_load", NULL, NULL, tests);
}
