/*
 * srv_http.c: the libmicrohttpd (0.9.75) side of the server: daemon
 * start and stop, reading bodies, sending replies, counting and the access
 * log.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * with the headers (the connection's context is still NULL, so it is
 * allocated then), once per chunk of body, and once more with no data, when
 * the route runs and the reply is queued.  What always holds:
 *   - at most SRV_BODY_MAX bytes of a body are kept.  A Content-Length over
 *     it gets 413 before any body is read; a chunked body that grows past it
 *     is dropped as it arrives and gets 413 when it ends, or a closed
 *     connection once more than SRV_DISCARD_MAX bytes were dropped.
 *   - unknown paths (404) and wrong methods (405) are answered at the
 *     headers, without reading a body.
 *   - every request that gets a reply is counted once, in queue_reply(),
 *     and logged once, in request_completed().
 *   - every connection is tracked by the request deadline watchdog
 *     (srv_deadline.c) from MHD_CONNECTION_NOTIFY_STARTED to
 *     MHD_CONNECTION_NOTIFY_CLOSED; its deadline is disarmed when a
 *     request's last byte has arrived and armed again when the request
 *     completes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rl_time.h"
#include "srv_internal.h"

/* Bytes of an oversized chunked body read and dropped before the
 * connection is closed without a reply. */
#define SRV_DISCARD_MAX (1024u * 1024u)

struct srv_server {
    srv_app app;
    struct MHD_Daemon *daemon;
    int app_ready; /* app.store_log_lock initialised */
};

/* Per-request state, owned by libmicrohttpd's connection until
 * request_completed() frees it. */
typedef struct request_ctx {
    int64_t start_mono_us;
    srv_route route;
    int answered;     /* a reply was queued */
    int too_large;
    unsigned status;
    char hotkey[SRV_KEY_MAX + 1];
    char method[16];
    char path[160];   /* printable copy for the access log */
    size_t capacity;  /* bytes of body[]: SRV_BODY_MAX, or 0 on GET routes */
    size_t len;
    size_t discarded; /* bytes dropped after the body passed SRV_BODY_MAX */
    char body[];
} request_ctx;

/* Returns the connection's deadline entry, or NULL when it has none. */
static srv_conn_track *conn_track(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info != NULL ? info->socket_context : NULL;
}

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * RL_US_PER_SEC + ts.tv_nsec / 1000;
}

/* Copies text for a log line: printable ASCII only, cut to fit. */
static void copy_printable(char *dst, size_t len, const char *src)
{
    size_t i = 0;
    for (; src[i] != '\0' && i + 1 < len; i++)
        dst[i] = src[i] > ' ' && src[i] < 127 ? src[i] : '?';
    dst[i] = '\0';
}

/* Adds the headers and queues the reply; counts it.  Frees reply->body. */
static enum MHD_Result queue_reply(srv_app *app, struct MHD_Connection *conn,
                                   request_ctx *ctx, srv_reply *reply)
{
    char value[32];
    struct MHD_Response *resp;
    enum MHD_Result ok;
    size_t len = reply->body != NULL ? strlen(reply->body) : 0;

    resp = MHD_create_response_from_buffer(len, reply->body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        srv_reply_free(reply);
        return MHD_NO;
    }
    reply->body = NULL; /* owned by the response now */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (reply->has_rate_headers) {
        snprintf(value, sizeof(value), "%lld", (long long)reply->limit);
        MHD_add_response_header(resp, "X-RateLimit-Limit", value);
        snprintf(value, sizeof(value), "%lld", (long long)reply->remaining);
        MHD_add_response_header(resp, "X-RateLimit-Remaining", value);
        snprintf(value, sizeof(value), "%lld", (long long)reply->reset_s);
        MHD_add_response_header(resp, "X-RateLimit-Reset", value);
        if (reply->retry_after)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, value);
    }
    if (reply->allow != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, reply->allow);

    ok = MHD_queue_response(conn, reply->status, resp);
    MHD_destroy_response(resp);
    ctx->answered = 1;
    ctx->status = reply->status;
    memcpy(ctx->hotkey, reply->hotkey, sizeof(ctx->hotkey));
    atomic_fetch_add(&app->by_result[reply->result], 1);
    atomic_fetch_add(&app->requests, 1);
    return ok;
}

