/*
 * test_core_limiter.c: the limiter's decisions over the in-memory store:
 * the deployed rules, policies, key names, window resets and expiry, plus
 * the store's own behaviour (growth, shared keys, threads).
 *
 * Limits are filled by hand so this suite does not depend on the limit
 * parsers.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rl_limiter.h"
#include "rl_time.h"
#include "tst_support.h"

#define MINER 0
#define VALIDATOR 1

/* 2025-01-01T00:00:00Z */
#define DAY0_US 1735689600000000LL
#define FIVE_MIN_US (5 * RL_US_PER_MIN)

typedef struct fixture {
    rl_limits limits;
    rl_store *store;
    rl_limiter lim;
} fixture;

static void set_limit(rl_limit_value *v, int64_t value)
{
    v->value = value;
    v->source = RL_SOURCE_SCENARIO;
    snprintf(v->origin, sizeof(v->origin), "test");
}

/* Deployed defaults unless changed: miner 20, validator 10000, total 200000. */
static void fixture_open(fixture *f, int64_t miner, int64_t total)
{
    memset(&f->limits, 0, sizeof(f->limits));
    f->limits.nroles = 2;
    snprintf(f->limits.roles[MINER].name, RL_ROLE_NAME_MAX, "miner");
    snprintf(f->limits.roles[VALIDATOR].name, RL_ROLE_NAME_MAX, "validator");
    set_limit(&f->limits.roles[MINER].per_client, miner);
    set_limit(&f->limits.roles[VALIDATOR].per_client, 10000);
    set_limit(&f->limits.total, total);
    f->store = rl_store_memory_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->store);
    rl_limiter_init(&f->lim, &f->limits, f->store);
}

static void fixture_close(fixture *f)
{
    rl_store_destroy(f->store);
    f->store = NULL;
}

static rl_decision decide(fixture *f, const char *client, int role, int auth_ok,
                          int64_t now_us)
{
    rl_request req = {client, role, auth_ok, now_us};
    rl_decision d;

    memset(&d, 0xff, sizeof(d));
    CU_ASSERT_EQUAL(rl_limiter_decide(&f->lim, &req, &d), RL_OK);
    return d;
}

static int64_t read_key(fixture *f, const char *key, int64_t now_us)
{
    int64_t value = -1;

    CU_ASSERT_EQUAL(rl_store_read(f->store, key, now_us, &value), RL_OK);
    return value;
}

/* 5-minute cadence against 20/day: requests 1..20 pass, the 21st (01:40)
 * and the rest of the day's 288 are rejected for the client's limit. */
static void test_21st_request_rejected(void)
{
    fixture f;
    int allowed = 0, rejected = 0;

    fixture_open(&f, 20, 200000);
    for (int i = 0; i < 288; i++) {
        rl_decision d = decide(&f, "hk", MINER, 1, DAY0_US + i * FIVE_MIN_US);

        if (i == 19) {
            CU_ASSERT_EQUAL(d.outcome, RL_ALLOWED);
            CU_ASSERT_EQUAL(d.counted, 1);
            CU_ASSERT_EQUAL(d.client_count, 20);
        }
        if (i == 20) {
            CU_ASSERT_EQUAL(d.outcome, RL_REJECTED_CLIENT);
            CU_ASSERT_EQUAL(d.counted, 0);
            CU_ASSERT_EQUAL(d.client_count, 20);
            CU_ASSERT_EQUAL(d.global_count, 20);
            CU_ASSERT_EQUAL(d.client_limit, 20);
            CU_ASSERT_EQUAL(d.global_limit, 200000);
        }
        allowed += d.outcome == RL_ALLOWED;
        rejected += d.outcome == RL_REJECTED_CLIENT;
    }
    CU_ASSERT_EQUAL(allowed, 20);
    CU_ASSERT_EQUAL(rejected, 268);
    fixture_close(&f);
}

/* The same cadence against 500/day fits: 288 counted, 42.4 % headroom. */
static void test_288_fit_under_500(void)
{
    fixture f;
    int allowed = 0;

    fixture_open(&f, 500, 1000000);
    for (int i = 0; i < 288; i++)
        allowed += decide(&f, "hk", MINER, 1, DAY0_US + i * FIVE_MIN_US).outcome ==
                   RL_ALLOWED;
    CU_ASSERT_EQUAL(allowed, 288);
    CU_ASSERT_EQUAL(read_key(&f, "hk:2025-01-01", DAY0_US + RL_US_PER_DAY - 1), 288);
    fixture_close(&f);
}

