/*
 * test_loadgen_unit.c: the load generator's pure parts: log-linear
 * histograms (precision, exact merge, JSON round trip), rate parsing,
 * request templates and placeholders.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "lg_hist.h"
#include "lg_json.h"
#include "lg_rate.h"
#include "lg_stats.h"
#include "lg_status.h"
#include "lg_template.h"
#include "tst_support.h"

/* ---- histograms ------------------------------------------------------- */

static uint64_t test_rng = 88172645463325252ULL;

static uint64_t next_random(void)
{
    test_rng ^= test_rng << 13;
    test_rng ^= test_rng >> 7;
    test_rng ^= test_rng << 17;
    return test_rng;
}

/* Log-uniform values from 1 us to about 10^10 us, so every magnitude of
 * the layout gets values. */
static int64_t random_latency(void)
{
    int magnitude = (int)(next_random() % 34);
    int64_t base = 1LL << magnitude;
    return base + (int64_t)(next_random() % (uint64_t)base);
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t exact_percentile(const int64_t *sorted, size_t n, double p)
{
    double exact = p / 100.0 * (double)n;
    size_t rank = (size_t)exact;
    if ((double)rank < exact)
        rank++;
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1];
}

static void test_hist_bucket_layout(void)
{
    CU_ASSERT_EQUAL(lg_hist_index(0), 0);
    CU_ASSERT_EQUAL(lg_hist_index(2047), 2047);
    CU_ASSERT_EQUAL(lg_hist_index(2048), 2048);
    CU_ASSERT_EQUAL(lg_hist_index(2049), 2048);
    CU_ASSERT_EQUAL(lg_hist_index(1234567), 11445);
    CU_ASSERT_EQUAL(lg_hist_lowest_us(11445), 1233920);
    CU_ASSERT_EQUAL(lg_hist_highest_us(11445), 1234943);
    CU_ASSERT_EQUAL(lg_hist_index(LG_HIST_HIGHEST_US), LG_HIST_COUNTS - 1);
    /* Every bucket is contiguous with the next one. */
    for (int i = 0; i + 1 < LG_HIST_COUNTS; i++) {
        if (lg_hist_highest_us(i) + 1 != lg_hist_lowest_us(i + 1)) {
            CU_FAIL("buckets are not contiguous");
            break;
        }
    }
}

static void test_hist_percentiles_within_tenth_percent(void)
{
    enum { N = 200000 };
    int64_t *values = malloc(N * sizeof(*values));
    lg_hist *h = lg_hist_create();
    CU_ASSERT_FATAL(values != NULL && h != NULL);
    for (int i = 0; i < N; i++) {
        values[i] = random_latency();
        lg_hist_record(h, values[i]);
    }
    qsort(values, N, sizeof(*values), compare_i64);

    const double ps[] = {1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};
    for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
        int64_t exact = exact_percentile(values, N, ps[k]);
        int64_t got = lg_hist_percentile(h, ps[k]);
        CU_ASSERT(got >= exact);
        CU_ASSERT((double)(got - exact) <= 0.001 * (double)exact);
    }
    CU_ASSERT_EQUAL(h->max_us, values[N - 1]);
    CU_ASSERT_EQUAL(h->min_us, values[0]);
    CU_ASSERT_EQUAL(h->total, (uint64_t)N);
    free(values);
    lg_hist_destroy(h);
}

static void test_hist_overflow_and_negative(void)
{
    lg_hist *h = lg_hist_create();
    CU_ASSERT_FATAL(h != NULL);
    lg_hist_record(h, -5);
    lg_hist_record(h, LG_HIST_HIGHEST_US * 2);
    CU_ASSERT_EQUAL(h->counts[0], 1);
    CU_ASSERT_EQUAL(h->counts[LG_HIST_COUNTS - 1], 1);
    CU_ASSERT_EQUAL(h->overflow, 1);
    CU_ASSERT_EQUAL(lg_hist_percentile(h, 100), LG_HIST_HIGHEST_US);
    lg_hist_destroy(h);
}

static void test_hist_merge_is_exact(void)
{
    lg_hist *a = lg_hist_create(), *b = lg_hist_create(), *all = lg_hist_create();
    CU_ASSERT_FATAL(a != NULL && b != NULL && all != NULL);
    for (int i = 0; i < 50000; i++) {
        int64_t v = random_latency();
        lg_hist_record(i % 3 == 0 ? a : b, v);
        lg_hist_record(all, v);
    }
    lg_hist_add(a, b);
    CU_ASSERT_EQUAL(memcmp(a->counts, all->counts, LG_HIST_COUNTS * sizeof(uint64_t)), 0);
    CU_ASSERT_EQUAL(a->total, all->total);
    CU_ASSERT_EQUAL(a->min_us, all->min_us);
    CU_ASSERT_EQUAL(a->max_us, all->max_us);
    CU_ASSERT_EQUAL(lg_hist_percentile(a, 99.9), lg_hist_percentile(all, 99.9));
    lg_hist_destroy(a);
    lg_hist_destroy(b);
    lg_hist_destroy(all);
}