static enum MHD_Result reply_detail(srv_app *app, struct MHD_Connection *conn,
                                    request_ctx *ctx, unsigned status,
                                    srv_result result, const char *detail)
{
    srv_reply reply = {0};
    srv_reply_detail(&reply, status, result, detail);
    if (status == 405)
        reply.allow = srv_route_allow(ctx->route);
    return queue_reply(app, conn, ctx, &reply);
}

/* Returns 1 when the request announces a body larger than SRV_BODY_MAX. */
static int announced_too_large(struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl == NULL)
        return 0;
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    return end == cl || n > SRV_BODY_MAX;
}

/* Handles the first call: allocates the context and replies to requests
 * that need no body (404, 405, 413). */
static enum MHD_Result begin_request(srv_app *app, struct MHD_Connection *conn,
                                     const char *url, const char *method,
                                     void **con_cls)
{
    srv_route route = srv_route_find(url);
    int limited = route == SRV_ROUTE_FOLDER || route == SRV_ROUTE_VALIDATOR ||
                  route == SRV_ROUTE_MINER_SPECIFIC;
    request_ctx *ctx = calloc(1, sizeof(*ctx) + (limited ? SRV_BODY_MAX : 0));

    if (ctx == NULL)
        return MHD_NO;
    ctx->start_mono_us = clock_us(CLOCK_MONOTONIC);
    ctx->route = route;
    ctx->capacity = limited ? SRV_BODY_MAX : 0;
    copy_printable(ctx->method, sizeof(ctx->method), method);
    copy_printable(ctx->path, sizeof(ctx->path), url);
    *con_cls = ctx;

    if (route == SRV_ROUTE_NONE)
        return reply_detail(app, conn, ctx, 404, SRV_RESULT_NOT_FOUND, "Not Found");
    if (!srv_route_accepts(route, method))
        return reply_detail(app, conn, ctx, 405, SRV_RESULT_BAD_METHOD,
                            "Method Not Allowed");
    if (limited && announced_too_large(conn))
        return reply_detail(app, conn, ctx, 413, SRV_RESULT_TOO_LARGE,
                            "Request body too large.");
    return MHD_YES;
}