/* With the global total used up, a client that is also over its own limit
 * is reported as a global rejection: the global counter is read first. */
static void test_global_checked_before_client(void)
{
    fixture f;
    rl_decision d;

    fixture_open(&f, 3, 5);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(decide(&f, "a", MINER, 1, DAY0_US + i).outcome, RL_ALLOWED);
    d = decide(&f, "a", MINER, 1, DAY0_US + 10);
    CU_ASSERT_EQUAL(d.outcome, RL_REJECTED_CLIENT);

    for (int i = 0; i < 2; i++)
        CU_ASSERT_EQUAL(decide(&f, "b", MINER, 1, DAY0_US + 20 + i).outcome, RL_ALLOWED);
    d = decide(&f, "a", MINER, 1, DAY0_US + 30);
    CU_ASSERT_EQUAL(d.outcome, RL_REJECTED_GLOBAL);
    CU_ASSERT_EQUAL(d.client_count, 3);
    CU_ASSERT_EQUAL(d.global_count, 5);
    d = decide(&f, "c", VALIDATOR, 1, DAY0_US + 40);
    CU_ASSERT_EQUAL(d.outcome, RL_REJECTED_GLOBAL);
    CU_ASSERT_EQUAL(d.client_count, 0);
    fixture_close(&f);
}

/* A 429 leaves both counters and the key set as they were. */
static void test_rejection_consumes_nothing(void)
{
    fixture f;
    int64_t keys_before = -1, keys_after = -1;

    fixture_open(&f, 2, 200000);
    decide(&f, "hk", MINER, 1, DAY0_US);
    decide(&f, "hk", MINER, 1, DAY0_US + 1);
    CU_ASSERT_EQUAL(rl_store_key_count(f.store, DAY0_US + 2, &keys_before), RL_OK);
    for (int i = 0; i < 10; i++) {
        rl_decision d = decide(&f, "hk", MINER, 1, DAY0_US + 2 + i);
        CU_ASSERT_EQUAL(d.outcome, RL_REJECTED_CLIENT);
        CU_ASSERT_EQUAL(d.counted, 0);
    }
    CU_ASSERT_EQUAL(read_key(&f, "hk:2025-01-01", DAY0_US + 20), 2);
    CU_ASSERT_EQUAL(read_key(&f, "GLOBAL:2025-01-01", DAY0_US + 20), 2);
    CU_ASSERT_EQUAL(rl_store_key_count(f.store, DAY0_US + 20, &keys_after), RL_OK);
    CU_ASSERT_EQUAL(keys_after, keys_before);

    /* A global rejection does not create the client's key either. */
    f.limits.total.value = 2;
    CU_ASSERT_EQUAL(decide(&f, "new", MINER, 1, DAY0_US + 30).outcome,
                    RL_REJECTED_GLOBAL);
    CU_ASSERT_EQUAL(rl_store_key_count(f.store, DAY0_US + 30, &keys_after), RL_OK);
    CU_ASSERT_EQUAL(keys_after, keys_before);
    fixture_close(&f);
}

/* Deployed: the limiter runs before authentication, so failing requests
 * spend the client's quota and the global total. */
static void test_failed_auth_counts_when_deployed(void)
{
    fixture f;
    rl_decision d;

    fixture_open(&f, 20, 200000);
    for (int i = 0; i < 20; i++) {
        d = decide(&f, "victim", MINER, 0, DAY0_US + i);
        CU_ASSERT_EQUAL(d.outcome, RL_ALLOWED);
        CU_ASSERT_EQUAL(d.counted, 1);
    }
    d = decide(&f, "victim", MINER, 1, DAY0_US + 100);
    CU_ASSERT_EQUAL(d.outcome, RL_REJECTED_CLIENT);
    CU_ASSERT_EQUAL(read_key(&f, "GLOBAL:2025-01-01", DAY0_US + 100), 20);
    fixture_close(&f);
}

/* Atomic: authentication comes first, so the limiter returns allowed for a
 * failing request but counts nothing. */