static void test_hist_json_round_trip_merges(void)
{
    lg_hist *a = lg_hist_create(), *b = lg_hist_create(), *all = lg_hist_create();
    lg_hist *back = lg_hist_create();
    rl_error err;
    CU_ASSERT_FATAL(a != NULL && b != NULL && all != NULL && back != NULL);
    for (int i = 0; i < 20000; i++) {
        int64_t v = random_latency();
        lg_hist_record(i % 2 ? a : b, v);
        lg_hist_record(all, v);
    }
    json_t *ja = lg_hist_to_json(a), *jb = lg_hist_to_json(b);
    CU_ASSERT_FATAL(ja != NULL && jb != NULL);
    CU_ASSERT_EQUAL(lg_hist_from_json(back, ja, "a", &err), 0);
    CU_ASSERT_EQUAL(lg_hist_from_json(back, jb, "b", &err), 0);
    CU_ASSERT_EQUAL(memcmp(back->counts, all->counts, LG_HIST_COUNTS * sizeof(uint64_t)), 0);
    CU_ASSERT_EQUAL(back->total, all->total);
    CU_ASSERT_EQUAL(back->max_us, all->max_us);
    CU_ASSERT_EQUAL(back->min_us, all->min_us);

    /* A histogram of another layout is refused, not misread. */
    json_object_set_new(json_object_get(ja, "layout"), "buckets", json_integer(100));
    CU_ASSERT_EQUAL(lg_hist_from_json(back, ja, "other.json", &err), LG_ERR_LAYOUT);
    CU_ASSERT(tst_contains(err.message, "other.json"));
    json_decref(ja);
    json_decref(jb);
    lg_hist_destroy(a);
    lg_hist_destroy(b);
    lg_hist_destroy(all);
    lg_hist_destroy(back);
}

static void test_result_merge_adds_counts(void)
{
    lg_result a, b;
    CU_ASSERT_FATAL(lg_result_init(&a) == 0 && lg_result_init(&b) == 0);
    a.stats.sent = 10;
    a.stats.status[200] = 7;
    a.stats.errors[LG_ERROR_TIMEOUT] = 3;
    a.requests_per_second = 100;
    a.send_seconds = 5;
    b.stats.sent = 5;
    b.stats.status[200] = 4;
    b.stats.status[429] = 1;
    b.requests_per_second = 50;
    b.send_seconds = 7;
    lg_result_merge(&a, &b);
    CU_ASSERT_EQUAL(a.stats.sent, 15);
    CU_ASSERT_EQUAL(a.stats.status[200], 11);
    CU_ASSERT_EQUAL(a.stats.status[429], 1);
    CU_ASSERT_EQUAL(a.stats.errors[LG_ERROR_TIMEOUT], 3);
    CU_ASSERT_DOUBLE_EQUAL(a.requests_per_second, 150, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(a.send_seconds, 7, 1e-9);
    CU_ASSERT_EQUAL(a.runs, 2);
    CU_ASSERT_STRING_EQUAL(a.mode, "merged");
    lg_result_free(&a);
    lg_result_free(&b);
}

/* The CPU wait survives a JSON round trip and adds on merge; a result
 * written before the key existed still reads, with no wait. */
static void test_result_cpu_wait_round_trip(void)
{
    lg_result a, back, old;
    rl_error err;
    CU_ASSERT_FATAL(lg_result_init(&a) == 0 && lg_result_init(&back) == 0 &&
                    lg_result_init(&old) == 0);
    snprintf(a.mode, sizeof(a.mode), "rate");
    a.stats.sent = 3;
    a.stats.cpu_wait_us = 1250000;
    a.send_seconds = 1;

    json_t *j = lg_result_to_json(&a);
    CU_ASSERT_FATAL(j != NULL);
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(j, "cpu_wait_seconds")), 1.25,
                           1e-9);
    CU_ASSERT_EQUAL(lg_result_from_json(&back, j, "a.json", &err), 0);
    CU_ASSERT_EQUAL(back.stats.cpu_wait_us, 1250000);

    json_object_del(j, "cpu_wait_seconds");
    CU_ASSERT_EQUAL(lg_result_from_json(&old, j, "old.json", &err), 0);
    CU_ASSERT_EQUAL(old.stats.cpu_wait_us, 0);

    lg_result_merge(&back, &a);
    CU_ASSERT_EQUAL(back.stats.cpu_wait_us, 2500000);
    json_decref(j);
    lg_result_free(&a);
    lg_result_free(&back);
    lg_result_free(&old);
}