/* The last call: the body is complete; run the route. */
static enum MHD_Result finish_request(srv_app *app, struct MHD_Connection *conn,
                                      request_ctx *ctx)
{
    srv_reply reply = {0};
    int64_t now_us = clock_us(CLOCK_REALTIME);

    switch (ctx->route) {
    case SRV_ROUTE_RATE_LIMITS:
        srv_handle_rate_limits(app, now_us, &reply);
        break;
    case SRV_ROUTE_HEALTH:
        srv_handle_health(app, now_us, &reply);
        break;
    default:
        srv_handle_access(app, ctx->route, ctx->body, ctx->len, now_us, &reply);
        break;
    }
    return queue_reply(app, conn, ctx, &reply);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn,
                                      const char *url, const char *method,
                                      const char *version, const char *upload_data,
                                      size_t *upload_data_size, void **con_cls)
{
    srv_app *app = cls;
    request_ctx *ctx = *con_cls;

    (void)version;
    if (ctx == NULL)
        return begin_request(app, conn, url, method, con_cls);

    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        /* Data after an early reply (404, 405, 413) is dropped, and so is
         * a body sent to a GET route, which reads none. */
        if (ctx->answered || ctx->capacity == 0)
            return MHD_YES;
        /* libmicrohttpd 0.9.75 takes no reply in the middle of a body, so
         * an oversized chunked body is counted and dropped until it ends,
         * and the connection is closed once SRV_DISCARD_MAX is passed. */
        if (ctx->too_large || n > ctx->capacity - ctx->len) {
            ctx->too_large = 1;
            ctx->discarded += n;
            return ctx->discarded > SRV_DISCARD_MAX ? MHD_NO : MHD_YES;
        }
        memcpy(ctx->body + ctx->len, upload_data, n);
        ctx->len += n;
        return MHD_YES;
    }
    /* The final call: headers and body have arrived whole.  A request
     * replied to at its headers gets no final call, so its deadline stays
     * armed until the request completes. */
    srv_conn_track_disarm(conn_track(conn));
    if (ctx->answered)
        return MHD_YES;
    if (ctx->too_large)
        return reply_detail(app, conn, ctx, 413, SRV_RESULT_TOO_LARGE,
                            "Request body too large.");
    return finish_request(app, conn, ctx);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    srv_app *app = cls;
    request_ctx *ctx = *con_cls;
    char when[RL_ISO8601_MAX], client[INET6_ADDRSTRLEN + 8] = "-";

    (void)toe;
    /* The next request on a keep-alive connection gets a whole timeout. */
    srv_deadlines_arm(app->deadlines, conn_track(conn));
    if (ctx == NULL)
        return;
    *con_cls = NULL;
    if (app->cfg.access_log != NULL && ctx->answered) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (info != NULL && info->client_addr != NULL) {
            struct sockaddr_storage ss;
            memset(&ss, 0, sizeof(ss));
            memcpy(&ss, info->client_addr,
                   info->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                            : sizeof(struct sockaddr_in));
            srv_format_addr(&ss, client, sizeof(client));
        }
        rl_time_format_iso8601(clock_us(CLOCK_REALTIME), when, sizeof(when));
        fprintf(app->cfg.access_log, "%s %s %s %s %u %s %.3fms\n", when, client,
                ctx->method, ctx->path, ctx->status,
                ctx->hotkey[0] != '\0' ? ctx->hotkey : "-",
                (double)(clock_us(CLOCK_MONOTONIC) - ctx->start_mono_us) / 1000.0);
    }
    free(ctx);
}

/* Tracks each connection's request deadline from its accept to its close.
 * libmicrohttpd calls this with NOTIFY_CLOSED before it closes the socket,
 * which is what lets the watchdog shut sockets down safely. */
static void connection_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
    srv_app *app = cls;

    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        srv_deadlines_remove(app->deadlines, *socket_context);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    *socket_context = info != NULL ? srv_deadlines_add(app->deadlines, info->connect_fd) : NULL;
    if (*socket_context == NULL)
        rl_log(app->cfg.logger, RL_LOG_WARN,
               "serve: out of memory tracking a new connection; it has no request "
               "deadline");
}