static void test_failed_auth_free_when_atomic(void)
{
    fixture f;
    rl_decision d;

    fixture_open(&f, 20, 200000);
    f.lim.policy = RL_POLICY_ATOMIC;
    for (int i = 0; i < 50; i++) {
        d = decide(&f, "victim", MINER, 0, DAY0_US + i);
        CU_ASSERT_EQUAL(d.outcome, RL_ALLOWED);
        CU_ASSERT_EQUAL(d.counted, 0);
        CU_ASSERT_EQUAL(d.client_count, 0);
    }
    CU_ASSERT_EQUAL(read_key(&f, "victim:2025-01-01", DAY0_US + 100), 0);
    CU_ASSERT_EQUAL(read_key(&f, "GLOBAL:2025-01-01", DAY0_US + 100), 0);
    d = decide(&f, "victim", MINER, 1, DAY0_US + 100);
    CU_ASSERT_EQUAL(d.counted, 1);
    CU_ASSERT_EQUAL(d.client_count, 1);
    fixture_close(&f);
}

/* In memory both policies return the same decisions for authenticated
 * traffic. */
static void test_policies_agree_single_thread(void)
{
    fixture deployed, atomic;
    int mismatches = 0;

    fixture_open(&deployed, 7, 40);
    fixture_open(&atomic, 7, 40);
    atomic.lim.policy = RL_POLICY_ATOMIC;
    for (int i = 0; i < 3000; i++) {
        char client[16];
        int64_t now = DAY0_US + (int64_t)i * 97 * RL_US_PER_SEC;
        rl_decision a, b;

        snprintf(client, sizeof(client), "c%d", i % 9);
        a = decide(&deployed, client, MINER, 1, now);
        b = decide(&atomic, client, MINER, 1, now);
        mismatches += a.outcome != b.outcome || a.client_count != b.client_count ||
                      a.global_count != b.global_count;
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    fixture_close(&deployed);
    fixture_close(&atomic);
}

static void test_counters_reset_next_window(void)
{
    fixture f;
    rl_decision d;

    fixture_open(&f, 20, 200000);
    for (int i = 0; i < 25; i++)
        d = decide(&f, "hk", MINER, 1, DAY0_US + i * FIVE_MIN_US);
    CU_ASSERT_EQUAL(d.outcome, RL_REJECTED_CLIENT);

    d = decide(&f, "hk", MINER, 1, DAY0_US + RL_US_PER_DAY - 1);
    CU_ASSERT_EQUAL(d.outcome, RL_REJECTED_CLIENT);
    d = decide(&f, "hk", MINER, 1, DAY0_US + RL_US_PER_DAY);
    CU_ASSERT_EQUAL(d.outcome, RL_ALLOWED);
    CU_ASSERT_EQUAL(d.client_count, 1);
    CU_ASSERT_EQUAL(d.global_count, 1);
    CU_ASSERT_EQUAL(d.window_id, 20090);

    /* Yesterday's counter is still readable during the grace hour. */
    CU_ASSERT_EQUAL(read_key(&f, "hk:2025-01-01", DAY0_US + RL_US_PER_DAY + 1), 20);
    fixture_close(&f);
}

static void test_reset_and_window_fields(void)
{
    fixture f;
    rl_error err = {""};
    rl_decision d;

    fixture_open(&f, 20, 200000);
    d = decide(&f, "hk", MINER, 1, DAY0_US + 100 * RL_US_PER_MIN);
    CU_ASSERT_EQUAL(d.window_id, 20089);
    CU_ASSERT_EQUAL(d.reset_us, DAY0_US + RL_US_PER_DAY);

    /* At +05:30, 01:40Z is 07:10 local on 1 January: reset at 18:30Z. */
    CU_ASSERT_EQUAL(rl_window_parse("utc+05:30", &f.lim.window, &err), RL_OK);
    d = decide(&f, "hk", MINER, 1, DAY0_US + 100 * RL_US_PER_MIN);
    CU_ASSERT_EQUAL(d.window_id, 20089);
    CU_ASSERT_EQUAL(d.reset_us, DAY0_US + 18 * RL_US_PER_HOUR + 30 * RL_US_PER_MIN);

    /* Fixed 60 s windows: the minute containing 01:40:30Z. */
    CU_ASSERT_EQUAL(rl_window_parse("60s", &f.lim.window, &err), RL_OK);
    d = decide(&f, "hk", MINER, 1, DAY0_US + 100 * RL_US_PER_MIN + 30 * RL_US_PER_SEC);
    CU_ASSERT_EQUAL(d.window_id, 28928260);
    CU_ASSERT_EQUAL(d.reset_us, DAY0_US + 101 * RL_US_PER_MIN);
    CU_ASSERT_EQUAL(read_key(&f, "hk:28928260", DAY0_US + 101 * RL_US_PER_MIN), 1);
    fixture_close(&f);
}

/* Keys live until the window's reset plus the grace period, then vanish. */
static void test_key_expiry_at_reset_plus_grace(void)
{
    fixture f;
    int64_t expire_at = DAY0_US + RL_US_PER_DAY + RL_DEFAULT_GRACE_US;
    int64_t keys = -1;

    fixture_open(&f, 20, 200000);
    decide(&f, "hk", MINER, 1, DAY0_US);
    CU_ASSERT_EQUAL(read_key(&f, "hk:2025-01-01", expire_at - 1), 1);
    CU_ASSERT_EQUAL(read_key(&f, "GLOBAL:2025-01-01", expire_at - 1), 1);
    CU_ASSERT_EQUAL(read_key(&f, "hk:2025-01-01", expire_at), 0);
    CU_ASSERT_EQUAL(rl_store_key_count(f.store, expire_at - 1, &keys), RL_OK);
    CU_ASSERT_EQUAL(keys, 2);
    CU_ASSERT_EQUAL(rl_store_key_count(f.store, expire_at, &keys), RL_OK);
    CU_ASSERT_EQUAL(keys, 0);
    fixture_close(&f);
}

/* 1000 simulated days of 100 clients, one request each per hour: the
 * store contains at most today's and yesterday's keys (yesterday's live
 * through the grace hour), never the whole history. */
static void test_store_bounded_over_1000_days(void)
{
    fixture f;
    int64_t max_keys = 0, keys = 0, last_now = 0;
    int over_bound = 0;
    char client[16];

    fixture_open(&f, 20, 1000000000);
    for (int day = 0; day < 1000; day++) {
        for (int hour = 0; hour < 24; hour++) {
            for (int c = 0; c < 100; c++) {
                last_now = DAY0_US + day * RL_US_PER_DAY + hour * RL_US_PER_HOUR +
                           c * RL_US_PER_SEC;
                snprintf(client, sizeof(client), "client-%03d", c);
                decide(&f, client, MINER, 1, last_now);
            }
            CU_ASSERT_EQUAL(rl_store_key_count(f.store, last_now, &keys), RL_OK);
            over_bound += keys > 2 * (100 + 1);
            if (keys > max_keys)
                max_keys = keys;
        }
    }
    CU_ASSERT_EQUAL(over_bound, 0);
    CU_ASSERT(max_keys >= 101);
    CU_ASSERT_EQUAL(rl_store_key_count(f.store, last_now, &keys), RL_OK);
    CU_ASSERT_EQUAL(keys, 101);
    CU_ASSERT_EQUAL(read_key(&f, "client-000:2027-09-27", last_now), 20);
    fixture_close(&f);
}

static void test_key_names_exact(void)
{
    fixture f;
    char buf[RL_KEY_MAX];

    fixture_open(&f, 20, 200000);
    CU_ASSERT_EQUAL(rl_limiter_client_key(&f.lim, "hk", 20089, buf, sizeof(buf)), RL_OK);
    CU_ASSERT_STRING_EQUAL(buf, "hk:2025-01-01");
    CU_ASSERT_EQUAL(rl_limiter_global_key(&f.lim, 20089, buf, sizeof(buf)), RL_OK);
    CU_ASSERT_STRING_EQUAL(buf, "GLOBAL:2025-01-01");

    /* The decision uses exactly these names. */
    decide(&f, "hk", MINER, 1, DAY0_US);
    CU_ASSERT_EQUAL(read_key(&f, "hk:2025-01-01", DAY0_US), 1);
    CU_ASSERT_EQUAL(read_key(&f, "GLOBAL:2025-01-01", DAY0_US), 1);

    snprintf(f.lim.key_prefix, sizeof(f.lim.key_prefix), "ratelab:test:");
    CU_ASSERT_EQUAL(rl_limiter_client_key(&f.lim, "hk", 20089, buf, sizeof(buf)), RL_OK);
    CU_ASSERT_STRING_EQUAL(buf, "ratelab:test:hk:2025-01-01");
    CU_ASSERT_EQUAL(rl_limiter_global_key(&f.lim, 20089, buf, sizeof(buf)), RL_OK);
    CU_ASSERT_STRING_EQUAL(buf, "ratelab:test:GLOBAL:2025-01-01");
    decide(&f, "hk", MINER, 1, DAY0_US);
    CU_ASSERT_EQUAL(read_key(&f, "ratelab:test:hk:2025-01-01", DAY0_US), 1);
    CU_ASSERT_EQUAL(read_key(&f, "ratelab:test:GLOBAL:2025-01-01", DAY0_US), 1);

    /* Too small a buffer is an error, not a truncated key. */
    CU_ASSERT_EQUAL(rl_limiter_global_key(&f.lim, 20089, buf, 10), RL_ERR_RANGE);
    fixture_close(&f);
}

/* Miners and validators share the key space: one hotkey, one counter. */
static void test_roles_share_client_counter(void)
{
    fixture f;
    rl_decision d;

    fixture_open(&f, 20, 200000);
    for (int i = 0; i < 20; i++)
        decide(&f, "hk", VALIDATOR, 1, DAY0_US + i);
    d = decide(&f, "hk", MINER, 1, DAY0_US + 100);
    CU_ASSERT_EQUAL(d.outcome, RL_REJECTED_CLIENT);
    CU_ASSERT_EQUAL(d.client_limit, 20);
    d = decide(&f, "hk", VALIDATOR, 1, DAY0_US + 101);
    CU_ASSERT_EQUAL(d.outcome, RL_ALLOWED);
    CU_ASSERT_EQUAL(d.client_count, 21);
    CU_ASSERT_EQUAL(d.client_limit, 10000);
    fixture_close(&f);
}

static void test_invalid_requests(void)
{
    fixture f;
    char long_client[RL_CLIENT_MAX + 2];
    rl_decision d;
    rl_request req = {"hk", MINER, 1, DAY0_US};

    fixture_open(&f, 20, 200000);
    req.role = -1;
    CU_ASSERT_EQUAL(rl_limiter_decide(&f.lim, &req, &d), RL_ERR_INVALID);
    req.role = 2;
    CU_ASSERT_EQUAL(rl_limiter_decide(&f.lim, &req, &d), RL_ERR_INVALID);
    CU_ASSERT_EQUAL(d.window_id, 20089);

    req.role = MINER;
    req.client = "";
    CU_ASSERT_EQUAL(rl_limiter_decide(&f.lim, &req, &d), RL_ERR_INVALID);
    req.client = NULL;
    CU_ASSERT_EQUAL(rl_limiter_decide(&f.lim, &req, &d), RL_ERR_INVALID);

    memset(long_client, 'k', sizeof(long_client) - 1);
    long_client[RL_CLIENT_MAX + 1] = '\0';
    req.client = long_client;
    CU_ASSERT_EQUAL(rl_limiter_decide(&f.lim, &req, &d), RL_ERR_INVALID);
    long_client[RL_CLIENT_MAX] = '\0';
    CU_ASSERT_EQUAL(rl_limiter_decide(&f.lim, &req, &d), RL_OK);
    CU_ASSERT_EQUAL(d.outcome, RL_ALLOWED);
    CU_ASSERT_EQUAL(rl_limiter_client_key(&f.lim, "", 20089, long_client, 10),
                    RL_ERR_INVALID);
    fixture_close(&f);
}

/* A hotkey named GLOBAL shares the global counter, as in the deployed
 * service's key space: one allowed request adds two to it. */
static void test_client_named_global(void)
{
    fixture f;
    rl_decision d;

    fixture_open(&f, 20, 200000);
    d = decide(&f, "GLOBAL", MINER, 1, DAY0_US);
    CU_ASSERT_EQUAL(d.outcome, RL_ALLOWED);
    CU_ASSERT_EQUAL(d.client_count, 2);
    CU_ASSERT_EQUAL(d.global_count, 2);
    CU_ASSERT_EQUAL(read_key(&f, "GLOBAL:2025-01-01", DAY0_US), 2);
    fixture_close(&f);
}

/* Many live keys force the table through several rebuilds; none is lost. */
static void test_store_keeps_every_live_key(void)
{
    fixture f;
    int64_t keys = 0;
    int wrong = 0;
    char client[64], key[80];

    fixture_open(&f, 1000, 1000000000);
    for (int round = 0; round < 3; round++) {
        for (int c = 0; c < 20000; c++) {
            snprintf(client, sizeof(client), "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC%05d", c);
            decide(&f, client, MINER, 1, DAY0_US + round);
        }
    }
    for (int c = 0; c < 20000; c++) {
        snprintf(key, sizeof(key), "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC%05d:2025-01-01",
                 c);
        wrong += read_key(&f, key, DAY0_US + 10) != 3;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(read_key(&f, "GLOBAL:2025-01-01", DAY0_US + 10), 60000);
    CU_ASSERT_EQUAL(rl_store_key_count(f.store, DAY0_US + 10, &keys), RL_OK);
    CU_ASSERT_EQUAL(keys, 20001);
    fixture_close(&f);
}

typedef struct thread_arg {
    fixture *f;
    int allowed;
} thread_arg;

static void *hammer(void *p)
{
    thread_arg *arg = p;

    for (int i = 0; i < 20000; i++) {
        rl_request req = {"shared", MINER, 1, DAY0_US + i};
        rl_decision d;
        if (rl_limiter_decide(&arg->f->lim, &req, &d) == RL_OK && d.outcome == RL_ALLOWED)
            arg->allowed++;
    }
    return NULL;
}

/* Four threads on one client: the mutex makes the limit exact. */
static void test_store_threads_exact_limit(void)
{
    fixture f;
    thread_arg args[4];
    pthread_t threads[4];
    int total = 0;

    fixture_open(&f, 30000, 1000000000);
    for (int i = 0; i < 4; i++) {
        args[i].f = &f;
        args[i].allowed = 0;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[i], NULL, hammer, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        total += args[i].allowed;
    }
    CU_ASSERT_EQUAL(total, 30000);
    CU_ASSERT_EQUAL(read_key(&f, "shared:2025-01-01", DAY0_US), 30000);
    CU_ASSERT_EQUAL(read_key(&f, "GLOBAL:2025-01-01", DAY0_US), 30000);
    fixture_close(&f);
}

static void test_policy_and_outcome_names(void)
{
    rl_policy p = RL_POLICY_ATOMIC;
    rl_error err = {""};

    CU_ASSERT_EQUAL(rl_policy_parse("deployed", &p, &err), RL_OK);
    CU_ASSERT_EQUAL(p, RL_POLICY_DEPLOYED);
    CU_ASSERT_EQUAL(rl_policy_parse("atomic", &p, &err), RL_OK);
    CU_ASSERT_EQUAL(p, RL_POLICY_ATOMIC);
    CU_ASSERT_EQUAL(rl_policy_parse("Atomic", &p, &err), RL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "invalid policy 'Atomic'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "'deployed'"));
    CU_ASSERT_EQUAL(rl_policy_parse("", &p, &err), RL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "invalid policy ''"));
    CU_ASSERT_STRING_EQUAL(rl_policy_name(RL_POLICY_DEPLOYED), "deployed");
    CU_ASSERT_STRING_EQUAL(rl_policy_name(RL_POLICY_ATOMIC), "atomic");
    CU_ASSERT_STRING_EQUAL(rl_outcome_name(RL_ALLOWED), "allowed");
    CU_ASSERT_STRING_EQUAL(rl_outcome_name(RL_REJECTED_GLOBAL), "global");
    CU_ASSERT_STRING_EQUAL(rl_outcome_name(RL_REJECTED_CLIENT), "client");
}

static void test_destroy_accepts_null(void)
{
    rl_store_destroy(NULL);
    CU_PASS("rl_store_destroy(NULL) returned");
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"21st request rejected", test_21st_request_rejected},
        {"288 fit under 500", test_288_fit_under_500},
        {"global checked before client", test_global_checked_before_client},
        {"rejection consumes nothing", test_rejection_consumes_nothing},
        {"failed auth counts when deployed", test_failed_auth_counts_when_deployed},
        {"failed auth free when atomic", test_failed_auth_free_when_atomic},
        {"policies agree single thread", test_policies_agree_single_thread},
        {"counters reset next window", test_counters_reset_next_window},
        {"reset and window fields", test_reset_and_window_fields},
        {"key expiry at reset plus grace", test_key_expiry_at_reset_plus_grace},
        {"store bounded over 1000 days", test_store_bounded_over_1000_days},
        {"key names exact", test_key_names_exact},
        {"roles share client counter", test_roles_share_client_counter},
        {"invalid requests", test_invalid_requests},
        {"client named GLOBAL", test_client_named_global},
        {"store keeps every live key", test_store_keeps_every_live_key},
        {"store threads exact limit", test_store_threads_exact_limit},
        {"policy and outcome names", test_policy_and_outcome_names},
        {"destroy accepts NULL", test_destroy_accepts_null},
        CU_TEST_INFO_NULL,
    };

    return tst_main("core_limiter", NULL, NULL, tests);
}
