/*
 * srv_info.c: the unlimited routes, GET /rate-limits and GET /healthcheck.
 *
 * /rate-limits keeps the deployed field names and meaning:
 *   {"rate_limits": {"daily_limit_per_miner", "daily_limit_per_validator",
 *                    "total_daily_limit"},
 *    "current_usage": {"global_requests_today", "global_remaining"}}
 * with usage read from the store for the window that contains "now".  Any
 * further role in the limits appears as daily_limit_per_<role>.  A
 * "ratelab" object adds what the deployed service does not report: policy,
 * window, its label and reset time, and where each limit came from, so an
 * operator can see that the configured variables were applied.
 *
 * /healthcheck reads one counter: 200 {"status": "ok", ...} when the store
 * replies, 503 {"status": "unavailable", ...} when it does not.
 */
#include <string.h>

#include "rl_time.h"
#include "srv_internal.h"

/* Reads the global counter of the window containing now_us. */
static int read_global(srv_app *app, int64_t now_us, int64_t *count)
{
    char key[RL_KEY_MAX];
    rl_store *store;
    rl_error err;
    int64_t id = rl_window_id(&app->limiter.window, now_us);
    int rc = srv_store_pool_get(app->stores, &store, &err);

    *count = 0;
    if (rc < 0) {
        srv_app_store_error(app, rc, err.message, now_us);
        return rc;
    }
    rc = rl_limiter_global_key(&app->limiter, id, key, sizeof(key));
    if (rc == 0)
        rc = rl_store_read(store, key, now_us, count);
    if (rc == RL_ERR_STORE || rc == RL_ERR_TIMEOUT)
        srv_app_store_error(app, rc, "read", now_us);
    return rc;
}

/* {"daily_limit_per_<role>": n, ..., "total_daily_limit": n} and the same
 * keys mapped to their origins in `sources`. */
static json_t *limits_object(const rl_limits *l, json_t *sources)
{
    json_t *o = json_object();
    char name[RL_ROLE_NAME_MAX + 32];

    for (int i = 0; o != NULL && i < l->nroles; i++) {
        snprintf(name, sizeof(name), "daily_limit_per_%s", l->roles[i].name);
        json_object_set_new(o, name, json_integer(l->roles[i].per_client.value));
        json_object_set_new(sources, name,
                            json_pack("{s:s,s:s}", "source",
                                      rl_source_name(l->roles[i].per_client.source),
                                      "origin", l->roles[i].per_client.origin));
    }
    if (o != NULL) {
        json_object_set_new(o, "total_daily_limit", json_integer(l->total.value));
        json_object_set_new(sources, "total_daily_limit",
                            json_pack("{s:s,s:s}", "source", rl_source_name(l->total.source),
                                      "origin", l->total.origin));
    }
    return o;
}

void srv_handle_rate_limits(srv_app *app, int64_t now_us, srv_reply *out)
{
    const rl_window *w = &app->limiter.window;
    int64_t id = rl_window_id(w, now_us);
    int64_t reset_us = rl_window_reset_us(w, id);
    int64_t used, total = app->cfg.limits->total.value;
    char label[RL_WINDOW_LABEL_MAX], window[32], reset[RL_ISO8601_MAX];

    if (read_global(app, now_us, &used) < 0) {
        srv_reply_detail(out, 503, SRV_RESULT_UNAVAILABLE, "Rate limit store unavailable.");
        return;
    }
    rl_window_label(w, id, label, sizeof(label));
    rl_window_format(w, window, sizeof(window));
    rl_time_format_iso8601(reset_us, reset, sizeof(reset));

    json_t *sources = json_object();
    json_t *limits = sources != NULL ? limits_object(app->cfg.limits, sources) : NULL;
    json_t *body = json_pack(
        "{s:o?,s:{s:I,s:I},s:{s:s,s:s,s:s,s:s,s:I,s:o?}}", "rate_limits", limits,
        "current_usage", "global_requests_today", (json_int_t)used, "global_remaining",
        (json_int_t)(total > used ? total - used : 0), "ratelab", "policy",
        rl_policy_name(app->cfg.policy), "window", window, "window_label", label,
        "reset_at", reset, "reset_in_seconds",
        (json_int_t)((reset_us - now_us + RL_US_PER_SEC - 1) / RL_US_PER_SEC), "sources",
        sources);
    srv_reply_json(out, 200, SRV_RESULT_INFO, body);
}

void srv_handle_health(srv_app *app, int64_t now_us, srv_reply *out)
{
    int64_t used;
    int rc = read_global(app, now_us, &used);

    if (rc < 0) {
        srv_reply_json(out, 503, SRV_RESULT_UNAVAILABLE,
                       json_pack("{s:s,s:s,s:b,s:s}", "status", "unavailable", "store",
                                 app->cfg.store_name, "store_ok", 0, "error",
                                 rl_strerror(rc)));
        return;
    }
    srv_reply_json(out, 200, SRV_RESULT_INFO,
                   json_pack("{s:s,s:s,s:b,s:s}", "status", "ok", "store",
                             app->cfg.store_name, "store_ok", 1, "policy",
                             rl_policy_name(app->cfg.policy)));
}