/* libmicrohttpd's own messages (malformed requests, socket errors). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    srv_app *app = cls;
    char line[512];

    if (app->cfg.logger == NULL || app->cfg.logger->max_level < RL_LOG_DEBUG)
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    rl_log(app->cfg.logger, RL_LOG_DEBUG, "libmicrohttpd: %s", line);
}

srv_server *srv_server_create(const srv_config *cfg, int *status, rl_error *err)
{
    srv_server *s = calloc(1, sizeof(*s));
    int rc = SRV_ERR_INVALID;

    if (s == NULL) {
        rl_error_set(err, "out of memory creating the server");
        rc = SRV_ERR_NOMEM;
        goto fail;
    }
    s->app.cfg = *cfg;
    if (cfg->limits == NULL || cfg->store_factory == NULL || cfg->threads == 0 ||
        cfg->max_connections == 0 || cfg->connection_timeout_s == 0 ||
        cfg->request_timeout_s == 0) {
        rl_error_set(err, "server configuration lacks limits, a store, threads, "
                          "a connection limit or a timeout");
        goto fail;
    }
    if (cfg->max_connections_per_ip == 0 ||
        cfg->max_connections_per_ip > cfg->max_connections) {
        rl_error_set(err, "connections per client address (%u) must be from 1 to the "
                          "connection limit (%u)",
                     cfg->max_connections_per_ip, cfg->max_connections);
        goto fail;
    }
    s->app.role_miner = rl_limits_role_index(cfg->limits, "miner");
    s->app.role_validator = rl_limits_role_index(cfg->limits, "validator");
    if (s->app.role_miner < 0 || s->app.role_validator < 0) {
        rl_error_set(err, "the limits define no 'miner' or no 'validator' role");
        goto fail;
    }
    pthread_mutex_init(&s->app.store_log_lock, NULL);
    s->app_ready = 1;

    rl_limiter_init(&s->app.limiter, cfg->limits, NULL);
    s->app.limiter.window = cfg->window;
    s->app.limiter.policy = cfg->policy;
    if (srv_store_pool_create(cfg->store_factory, cfg->store_user, cfg->store_per_thread,
                              &s->app.stores, err) < 0) {
        rc = SRV_ERR_STORE;
        goto fail;
    }
    if (srv_deadlines_create((int64_t)cfg->request_timeout_s * RL_US_PER_SEC, cfg->logger,
                             &s->app.deadlines) < 0) {
        rl_error_set(err, "out of memory creating the request deadline tracker");
        rc = SRV_ERR_NOMEM;
        goto fail;
    }
    return s;

fail:
    if (status != NULL)
        *status = rc;
    srv_server_destroy(s);
    return NULL;
}

int srv_server_start(srv_server *s, rl_error *err)
{
    const srv_config *cfg = &s->app.cfg;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    char addr[INET6_ADDRSTRLEN + 8];

    if (cfg->listen_addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The pool option is left out for one thread: libmicrohttpd warns
     * about a pool of size 0 or 1 and runs its single internal thread. */
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_SOCK_ADDR, 0, (void *)&cfg->listen_addr},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)cfg->max_connections, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)cfg->max_connections_per_ip, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)cfg->connection_timeout_s, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)request_completed, &s->app},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)connection_notify, &s->app},
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, &s->app},
        {cfg->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         (intptr_t)cfg->threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    if (srv_deadlines_start(s->app.deadlines) < 0) {
        rl_error_set(err, "cannot start the request deadline thread");
        return SRV_ERR_NOMEM;
    }
    errno = 0;
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, access_handler, &s->app,
                                 MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (s->daemon == NULL) {
        int saved_errno = errno;
        srv_deadlines_stop(s->app.deadlines);
        errno = saved_errno;
        srv_format_addr(&cfg->listen_addr, addr, sizeof(addr));
        rl_error_set(err, "cannot listen on %s: %s; choose another address with "
                          "--listen ADDR:PORT",
                     addr, errno != 0 ? strerror(errno) : "libmicrohttpd failed to start");
        return SRV_ERR_LISTEN;
    }
    return SRV_OK;
}

unsigned srv_server_port(const srv_server *s)
{
    if (s == NULL || s->daemon == NULL)
        return 0;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info != NULL ? info->port : 0;
}

void srv_server_stop(srv_server *s)
{
    if (s == NULL || s->daemon == NULL)
        return;
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    srv_deadlines_stop(s->app.deadlines);
}

void srv_server_stats(const srv_server *s, srv_stats *out)
{
    srv_app *app = (srv_app *)&s->app;

    memset(out, 0, sizeof(*out));
    out->requests = atomic_load(&app->requests);
    for (int i = 0; i < SRV_RESULT_COUNT; i++)
        out->by_result[i] = atomic_load(&app->by_result[i]);
    out->store_errors = atomic_load(&app->store_errors);
    out->request_timeouts = srv_deadlines_closed(app->deadlines);
}

void srv_server_destroy(srv_server *s)
{
    if (s == NULL)
        return;
    srv_server_stop(s);
    srv_store_pool_destroy(s->app.stores);
    srv_deadlines_destroy(s->app.deadlines);
    if (s->app_ready)
        pthread_mutex_destroy(&s->app.store_log_lock);
    free(s);
}
