/*
 * lg_engine.h: the load engine: libcurl multi handles driven by worker
 * threads on an absolute CLOCK_MONOTONIC schedule.
 *
 * Each of T worker threads owns one multi handle, C/T easy handles (one per
 * connection, reused so connections stay alive) and its own lg_stats; the
 * results are added after the threads are joined.  A request is sent when
 * its intended time has come and an easy handle is free; when none is free
 * it waits, and its latency still counts from the intended time.
 *
 * Modes:
 *   LG_MODE_RATE      request k is intended for start + k/rate; worker w
 *                     sends k = w, w+T, w+2T, ...
 *   LG_MODE_MAX       closed loop: each free handle sends at once (intended
 *                     time = actual send time)
 *   LG_MODE_SCHEDULE  an explicit list of (offset, client, role, auth);
 *                     entries go to worker (client number mod T), so one
 *                     client's requests leave in order from one thread.
 *
 * Bounds: nothing is sent at or after start + duration_ns, nor past
 * max_requests.  Requests in flight then may finish within their own
 * timeout; the run therefore ends at most timeout_ms after the duration,
 * or at once when *stop becomes non-zero (they count as unfinished).
 *
 * Only the URL in `target` is contacted: redirects are not followed and
 * proxy variables (http_proxy and friends) are ignored.
 */
#ifndef LG_ENGINE_H
#define LG_ENGINE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "lg_rate.h"
#include "lg_stats.h"
#include "lg_template.h"
#include "rl_status.h"

/* The largest per-request timeout: an hour is longer than any sane
 * request, and it keeps timeout_ms * 1e6 within int64_t. */
#define LG_MAX_TIMEOUT_MS 3600000LL

/* Progress on stderr: none, one line redrawn every second on a terminal,
 * or a plain line every LG_PROGRESS_LOG_S seconds for a log file. */
#define LG_PROGRESS_NONE 0
#define LG_PROGRESS_TERMINAL 1
#define LG_PROGRESS_LOG 2
#define LG_PROGRESS_LOG_S 10

typedef enum lg_mode {
    LG_MODE_RATE = 0,
    LG_MODE_MAX = 1,
    LG_MODE_SCHEDULE = 2
} lg_mode;

/* One request of an explicit schedule. */
typedef struct lg_sched_entry {
    int64_t offset_ns;  /* intended send time, from the run's start */
    const char *client; /* hotkey, borrowed */
    int client_number;  /* picks the worker */
    int role;           /* index into lg_config.roles */
    int auth_ok;        /* 0: send a bad signature */
} lg_sched_entry;

/* What happened to one schedule entry; written only by its worker. */
typedef struct lg_outcome {
    int sent;         /* 1 when handed to libcurl */
    int status;       /* HTTP status; 0 when there was none */
    int error;        /* lg_error_kind, or -1 */
    int global_limit; /* a 429 whose body names the global limit */
    int64_t sent_ns;  /* actual send time, from the run's start */
} lg_outcome;

typedef struct lg_config {
    const char *target; /* base URL, "http://127.0.0.1:8080" */
    lg_mode mode;
    lg_rate rate;        /* LG_MODE_RATE */
    int connections;     /* >= threads */
    int threads;         /* >= 1 */
    int64_t duration_ns; /* > 0 */
    int64_t max_requests;
    int64_t timeout_ms;
    int http2;

    /* Templates by role index; RATE and MAX use role 0 for every request. */
    const lg_template *templates[RL_MAX_ROLES];
    const char *roles[RL_MAX_ROLES];
    int nroles;

    /* RATE and MAX: hotkey of every request, or "<hotkey>-<k mod clients>"
     * when clients > 1; coldkey NULL for "<hotkey>-cold". */
    const char *hotkey;
    const char *coldkey;
    int clients;

    /* SCHEDULE: entries sorted by offset; outcomes has one per entry. */
    const lg_sched_entry *schedule;
    int64_t nschedule;
    lg_outcome *outcomes;

    int64_t start_ns;              /* CLOCK_MONOTONIC start; 0: now */
    volatile sig_atomic_t *stop;   /* set by a signal handler; may be NULL */
    int progress;                  /* LG_PROGRESS_*: progress lines on stderr */
} lg_config;

/* Checks a target URL ("http://host[:port][/prefix]" or https; a port
 * from 1 to 65535) and copies it without a trailing '/' into buf.
 * Returns 0 or LG_ERR_INVALID. */
int lg_target_normalize(const char *url, char *buf, size_t len, rl_error *err);

/* CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds. */
int64_t lg_mono_ns(void);
int64_t lg_real_ns(void);

/*
 * Runs the load described by cfg and fills *out (initialised here; free
 * with lg_result_free).  Returns 0, or a negative lg_status with err set
 * when the run could not start; transport errors during the run are
 * counted, not returned.
 */
int lg_run(const lg_config *cfg, lg_result *out, rl_error *err);

#endif