/* ---- rates ------------------------------------------------------------ */

static void test_series_slot_layout(void)
{
    CU_ASSERT_EQUAL(lg_series_slot(0), 0);
    CU_ASSERT_EQUAL(lg_series_slot(15), 15);
    CU_ASSERT_EQUAL(lg_series_slot(16), 16);
    CU_ASSERT_EQUAL(lg_series_slot(1500), 119);
    CU_ASSERT_EQUAL(lg_series_slot_highest_us(119), 1535);
    CU_ASSERT_EQUAL(lg_series_slot(1472), 119);
    CU_ASSERT_EQUAL(lg_series_slot(1471), 118);
    CU_ASSERT(lg_series_slot(LG_HIST_HIGHEST_US) < LG_SERIES_SLOTS);
    CU_ASSERT_EQUAL(lg_series_slot(LG_HIST_HIGHEST_US * 2), lg_series_slot(LG_HIST_HIGHEST_US));
    /* Every slot's top is within 1/16 of its values. */
    for (int64_t v = 16; v < 100000; v += 37) {
        int64_t top = lg_series_slot_highest_us(lg_series_slot(v));
        CU_ASSERT(top >= v);
        CU_ASSERT(top - v <= v / 16);
    }
}

static void test_series_buckets_and_merge(void)
{
    CU_ASSERT_EQUAL(lg_series_bucket_ns(30000000000LL), 1000000000LL);
    CU_ASSERT_EQUAL(lg_series_bucket_ns(3600000000000LL), 18000000000LL);
    CU_ASSERT_EQUAL(lg_series_bucket_ns(201000000000LL), 2000000000LL);

    lg_series *a = lg_series_create(3000000000LL, 1000000000LL);
    lg_series *b = lg_series_create(5000000000LL, 1000000000LL);
    lg_series *c = lg_series_create(4000000000LL, 2000000000LL);
    CU_ASSERT_FATAL(a != NULL && b != NULL && c != NULL);
    CU_ASSERT_EQUAL(a->nbuckets, 3);
    for (int i = 1; i <= 100; i++)
        lg_series_record(a, 500000000LL, 200, i * 10);
    lg_series_record(a, 2500000000LL, 429, 7);
    lg_series_record(a, 9000000000LL, 0, 0); /* late: counts in the last bucket */
    lg_series_record(b, 4500000000LL, 503, 2000);
    CU_ASSERT_EQUAL(lg_series_percentile(&a->buckets[0], 50), 511); /* 496 .. 511 */
    CU_ASSERT_EQUAL(lg_series_percentile(&a->buckets[0], 100), 1000);
    CU_ASSERT_EQUAL(a->buckets[2].errors, 1);

    CU_ASSERT_EQUAL(lg_series_add(a, b), 0);
    CU_ASSERT_EQUAL(a->nbuckets, 5);
    CU_ASSERT_EQUAL(a->buckets[4].status[LG_CLASS_5XX], 1);
    CU_ASSERT_EQUAL(a->buckets[0].status[LG_CLASS_2XX], 100);
    CU_ASSERT_EQUAL(lg_series_add(a, c), LG_ERR_LAYOUT);

    rl_error err;
    json_t *j = lg_series_to_json(a);
    lg_series *back = lg_series_from_json(j, "a.json", &err);
    CU_ASSERT_FATAL(back != NULL);
    CU_ASSERT_EQUAL(back->nbuckets, 5);
    CU_ASSERT_EQUAL(memcmp(back->buckets, a->buckets, 5 * sizeof(*a->buckets)), 0);
    json_decref(j);
    lg_series_destroy(back);
    lg_series_destroy(a);
    lg_series_destroy(b);
    lg_series_destroy(c);
}

static void test_rate_parse_units(void)
{
    struct {
        const char *text;
        double per_sec;
    } ok[] = {
        {"2000", 2000}, {"2000/s", 2000}, {"500/m", 500.0 / 60}, {"100/h", 100.0 / 3600},
        {"288/d", 288.0 / 86400}, {"0.5/s", 0.5}, {"20000", 20000},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        lg_rate r;
        rl_error err;
        CU_ASSERT_EQUAL(lg_rate_parse(ok[i].text, &r, &err), 0);
        CU_ASSERT_FALSE(r.is_max);
        CU_ASSERT_DOUBLE_EQUAL(lg_rate_per_second(&r), ok[i].per_sec, 1e-9);
    }
    lg_rate r;
    CU_ASSERT_EQUAL(lg_rate_parse("max", &r, NULL), 0);
    CU_ASSERT_TRUE(r.is_max);
}

