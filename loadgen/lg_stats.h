/*
 * lg_stats.h: what a load run counts, per worker and merged.
 *
 * Each worker thread owns one lg_stats and is its only writer while the run
 * lasts; the run's result adds the workers' statistics after they have
 * been joined, so the hot path takes no lock.  Results of runs on several
 * machines add the same way (lg_result_merge), which is exact because the
 * histograms share one bucket layout.
 *
 * Definitions used in every report:
 *   sent        requests handed to libcurl
 *   responses   requests answered with an HTTP status (any status)
 *   errors      requests that ended without a status, by kind
 *   unfinished  requests still in flight when the run stopped
 *   late        requests sent more than LG_LATE_NS after their intended
 *               time (open-loop and replay modes only)
 *   not_sent    requests due before the end of the sending phase that were
 *               never sent, because every connection was busy
 *   cpu_wait    time the worker threads were ready to run but waited for
 *               a CPU (Linux run queue wait), summed over the threads: a
 *               large share of the run means late sends and latency come
 *               from an oversubscribed load generator, not the target
 *   latency     intended send time -> response (no coordinated omission)
 *   service     actual send time -> response
 * Only responses are recorded in the histograms.
 */
#ifndef LG_STATS_H
#define LG_STATS_H

#include <stdint.h>

#include "lg_hist.h"
#include "lg_series.h"

#define LG_LATE_NS 1000000LL /* 1 ms */
#define LG_STATUS_CODES 600  /* index = HTTP status; 0 counts others */

typedef enum lg_error_kind {
    LG_ERROR_REFUSED = 0, /* connection refused or could not connect */
    LG_ERROR_TIMEOUT,     /* no complete response within --timeout */
    LG_ERROR_RESET,       /* connection reset or closed mid-response */
    LG_ERROR_DNS,         /* host name did not resolve */
    LG_ERROR_TLS,         /* TLS handshake or certificate failure */
    LG_ERROR_OTHER,
    LG_ERROR_KINDS
} lg_error_kind;

/* "refused", "timeout", "reset", "dns", "tls", "other". */
const char *lg_error_kind_name(int kind);

/* Maps a libcurl result (a CURLcode) to a kind. */
lg_error_kind lg_error_kind_of_curl(int curl_code);

typedef struct lg_stats {
    uint64_t sent;
    uint64_t responses;
    uint64_t errors[LG_ERROR_KINDS];
    uint64_t unfinished;
    uint64_t late;
    uint64_t not_sent;
    uint64_t cpu_wait_us; /* 0 when /proc/thread-self/schedstat is missing */
    uint64_t status[LG_STATUS_CODES];
    lg_hist *latency; /* owned */
    lg_hist *service; /* owned */
    lg_series *series; /* owned; NULL: no time series (older result files) */
} lg_stats;

/* Zeroes the counters and creates the histograms, without a series;
 * LG_ERR_NOMEM.  lg_stats_free also destroys the series. */
int lg_stats_init(lg_stats *s);
void lg_stats_free(lg_stats *s);
void lg_stats_add(lg_stats *dst, const lg_stats *src);
uint64_t lg_stats_error_total(const lg_stats *s);

/* A run's result: its statistics and how it was run. */
typedef struct lg_result {
    lg_stats stats;
    char mode[16];    /* "rate", "max", "replay", or "merged" */
    char target[512]; /* the base URL */
    char rate[32];    /* "2000/s", "max", or "" */
    double target_rate;    /* requests per second; 0 for max and replay */
    double send_seconds;   /* length of the sending phase */
    double requests_per_second; /* responses / send_seconds (summed on merge) */
    double achieved_rate;       /* sent / send_seconds (summed on merge) */
    double elapsed_seconds; /* the whole run, including the drain */
    int connections;
    int threads;
    int interrupted; /* 1: stopped by a signal */
    int runs;        /* 1, or how many results were merged */
} lg_result;

int lg_result_init(lg_result *r);
void lg_result_free(lg_result *r);

/* Sets requests_per_second and achieved_rate from the counters and
 * send_seconds, at the end of a run. */
void lg_result_set_rates(lg_result *r);

/* Adds src into dst as runs that happened at the same time on different
 * machines: counts and histograms add, rates add, durations take the max.
 * Time series add bucket by bucket from the start; when src has none or
 * another bucket width, dst's series is dropped (a partial series would
 * misstate every bucket). */
void lg_result_merge(lg_result *dst, const lg_result *src);

#endif
