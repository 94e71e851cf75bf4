/*
 * srv_server.h: the reference HTTP endpoint (`ratelab serve`) over the
 * limiter core.
 *
 * The server serves the deployed credentials API's routes with the same
 * bodies, status codes and limiting order, so a client can be debugged
 * against it on loopback:
 *
 *   POST /get-folder-access           miner: coldkey, hotkey, timestamp,
 *                                     signature, expiry?
 *   POST /get-validator-access        validator: hotkey, signature,
 *                                     timestamp, expiry?
 *   POST /get-miner-specific-access   validator, plus miner_hotkey
 *   GET  /rate-limits                 limits in force and today's global usage
 *   GET  /healthcheck                 200 when the store answers, else 503
 *
 * Both validator routes count against one counter per hotkey, and miners
 * and validators share the key space ("<hotkey>:<day>").  Success bodies
 * are fakes: they carry a folder or prefix and an expiry, never a
 * credential.
 *
 * Where it sits: server/ depends on core/ only; the `serve` subcommand in
 * cli/ parses options, loads limits and creates the server.  The server
 * reads CLOCK_REALTIME once per request and passes that time to the core.
 *
 * Threads: libmicrohttpd runs `threads` worker threads.  Every worker gets
 * its store from the store pool: one shared store when the backend is
 * thread-safe (memory), one store per worker otherwise (Redis).
 *
 * Ownership: srv_server_create() copies the configuration except the
 * pointers marked "borrowed", which must outlive the server.
 */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "rl_limits.h"
#include "rl_log.h"
#include "rl_status.h"
#include "rl_store.h"
#include "rl_window.h"

typedef enum srv_status {
    SRV_OK = 0,
    SRV_ERR_NOMEM = -1,   /* an allocation failed */
    SRV_ERR_INVALID = -2, /* bad configuration; rl_error names the field */
    SRV_ERR_LISTEN = -3,  /* the HTTP daemon could not start listening */
    SRV_ERR_STORE = -4    /* the store could not be created */
} srv_status;

/* Returns a static description of a status code; never NULL. */
const char *srv_strerror(int status);

/* Request bodies larger than this get 413 without being read in full. */
#define SRV_BODY_MAX 16384
/* Maximum length of a hotkey, coldkey or miner_hotkey, in bytes. */
#define SRV_KEY_MAX 128
/* Maximum length of a signature, in bytes. */
#define SRV_SIGNATURE_MAX 1024

/*
 * Creates a store for the calling thread.  Returns 0 and sets *out, or a
 * negative rl_status with err filled.  Called once for a shared store, or
 * once per worker thread on that thread's first request.
 */
typedef int (*srv_store_factory)(void *user, rl_store **out, rl_error *err);

/* The validator list: hotkeys sorted for lookup.  NULL in srv_config means
 * "every hotkey is a validator except those starting with 'N'". */
typedef struct srv_validators srv_validators;

/*
 * Parses a validator list: one hotkey per line, blank lines and lines
 * starting with '#' ignored, surrounding spaces trimmed.  `filename` names
 * the text in messages.  Returns NULL with err filled on a bad line (the
 * message names file, line and hotkey) or when out of memory.  The caller
 * frees the list with srv_validators_destroy().
 */
srv_validators *srv_validators_parse(const char *text, size_t len,
                                     const char *filename, rl_error *err);
void srv_validators_destroy(srv_validators *v);
size_t srv_validators_count(const srv_validators *v);

/* Returns 1 when the hotkey counts as a validator under `v` (see above). */
int srv_is_validator(const srv_validators *v, const char *hotkey);

typedef struct srv_config {
    struct sockaddr_storage listen_addr; /* IPv4 or IPv6, port set */
    const rl_limits *limits;             /* borrowed */
    rl_window window;
    rl_policy policy;
    int fail_open;          /* on a store error: 1 admits, 0 replies 503 */
    unsigned threads;       /* worker threads, >= 1 */
    unsigned max_connections;
    /* Connections one client address may hold, 1..max_connections; more
     * are accepted and closed at once.  Every loopback client shares
     * 127.0.0.1, so one local load generator counts as one address. */
    unsigned max_connections_per_ip;
    unsigned connection_timeout_s; /* idle time before a connection closes */
    /* Time for a whole request (headers and body) to arrive, counted from
     * the connection's opening or its previous request's completion.  A
     * connection that runs out of it is closed without a reply. */
    unsigned request_timeout_s;
    const srv_validators *validators; /* borrowed; NULL: the 'N' rule */
    srv_store_factory store_factory;
    void *store_user;       /* passed to store_factory; borrowed */
    int store_per_thread;   /* 1: one store per worker (not thread-safe) */
    const char *store_name; /* for /healthcheck and logs, password masked */
    FILE *access_log;       /* borrowed; NULL: no access log */
    const rl_logger *logger; /* borrowed; NULL: silent */
} srv_config;

