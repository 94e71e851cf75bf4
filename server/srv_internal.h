/*
 * srv_internal.h: what the server's source files share and nothing outside
 * server/ uses: the store pool, request bodies, replies and route handlers.
 *
 * A request flows: srv_http.c (libmicrohttpd: reads at most SRV_BODY_MAX
 * bytes, picks the route) -> srv_routes.c or srv_info.c (one handler per
 * route, fills an srv_reply) -> srv_http.c (sends it, counts it, writes the
 * access log line).  Handlers never touch libmicrohttpd, so the routes do
 * not depend on the HTTP library.
 */
#ifndef SRV_INTERNAL_H
#define SRV_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "rl_limiter.h"
#include "srv_server.h"

/* ---- store pool (srv_pool.c) ---- */

/* Hands each worker thread its store.  With per_thread = 0 one store is
 * created at once and shared; otherwise a thread's store is created on its
 * first request and kept until the pool is destroyed. */
typedef struct srv_store_pool srv_store_pool;

int srv_store_pool_create(srv_store_factory factory, void *user, int per_thread,
                          srv_store_pool **out, rl_error *err);
/* Returns 0 and the calling thread's store, or the factory's error. */
int srv_store_pool_get(srv_store_pool *p, rl_store **out, rl_error *err);
void srv_store_pool_destroy(srv_store_pool *p);

/* ---- request deadlines (srv_deadline.c) ---- */

/* The open connections and the watchdog thread that closes those whose
 * request is not complete within the timeout.  One per server. */
typedef struct srv_deadlines srv_deadlines;
/* One open connection's deadline; owned by the srv_deadlines. */
typedef struct srv_conn_track srv_conn_track;

/* Creates the tracker; the watchdog starts with srv_deadlines_start().
 * Returns SRV_OK or SRV_ERR_NOMEM.  Free with srv_deadlines_destroy(). */
int srv_deadlines_create(int64_t timeout_us, const rl_logger *logger,
                         srv_deadlines **out);
int srv_deadlines_start(srv_deadlines *d);
/* Joins the watchdog and logs the closes not yet logged; safe to repeat. */
void srv_deadlines_stop(srv_deadlines *d);
/* Stops the watchdog and frees every entry; accepts NULL. */
void srv_deadlines_destroy(srv_deadlines *d);
/* Returns how many connections the watchdog has closed. */
uint64_t srv_deadlines_closed(const srv_deadlines *d);

/* Tracks a new connection's socket with its deadline armed.  Returns NULL
 * when out of memory (the connection then has no deadline). */
srv_conn_track *srv_deadlines_add(srv_deadlines *d, int fd);
/* Stops tracking; must run before the socket is closed.  Accepts NULL. */
void srv_deadlines_remove(srv_deadlines *d, srv_conn_track *t);
/* Arms the deadline for the connection's next request; accepts NULL. */
void srv_deadlines_arm(srv_deadlines *d, srv_conn_track *t);
/* Disarms it: the current request has arrived whole.  Accepts NULL. */
void srv_conn_track_disarm(srv_conn_track *t);

/* ---- request bodies (srv_body.c) ---- */

typedef enum srv_body_kind {
    SRV_BODY_MINER = 0, /* coldkey, hotkey, timestamp, signature, expiry? */
    SRV_BODY_VALIDATOR  /* hotkey, signature, timestamp, expiry?, miner_hotkey? */
} srv_body_kind;

/* A validated request body.  Strings are NUL-terminated copies. */
typedef struct srv_access_request {
    char coldkey[SRV_KEY_MAX + 1];
    char hotkey[SRV_KEY_MAX + 1];
    char miner_hotkey[SRV_KEY_MAX + 1]; /* "" when absent or null */
    char signature[SRV_SIGNATURE_MAX + 1];
    int has_timestamp; /* 0: the deployed model defaults it to "now" */
    int64_t timestamp_s;
    int64_t expiry_s; /* 0 when absent, null or 0: timestamp + 1 day */
} srv_access_request;

/*
 * Parses and validates a body the way the deployed service's request
 * models do.  Returns 0 and fills *req, or 1 and sets *errors to a new JSON
 * array of {loc, msg, type[, ctx]} objects for a 422 reply (the caller
 * owns it), or RL_ERR_NOMEM.
 */
int srv_body_parse(const char *body, size_t len, srv_body_kind kind,
                   srv_access_request *req, json_t **errors);

/* ---- replies ---- */

typedef struct srv_reply {
    unsigned status;
    char *body; /* compact JSON, malloc'd; freed by srv_reply_free */
    srv_result result;
    int has_rate_headers; /* send X-RateLimit-Limit/Remaining/Reset */
    int64_t limit;
    int64_t remaining;
    int64_t reset_s;      /* seconds until the window resets */
    int retry_after;      /* 1: also send Retry-After: reset_s */
    const char *allow;    /* static Allow header value for 405, or NULL */
    char hotkey[SRV_KEY_MAX + 1]; /* for the access log; "" when unknown */
} srv_reply;

/* Sets status, result and a {"detail": "<detail>"} body. */
void srv_reply_detail(srv_reply *r, unsigned status, srv_result result,
                      const char *detail);
/* Sets status, result and the body from a JSON value (stolen: decref'd). */
void srv_reply_json(srv_reply *r, unsigned status, srv_result result, json_t *body);
void srv_reply_free(srv_reply *r);

/* ---- the application state shared by all workers ---- */

typedef struct srv_app {
    srv_config cfg;
    rl_limiter limiter;   /* template: each request copies it with its store */
    int role_miner;       /* index into cfg.limits->roles */
    int role_validator;
    srv_store_pool *stores;
    srv_deadlines *deadlines; /* NULL: no request deadline (fuzz harness) */

    atomic_uint_fast64_t requests;
    atomic_uint_fast64_t by_result[SRV_RESULT_COUNT];
    atomic_uint_fast64_t store_errors;

    /* Store errors are logged at most once per SRV_STORE_LOG_US, with the
     * count since the last line, so an outage does not flood the log. */
    pthread_mutex_t store_log_lock;
    int64_t store_log_at_us;
    uint64_t store_errors_logged;
} srv_app;

#define SRV_STORE_LOG_US (10LL * 1000000LL)

/* Records a failed store operation and logs it when due. */
void srv_app_store_error(srv_app *app, int status, const char *what, int64_t now_us);

/* ---- routes (srv_routes.c, srv_info.c) ---- */

typedef enum srv_route {
    SRV_ROUTE_NONE = 0,
    SRV_ROUTE_FOLDER,          /* POST /get-folder-access */
    SRV_ROUTE_VALIDATOR,       /* POST /get-validator-access */
    SRV_ROUTE_MINER_SPECIFIC,  /* POST /get-miner-specific-access */
    SRV_ROUTE_RATE_LIMITS,     /* GET /rate-limits */
    SRV_ROUTE_HEALTH           /* GET /healthcheck */
} srv_route;

srv_route srv_route_find(const char *path);
/* 1 when the method is allowed on the route (GET routes also take HEAD). */
int srv_route_accepts(srv_route route, const char *method);
/* The Allow header for a route. */
const char *srv_route_allow(srv_route route);

/* Handles a POST to a limited route; body is not NUL-terminated. */
void srv_handle_access(srv_app *app, srv_route route, const char *body,
                       size_t len, int64_t now_us, srv_reply *out);
void srv_handle_rate_limits(srv_app *app, int64_t now_us, srv_reply *out);
void srv_handle_health(srv_app *app, int64_t now_us, srv_reply *out);

#endif
