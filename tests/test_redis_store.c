/*
 * test_redis_store.c: the Redis store against a private redis-server on a
 * free loopback port: URLs, exact limits under both policies, expiry,
 * script reloads, concurrency, outages and timeouts, passwords, the
 * limiter's key names, and `ratelab store-bench`.
 *
 * Without /usr/bin/redis-server the tests that need a server return at
 * once and the suite prints how to install it; CI installs it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "rl_limiter.h"
#include "rl_store_redis.h"
#include "rl_time.h"
#include "tst_support.h"

static tst_redis g_redis;
static int g_have_redis;
static redisContext *g_admin; /* a plain connection for inspecting keys */

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

static int64_t wall_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * RL_US_PER_SEC + ts.tv_nsec / 1000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int admin_connect(void)
{
    struct timeval tv = {2, 0};
    redisFree(g_admin);
    g_admin = redisConnectWithTimeout("127.0.0.1", g_redis.port, tv);
    return g_admin != NULL && !g_admin->err ? 0 : -1;
}

/* Runs a command on the admin connection and returns its integer result
 * (GET's string parsed, nil as 0); -999 on any failure. */
static long long admin_int(const char *fmt, const char *key)
{
    redisReply *r = redisCommand(g_admin, fmt, key);
    long long v = -999;
    if (r != NULL && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else if (r != NULL && r->type == REDIS_REPLY_STRING)
        v = strtoll(r->str, NULL, 10);
    else if (r != NULL && r->type == REDIS_REPLY_NIL)
        v = 0;
    freeReplyObject(r);
    return v;
}

static void admin_command(const char *command)
{
    redisReply *r = redisCommand(g_admin, command);
    freeReplyObject(r);
}

static rl_store *open_store(const rl_logger *logger)
{
    rl_redis_options opt;
    rl_store *s = NULL;
    rl_error err = {{0}};

    rl_redis_options_init(&opt);
    opt.logger = logger;
    int rc = rl_store_redis_create(g_redis.url, &opt, &s, &err);
    if (rc != RL_OK)
        fprintf(stderr, "open_store: %s\n", err.message);
    CU_ASSERT_EQUAL(rc, RL_OK);
    return s;
}

/* A check on "<tag>:client" and "<tag>:GLOBAL" that expires in an hour. */
typedef struct check_keys {
    char client[128];
    char global[128];
} check_keys;

static rl_check make_check(check_keys *k, const char *tag, int64_t limit,
                           rl_policy policy)
{
    rl_check c;
    int64_t now_us = wall_now_us();

    snprintf(k->client, sizeof(k->client), "test:%s:client", tag);
    snprintf(k->global, sizeof(k->global), "test:%s:GLOBAL", tag);
    memset(&c, 0, sizeof(c));
    c.client_key = k->client;
    c.global_key = k->global;
    c.client_limit = limit;
    c.global_limit = RL_LIMIT_VALUE_MAX;
    c.now_us = now_us;
    c.expire_at_us = now_us + RL_US_PER_HOUR;
    c.count = 1;
    c.policy = policy;
    return c;
}

/* Runs n decisions; returns how many were allowed, -1 on a store error. */
static long run_decisions(rl_store *s, const rl_check *c, long n, rl_decision *last)
{
    long allowed = 0;
    for (long i = 0; i < n; i++) {
        if (rl_store_check_and_count(s, c, last) != RL_OK)
            return -1;
        if (last->outcome == RL_ALLOWED)
            allowed++;
    }
    return allowed;
}

/* Log lines captured per level. */
typedef struct log_capture {
    int lines[RL_LOG_DEBUG + 1];
    char last_warn[1024];
    char last_info[1024];
} log_capture;

static void capture_sink(void *user, rl_log_level level, const char *line)
{
    log_capture *cap = user;
    cap->lines[level]++;
    if (level == RL_LOG_WARN)
        snprintf(cap->last_warn, sizeof(cap->last_warn), "%s", line);
    if (level == RL_LOG_INFO)
        snprintf(cap->last_info, sizeof(cap->last_info), "%s", line);
}

#define NEED_REDIS()                                                                   \
    do {                                                                               \
        if (!g_have_redis)                                                             \
            return;                                                                    \
    } while (0)

/* ------------------------------------------------------------------ */
/* URLs                                                                 */
/* ------------------------------------------------------------------ */

static void test_url_parse_forms(void)
{
    rl_redis_url u;
    rl_error err = {{0}};

    CU_ASSERT_EQUAL(rl_redis_url_parse("redis://127.0.0.1:6380/2", &u, &err), RL_OK);
    CU_ASSERT_STRING_EQUAL(u.host, "127.0.0.1");
    CU_ASSERT_EQUAL(u.port, 6380);
    CU_ASSERT_EQUAL(u.db, 2);
    CU_ASSERT_STRING_EQUAL(u.password, "");

    CU_ASSERT_EQUAL(rl_redis_url_parse("redis://localhost", &u, &err), RL_OK);
    CU_ASSERT_EQUAL(u.port, 6379);
    CU_ASSERT_EQUAL(u.db, 0);

    CU_ASSERT_EQUAL(rl_redis_url_parse("redis://alice:s3cret@[::1]:7000/", &u, &err),
                    RL_OK);
    CU_ASSERT_STRING_EQUAL(u.host, "::1");
    CU_ASSERT_EQUAL(u.port, 7000);
    CU_ASSERT_STRING_EQUAL(u.user, "alice");
    CU_ASSERT_STRING_EQUAL(u.password, "s3cret");
    CU_ASSERT_STRING_EQUAL(u.masked, "redis://alice:***@[::1]:7000/");

    CU_ASSERT_EQUAL(rl_redis_url_parse("redis://:p%40ss%3Aw%2Frd@h:1/0", &u, &err),
                    RL_OK);
    CU_ASSERT_STRING_EQUAL(u.user, "");
    CU_ASSERT_STRING_EQUAL(u.password, "p@ss:w/rd");

    CU_ASSERT_EQUAL(rl_redis_url_parse("unix:///run/redis/redis.sock?db=3", &u, &err),
                    RL_OK);
    CU_ASSERT(u.is_unix);
    CU_ASSERT_STRING_EQUAL(u.path, "/run/redis/redis.sock");
    CU_ASSERT_EQUAL(u.db, 3);

    CU_ASSERT_EQUAL(rl_redis_url_parse("unix://:pw@/tmp/r@1.sock", &u, &err), RL_OK);
    CU_ASSERT_STRING_EQUAL(u.path, "/tmp/r@1.sock");
    CU_ASSERT_STRING_EQUAL(u.password, "pw");
}

static void test_url_parse_bad(void)
{
    const char *bad[] = {
        "",
        "127.0.0.1:6379",
        "http://127.0.0.1:6379",
        "rediss://:s3cret@127.0.0.1:6379",
        "redis://",
        "redis://:s3cret@",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:12ab",
        "redis://h:6379/x",
        "redis://h:6379/1/2",
        "redis://h:6379?db=1",
        "redis://s3cret@h:6379",
        "redis://user:@h:6379",
        "redis://:s3cret%zz@h:6379",
        "redis://[::1:6379",
        "unix://",
        "unix://host/tmp/r.sock",
        "unix:///tmp/r.sock?database=1",
        "unix:///tmp/r.sock?db=-1",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rl_redis_url u;
        rl_error err = {{0}};
        char masked[RL_REDIS_URL_MAX];

        rl_redis_url_mask(bad[i], masked, sizeof(masked));
        int rc = rl_redis_url_parse(bad[i], &u, &err);
        if (rc != RL_ERR_INVALID)
            fprintf(stderr, "accepted bad URL '%s'\n", bad[i]);
        CU_ASSERT_EQUAL(rc, RL_ERR_INVALID);
        CU_ASSERT(tst_contains(err.message, masked));
        CU_ASSERT(!tst_contains(err.message, "s3cret"));
        CU_ASSERT_STRING_EQUAL(u.password, "");
    }
}

static void test_url_mask_password(void)
{
    char buf[RL_REDIS_URL_MAX];

    rl_redis_url_mask("redis://u:pw@h:1/0", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "redis://u:***@h:1/0");
    rl_redis_url_mask("redis://:pw@h", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "redis://:***@h");
    rl_redis_url_mask("redis://pw@h", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "redis://***@h");
    rl_redis_url_mask("redis://h:1/0", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "redis://h:1/0");
    rl_redis_url_mask("unix:///tmp/a@b.sock", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "unix:///tmp/a@b.sock");
    rl_redis_url_mask("unix://:pw@/tmp/a@b.sock", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "unix://:***@/tmp/a@b.sock");
}

static void test_create_bad_url_names_it(void)
{
    rl_store *s = (rl_store *)1;
    rl_error err = {{0}};

    CU_ASSERT_EQUAL(rl_store_redis_create("redis://:hunter2@h:99999", NULL, &s, &err),
                    RL_ERR_INVALID);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT(tst_contains(err.message, "redis://:***@h:99999"));
    CU_ASSERT(!tst_contains(err.message, "hunter2"));
}

static void test_create_unreachable_fails(void)
{
    rl_store *s = NULL;
    rl_error err = {{0}};
    char url[64];
    int port = tst_free_port();

    snprintf(url, sizeof(url), "redis://:hunter2@127.0.0.1:%d/0", port);
    CU_ASSERT_EQUAL(rl_store_redis_create(url, NULL, &s, &err), RL_ERR_STORE);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT(tst_contains(err.message, "redis://:***@127.0.0.1:"));
    CU_ASSERT(!tst_contains(err.message, "hunter2"));
}

static void test_options_invalid(void)
{
    rl_redis_options opt;
    rl_store *s = NULL;
    rl_error err = {{0}};

    rl_redis_options_init(&opt);
    opt.command_timeout_ms = 0;
    CU_ASSERT_EQUAL(rl_store_redis_create("redis://127.0.0.1:1/0", &opt, &s, &err),
                    RL_ERR_INVALID);
    CU_ASSERT(tst_contains(err.message, "timeout"));
}

static void test_stats_reject_memory_store(void)
{
    rl_store *m = rl_store_memory_create();
    rl_redis_stats st;

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(rl_store_redis_stats(m, &st), RL_ERR_INVALID);
    CU_ASSERT_EQUAL(rl_store_redis_scan_prefix(m, "x", 0, NULL, NULL), RL_ERR_INVALID);
    CU_ASSERT_PTR_NULL(rl_store_redis_url(m));
    rl_store_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Decisions                                                            */
/* ------------------------------------------------------------------ */

/* 499, 500 and 501 requests against a limit of 500. */
static void check_exact_limit(rl_policy policy)
{
    rl_store *s = open_store(NULL);
    long sizes[] = {499, 500, 501};

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (int i = 0; i < 3; i++) {
        check_keys k;
        rl_decision d;
        char tag[64];
        snprintf(tag, sizeof(tag), "exact:%s:%ld", rl_policy_name(policy), sizes[i]);
        rl_check c = make_check(&k, tag, 500, policy);

        long allowed = run_decisions(s, &c, sizes[i], &d);
        long expected = sizes[i] < 500 ? sizes[i] : 500;
        CU_ASSERT_EQUAL(allowed, expected);
        CU_ASSERT_EQUAL(admin_int("GET %s", k.client), expected);
        CU_ASSERT_EQUAL(admin_int("GET %s", k.global), expected);
        CU_ASSERT_EQUAL(d.client_count, expected);
        CU_ASSERT_EQUAL(d.outcome, sizes[i] > 500 ? RL_REJECTED_CLIENT : RL_ALLOWED);
        CU_ASSERT_EQUAL(d.counted, sizes[i] <= 500);
    }
    rl_store_destroy(s);
}

static void test_exact_limit_atomic(void)
{
    NEED_REDIS();
    check_exact_limit(RL_POLICY_ATOMIC);
}

static void test_exact_limit_deployed(void)
{
    NEED_REDIS();
    check_exact_limit(RL_POLICY_DEPLOYED);
}

static void check_global_rejection(rl_policy policy)
{
    rl_store *s = open_store(NULL);
    check_keys k;
    rl_decision d;
    char tag[64];

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    snprintf(tag, sizeof(tag), "global:%s", rl_policy_name(policy));
    rl_check c = make_check(&k, tag, 10, policy);
    c.global_limit = 3;
    CU_ASSERT_EQUAL(run_decisions(s, &c, 3, &d), 3);
    CU_ASSERT_EQUAL(run_decisions(s, &c, 1, &d), 0);
    CU_ASSERT_EQUAL(d.outcome, RL_REJECTED_GLOBAL);
    CU_ASSERT_EQUAL(d.counted, 0);
    CU_ASSERT_EQUAL(d.global_count, 3);
    CU_ASSERT_EQUAL(d.client_count, 3);
    CU_ASSERT_EQUAL(admin_int("GET %s", k.global), 3);
    rl_store_destroy(s);
}

static void test_global_rejection_both(void)
{
    NEED_REDIS();
    check_global_rejection(RL_POLICY_ATOMIC);
    check_global_rejection(RL_POLICY_DEPLOYED);
}

static void test_no_count_writes_nothing(void)
{
    NEED_REDIS();
    rl_store *s = open_store(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    for (int p = 0; p < 2; p++) {
        check_keys k;
        rl_decision d;
        rl_check c = make_check(&k, p ? "nocount:atomic" : "nocount:deployed", 5,
                                p ? RL_POLICY_ATOMIC : RL_POLICY_DEPLOYED);
        c.count = 0;
        CU_ASSERT_EQUAL(run_decisions(s, &c, 10, &d), 10);
        CU_ASSERT_EQUAL(d.counted, 0);
        CU_ASSERT_EQUAL(admin_int("EXISTS %s", k.client), 0);
        CU_ASSERT_EQUAL(admin_int("EXISTS %s", k.global), 0);
    }
    rl_store_destroy(s);
}

static void test_expiry_atomic_set(void)
{
    NEED_REDIS();
    rl_store *s = open_store(NULL);
    check_keys k;
    rl_decision d;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    rl_check c = make_check(&k, "expiry:atomic", 100, RL_POLICY_ATOMIC);
    CU_ASSERT_EQUAL(run_decisions(s, &c, 3, &d), 3);

    /* The expiry is an hour away: positive and no later than that. */
    long long client_pttl = admin_int("PTTL %s", k.client);
    long long global_pttl = admin_int("PTTL %s", k.global);
    CU_ASSERT(client_pttl > 0);
    CU_ASSERT(global_pttl > 0);
    CU_ASSERT(client_pttl <= 3600 * 1000 + 1);
    CU_ASSERT(global_pttl <= 3600 * 1000 + 1);
    rl_store_destroy(s);
}

static void test_expiry_deployed_absent(void)
{
    NEED_REDIS();
    rl_store *s = open_store(NULL);
    check_keys k;
    rl_decision d;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    rl_check c = make_check(&k, "expiry:deployed", 100, RL_POLICY_DEPLOYED);
    CU_ASSERT_EQUAL(run_decisions(s, &c, 3, &d), 3);
    CU_ASSERT_EQUAL(admin_int("TTL %s", k.client), -1);
    CU_ASSERT_EQUAL(admin_int("TTL %s", k.global), -1);
    rl_store_destroy(s);
}

static void test_atomic_rejects_past_expiry(void)
{
    NEED_REDIS();
    rl_store *s = open_store(NULL);
    check_keys k;
    rl_decision d;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    rl_check c = make_check(&k, "expiry:past", 100, RL_POLICY_ATOMIC);
    c.expire_at_us = c.now_us;
    CU_ASSERT_EQUAL(rl_store_check_and_count(s, &c, &d), RL_ERR_INVALID);
    CU_ASSERT_EQUAL(admin_int("EXISTS %s", k.client), 0);
    rl_store_destroy(s);
}

static void test_script_flush_recovers(void)
{
    NEED_REDIS();
    rl_store *s = open_store(NULL);
    check_keys k;
    rl_decision d;
    rl_redis_stats st;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    rl_check c = make_check(&k, "noscript", 150, RL_POLICY_ATOMIC);
    CU_ASSERT_EQUAL(run_decisions(s, &c, 100, &d), 100);
    admin_command("SCRIPT FLUSH");
    CU_ASSERT_EQUAL(run_decisions(s, &c, 100, &d), 50);
    CU_ASSERT_EQUAL(admin_int("GET %s", k.client), 150);

    CU_ASSERT_EQUAL(rl_store_redis_stats(s, &st), RL_OK);
    CU_ASSERT_EQUAL(st.noscript_replies, 1);
    CU_ASSERT_EQUAL(st.script_loads, 2);
    CU_ASSERT_EQUAL(st.failed_decisions, 0);
    rl_store_destroy(s);
}

static void test_non_integer_counter_errors(void)
{
    NEED_REDIS();
    rl_store *s = open_store(NULL);
    check_keys k;
    rl_decision d;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (int p = 0; p < 2; p++) {
        rl_check c = make_check(&k, p ? "text:atomic" : "text:deployed", 5,
                                p ? RL_POLICY_ATOMIC : RL_POLICY_DEPLOYED);
        redisReply *r = redisCommand(g_admin, "SET %s hello", k.client);
        freeReplyObject(r);
        CU_ASSERT_EQUAL(rl_store_check_and_count(s, &c, &d), RL_ERR_STORE);
        CU_ASSERT(tst_contains(rl_store_redis_last_error(s), "integer"));
    }

    /* An error reply is not an outage: the next decision works. */
    rl_check ok = make_check(&k, "text:after", 5, RL_POLICY_ATOMIC);
    CU_ASSERT_EQUAL(rl_store_check_and_count(s, &ok, &d), RL_OK);
    rl_store_destroy(s);
}

/* ------------------------------------------------------------------ */
/* Concurrency                                                          */
/* ------------------------------------------------------------------ */

#define HAMMER_THREADS 8
#define HAMMER_REQUESTS 10000
#define HAMMER_LIMIT 1000

typedef struct hammer_arg {
    rl_policy policy;
    const char *tag;
    long allowed;
    long errors;
} hammer_arg;

static void *hammer_thread(void *p)
{
    hammer_arg *a = p;
    rl_redis_options opt;
    rl_store *s = NULL;
    check_keys k;
    rl_decision d;

    rl_redis_options_init(&opt);
    if (rl_store_redis_create(g_redis.url, &opt, &s, NULL) != RL_OK) {
        a->errors = HAMMER_REQUESTS;
        return NULL;
    }
    rl_check c = make_check(&k, a->tag, HAMMER_LIMIT, a->policy);
    for (int i = 0; i < HAMMER_REQUESTS; i++) {
        if (rl_store_check_and_count(s, &c, &d) != RL_OK)
            a->errors++;
        else if (d.outcome == RL_ALLOWED)
            a->allowed++;
    }
    rl_store_destroy(s);
    return NULL;
}

/* Eight threads, one store each, on one client key; returns the total
 * allowed. */
static long hammer(rl_policy policy, const char *tag, long *errors)
{
    pthread_t threads[HAMMER_THREADS];
    hammer_arg args[HAMMER_THREADS];
    long allowed = 0;

    *errors = 0;
    for (int i = 0; i < HAMMER_THREADS; i++) {
        args[i] = (hammer_arg){policy, tag, 0, 0};
        CU_ASSERT_EQUAL_FATAL(
            pthread_create(&threads[i], NULL, hammer_thread, &args[i]), 0);
    }
    for (int i = 0; i < HAMMER_THREADS; i++) {
        pthread_join(threads[i], NULL);
        allowed += args[i].allowed;
        *errors += args[i].errors;
    }
    return allowed;
}

static void test_concurrent_atomic_exact(void)
{
    NEED_REDIS();
    long errors;
    long allowed = hammer(RL_POLICY_ATOMIC, "hammer:atomic", &errors);

    CU_ASSERT_EQUAL(errors, 0);
    CU_ASSERT_EQUAL(allowed, HAMMER_LIMIT);
    CU_ASSERT_EQUAL(admin_int("GET %s", "test:hammer:atomic:client"), HAMMER_LIMIT);
}

static void test_concurrent_deployed_measured(void)
{
    NEED_REDIS();
    long errors;
    long allowed = hammer(RL_POLICY_DEPLOYED, "hammer:deployed", &errors);

    /* The overshoot depends on scheduling, so it is reported, not fixed. */
    printf("\n    deployed policy, %d threads x %d requests, limit %d: allowed %ld "
           "(overshoot %ld)\n",
           HAMMER_THREADS, HAMMER_REQUESTS, HAMMER_LIMIT, allowed,
           allowed - HAMMER_LIMIT);
    CU_ASSERT_EQUAL(errors, 0);
    CU_ASSERT(allowed >= HAMMER_LIMIT);
    CU_ASSERT_EQUAL(admin_int("GET %s", "test:hammer:deployed:client"), allowed);
}

/* ------------------------------------------------------------------ */
/* Outages                                                              */
/* ------------------------------------------------------------------ */

static void test_outage_then_recovery(void)
{
    NEED_REDIS();
    log_capture cap;
    rl_logger lg = {capture_sink, &cap, RL_LOG_INFO};
    check_keys k;
    rl_decision d;
    rl_redis_stats st;

    memset(&cap, 0, sizeof(cap));
    rl_store *s = open_store(&lg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    rl_check c = make_check(&k, "outage", 1000000, RL_POLICY_ATOMIC);
    CU_ASSERT_EQUAL(run_decisions(s, &c, 10, &d), 10);

    /* Server gone: every decision fails with a store error, and one warn
     * line is written however many fail. */
    tst_redis_stop(&g_redis);
    long failed = 0;
    for (int i = 0; i < 200; i++) {
        int rc = rl_store_check_and_count(s, &c, &d);
        CU_ASSERT(rc == RL_ERR_STORE || rc == RL_ERR_TIMEOUT);
        failed += rc < 0;
    }
    CU_ASSERT_EQUAL(cap.lines[RL_LOG_WARN], 1);
    CU_ASSERT(tst_contains(cap.last_warn, "outage started"));
    CU_ASSERT_EQUAL(cap.lines[RL_LOG_INFO], 0);

    /* Server back on the same port: the same store recovers by itself
     * once its backoff (at most 2 s) has elapsed.  Bounded at 10 s. */
    CU_ASSERT_EQUAL_FATAL(tst_redis_restart(&g_redis), 0);
    int rc = RL_ERR_STORE;
    for (int i = 0; i < 500 && rc != RL_OK; i++) {
        rc = rl_store_check_and_count(s, &c, &d);
        if (rc != RL_OK) {
            failed++;
            sleep_ms(20);
        }
    }
    CU_ASSERT_EQUAL(rc, RL_OK);
    CU_ASSERT_EQUAL(d.client_count, 1); /* the restarted server kept nothing */
    CU_ASSERT_EQUAL(cap.lines[RL_LOG_WARN], 1);
    CU_ASSERT_EQUAL(cap.lines[RL_LOG_INFO], 1);
    CU_ASSERT(tst_contains(cap.last_info, "outage ended after"));
    char expected[64];
    snprintf(expected, sizeof(expected), "; %ld decisions failed", failed);
    CU_ASSERT(tst_contains(cap.last_info, expected));

    CU_ASSERT_EQUAL(rl_store_redis_stats(s, &st), RL_OK);
    CU_ASSERT_EQUAL(st.outages, 1);
    CU_ASSERT_EQUAL(st.reconnects, 1);
    CU_ASSERT_EQUAL((long)st.failed_decisions, failed);
    rl_store_destroy(s);
    CU_ASSERT_EQUAL(admin_connect(), 0);
}

static void test_stopped_server_times_out(void)
{
    NEED_REDIS();
    rl_redis_options opt;
    rl_store *s = NULL;
    check_keys k;
    rl_decision d;

    rl_redis_options_init(&opt);
    opt.command_timeout_ms = 200;
    CU_ASSERT_EQUAL_FATAL(rl_store_redis_create(g_redis.url, &opt, &s, NULL), RL_OK);
    rl_check c = make_check(&k, "timeout", 100, RL_POLICY_ATOMIC);
    CU_ASSERT_EQUAL(run_decisions(s, &c, 5, &d), 5);

    /* A process stopped with SIGSTOP reads nothing, so no reply comes. */
    kill(g_redis.pid, SIGSTOP);
    CU_ASSERT_EQUAL(rl_store_check_and_count(s, &c, &d), RL_ERR_TIMEOUT);
    kill(g_redis.pid, SIGCONT);

    int rc = RL_ERR_STORE;
    for (int i = 0; i < 500 && rc != RL_OK; i++) {
        rc = rl_store_check_and_count(s, &c, &d);
        if (rc != RL_OK)
            sleep_ms(20);
    }
    CU_ASSERT_EQUAL(rc, RL_OK);
    /* The timed-out EVALSHA may or may not have run on the server. */
    CU_ASSERT(d.client_count == 6 || d.client_count == 7);
    rl_store_destroy(s);
}

/* ------------------------------------------------------------------ */
/* Passwords                                                            */
/* ------------------------------------------------------------------ */

/* Starts a redis-server that requires the password "p@ss:w/rd" and has
 * the ACL user alice with password "wonder".  Returns its pid or -1. */
static pid_t start_password_redis(int *port_out)
{
    char port[16];
    int port_number = tst_free_port();

    snprintf(port, sizeof(port), "%d", port_number);
    char *argv[] = {"/usr/bin/redis-server",
                    "--port",
                    port,
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--requirepass",
                    "p@ss:w/rd",
                    "--user",
                    "alice",
                    "on",
                    ">wonder",
                    "~*",
                    "&*",
                    "+@all",
                    NULL};
    pid_t pid = tst_spawn(argv, NULL);
    if (pid < 0 || tst_wait_port(port_number, 5000) != 0) {
        tst_stop(pid, SIGKILL, 1000);
        return -1;
    }
    *port_out = port_number;
    return pid;
}

static void test_password_urls(void)
{
    NEED_REDIS();
    int port = 0;
    pid_t pid = start_password_redis(&port);
    char url[128];
    rl_store *s = NULL;
    rl_error err = {{0}};
    check_keys k;
    rl_decision d;

    CU_ASSERT_FATAL(pid > 0);

    snprintf(url, sizeof(url), "redis://:p%%40ss%%3Aw%%2Frd@127.0.0.1:%d/1", port);
    CU_ASSERT_EQUAL(rl_store_redis_create(url, NULL, &s, &err), RL_OK);
    rl_check c = make_check(&k, "password", 10, RL_POLICY_ATOMIC);
    CU_ASSERT_EQUAL(run_decisions(s, &c, 12, &d), 10);
    rl_store_destroy(s);
    s = NULL;

    snprintf(url, sizeof(url), "redis://alice:wonder@127.0.0.1:%d/0", port);
    CU_ASSERT_EQUAL(rl_store_redis_create(url, NULL, &s, &err), RL_OK);
    CU_ASSERT_EQUAL(run_decisions(s, &c, 1, &d), 1);
    rl_store_destroy(s);
    s = NULL;

    /* A wrong password and none at all are errors naming the URL. */
    snprintf(url, sizeof(url), "redis://:wrong-pass@127.0.0.1:%d/0", port);
    CU_ASSERT_EQUAL(rl_store_redis_create(url, NULL, &s, &err), RL_ERR_STORE);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT(tst_contains(err.message, "redis://:***@127.0.0.1:"));
    CU_ASSERT(!tst_contains(err.message, "wrong-pass"));

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
    CU_ASSERT_EQUAL(rl_store_redis_create(url, NULL, &s, &err), RL_ERR_STORE);
    CU_ASSERT(tst_contains(err.message, "NOAUTH"));

    /* Through the command: one line on stderr, exit 2, password masked. */
    tst_output out;
    snprintf(url, sizeof(url), "redis://alice:not-wonder@127.0.0.1:%d/0", port);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "store-bench", "--store", url, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "redis://alice:***@127.0.0.1:"));
    CU_ASSERT(tst_contains(out.err, "WRONGPASS"));
    CU_ASSERT(!tst_contains(out.err, "not-wonder"));
    const char *first_newline = strchr(out.err, '\n');
    CU_ASSERT(first_newline != NULL && strchr(first_newline + 1, '\n') == NULL);
    tst_output_free(&out);

    tst_stop(pid, SIGTERM, 3000);
}

static void test_database_out_of_range(void)
{
    NEED_REDIS();
    rl_store *s = NULL;
    rl_error err = {{0}};
    char url[64];

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/999", g_redis.port);
    CU_ASSERT_EQUAL(rl_store_redis_create(url, NULL, &s, &err), RL_ERR_STORE);
    CU_ASSERT(tst_contains(err.message, "SELECT"));
}

/* ------------------------------------------------------------------ */
/* Reads, key counts and the limiter's key names                        */
/* ------------------------------------------------------------------ */

static void test_read_and_key_count(void)
{
    NEED_REDIS();
    rl_redis_options opt;
    rl_store *s = NULL;
    check_keys k;
    rl_decision d;
    int64_t value = -1, count = -1, without_ttl = -1;

    rl_redis_options_init(&opt);
    opt.key_prefix = "test:count[1]*:";
    CU_ASSERT_EQUAL_FATAL(rl_store_redis_create(g_redis.url, &opt, &s, NULL), RL_OK);

    CU_ASSERT_EQUAL(rl_store_read(s, "test:count[1]*:missing", 0, &value), RL_OK);
    CU_ASSERT_EQUAL(value, 0);

    rl_check c = make_check(&k, "count[1]*:a", 10, RL_POLICY_DEPLOYED);
    CU_ASSERT_EQUAL(run_decisions(s, &c, 4, &d), 4);
    CU_ASSERT_EQUAL(rl_store_read(s, k.client, 0, &value), RL_OK);
    CU_ASSERT_EQUAL(value, 4);

    /* Glob characters in the prefix match only themselves. */
    redisReply *r = redisCommand(g_admin, "SET test:count11:x 1");
    freeReplyObject(r);
    CU_ASSERT_EQUAL(rl_store_key_count(s, 0, &count), RL_OK);
    CU_ASSERT_EQUAL(count, 2);

    CU_ASSERT_EQUAL(
        rl_store_redis_scan_prefix(s, "test:count[1]*:", 1, &count, &without_ttl),
        RL_OK);
    CU_ASSERT_EQUAL(count, 2);
    CU_ASSERT_EQUAL(without_ttl, 2);
    CU_ASSERT_EQUAL(rl_store_key_count(s, 0, &count), RL_OK);
    CU_ASSERT_EQUAL(count, 0);
    CU_ASSERT_EQUAL(admin_int("EXISTS %s", "test:count11:x"), 1);
    rl_store_destroy(s);
}

static void test_limiter_key_names(void)
{
    NEED_REDIS();
    rl_store *s = open_store(NULL);
    rl_limits limits;
    rl_limiter lim;
    rl_decision d;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    rl_limits_init_defaults(&limits);
    rl_limiter_init(&lim, &limits, s);
    lim.policy = RL_POLICY_ATOMIC;
    snprintf(lim.key_prefix, sizeof(lim.key_prefix), "test:lim:");

    /* 2025-01-01T01:40:00Z is in the UTC day "2025-01-01".  The keys expire
     * at the next midnight plus grace, which is in the past for the Redis
     * server, so only the deployed policy keeps them for inspection. */
    lim.policy = RL_POLICY_DEPLOYED;
    rl_request req = {"5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty", 0, 1, 0};
    CU_ASSERT_EQUAL(rl_time_parse_iso8601("2025-01-01T01:40:00Z", &req.now_us, NULL),
                    RL_OK);
    CU_ASSERT_EQUAL(rl_limiter_decide(&lim, &req, &d), RL_OK);
    CU_ASSERT_EQUAL(d.outcome, RL_ALLOWED);
    CU_ASSERT_EQUAL(
        admin_int("GET %s", "test:lim:5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
                            ":2025-01-01"),
        1);
    CU_ASSERT_EQUAL(admin_int("GET %s", "test:lim:GLOBAL:2025-01-01"), 1);

    /* With the real time the atomic policy's keys live and expire. */
    lim.policy = RL_POLICY_ATOMIC;
    req.now_us = wall_now_us();
    CU_ASSERT_EQUAL(rl_limiter_decide(&lim, &req, &d), RL_OK);
    CU_ASSERT_EQUAL(d.client_count, 1);
    rl_store_destroy(s);
}

/* ------------------------------------------------------------------ */
/* ratelab store-bench                                                  */
/* ------------------------------------------------------------------ */

static json_int_t json_int_field(json_t *root, const char *name)
{
    json_t *v = json_object_get(root, name);
    CU_ASSERT(json_is_integer(v));
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void test_store_bench_json(void)
{
    NEED_REDIS();
    tst_output out;
    long long keys_before = admin_int("DBSIZE", NULL);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "store-bench", "--store", g_redis.url,
                                      "--policy", "atomic", "--threads", "4",
                                      "--requests", "2000", "--clients", "3", "--limit",
                                      "100", "--json", NULL),
                          0);
    if (out.status != 0)
        fprintf(stderr, "store-bench stderr: %s\n", out.err);
    CU_ASSERT_EQUAL(out.status, 0);

    json_error_t jerr;
    json_t *root = json_loads(out.out, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_EQUAL(json_int_field(root, "decisions"), 2000);
    CU_ASSERT_EQUAL(json_int_field(root, "allowed"), 300);
    CU_ASSERT_EQUAL(json_int_field(root, "errors"), 0);
    CU_ASSERT_EQUAL(json_int_field(root, "overshoot"), 0);
    CU_ASSERT_EQUAL(json_int_field(root, "threads"), 4);
    CU_ASSERT(json_number_value(json_object_get(root, "decisions_per_second")) > 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(root, "policy")),
                           "atomic");
    json_decref(root);
    tst_output_free(&out);

    /* The run deleted its keys. */
    CU_ASSERT_EQUAL(admin_int("DBSIZE", NULL), keys_before);
}

static void test_store_bench_text_deployed(void)
{
    NEED_REDIS();
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "store-bench", "--store", g_redis.url,
                                      "--policy", "deployed", "--threads", "2",
                                      "--requests", "500", NULL),
                          0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT(tst_contains(out.out, "decisions/s"));
    CU_ASSERT(tst_contains(out.out, "overshoot"));
    tst_output_free(&out);
}

