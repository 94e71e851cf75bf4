/*
 * srv_routes.c: the three limited routes, in the deployed service's order.
 *
 * Deployed policy, for every well-formed request (422 and the missing
 * miner_hotkey 400 come first and consume nothing):
 *   1. the limiter: global check, hotkey check, count (429 consumes nothing)
 *   2. the timestamp: 400 "Invalid timestamp" when now > expiry (expiry
 *      defaults to timestamp + 86400), now - timestamp > 300 or
 *      timestamp > now + 60, in whole seconds
 *   3. validator routes: 401 "You are not validator"
 *   4. the signature: 401 "Invalid signature"
 * so a 400 or 401 has already been counted.  Atomic policy: the same
 * checks, but authentication (2-4) is decided first, and a request that
 * fails it gets its 400/401 and counts nothing.
 *
 * Authentication stand-ins: a signature is invalid when it is empty or
 * starts with "bad"; a hotkey is a validator when it is on the validator
 * list, or, without a list, when it does not start with 'N'.
 *
 * Store errors: with fail-open the request goes on as if admitted (no rate
 * headers); with fail-closed it gets 503 {"detail": "Rate limit store
 * unavailable."}.  Either way the error is counted and logged at most once
 * per 10 s.
 */
#include <stdlib.h>
#include <string.h>

#include "rl_time.h"
#include "srv_internal.h"

/* Fake storage names in success bodies: nothing here is a credential. */
#define FAKE_BUCKET "ratelab-fake-bucket"
#define FAKE_REGION "fake-region-1"
#define FAKE_BASE_URL "https://example.invalid/" FAKE_BUCKET

#define SECONDS_PER_DAY 86400
#define TIMESTAMP_MAX_AGE_S 300
#define TIMESTAMP_MAX_AHEAD_S 60
#define SRV_EXPIRY_MAX_S 253402300799LL /* 9999-12-31T23:59:59Z */

srv_route srv_route_find(const char *path)
{
    static const struct {
        const char *path;
        srv_route route;
    } table[] = {
        {"/get-folder-access", SRV_ROUTE_FOLDER},
        {"/get-validator-access", SRV_ROUTE_VALIDATOR},
        {"/get-miner-specific-access", SRV_ROUTE_MINER_SPECIFIC},
        {"/rate-limits", SRV_ROUTE_RATE_LIMITS},
        {"/healthcheck", SRV_ROUTE_HEALTH},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(path, table[i].path) == 0)
            return table[i].route;
    return SRV_ROUTE_NONE;
}

int srv_route_accepts(srv_route route, const char *method)
{
    if (route == SRV_ROUTE_RATE_LIMITS || route == SRV_ROUTE_HEALTH)
        return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    return strcmp(method, "POST") == 0;
}

const char *srv_route_allow(srv_route route)
{
    if (route == SRV_ROUTE_RATE_LIMITS || route == SRV_ROUTE_HEALTH)
        return "GET, HEAD";
    return "POST";
}

void srv_reply_json(srv_reply *r, unsigned status, srv_result result, json_t *body)
{
    free(r->body);
    r->body = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    r->status = status;
    r->result = result;
    /* Without a body there is nothing to send but an error. */
    if (r->body == NULL) {
        r->status = 500;
        r->result = SRV_RESULT_INTERNAL;
    }
}

void srv_reply_detail(srv_reply *r, unsigned status, srv_result result,
                      const char *detail)
{
    srv_reply_json(r, status, result, json_pack("{s:s}", "detail", detail));
}

void srv_reply_free(srv_reply *r)
{
    free(r->body);
    r->body = NULL;
}

void srv_app_store_error(srv_app *app, int status, const char *what, int64_t now_us)
{
    uint64_t total = atomic_fetch_add(&app->store_errors, 1) + 1;
    uint64_t since;
    int due;

    pthread_mutex_lock(&app->store_log_lock);
    due = app->store_log_at_us == 0 || now_us - app->store_log_at_us >= SRV_STORE_LOG_US;
    since = total - app->store_errors_logged;
    if (due) {
        app->store_log_at_us = now_us;
        app->store_errors_logged = total;
    }
    pthread_mutex_unlock(&app->store_log_lock);

    if (due)
        rl_log(app->cfg.logger, RL_LOG_WARN,
               "store %s failed: %s (%s); %llu store errors since the last "
               "report, %llu in total; answering %s",
               app->cfg.store_name, what, rl_strerror(status),
               (unsigned long long)since, (unsigned long long)total,
               app->cfg.fail_open ? "as if allowed (fail-open)" : "503 (fail-closed)");
}

