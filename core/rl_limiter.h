/*
 * rl_limiter.h: one decision per request, from limits, window and store.
 *
 * The limiter turns a request (client id, role, auth outcome, time) into an
 * rl_check: it finds the window, builds the deployed service's key names
 * ("<prefix><client>:<label>" and "<prefix>GLOBAL:<label>"), picks the
 * role's limit, and asks the store.  It reads no clock: the caller passes
 * the request's time.
 *
 * Auth: under RL_POLICY_DEPLOYED the limiter runs before authentication, so
 * a request that will fail it (auth_ok = 0) still counts when admitted.
 * Under RL_POLICY_ATOMIC authentication comes first and such a request
 * consumes nothing (the decision reports the counters and counted = 0).
 *
 * Worked example: 5-minute cadence (288 requests a day) against 500/day.
 * The n-th request of a UTC day sees client counter n-1 < 500, so all 288
 * are allowed and the counter ends the day at 288: headroom 1 - 288/500 =
 * 42.4 %.  Against 20/day, requests 1..20 (00:00 to 01:35) are allowed and
 * the 21st, at 01:40, finds the counter at 20 and is rejected
 * (RL_REJECTED_CLIENT), as are the day's remaining 267.
 */
#ifndef RL_LIMITER_H
#define RL_LIMITER_H

#include <stdint.h>

#include "rl_limits.h"
#include "rl_status.h"
#include "rl_store.h"
#include "rl_window.h"

#define RL_CLIENT_MAX 256 /* longest client id (hotkey) in bytes */
#define RL_KEY_PREFIX_MAX 64
#define RL_KEY_MAX (RL_KEY_PREFIX_MAX + RL_CLIENT_MAX + RL_WINDOW_LABEL_MAX + 2)

/* Default grace after a window's end before its keys expire: one hour, so
 * a reader of yesterday's usage shortly after midnight still finds it. */
#define RL_DEFAULT_GRACE_US (3600LL * 1000000LL)

typedef struct rl_limiter {
    const rl_limits *limits; /* borrowed */
    rl_window window;
    rl_policy policy;
    rl_store *store;  /* borrowed */
    char key_prefix[RL_KEY_PREFIX_MAX];
    int64_t grace_us; /* added to the reset time for key expiry */
} rl_limiter;

/* Initialises with defaults (utc-day, deployed, no prefix, 1 h grace). */
void rl_limiter_init(rl_limiter *lim, const rl_limits *limits, rl_store *store);

typedef struct rl_request {
    const char *client; /* hotkey; 1..RL_CLIENT_MAX bytes, no ':' needed */
    int role;           /* index into limits->roles */
    int auth_ok;        /* 0 when the request will fail authentication */
    int64_t now_us;
} rl_request;

/* Decides one request; fills every field of *out.  Returns 0, a store
 * error (RL_ERR_STORE, RL_ERR_TIMEOUT: the caller chooses fail-open or
 * fail-closed), or RL_ERR_INVALID for a bad role or client id. */
int rl_limiter_decide(const rl_limiter *lim, const rl_request *req,
                      rl_decision *out);

/* Builds the client's and the global key for a window, as the decision
 * does, for readers of usage (GET /rate-limits).  Returns 0,
 * RL_ERR_INVALID for a bad client id, or RL_ERR_RANGE when buf is too small
 * (RL_KEY_MAX always fits). */
int rl_limiter_client_key(const rl_limiter *lim, const char *client,
                          int64_t window_id, char *buf, size_t len);
int rl_limiter_global_key(const rl_limiter *lim, int64_t window_id, char *buf,
                          size_t len);

#endif