static void test_store_bench_usage_errors(void)
{
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "store-bench", "--requests", "10", NULL),
                          0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "--store"));
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "store-bench", "--store",
                                      "redis://:hunter2@127.0.0.1:0", NULL),
                          0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "redis://:***@127.0.0.1:0"));
    CU_ASSERT(!tst_contains(out.err, "hunter2"));
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "store-bench", "--store",
                                      "redis://127.0.0.1:6379", "--threads", "0", NULL),
                          0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "--threads"));
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "store-bench", "--store",
                                      "redis://127.0.0.1:6379", "--policy", "fast",
                                      NULL),
                          0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "fast"));
    tst_output_free(&out);
}

/* ------------------------------------------------------------------ */

static int suite_init(void)
{
    if (access("/usr/bin/redis-server", X_OK) != 0) {
        printf("redis_store: SKIPPED the tests that need a server: redis-server "
               "is not installed (install it with 'apt-get install "
               "redis-server')\n");
        return 0;
    }
    if (tst_redis_start(&g_redis) != 0 || admin_connect() != 0) {
        fprintf(stderr, "redis_store: redis-server is installed but did not start\n");
        return 1;
    }
    g_have_redis = 1;
    return 0;
}

static int suite_clean(void)
{
    redisFree(g_admin);
    g_admin = NULL;
    if (g_have_redis)
        tst_redis_stop(&g_redis);
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"url parse forms", test_url_parse_forms},
        {"url parse bad", test_url_parse_bad},
        {"url mask password", test_url_mask_password},
        {"create bad url names it", test_create_bad_url_names_it},
        {"create unreachable fails", test_create_unreachable_fails},
        {"options invalid", test_options_invalid},
        {"stats reject memory store", test_stats_reject_memory_store},
        {"exact limit atomic 499/500/501", test_exact_limit_atomic},
        {"exact limit deployed 499/500/501", test_exact_limit_deployed},
        {"global rejection both policies", test_global_rejection_both},
        {"no count writes nothing", test_no_count_writes_nothing},
        {"expiry atomic set", test_expiry_atomic_set},
        {"expiry deployed absent", test_expiry_deployed_absent},
        {"atomic rejects past expiry", test_atomic_rejects_past_expiry},
        {"script flush recovers", test_script_flush_recovers},
        {"non-integer counter errors", test_non_integer_counter_errors},
        {"concurrent atomic exact", test_concurrent_atomic_exact},
        {"concurrent deployed measured", test_concurrent_deployed_measured},
        {"outage then recovery", test_outage_then_recovery},
        {"stopped server times out", test_stopped_server_times_out},
        {"password urls", test_password_urls},
        {"database out of range", test_database_out_of_range},
        {"read and key count", test_read_and_key_count},
        {"limiter key names", test_limiter_key_names},
        {"store-bench json", test_store_bench_json},
        {"store-bench text deployed", test_store_bench_text_deployed},
        {"store-bench usage errors", test_store_bench_usage_errors},
        CU_TEST_INFO_NULL,
    };

    return tst_main("redis_store", suite_init, suite_clean, tests);
}