/* Decides the authentication stand-ins; SRV_RESULT_ALLOWED when they pass. */
static srv_result check_auth(const srv_app *app, srv_route route,
                             const srv_access_request *req, int64_t now_us)
{
    int64_t now_s = rl_floor_div(now_us, RL_US_PER_SEC);
    int64_t ts = req->has_timestamp ? req->timestamp_s : now_s;
    int64_t expiry = req->expiry_s;

    /* The deployed service writes `expiry or timestamp + 86400`: 0 counts
     * as absent.  Saturate instead of overflowing on absurd timestamps. */
    if (expiry == 0)
        expiry = ts > INT64_MAX - SECONDS_PER_DAY ? INT64_MAX : ts + SECONDS_PER_DAY;
    if (now_s > expiry || ts < now_s - TIMESTAMP_MAX_AGE_S ||
        ts > now_s + TIMESTAMP_MAX_AHEAD_S)
        return SRV_RESULT_TIMESTAMP;
    if (route != SRV_ROUTE_FOLDER && !srv_is_validator(app->cfg.validators, req->hotkey))
        return SRV_RESULT_NOT_VALIDATOR;
    if (req->signature[0] == '\0' || strncmp(req->signature, "bad", 3) == 0)
        return SRV_RESULT_SIGNATURE;
    return SRV_RESULT_ALLOWED;
}

static void reply_auth_failure(srv_reply *out, srv_result auth)
{
    switch (auth) {
    case SRV_RESULT_TIMESTAMP:
        srv_reply_detail(out, 400, auth, "Invalid timestamp");
        break;
    case SRV_RESULT_NOT_VALIDATOR:
        srv_reply_detail(out, 401, auth, "You are not validator");
        break;
    default:
        srv_reply_detail(out, 401, SRV_RESULT_SIGNATURE, "Invalid signature");
        break;
    }
}

static void set_rate_headers(srv_reply *out, const rl_decision *d, int64_t now_us)
{
    int64_t left_us = d->reset_us - now_us;

    out->has_rate_headers = 1;
    out->limit = d->client_limit;
    out->remaining = d->client_limit > d->client_count ? d->client_limit - d->client_count : 0;
    /* Whole seconds, rounded up: a client that waits this long is past
     * the reset. */
    out->reset_s = left_us > 0 ? (left_us + RL_US_PER_SEC - 1) / RL_US_PER_SEC : 0;
}

static void reply_limited(srv_reply *out, const rl_decision *d)
{
    char detail[96];

    out->retry_after = 1;
    if (d->outcome == RL_REJECTED_GLOBAL) {
        srv_reply_detail(out, 429, SRV_RESULT_GLOBAL, "Global request limit reached.");
        return;
    }
    snprintf(detail, sizeof(detail), "Daily limit of %lld exceeded.",
             (long long)d->client_limit);
    srv_reply_detail(out, 429, SRV_RESULT_CLIENT, detail);
}

/* Builds the fake success body of a route. */
static json_t *success_body(srv_route route, const srv_access_request *req,
                            int64_t now_us)
{
    int64_t ts = req->has_timestamp ? req->timestamp_s : rl_floor_div(now_us, RL_US_PER_SEC);
    int64_t expiry_s = req->expiry_s != 0 ? req->expiry_s : ts + SECONDS_PER_DAY;
    char expiry[RL_ISO8601_MAX], prefix[SRV_KEY_MAX + 32], url[SRV_KEY_MAX + 128];
    char key[SRV_KEY_MAX + 48];
    const char *who = route == SRV_ROUTE_MINER_SPECIFIC ? req->miner_hotkey : req->hotkey;

    /* The client chooses expiry: cap it at 9999-12-31T23:59:59Z, the last
     * second rl_time_format_iso8601 writes, so the conversion to
     * microseconds cannot overflow. */
    if (expiry_s > SRV_EXPIRY_MAX_S)
        expiry_s = SRV_EXPIRY_MAX_S;
    rl_time_format_iso8601(expiry_s * RL_US_PER_SEC, expiry, sizeof(expiry));
    snprintf(prefix, sizeof(prefix), "data/hotkey=%s/", who);
    snprintf(url, sizeof(url), "%s?prefix=%s", FAKE_BASE_URL, prefix);
    snprintf(key, sizeof(key), "%s${filename}", prefix);

    if (route == SRV_ROUTE_FOLDER)
        return json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:s,s:b}", "folder", prefix, "url",
                         FAKE_BASE_URL, "fields", "key", key,
                         "policy", "fake", "expiry", expiry, "list_url", url, "fake", 1);
    if (route == SRV_ROUTE_MINER_SPECIFIC)
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "bucket", FAKE_BUCKET,
                         "region", FAKE_REGION, "miner_hotkey", req->miner_hotkey,
                         "miner_url", url, "prefix", prefix, "expiry", expiry, "fake", 1);
    return json_pack("{s:s,s:s,s:s,s:s,s:i,s:{s:{s:s},s:{s:s}},s:b}", "bucket",
                     FAKE_BUCKET, "region", FAKE_REGION, "validator_hotkey", req->hotkey,
                     "expiry", expiry, "expiry_seconds", SECONDS_PER_DAY, "urls", "global",
                     "list_all_data", FAKE_BASE_URL "?prefix=data/hotkey=", "miners",
                     "list_all_miners", FAKE_BASE_URL "?prefix=data/hotkey=&delimiter=/",
                     "fake", 1);
}