static void test_rate_parse_rejects_bad_forms(void)
{
    const char *bad[] = {"", "0", "0/s", "-5", "+5", "5/x", "5/", "/s", "1e3", "inf",
                         "nan", "5 /s", " 5", "5/s ", "2000/ms", "0x10", "1.2.3",
                         "99999999999", "MAX"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lg_rate r;
        rl_error err = {{0}};
        CU_ASSERT_EQUAL(lg_rate_parse(bad[i], &r, &err), LG_ERR_INVALID);
        CU_ASSERT(tst_contains(err.message, "invalid rate"));
    }
}

static void test_rate_schedule_offsets(void)
{
    lg_rate r;
    CU_ASSERT_EQUAL_FATAL(lg_rate_parse("288/d", &r, NULL), 0);
    CU_ASSERT_EQUAL(lg_rate_offset_ns(&r, 0), 0);
    CU_ASSERT_EQUAL(lg_rate_offset_ns(&r, 1), 300LL * 1000000000LL);
    CU_ASSERT_EQUAL(lg_rate_offset_ns(&r, 288), 86400LL * 1000000000LL);
    CU_ASSERT_EQUAL_FATAL(lg_rate_parse("3/s", &r, NULL), 0);
    /* Offsets come from k each time, so they never drift. */
    CU_ASSERT_EQUAL(lg_rate_offset_ns(&r, 3000000), 1000000LL * 1000000000LL);
}

/* ---- templates -------------------------------------------------------- */

static char *expand(const lg_text *t, const lg_vars *v)
{
    lg_buf b = {0};
    if (lg_text_expand(t, v, &b) < 0)
        return NULL;
    return b.data;
}

static void test_template_default_miner(void)
{
    lg_template t;
    rl_error err;
    uint64_t rng = 42;
    lg_vars v = {.hotkey = "miners-3", .role = "miner", .seq = 17,
                 .timestamp_s = 1735689600, .auth_ok = 1, .rng = &rng};
    CU_ASSERT_EQUAL_FATAL(lg_template_default(&t, "miner", &err), 0);
    CU_ASSERT_STRING_EQUAL(t.method, "POST");
    char *path = expand(&t.path, &v), *body = expand(&t.body, &v);
    CU_ASSERT_STRING_EQUAL(path, "/get-folder-access");
    CU_ASSERT_STRING_EQUAL(body, "{\"coldkey\":\"miners-3-cold\",\"hotkey\":\"miners-3\","
                                 "\"timestamp\":1735689600,\"signature\":\"sig-17\"}");
    free(path);
    free(body);

    v.auth_ok = 0;
    body = expand(&t.body, &v);
    CU_ASSERT(tst_contains(body, "\"signature\":\"bad-17\""));
    free(body);
    lg_template_free(&t);

    CU_ASSERT_EQUAL_FATAL(lg_template_default(&t, "validator", &err), 0);
    path = expand(&t.path, &v);
    CU_ASSERT_STRING_EQUAL(path, "/get-validator-access");
    free(path);
    lg_template_free(&t);
    CU_ASSERT_EQUAL(lg_template_default(&t, "auditor", &err), LG_ERR_INVALID);
    CU_ASSERT(tst_contains(err.message, "--template"));
}

static void test_template_file_placeholders(void)
{
    static const char text[] =
        "{\"method\": \"PUT\", \"path\": \"/x/{hotkey}/{seq}\","
        " \"headers\": {\"X-Role\": \"{role}\", \"X-Id\": \"{uuid}\"},"
        " \"body\": {\"t\": \"{timestamp}\", \"n\": \"{seq}\", \"s\": \"t={timestamp}\","
        " \"c\": \"{coldkey}\"}}";
    lg_template t;
    rl_error err;
    uint64_t rng = 7;
    lg_vars v = {.hotkey = "h1", .coldkey = "c1", .role = "validator", .seq = 5,
                 .timestamp_s = 100, .auth_ok = 1, .rng = &rng};
    CU_ASSERT_EQUAL_FATAL(lg_template_parse(&t, text, strlen(text), "t.json", &err), 0);
    CU_ASSERT_STRING_EQUAL(t.method, "PUT");
    char *path = expand(&t.path, &v), *body = expand(&t.body, &v);
    CU_ASSERT_STRING_EQUAL(path, "/x/h1/5");
    /* A string that is only {timestamp} or {seq} becomes a number. */
    CU_ASSERT_STRING_EQUAL(body, "{\"t\":100,\"n\":5,\"s\":\"t=100\",\"c\":\"c1\"}");
    CU_ASSERT_EQUAL(t.nheaders, 3); /* two given, Content-Type added */
    char *role = expand(&t.headers[0], &v), *id = expand(&t.headers[1], &v);
    CU_ASSERT_STRING_EQUAL(role, "X-Role: validator");
    CU_ASSERT_EQUAL(strlen(id), strlen("X-Id: ") + 36);
    CU_ASSERT_EQUAL(id[strlen("X-Id: ") + 14], '4'); /* UUID version 4 */
    free(path);
    free(body);
    free(role);
    free(id);
    lg_template_free(&t);
}