/* Fills the defaults: 127.0.0.1:8000, utc-day, deployed, fail-closed, one
 * thread, 1024 connections, 512 per client address, 30 s idle timeout,
 * 10 s request timeout.  Limits, store and logger stay NULL. */
void srv_config_init(srv_config *cfg);

/* What a request ended as; each has one counter in srv_stats. */
typedef enum srv_result {
    SRV_RESULT_ALLOWED = 0,     /* 200 from a limited route */
    SRV_RESULT_GLOBAL,          /* 429 global limit */
    SRV_RESULT_CLIENT,          /* 429 per-hotkey limit */
    SRV_RESULT_TIMESTAMP,       /* 400 Invalid timestamp */
    SRV_RESULT_MISSING_FIELD,   /* 400 miner_hotkey is required */
    SRV_RESULT_SIGNATURE,       /* 401 Invalid signature */
    SRV_RESULT_NOT_VALIDATOR,   /* 401 You are not validator */
    SRV_RESULT_INVALID_BODY,    /* 422 */
    SRV_RESULT_TOO_LARGE,       /* 413 */
    SRV_RESULT_NOT_FOUND,       /* 404 */
    SRV_RESULT_BAD_METHOD,      /* 405 */
    SRV_RESULT_INFO,            /* 200 from /rate-limits or /healthcheck */
    SRV_RESULT_UNAVAILABLE,     /* 503: store down (fail-closed, health) */
    SRV_RESULT_INTERNAL,        /* 500: out of memory or a bug */
    SRV_RESULT_COUNT
} srv_result;

/* Returns "allowed", "global", "client", "timestamp", ... ; never NULL. */
const char *srv_result_name(srv_result r);

typedef struct srv_stats {
    uint64_t requests;
    uint64_t by_result[SRV_RESULT_COUNT];
    uint64_t store_errors; /* decisions or reads the store failed */
    uint64_t request_timeouts; /* connections closed by request_timeout_s */
} srv_stats;

/* Writes the one-line summary printed at shutdown, e.g. "400 requests: 50
 * allowed, 0 other (rate-limits, healthcheck), 350 rejected (global 0,
 * client 350, ...), errors: ...".  "other" counts the 200 replies of the
 * unlimited routes.  Returns the length snprintf would have written. */
int srv_stats_format(const srv_stats *st, char *buf, size_t len);

typedef struct srv_server srv_server;

/*
 * Creates a server from the configuration: checks it and creates the shared
 * store when there is one, but does not listen yet.  Returns NULL with err
 * filled (and *status set when not NULL).  Free with srv_server_destroy().
 */
srv_server *srv_server_create(const srv_config *cfg, int *status, rl_error *err);

/* Starts listening and serving on the worker threads.  Returns 0 or
 * SRV_ERR_LISTEN with a message naming the address and the reason. */
int srv_server_start(srv_server *s, rl_error *err);

/* Stops accepting, closes connections and joins the workers.  Safe to call
 * more than once, or on a server that never started. */
void srv_server_stop(srv_server *s);

/* Copies the counters; safe while the server runs. */
void srv_server_stats(const srv_server *s, srv_stats *out);

/* Returns the port the server listens on (useful after port 0), or 0. */
unsigned srv_server_port(const srv_server *s);

/* Stops the server when running, destroys its stores; accepts NULL. */
void srv_server_destroy(srv_server *s);

/* Writes "127.0.0.1:8000" or "[::1]:8000".  Returns snprintf's length. */
int srv_format_addr(const struct sockaddr_storage *addr, char *buf, size_t len);

/* Returns 1 for an address in 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104,
 * which only this machine can reach; 0 for any other, 0.0.0.0 and :: (every
 * interface) included. */
int srv_addr_is_loopback(const struct sockaddr_storage *addr);

/* Parses "ADDR:PORT", "[IPv6]:PORT" or "localhost:PORT" (numeric
 * addresses otherwise; port 0..65535).  Returns 0 or RL_ERR_INVALID with a
 * message naming the text. */
int srv_parse_listen(const char *text, struct sockaddr_storage *out, rl_error *err);

#endif
