/*
 * rl_store_redis.c: the Redis store: URL parsing, the connection and its
 * reconnection, the two policies as Redis commands, and outage logging.
 *
 * What always holds:
 *   - s->ctx is either NULL (disconnected) or a connection that has passed
 *     AUTH and SELECT.  Any I/O error or timeout frees it, because after a
 *     lost reply the connection's state is unknown.
 *   - A failed command is never sent again: an INCR may have been applied
 *     before its reply was lost.  The one retry is EVALSHA after NOSCRIPT,
 *     which Redis returns without running anything.
 *   - s->in_outage is set from the first lost connection until the next
 *     successful connect; the warn line is written at its start and the
 *     info line at its end, never in between.
 *   - Passwords appear only in s->url.password and in the AUTH command,
 *     never in a message (messages use s->url.masked).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "rl_store_redis.h"

#define URL_FORMS "redis://[user:password@]host[:port][/db] or unix:///path[?db=N]"
#define DEFAULT_PORT 6379
#define DB_MAX 999999999

/* ------------------------------------------------------------------ */
/* URLs                                                                 */
/* ------------------------------------------------------------------ */

/* Returns the last "@/" in text (where a unix URL's user info ends), or
 * NULL. */
static const char *last_at_slash(const char *text)
{
    const char *found = NULL;

    for (const char *p = strstr(text, "@/"); p != NULL; p = strstr(p + 1, "@/"))
        found = p;
    return found;
}

/*
 * Finds the user-info part of a URL: the text between "://" and the last
 * '@' (for unix URLs the last "@/", so a socket path may contain '@').  A
 * unix URL whose path starts right after "unix://" has none.  Returns 1 and
 * sets [*start, *at) when found.
 */
static int find_userinfo(const char *url, size_t *start, size_t *at)
{
    const char *sep = strstr(url, "://");
    const char *last;
    int is_unix = strncmp(url, "unix://", 7) == 0;

    if (sep == NULL)
        return 0;
    *start = (size_t)(sep + 3 - url);
    if (is_unix && url[*start] == '/')
        return 0;
    last = is_unix ? last_at_slash(url + *start) : strrchr(url + *start, '@');
    if (last == NULL)
        return 0;
    *at = (size_t)(last - url);
    return 1;
}

void rl_redis_url_mask(const char *url, char *buf, size_t len)
{
    size_t start, at;

    if (len == 0)
        return;
    if (url == NULL) {
        buf[0] = '\0';
        return;
    }
    if (!find_userinfo(url, &start, &at)) {
        snprintf(buf, len, "%s", url);
        return;
    }

    /* Keep the user name; when there is no ':' the whole user info may be
     * a password, so all of it goes. */
    const char *colon = memchr(url + start, ':', at - start);
    size_t keep = colon != NULL ? (size_t)(colon + 1 - url) : start;
    snprintf(buf, len, "%.*s***%s", (int)keep, url, url + at);
}