/* Runs the limiter on the calling thread's store.  Returns its status. */
static int decide(srv_app *app, int role, const char *hotkey, int auth_ok,
                  int64_t now_us, rl_decision *d)
{
    rl_limiter lim = app->limiter;
    rl_request rq = {.client = hotkey, .role = role, .auth_ok = auth_ok, .now_us = now_us};
    rl_error err;
    int rc = srv_store_pool_get(app->stores, &lim.store, &err);

    if (rc < 0) {
        memset(d, 0, sizeof(*d));
        if (rc == RL_ERR_STORE || rc == RL_ERR_TIMEOUT)
            srv_app_store_error(app, rc, err.message, now_us);
        return rc;
    }
    rc = rl_limiter_decide(&lim, &rq, d);
    if (rc == RL_ERR_STORE || rc == RL_ERR_TIMEOUT)
        srv_app_store_error(app, rc, "check_and_count", now_us);
    return rc;
}

void srv_handle_access(srv_app *app, srv_route route, const char *body,
                       size_t len, int64_t now_us, srv_reply *out)
{
    srv_access_request req;
    json_t *errors = NULL;
    rl_decision d;
    int role = route == SRV_ROUTE_FOLDER ? app->role_miner : app->role_validator;
    int rc = srv_body_parse(body, len,
                            route == SRV_ROUTE_FOLDER ? SRV_BODY_MINER : SRV_BODY_VALIDATOR,
                            &req, &errors);

    /* Validation happens before the handler runs, so it counts nothing. */
    if (rc < 0) {
        srv_reply_detail(out, 500, SRV_RESULT_INTERNAL, "Internal Server Error");
        return;
    }
    if (rc > 0) {
        srv_reply_json(out, 422, SRV_RESULT_INVALID_BODY, json_pack("{s:o}", "detail", errors));
        return;
    }
    snprintf(out->hotkey, sizeof(out->hotkey), "%s", req.hotkey);
    if (route == SRV_ROUTE_MINER_SPECIFIC && req.miner_hotkey[0] == '\0') {
        srv_reply_detail(out, 400, SRV_RESULT_MISSING_FIELD, "miner_hotkey is required");
        return;
    }

    srv_result auth = check_auth(app, route, &req, now_us);
    int auth_first = app->cfg.policy == RL_POLICY_ATOMIC && auth != SRV_RESULT_ALLOWED;

    rc = decide(app, role, req.hotkey, auth == SRV_RESULT_ALLOWED, now_us, &d);
    int store_failed = rc == RL_ERR_STORE || rc == RL_ERR_TIMEOUT;
    if (rc == 0)
        set_rate_headers(out, &d, now_us);
    if (rc < 0 && !store_failed) {
        rl_log(app->cfg.logger, RL_LOG_ERROR, "limiter failed for hotkey '%s': %s",
               req.hotkey, rl_strerror(rc));
        srv_reply_detail(out, 500, SRV_RESULT_INTERNAL, "Internal Server Error");
        return;
    }

    /* Atomic: failed authentication wins over everything, counting nothing. */
    if (auth_first) {
        reply_auth_failure(out, auth);
        return;
    }
    if (store_failed && !app->cfg.fail_open) {
        srv_reply_detail(out, 503, SRV_RESULT_UNAVAILABLE, "Rate limit store unavailable.");
        return;
    }
    if (rc == 0 && d.outcome != RL_ALLOWED) {
        reply_limited(out, &d);
        return;
    }
    if (auth != SRV_RESULT_ALLOWED) {
        reply_auth_failure(out, auth);
        return;
    }
    srv_reply_json(out, 200, SRV_RESULT_ALLOWED, success_body(route, &req, now_us));
}