static void test_template_rejects_unknown_placeholder(void)
{
    static const char text[] = "{\"path\": \"/a\", \"body\": {\"k\": \"{hotkye}\"}}";
    lg_template t;
    rl_error err = {{0}};
    CU_ASSERT_EQUAL(lg_template_parse(&t, text, strlen(text), "bad.json", &err),
                    LG_ERR_INVALID);
    CU_ASSERT(tst_contains(err.message, "bad.json"));
    CU_ASSERT(tst_contains(err.message, "{hotkye}"));

    static const char no_path[] = "{\"method\": \"POST\"}";
    CU_ASSERT_EQUAL(lg_template_parse(&t, no_path, strlen(no_path), "p.json", &err),
                    LG_ERR_INVALID);
    CU_ASSERT(tst_contains(err.message, "\"path\""));
    static const char extra[] = "{\"path\": \"/a\", \"bdy\": 1}";
    CU_ASSERT_EQUAL(lg_template_parse(&t, extra, strlen(extra), "e.json", &err),
                    LG_ERR_INVALID);
    CU_ASSERT(tst_contains(err.message, "bdy"));
}

static void test_template_set_by_role(void)
{
    static const char text[] = "{\"miner\": {\"path\": \"/m\"}}";
    lg_template_set set = {0};
    rl_error err;
    CU_ASSERT_EQUAL_FATAL(lg_template_set_load(&set, text, strlen(text), "s.json", &err), 0);
    const lg_template *m = lg_template_set_find(&set, "miner", &err);
    const lg_template *v = lg_template_set_find(&set, "validator", &err);
    CU_ASSERT_FATAL(m != NULL && v != NULL);
    CU_ASSERT_STRING_EQUAL(m->path.text, "/m");
    CU_ASSERT_STRING_EQUAL(m->method, "GET");
    CU_ASSERT_STRING_EQUAL(v->path.text, "/get-validator-access");
    CU_ASSERT_PTR_NULL(lg_template_set_find(&set, "auditor", &err));
    lg_template_set_free(&set);
}

static void test_client_id_check(void)
{
    rl_error err;
    CU_ASSERT_EQUAL(lg_check_client_id("5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
                                       "--hotkey", &err),
                    0);
    CU_ASSERT_EQUAL(lg_check_client_id("a\"b", "--hotkey", &err), LG_ERR_INVALID);
    CU_ASSERT_EQUAL(lg_check_client_id("a b", "--hotkey", &err), LG_ERR_INVALID);
    CU_ASSERT_EQUAL(lg_check_client_id("", "--hotkey", &err), LG_ERR_INVALID);
    CU_ASSERT(tst_contains(err.message, "--hotkey"));
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"hist bucket layout", test_hist_bucket_layout},
        {"hist percentiles within 0.1 %", test_hist_percentiles_within_tenth_percent},
        {"hist overflow and negative", test_hist_overflow_and_negative},
        {"hist merge is exact", test_hist_merge_is_exact},
        {"hist JSON round trip merges", test_hist_json_round_trip_merges},
        {"result merge adds counts", test_result_merge_adds_counts},
        {"result CPU wait round trip", test_result_cpu_wait_round_trip},
        {"series slot layout", test_series_slot_layout},
        {"series buckets and merge", test_series_buckets_and_merge},
        {"rate parse units", test_rate_parse_units},
        {"rate parse rejects bad forms", test_rate_parse_rejects_bad_forms},
        {"rate schedule offsets", test_rate_schedule_offsets},
        {"template default miner", test_template_default_miner},
        {"template file placeholders", test_template_file_placeholders},
        {"template unknown placeholder", test_template_rejects_unknown_placeholder},
        {"template set by role", test_template_set_by_role},
        {"client id check", test_client_id_check},
        CU_TEST_INFO_NULL,
    };
    return tst_main("loadgen_unit", NULL, NULL, tests);
}