static int url_invalid(rl_error *err, const rl_redis_url *u, const char *why)
{
    rl_error_set(err, "invalid Redis URL '%s': %s; expected " URL_FORMS, u->masked,
                 why);
    return RL_ERR_INVALID;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes [text, text + n) into out.  Returns 0, or -1 on a bad
 * escape, a NUL byte or a result that does not fit. */
static int percent_decode(const char *text, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)text[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int h = hex_value(text[i + 1]), l = hex_value(text[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = h * 16 + l;
            i += 2;
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* Parses "user:password" (either part percent-encoded). */
static int parse_userinfo(const char *text, size_t n, rl_redis_url *u, rl_error *err)
{
    const char *colon = memchr(text, ':', n);

    if (colon == NULL)
        return url_invalid(err, u,
                           "the part before '@' has no ':'; write "
                           "user:password@ or :password@");
    size_t user_len = (size_t)(colon - text);
    size_t pass_len = n - user_len - 1;
    if (pass_len == 0)
        return url_invalid(err, u, "the password is empty");
    if (percent_decode(text, user_len, u->user, sizeof(u->user)) < 0)
        return url_invalid(err, u, "the user name has a bad %-escape or is too long");
    if (percent_decode(colon + 1, pass_len, u->password, sizeof(u->password)) < 0)
        return url_invalid(err, u, "the password has a bad %-escape or is too long");
    return RL_OK;
}

/* Parses a decimal number of 1..9 digits in [min, max]; -1 when invalid. */
static long parse_small_number(const char *text, size_t n, long min, long max)
{
    long v = 0;

    if (n == 0 || n > 9)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v < min || v > max ? -1 : v;
}

/* Parses "host[:port]" or "[v6addr][:port]". */
static int parse_hostport(const char *text, size_t n, rl_redis_url *u, rl_error *err)
{
    const char *host = text, *port = NULL;
    size_t host_len = n, port_len = 0;

    if (n > 0 && text[0] == '[') {
        const char *close = memchr(text, ']', n);
        if (close == NULL)
            return url_invalid(err, u, "an IPv6 address misses its ']'");
        host = text + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < text + n) {
            if (close[1] != ':')
                return url_invalid(err, u, "unexpected text after the IPv6 address");
            port = close + 2;
            port_len = (size_t)(text + n - port);
        }
    } else {
        const char *colon = memchr(text, ':', n);
        if (colon != NULL) {
            host_len = (size_t)(colon - text);
            port = colon + 1;
            port_len = n - host_len - 1;
        }
    }

    if (host_len == 0)
        return url_invalid(err, u, "the host is missing");
    if (host_len >= sizeof(u->host))
        return url_invalid(err, u, "the host is too long");
    for (size_t i = 0; i < host_len; i++) {
        if ((unsigned char)host[i] <= ' ' || strchr("/?#@%[]", host[i]) != NULL)
            return url_invalid(err, u, "the host contains an invalid character");
    }
    memcpy(u->host, host, host_len);
    u->host[host_len] = '\0';

    u->port = DEFAULT_PORT;
    if (port != NULL) {
        long p = parse_small_number(port, port_len, 1, 65535);
        if (p < 0)
            return url_invalid(err, u, "the port must be a number from 1 to 65535");
        u->port = (int)p;
    }
    return RL_OK;
}

/* Parses the part after the authority of a redis:// URL: "", "/" or "/N". */
static int parse_db_path(const char *text, rl_redis_url *u, rl_error *err)
{
    if (text[0] == '\0' || strcmp(text, "/") == 0)
        return RL_OK;
    if (text[0] != '/')
        return url_invalid(err, u, "unexpected text after the host and port");
    long db = parse_small_number(text + 1, strlen(text + 1), 0, DB_MAX);
    if (db < 0)
        return url_invalid(err, u,
                           "the database after '/' must be a whole number such as /0");
    u->db = (int)db;
    return RL_OK;
}

static int parse_tcp_url(const char *rest, rl_redis_url *u, rl_error *err)
{
    size_t auth_len = strcspn(rest, "/?#");
    const char *at = NULL;
    int rc;

    /* The authority ends at the first '/', '?' or '#'; a password holding
     * one of those must be percent-encoded. */
    for (size_t i = 0; i < auth_len; i++) {
        if (rest[i] == '@')
            at = rest + i;
    }
    if (at != NULL) {
        rc = parse_userinfo(rest, (size_t)(at - rest), u, err);
        if (rc != RL_OK)
            return rc;
    }
    const char *hostport = at != NULL ? at + 1 : rest;
    rc = parse_hostport(hostport, (size_t)(rest + auth_len - hostport), u, err);
    if (rc != RL_OK)
        return rc;
    return parse_db_path(rest + auth_len, u, err);
}

static int parse_unix_url(const char *rest, rl_redis_url *u, rl_error *err)
{
    int rc;

    u->is_unix = 1;
    if (rest[0] != '/') {
        const char *at = last_at_slash(rest);
        if (at == NULL)
            return url_invalid(err, u,
                               "a unix URL has no host: write "
                               "unix:///path/to/redis.sock");
        rc = parse_userinfo(rest, (size_t)(at - rest), u, err);
        if (rc != RL_OK)
            return rc;
        rest = at + 1;
    }

    size_t path_len = strcspn(rest, "?#");
    if (path_len < 2)
        return url_invalid(err, u, "the socket path is missing");
    if (path_len >= sizeof(u->path))
        return url_invalid(err, u, "the socket path is longer than 107 bytes");
    memcpy(u->path, rest, path_len);
    u->path[path_len] = '\0';

    const char *query = rest + path_len;
    if (query[0] == '\0')
        return RL_OK;
    if (strncmp(query, "?db=", 4) != 0)
        return url_invalid(err, u, "the only query a unix URL takes is ?db=N");
    long db = parse_small_number(query + 4, strlen(query + 4), 0, DB_MAX);
    if (db < 0)
        return url_invalid(err, u, "db= must be a whole number such as ?db=0");
    u->db = (int)db;
    return RL_OK;
}

int rl_redis_url_parse(const char *url, rl_redis_url *out, rl_error *err)
{
    memset(out, 0, sizeof(*out));
    rl_redis_url_mask(url != NULL ? url : "", out->masked, sizeof(out->masked));
    if (url == NULL || url[0] == '\0')
        return url_invalid(err, out, "the URL is empty");
    if (strlen(url) >= RL_REDIS_URL_MAX)
        return url_invalid(err, out, "the URL is longer than 1023 bytes");

    int rc;
    if (strncmp(url, "redis://", 8) == 0)
        rc = parse_tcp_url(url + 8, out, err);
    else if (strncmp(url, "unix://", 7) == 0)
        rc = parse_unix_url(url + 7, out, err);
    else if (strncmp(url, "rediss://", 9) == 0)
        rc = url_invalid(err, out,
                         "TLS (rediss://) is not supported by this "
                         "build's hiredis");
    else
        rc = url_invalid(err, out, "the scheme must be redis:// or unix://");

    /* Never leave a half-parsed password behind on failure. */
    if (rc != RL_OK) {
        char masked[RL_REDIS_URL_MAX];
        memcpy(masked, out->masked, sizeof(masked));
        memset(out, 0, sizeof(*out));
        memcpy(out->masked, masked, sizeof(masked));
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* The store and its connection                                         */
/* ------------------------------------------------------------------ */

/*
 * The atomic policy.  KEYS[1] global, KEYS[2] client; ARGV: global limit,
 * client limit, "1" to count, expiry in Unix milliseconds.  Returns
 * {outcome, client count, global count, counted} with outcome 0 allowed,
 * 1 global rejection, 2 client rejection (rl_outcome's values).  Limits
 * are at most 2^53, so Lua's doubles hold them exactly.
 */
static const char ATOMIC_SCRIPT[] =
    "local g = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "local c = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "if g == nil or c == nil then\n"
    "  return redis.error_reply('ERR ratelab: a counter holds a non-integer')\n"
    "end\n"
    "if g >= tonumber(ARGV[1]) then return {1, c, g, 0} end\n"
    "if c >= tonumber(ARGV[2]) then return {2, c, g, 0} end\n"
    "if ARGV[3] ~= '1' then return {0, c, g, 0} end\n"
    "c = redis.call('INCR', KEYS[2])\n"
    "redis.call('PEXPIREAT', KEYS[2], ARGV[4])\n"
    "g = redis.call('INCR', KEYS[1])\n"
    "redis.call('PEXPIREAT', KEYS[1], ARGV[4])\n"
    "return {0, c, g, 1}\n";

typedef struct redis_store {
    rl_store base;
    rl_redis_url url;
    rl_redis_options opt;
    char *key_prefix;  /* owned copy of opt.key_prefix, or NULL */
    redisContext *ctx; /* NULL while disconnected */
    char sha[48];      /* the loaded script's SHA1, "" before loading */

    /* Reconnection: the next attempt may start at next_attempt_ms. */
    int64_t next_attempt_ms;
    int backoff_ms; /* 0: the next attempt goes at once */

    /* The current outage, if any. */
    int in_outage;
    int64_t outage_start_ms;
    uint64_t outage_failed; /* decisions failed since it started */
    char last_error[256];   /* why the last operation failed */
    int created;            /* 0 while rl_store_redis_create() runs */

    rl_redis_stats stats;
} redis_store;

static const rl_store_ops redis_ops;

static int64_t monotonic_ms(void *user)
{
    struct timespec ts;

    (void)user;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t store_now_ms(const redis_store *s)
{
    return s->opt.clock_ms(s->opt.clock_user);
}

static struct timeval ms_to_timeval(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

static int errno_is_timeout(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT || e == EINPROGRESS;
}

/* Frees the connection after an I/O failure.  Returns RL_ERR_TIMEOUT when
 * the reply timed out, RL_ERR_STORE otherwise. */
static int drop_connection(redis_store *s, const char *what, int saved_errno)
{
    int timed_out =
        s->ctx != NULL && s->ctx->err == REDIS_ERR_IO && errno_is_timeout(saved_errno);

    if (timed_out)
        snprintf(s->last_error, sizeof(s->last_error), "%s: no reply within %d ms",
                 what, s->opt.command_timeout_ms);
    else
        snprintf(s->last_error, sizeof(s->last_error), "%s: %s", what,
                 s->ctx != NULL && s->ctx->errstr[0] ? s->ctx->errstr
                                                     : "connection lost");
    redisFree(s->ctx);
    s->ctx = NULL;
    return timed_out ? RL_ERR_TIMEOUT : RL_ERR_STORE;
}

/*
 * Sends one command and reads its reply.  Returns 0 with *reply set (the
 * caller frees it; it may be an error reply), or RL_ERR_STORE /
 * RL_ERR_TIMEOUT after dropping the connection.
 */
static int exec_argv(redis_store *s, int argc, const char **argv, redisReply **reply)
{
    *reply = NULL;
    if (s->ctx == NULL) {
        snprintf(s->last_error, sizeof(s->last_error), "not connected");
        return RL_ERR_STORE;
    }
    errno = 0;
    void *r = redisCommandArgv(s->ctx, argc, argv, NULL);
    int saved_errno = errno;
    if (r == NULL)
        return drop_connection(s, argv[0], saved_errno);
    s->stats.round_trips++;
    *reply = r;
    return RL_OK;
}

/* Records an error reply (other than NOSCRIPT): logged when the count is a
 * power of two, so a persistent error does not flood the log. */
static int error_reply(redis_store *s, const char *command, const redisReply *r)
{
    uint64_t n = ++s->stats.error_replies;

    /* During creation the caller gets the reason in its rl_error, so a log
     * line would only repeat it. */
    snprintf(s->last_error, sizeof(s->last_error), "%s: %s", command, r->str);
    if (s->created && (n & (n - 1)) == 0)
        rl_log(s->opt.logger, RL_LOG_WARN,
               "redis store %s: %s failed: %s (%" PRIu64 " error replies so far)",
               s->url.masked, command, r->str, n);
    return RL_ERR_STORE;
}

/* Runs a command whose reply must be a status or an integer, and frees it. */
static int exec_simple(redis_store *s, int argc, const char **argv)
{
    redisReply *r;
    int rc = exec_argv(s, argc, argv, &r);

    if (rc != RL_OK)
        return rc;
    if (r->type == REDIS_REPLY_ERROR)
        rc = error_reply(s, argv[0], r);
    freeReplyObject(r);
    return rc;
}

static int load_script(redis_store *s)
{
    const char *argv[] = {"SCRIPT", "LOAD", ATOMIC_SCRIPT};
    redisReply *r;
    int rc = exec_argv(s, 3, argv, &r);

    if (rc != RL_OK)
        return rc;
    s->stats.script_loads++;
    if (r->type == REDIS_REPLY_STRING && r->len < (int)sizeof(s->sha)) {
        memcpy(s->sha, r->str, (size_t)r->len);
        s->sha[r->len] = '\0';
    } else if (r->type == REDIS_REPLY_ERROR) {
        rc = error_reply(s, "SCRIPT LOAD", r);
    } else {
        snprintf(s->last_error, sizeof(s->last_error),
                 "SCRIPT LOAD: unexpected reply type %d", r->type);
        rc = RL_ERR_STORE;
    }
    freeReplyObject(r);
    return rc;
}

/* Opens the TCP or unix connection and sets the command timeout. */
static int open_connection(redis_store *s)
{
    struct timeval connect_tv = ms_to_timeval(s->opt.connect_timeout_ms);
    redisContext *c;

    errno = 0;
    if (s->url.is_unix)
        c = redisConnectUnixWithTimeout(s->url.path, connect_tv);
    else
        c = redisConnectWithTimeout(s->url.host, s->url.port, connect_tv);
    int saved_errno = errno;
    if (c == NULL) {
        snprintf(s->last_error, sizeof(s->last_error), "out of memory");
        return RL_ERR_NOMEM;
    }
    s->ctx = c;
    if (c->err) {
        int rc = drop_connection(s, "connect", saved_errno);
        if (rc == RL_ERR_TIMEOUT)
            snprintf(s->last_error, sizeof(s->last_error),
                     "connect: no answer within %d ms", s->opt.connect_timeout_ms);
        return rc;
    }

    if (redisSetTimeout(c, ms_to_timeval(s->opt.command_timeout_ms)) != REDIS_OK)
        return drop_connection(s, "setting the command timeout", errno);
    if (!s->url.is_unix)
        redisEnableKeepAlive(c);
    return RL_OK;
}

/* Connects, authenticates, selects the database and loads the script.
 * On failure the connection is closed and s->last_error contains the reason. */
static int connect_store(redis_store *s)
{
    int rc = open_connection(s);

    if (rc == RL_OK && s->url.password[0] != '\0') {
        const char *with_user[] = {"AUTH", s->url.user, s->url.password};
        const char *alone[] = {"AUTH", s->url.password};
        if (s->url.user[0] != '\0')
            rc = exec_simple(s, 3, with_user);
        else
            rc = exec_simple(s, 2, alone);
    }
    if (rc == RL_OK && s->url.db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", s->url.db);
        const char *argv[] = {"SELECT", db};
        rc = exec_simple(s, 2, argv);
    }
    if (rc == RL_OK)
        rc = load_script(s);

    if (rc != RL_OK && s->ctx != NULL) {
        redisFree(s->ctx);
        s->ctx = NULL;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Outages and reconnection                                             */
/* ------------------------------------------------------------------ */

static void begin_outage(redis_store *s)
{
    if (s->in_outage)
        return;
    s->in_outage = 1;
    s->outage_start_ms = store_now_ms(s);
    s->outage_failed = 0;
    s->stats.outages++;

    /* The first reconnection is tried at the next operation. */
    s->backoff_ms = 0;
    s->next_attempt_ms = s->outage_start_ms;
    rl_log(s->opt.logger, RL_LOG_WARN,
           "redis store %s: outage started (%s); decisions fail with a store "
           "error until it reconnects, retried %d ms to %d ms apart",
           s->url.masked, s->last_error, s->opt.reconnect_min_ms,
           s->opt.reconnect_max_ms);
}

static void end_outage(redis_store *s)
{
    int64_t duration_ms = store_now_ms(s) - s->outage_start_ms;

    s->in_outage = 0;
    s->stats.reconnects++;
    rl_log(s->opt.logger, RL_LOG_INFO,
           "redis store %s: outage ended after %" PRId64 " ms; %" PRIu64
           " decisions failed during it",
           s->url.masked, duration_ms, s->outage_failed);
}

/*
 * Makes sure there is a connection before an operation.  While the backoff
 * has not elapsed it fails at once; only the reconnection attempt itself
 * can block, for at most connect_timeout_ms plus the setup commands'
 * command_timeout_ms each.
 */
static int ensure_connected(redis_store *s)
{
    if (s->ctx != NULL)
        return RL_OK;

    int64_t now_ms = store_now_ms(s);
    if (now_ms < s->next_attempt_ms) {
        snprintf(s->last_error, sizeof(s->last_error),
                 "reconnecting: next attempt in %" PRId64 " ms",
                 s->next_attempt_ms - now_ms);
        return RL_ERR_STORE;
    }

    int rc = connect_store(s);
    if (rc != RL_OK) {
        int max = s->opt.reconnect_max_ms;
        s->backoff_ms = s->backoff_ms == 0        ? s->opt.reconnect_min_ms
                        : s->backoff_ms > max / 2 ? max
                                                  : s->backoff_ms * 2;
        s->next_attempt_ms = store_now_ms(s) + s->backoff_ms;
        rl_log(s->opt.logger, RL_LOG_DEBUG,
               "redis store %s: reconnect failed (%s); next attempt in %d ms",
               s->url.masked, s->last_error, s->backoff_ms);
        return rc;
    }
    s->backoff_ms = 0;
    if (s->in_outage)
        end_outage(s);
    return RL_OK;
}

/* Ends an operation: a lost connection starts an outage (logged once), and
 * failed decisions are counted for the outage's closing line. */
static int finish_operation(redis_store *s, int rc, int is_decision)
{
    if (rc == RL_OK)
        return rc;
    if (s->ctx == NULL && (rc == RL_ERR_STORE || rc == RL_ERR_TIMEOUT))
        begin_outage(s);
    if (is_decision) {
        s->stats.failed_decisions++;
        if (s->in_outage)
            s->outage_failed++;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Replies                                                              */
/* ------------------------------------------------------------------ */

/* Reads a counter from a GET reply: nil is 0, a decimal string its value. */
static int counter_from_reply(redis_store *s, const char *key, const redisReply *r,
                              int64_t *value)
{
    char *end;

    if (r->type == REDIS_REPLY_NIL) {
        *value = 0;
        return RL_OK;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
        *value = r->integer;
        return RL_OK;
    }
    if (r->type == REDIS_REPLY_STRING && r->len > 0) {
        errno = 0;
        long long v = strtoll(r->str, &end, 10);
        if (errno == 0 && *end == '\0') {
            *value = v;
            return RL_OK;
        }
    }
    if (r->type == REDIS_REPLY_ERROR)
        return error_reply(s, "GET", r);
    snprintf(s->last_error, sizeof(s->last_error),
             "key '%.120s' does not hold an integer counter", key);
    return RL_ERR_STORE;
}

/* Runs GET, INCR or TTL on one key and returns its integer result. */
static int key_command(redis_store *s, const char *command, const char *key,
                       int64_t *value)
{
    const char *argv[] = {command, key};
    redisReply *r;
    int rc = exec_argv(s, 2, argv, &r);

    if (rc != RL_OK)
        return rc;
    rc = counter_from_reply(s, key, r, value);
    freeReplyObject(r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Policies                                                             */
/* ------------------------------------------------------------------ */

static int decide_from_script_reply(redis_store *s, const redisReply *r,
                                    rl_decision *out)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4) {
        snprintf(s->last_error, sizeof(s->last_error),
                 "EVALSHA: unexpected reply type %d", r->type);
        return RL_ERR_STORE;
    }
    for (size_t i = 0; i < 4; i++) {
        if (r->element[i]->type != REDIS_REPLY_INTEGER) {
            snprintf(s->last_error, sizeof(s->last_error),
                     "EVALSHA: element %zu is not an integer", i);
            return RL_ERR_STORE;
        }
    }
    long long outcome = r->element[0]->integer;
    if (outcome < RL_ALLOWED || outcome > RL_REJECTED_CLIENT) {
        snprintf(s->last_error, sizeof(s->last_error), "EVALSHA: unknown outcome %lld",
                 outcome);
        return RL_ERR_STORE;
    }
    out->outcome = (rl_outcome)outcome;
    out->client_count = r->element[1]->integer;
    out->global_count = r->element[2]->integer;
    out->counted = r->element[3]->integer == 1;
    return RL_OK;
}

/* One EVALSHA; on NOSCRIPT (a SCRIPT FLUSH, a restart, a failover) the
 * script is loaded again and the call repeated once. */
static int decide_atomic(redis_store *s, const rl_check *check, rl_decision *out)
{
    char global_limit[24], client_limit[24], expire_ms[24];
    redisReply *r = NULL;
    int rc = RL_OK;

    /* Round the expiry up, so a key never goes before expire_at_us. */
    snprintf(global_limit, sizeof(global_limit), "%" PRId64, check->global_limit);
    snprintf(client_limit, sizeof(client_limit), "%" PRId64, check->client_limit);
    snprintf(expire_ms, sizeof(expire_ms), "%" PRId64,
             (check->expire_at_us + 999) / 1000);

    for (int attempt = 0; attempt < 2; attempt++) {
        const char *argv[] = {
            "EVALSHA",         s->sha,       "2",          check->global_key,
            check->client_key, global_limit, client_limit, check->count ? "1" : "0",
            expire_ms};
        rc = exec_argv(s, 9, argv, &r);
        if (rc != RL_OK)
            return rc;
        if (r->type != REDIS_REPLY_ERROR || strncmp(r->str, "NOSCRIPT", 8) != 0)
            break;
        s->stats.noscript_replies++;
        rl_log(s->opt.logger, RL_LOG_INFO,
               "redis store %s: the server lost the policy script; loading it again",
               s->url.masked);
        freeReplyObject(r);
        r = NULL;
        rc = load_script(s);
        if (rc != RL_OK)
            return rc;
    }
    if (r == NULL) {
        snprintf(s->last_error, sizeof(s->last_error),
                 "EVALSHA: NOSCRIPT again right after SCRIPT LOAD");
        return RL_ERR_STORE;
    }

    if (r->type == REDIS_REPLY_ERROR)
        rc = error_reply(s, "EVALSHA", r);
    else
        rc = decide_from_script_reply(s, r, out);
    freeReplyObject(r);
    return rc;
}

/*
 * The deployed service's sequence, one round trip per step, so that other
 * clients can interleave between the reads and the increments exactly as
 * they do in production.
 *
 * NOTE: this deliberately never sets an expiry.  The deployed code reads
 * the key's TTL after each INCR and treats -1 ("no expiry") as "already has
 * one"; the TTL is sent and its reply ignored the same way, so the
 * deployed round trips and key growth can be measured.
 */
static int decide_deployed(redis_store *s, const rl_check *check, rl_decision *out)
{
    int64_t ttl;
    int rc = key_command(s, "GET", check->global_key, &out->global_count);

    if (rc != RL_OK)
        return rc;

    /* The deployed code checks the global counter before it reads the
     * client's.  Reading both first writes nothing and decides the same;
     * it costs one GET more on a global rejection and fills the decision's
     * client counter there. */
    rc = key_command(s, "GET", check->client_key, &out->client_count);
    if (rc != RL_OK)
        return rc;
    if (out->global_count >= check->global_limit) {
        out->outcome = RL_REJECTED_GLOBAL;
        return RL_OK;
    }
    if (out->client_count >= check->client_limit) {
        out->outcome = RL_REJECTED_CLIENT;
        return RL_OK;
    }
    out->outcome = RL_ALLOWED;
    if (!check->count)
        return RL_OK;

    rc = key_command(s, "INCR", check->client_key, &out->client_count);
    if (rc == RL_OK)
        rc = key_command(s, "TTL", check->client_key, &ttl);
    if (rc == RL_OK)
        rc = key_command(s, "INCR", check->global_key, &out->global_count);
    if (rc == RL_OK)
        rc = key_command(s, "TTL", check->global_key, &ttl);
    out->counted = rc == RL_OK;
    return rc;
}

/* ------------------------------------------------------------------ */
/* rl_store_ops                                                         */
/* ------------------------------------------------------------------ */

static int check_is_valid(redis_store *s, const rl_check *check)
{
    const char *why = NULL;

    if (check->client_key == NULL || check->client_key[0] == '\0' ||
        check->global_key == NULL || check->global_key[0] == '\0')
        why = "a key is missing";
    else if (check->client_limit < 0 || check->global_limit < 0)
        why = "a limit is negative";
    else if (check->policy == RL_POLICY_ATOMIC && check->count &&
             check->expire_at_us <= check->now_us)
        why = "expire_at_us is not after now_us, so the keys would die at once";
    else if (check->policy != RL_POLICY_ATOMIC && check->policy != RL_POLICY_DEPLOYED)
        why = "unknown policy";
    if (why == NULL)
        return RL_OK;
    snprintf(s->last_error, sizeof(s->last_error), "invalid check: %s", why);
    return RL_ERR_INVALID;
}

static int redis_check_and_count(rl_store *base, const rl_check *check,
                                 rl_decision *out)
{
    redis_store *s = (redis_store *)base;
    int rc = check_is_valid(s, check);

    out->outcome = RL_ALLOWED;
    out->counted = 0;
    out->client_count = 0;
    out->global_count = 0;
    if (rc != RL_OK)
        return rc;

    rc = ensure_connected(s);
    if (rc == RL_OK && check->policy == RL_POLICY_ATOMIC)
        rc = decide_atomic(s, check, out);
    else if (rc == RL_OK)
        rc = decide_deployed(s, check, out);
    return finish_operation(s, rc, 1);
}

static int redis_read(rl_store *base, const char *key, int64_t now_us, int64_t *value)
{
    redis_store *s = (redis_store *)base;
    int rc = ensure_connected(s);

    /* Redis expires keys on its own clock; now_us is not needed. */
    (void)now_us;
    *value = 0;
    if (rc == RL_OK)
        rc = key_command(s, "GET", key, value);
    return finish_operation(s, rc, 0);
}

/* Returns a glob pattern that matches exactly the names starting with
 * prefix: the special characters escaped, then '*'.  Caller frees. */
static char *prefix_pattern(const char *prefix)
{
    size_t n = strlen(prefix);
    char *pattern = malloc(2 * n + 2);
    size_t o = 0;

    if (pattern == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (strchr("*?[]\\", prefix[i]) != NULL)
            pattern[o++] = '\\';
        pattern[o++] = prefix[i];
    }
    pattern[o++] = '*';
    pattern[o] = '\0';
    return pattern;
}

/* Handles one SCAN batch: counts keys without an expiry, then unlinks the
 * batch.  *deleted gets the number UNLINK removed. */
static int scan_batch(redis_store *s, const redisReply *keys, int check_ttl,
                      int delete_keys, int64_t *without_ttl, int64_t *deleted)
{
    int rc = RL_OK;

    for (size_t i = 0; check_ttl && rc == RL_OK && i < keys->elements; i++) {
        int64_t ttl;
        rc = key_command(s, "TTL", keys->element[i]->str, &ttl);
        if (rc == RL_OK && ttl == -1)
            (*without_ttl)++;
    }
    if (rc != RL_OK || !delete_keys || keys->elements == 0)
        return rc;

    const char **argv = malloc((keys->elements + 1) * sizeof(*argv));
    if (argv == NULL)
        return RL_ERR_NOMEM;
    argv[0] = "UNLINK";
    for (size_t i = 0; i < keys->elements; i++)
        argv[i + 1] = keys->element[i]->str;
    redisReply *r;
    rc = exec_argv(s, (int)keys->elements + 1, argv, &r);
    free(argv);
    if (rc != RL_OK)
        return rc;
    if (r->type == REDIS_REPLY_INTEGER)
        *deleted += r->integer;
    else if (r->type == REDIS_REPLY_ERROR)
        rc = error_reply(s, "UNLINK", r);
    freeReplyObject(r);
    return rc;
}

/* Checks that a SCAN reply is {cursor, [names...]}. */
static int scan_reply_ok(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i < r->element[1]->elements; i++) {
        if (r->element[1]->element[i]->type != REDIS_REPLY_STRING)
            return 0;
    }
    return 1;
}

/* SCAN MATCH over the whole database.  SCAN may return a key twice, so
 * *found is exact only when deleting (UNLINK counts each key once). */
static int scan_keys(redis_store *s, const char *prefix, int check_ttl, int delete_keys,
                     int64_t *found, int64_t *without_ttl)
{
    char cursor[32] = "0";
    char *pattern = prefix_pattern(prefix);
    int64_t seen = 0, deleted = 0;
    int rc = pattern == NULL ? RL_ERR_NOMEM : RL_OK;

    *without_ttl = 0;
    while (rc == RL_OK) {
        const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
        redisReply *r;
        rc = exec_argv(s, 6, argv, &r);
        if (rc != RL_OK)
            break;
        if (!scan_reply_ok(r)) {
            if (r->type == REDIS_REPLY_ERROR)
                rc = error_reply(s, "SCAN", r);
            else
                rc = RL_ERR_STORE;
            if (r->type != REDIS_REPLY_ERROR)
                snprintf(s->last_error, sizeof(s->last_error),
                         "SCAN: unexpected reply");
            freeReplyObject(r);
            break;
        }
        seen += (int64_t)r->element[1]->elements;
        rc =
            scan_batch(s, r->element[1], check_ttl, delete_keys, without_ttl, &deleted);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        freeReplyObject(r);
        if (strcmp(cursor, "0") == 0)
            break;
    }
    free(pattern);
    *found = delete_keys ? deleted : seen;
    return rc;
}

static int redis_key_count(rl_store *base, int64_t now_us, int64_t *count)
{
    redis_store *s = (redis_store *)base;
    int64_t without_ttl;
    int rc = ensure_connected(s);

    (void)now_us;
    *count = 0;
    if (rc == RL_OK && s->key_prefix != NULL) {
        rc = scan_keys(s, s->key_prefix, 0, 0, count, &without_ttl);
    } else if (rc == RL_OK) {
        const char *argv[] = {"DBSIZE"};
        redisReply *r;
        rc = exec_argv(s, 1, argv, &r);
        if (rc == RL_OK && r->type == REDIS_REPLY_INTEGER)
            *count = r->integer;
        else if (rc == RL_OK)
            rc = r->type == REDIS_REPLY_ERROR ? error_reply(s, "DBSIZE", r)
                                              : RL_ERR_STORE;
        if (r != NULL)
            freeReplyObject(r);
    }
    return finish_operation(s, rc, 0);
}

static void redis_destroy(rl_store *base)
{
    redis_store *s = (redis_store *)base;

    if (s == NULL)
        return;

    /* An outage still going gets its closing line too, so every warn line
     * has a matching count of failed decisions. */
    if (s->in_outage)
        rl_log(s->opt.logger, RL_LOG_INFO,
               "redis store %s: closed during an outage of %" PRId64 " ms; %" PRIu64
               " decisions failed during it",
               s->url.masked, store_now_ms(s) - s->outage_start_ms, s->outage_failed);
    redisFree(s->ctx);
    free(s->key_prefix);
    /* The password should not outlive the store in freed memory. */
    memset(&s->url, 0, sizeof(s->url));
    free(s);
}

static const rl_store_ops redis_ops = {
    .name = "redis",
    .check_and_count = redis_check_and_count,
    .read = redis_read,
    .key_count = redis_key_count,
    .destroy = redis_destroy,
};

/* ------------------------------------------------------------------ */
/* Creation and the Redis-only calls                                    */
/* ------------------------------------------------------------------ */

void rl_redis_options_init(rl_redis_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->connect_timeout_ms = 1000;
    opt->command_timeout_ms = 1000;
    opt->reconnect_min_ms = 50;
    opt->reconnect_max_ms = 2000;
}

static int options_are_valid(const rl_redis_options *opt, const char *masked,
                             rl_error *err)
{
    const char *why = NULL;

    if (opt->connect_timeout_ms <= 0 || opt->command_timeout_ms <= 0)
        why = "the connect and command timeouts must be positive (ms)";
    else if (opt->reconnect_min_ms <= 0 ||
             opt->reconnect_max_ms < opt->reconnect_min_ms)
        why = "reconnect_min_ms must be positive and at most reconnect_max_ms";
    if (why == NULL)
        return RL_OK;
    rl_error_set(err, "invalid options for Redis store '%s': %s", masked, why);
    return RL_ERR_INVALID;
}

static redis_store *store_alloc(const rl_redis_url *url, const rl_redis_options *opt)
{
    redis_store *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->base.ops = &redis_ops;
    s->url = *url;
    s->opt = *opt;
    if (s->opt.clock_ms == NULL)
        s->opt.clock_ms = monotonic_ms;
    if (opt->key_prefix != NULL) {
        s->key_prefix = strdup(opt->key_prefix);
        if (s->key_prefix == NULL) {
            free(s);
            return NULL;
        }
    }
    s->opt.key_prefix = s->key_prefix;
    return s;
}

int rl_store_redis_create(const char *url, const rl_redis_options *opt, rl_store **out,
                          rl_error *err)
{
    rl_redis_options defaults;
    rl_redis_url parsed;
    int rc;

    *out = NULL;
    if (opt == NULL) {
        rl_redis_options_init(&defaults);
        opt = &defaults;
    }
    rc = rl_redis_url_parse(url, &parsed, err);
    if (rc == RL_OK)
        rc = options_are_valid(opt, parsed.masked, err);
    if (rc != RL_OK)
        return rc;

    redis_store *s = store_alloc(&parsed, opt);
    if (s == NULL) {
        rl_error_set(err, "cannot create Redis store '%s': out of memory",
                     parsed.masked);
        memset(&parsed, 0, sizeof(parsed));
        return RL_ERR_NOMEM;
    }
    memset(&parsed, 0, sizeof(parsed));

    rc = connect_store(s);
    if (rc != RL_OK) {
        rl_error_set(err,
                     "cannot use Redis store '%s': %s; check that the server "
                     "runs there and that the URL's password and database "
                     "are right",
                     s->url.masked, s->last_error);
        redis_destroy(&s->base);
        return rc;
    }
    rl_log(s->opt.logger, RL_LOG_DEBUG, "redis store %s: connected", s->url.masked);
    s->created = 1;
    *out = &s->base;
    return RL_OK;
}

int rl_store_redis_stats(const rl_store *s, rl_redis_stats *out)
{
    if (s == NULL || s->ops != &redis_ops)
        return RL_ERR_INVALID;
    *out = ((const redis_store *)s)->stats;
    return RL_OK;
}

int rl_store_redis_scan_prefix(rl_store *base, const char *prefix, int delete_keys,
                               int64_t *keys, int64_t *keys_without_ttl)
{
    int64_t found = 0, without_ttl = 0;

    if (base == NULL || base->ops != &redis_ops || prefix == NULL)
        return RL_ERR_INVALID;
    redis_store *s = (redis_store *)base;
    int rc = ensure_connected(s);
    if (rc == RL_OK)
        rc = scan_keys(s, prefix, keys_without_ttl != NULL, delete_keys, &found,
                       &without_ttl);
    if (keys != NULL)
        *keys = found;
    if (keys_without_ttl != NULL)
        *keys_without_ttl = without_ttl;
    return finish_operation(s, rc, 0);
}

const char *rl_store_redis_url(const rl_store *s)
{
    if (s == NULL || s->ops != &redis_ops)
        return NULL;
    return ((const redis_store *)s)->url.masked;
}

const char *rl_store_redis_last_error(const rl_store *s)
{
    if (s == NULL || s->ops != &redis_ops)
        return NULL;
    return ((const redis_store *)s)->last_error;
}
