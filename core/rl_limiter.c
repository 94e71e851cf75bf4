/*
 * rl_limiter.c: one decision per request (see rl_limiter.h for the rules and
 * the worked example).
 *
 * Part of the limiter core, called once per request by the simulator, the
 * load generator's model and the reference server.  A decision builds two
 * key names in stack buffers with memcpy and the window's hand-written
 * label, then makes one store call: no allocation, no snprintf, no clock.
 */
#include <string.h>

#include "rl_limiter.h"

static const char GLOBAL_NAME[] = "GLOBAL";

void rl_limiter_init(rl_limiter *lim, const rl_limits *limits, rl_store *store)
{
    memset(lim, 0, sizeof(*lim));
    lim->limits = limits;
    lim->window = rl_window_utc_day();
    lim->policy = RL_POLICY_DEPLOYED;
    lim->store = store;
    lim->key_prefix[0] = '\0';
    lim->grace_us = RL_DEFAULT_GRACE_US;
}

/* Returns the client id's length, or -1 when it is empty or longer than
 * RL_CLIENT_MAX bytes. */
static long client_length(const char *client)
{
    size_t n;

    if (client == NULL)
        return -1;
    n = strnlen(client, RL_CLIENT_MAX + 1);
    return n == 0 || n > RL_CLIENT_MAX ? -1 : (long)n;
}

/*
 * Writes "<prefix><name>:<label>" into buf.  The prefix is read up to
 * RL_KEY_PREFIX_MAX - 1 bytes even when the caller left it unterminated.
 * Returns RL_ERR_RANGE when buf is too small.
 */
static int build_key(const rl_limiter *lim, const char *name, size_t name_len,
                     int64_t window_id, char *buf, size_t len)
{
    char label[RL_WINDOW_LABEL_MAX];
    size_t prefix_len = strnlen(lim->key_prefix, RL_KEY_PREFIX_MAX - 1);
    size_t label_len =
        (size_t)rl_window_label(&lim->window, window_id, label, sizeof(label));
    size_t total = prefix_len + name_len + 1 + label_len;

    if (label_len >= sizeof(label) || total + 1 > len)
        return RL_ERR_RANGE;
    memcpy(buf, lim->key_prefix, prefix_len);
    memcpy(buf + prefix_len, name, name_len);
    buf[prefix_len + name_len] = ':';
    memcpy(buf + prefix_len + name_len + 1, label, label_len);
    buf[total] = '\0';
    return RL_OK;
}

int rl_limiter_client_key(const rl_limiter *lim, const char *client,
                          int64_t window_id, char *buf, size_t len)
{
    long n = client_length(client);

    if (n < 0)
        return RL_ERR_INVALID;
    return build_key(lim, client, (size_t)n, window_id, buf, len);
}

int rl_limiter_global_key(const rl_limiter *lim, int64_t window_id, char *buf,
                          size_t len)
{
    return build_key(lim, GLOBAL_NAME, sizeof(GLOBAL_NAME) - 1, window_id, buf, len);
}

int rl_limiter_decide(const rl_limiter *lim, const rl_request *req, rl_decision *out)
{
    char client_key[RL_KEY_MAX];
    char global_key[RL_KEY_MAX];
    long client_len = client_length(req->client);
    int64_t window_id = rl_window_id(&lim->window, req->now_us);
    int64_t reset_us = rl_window_reset_us(&lim->window, window_id);
    rl_check check;
    int rc;

    /* Clear the decision and fill in the window first, so a caller sees the
     * window even when the request is invalid (the limits stay 0 then). */
    memset(out, 0, sizeof(*out));
    out->window_id = window_id;
    out->reset_us = reset_us;
    if (client_len < 0 || req->role < 0 || req->role >= lim->limits->nroles)
        return RL_ERR_INVALID;
    out->client_limit = lim->limits->roles[req->role].per_client.value;
    out->global_limit = lim->limits->total.value;

    rc = build_key(lim, req->client, (size_t)client_len, window_id, client_key,
                   sizeof(client_key));
    if (rc == RL_OK)
        rc = build_key(lim, GLOBAL_NAME, sizeof(GLOBAL_NAME) - 1, window_id,
                       global_key, sizeof(global_key));
    if (rc != RL_OK)
        return rc;

    /* The deployed service counts before it authenticates; the atomic
     * policy authenticates first, so a failing request counts nothing. */
    check.client_key = client_key;
    check.global_key = global_key;
    check.client_limit = out->client_limit;
    check.global_limit = out->global_limit;
    check.now_us = req->now_us;
    check.expire_at_us = reset_us + lim->grace_us;
    check.count = lim->policy == RL_POLICY_DEPLOYED || req->auth_ok;
    check.policy = lim->policy;

    /* The store fills the outcome and the counters; the rest is restored in
     * case a backend cleared it. */
    rc = rl_store_check_and_count(lim->store, &check, out);
    out->client_limit = check.client_limit;
    out->global_limit = check.global_limit;
    out->window_id = window_id;
    out->reset_us = reset_us;
    return rc;
}
