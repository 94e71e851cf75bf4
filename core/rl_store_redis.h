/*
 * rl_store_redis.h: the Redis backend of rl_store, where the deployed
 * service keeps its counters.
 *
 * The store counts under the key names the limiter builds
 * ("<prefix><hotkey>:<YYYY-MM-DD>" and "<prefix>GLOBAL:<YYYY-MM-DD>"), so
 * ratelab and the deployed service can share one Redis database.  It uses
 * the keys of rl_check as they are.
 *
 * Policies (rl_check.policy):
 *   RL_POLICY_ATOMIC    one EVALSHA per decision: a Lua script reads both
 *                       counters, decides in the deployed order and, when
 *                       counting, INCRs both keys and sets each key's expiry
 *                       with PEXPIREAT at check->expire_at_us (in ms).  No
 *                       other client can interleave, so a limit is exact and
 *                       keys disappear after their window plus grace.
 *   RL_POLICY_DEPLOYED  the deployed service's sequence as separate round
 *                       trips: GET global, GET client, INCR client, TTL
 *                       client, INCR global, TTL global.  It never sets an
 *                       expiry, on purpose, so that its overshoot under
 *                       concurrency and its key growth can be measured.
 *
 * Connection: the URL is "redis://[user:password@]host[:port][/db]" (port
 * 6379 and db 0 when left out; AUTH user password, or AUTH password when
 * the user is empty, then SELECT db) or "unix:///path/to/socket[?db=N]".
 * User and password may be percent-encoded.  Every message and log line
 * shows the URL with the password replaced by "***".
 *
 * Outages: when the server goes away, the operation in flight fails with
 * RL_ERR_STORE (RL_ERR_TIMEOUT when it sent no reply within
 * command_timeout_ms) and the connection is dropped; a failed command is
 * never retried, because an INCR may have been applied before the reply
 * was lost.  The next operation reconnects at once; when that fails, later
 * attempts wait reconnect_min_ms, doubling up to reconnect_max_ms, and
 * operations in between fail at once with RL_ERR_STORE instead of blocking.
 * An outage is logged once when it starts (warn) and once when it ends
 * (info, with its duration and the number of failed decisions).  Whether a
 * failed decision admits the request (fail-open) or rejects it
 * (fail-closed) is the caller's choice.
 *
 * Time: decisions use only the times in rl_check.  The store reads
 * CLOCK_MONOTONIC (or options.clock_ms) for reconnection backoff and outage
 * durations only, because network timeouts run in real time.  Expiry is
 * judged by the Redis server's clock, so expire_at_us must be a real time.
 *
 * Thread safety: none.  A store owns one connection and must be used by
 * one thread at a time; give each thread its own store.
 *
 * Signals: hiredis 0.14 sends with write(), so a server that closes the
 * connection raises SIGPIPE.  The process must ignore SIGPIPE (the core
 * installs no signal handler) or it is killed on the first lost server.
 */
#ifndef RL_STORE_REDIS_H
#define RL_STORE_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "rl_log.h"
#include "rl_status.h"
#include "rl_store.h"

#define RL_REDIS_URL_MAX 1024

/* A parsed connection URL.  Strings are NUL-terminated copies. */
typedef struct rl_redis_url {
    int is_unix;                   /* 1: unix socket at `path` */
    char host[256];                /* TCP host name or address, no brackets */
    int port;                      /* TCP port, 1..65535 */
    char path[108];                /* unix socket path (sun_path size) */
    int db;                        /* SELECT index, 0 when not given */
    char user[128];                /* "" when not given */
    char password[256];            /* "" when not given: no AUTH */
    char masked[RL_REDIS_URL_MAX]; /* the URL with the password as "***" */
} rl_redis_url;

/* Parses a URL (see the header comment).  Returns 0 or RL_ERR_INVALID with
 * a message that names the URL (password masked) and the problem. */
int rl_redis_url_parse(const char *url, rl_redis_url *out, rl_error *err);

/* Copies a URL into buf with any password replaced by "***".  Works on
 * text that does not parse, so error messages can name it safely. */
void rl_redis_url_mask(const char *url, char *buf, size_t len);

/* Monotonic milliseconds; see rl_redis_options.clock_ms. */
typedef int64_t (*rl_redis_clock_fn)(void *user);

typedef struct rl_redis_options {
    int connect_timeout_ms;  /* TCP connect and each reconnect; > 0 */
    int command_timeout_ms;  /* each command's reply; > 0 */
    int reconnect_min_ms;    /* first wait after a failed reconnect; > 0 */
    int reconnect_max_ms;    /* the wait doubles up to this; >= min */
    const rl_logger *logger; /* borrowed, must outlive the store; NULL: silent */
    /* Pattern for key_count: when set, key_count counts the keys whose
     * names start with it (SCAN MATCH); when NULL, it returns DBSIZE,
     * which includes every key of the database.  Copied. */
    const char *key_prefix;
    rl_redis_clock_fn clock_ms; /* NULL: CLOCK_MONOTONIC */
    void *clock_user;
} rl_redis_options;

/* Fills the defaults: connect 1000 ms, command 1000 ms, reconnect 50 ms
 * doubling to 2000 ms, no logger, no key prefix, CLOCK_MONOTONIC. */
void rl_redis_options_init(rl_redis_options *opt);

/*
 * Connects, authenticates, selects the database and loads the atomic
 * policy's script.  On success *out is a store that the caller frees with
 * rl_store_destroy().  Returns RL_ERR_INVALID for a bad URL or option,
 * RL_ERR_STORE when the server cannot be reached or rejects AUTH or
 * SELECT, RL_ERR_TIMEOUT when it sent no reply in time, RL_ERR_NOMEM; the
 * message names the URL.  `opt` may be NULL for the defaults.
 */
int rl_store_redis_create(const char *url, const rl_redis_options *opt, rl_store **out,
                          rl_error *err);

/* Counters kept by a store since it was created. */
typedef struct rl_redis_stats {
    uint64_t round_trips;      /* commands sent and replied to */
    uint64_t script_loads;     /* SCRIPT LOAD calls, including the first */
    uint64_t noscript_replies; /* EVALSHA answered NOSCRIPT (then reloaded) */
    uint64_t reconnects;       /* successful reconnections after a loss */
    uint64_t outages;          /* outages started */
    uint64_t failed_decisions; /* check_and_count calls that returned < 0 */
    uint64_t error_replies;    /* error replies other than NOSCRIPT */
} rl_redis_stats;

/* Copies the counters.  Returns RL_ERR_INVALID when s is not a Redis store. */
int rl_store_redis_stats(const rl_store *s, rl_redis_stats *out);

/*
 * Walks the keys that start with `prefix` (SCAN MATCH, the prefix's glob
 * characters escaped): counts them, counts those without an expiry (TTL
 * -1), and deletes them when `delete_keys` is set.  Any count pointer may
 * be NULL.  Costs one TTL per key; meant for benchmarks and tests.
 */
int rl_store_redis_scan_prefix(rl_store *s, const char *prefix, int delete_keys,
                               int64_t *keys, int64_t *keys_without_ttl);

/* Returns the masked URL the store was created with (owned by the store). */
const char *rl_store_redis_url(const rl_store *s);

/* Returns why the store's last failed operation failed, e.g. "GET:
 * Connection refused" (owned by the store, "" before any failure). */
const char *rl_store_redis_last_error(const rl_store *s);

#endif
