/*
 * lg_series.h: a load run's statistics per time bucket, for plots of
 * latency percentiles and status codes over time.
 *
 * A request belongs to the bucket of its intended send time (the actual
 * send time in --rate max), counted from the run's start; a request due
 * after the last bucket counts in the last one.  Each bucket keeps its
 * responses by status class, its errors, and a small latency histogram:
 * values below 16 us are exact, and above that each power of two is cut
 * into 16 slots, so a bucket's percentile is at most 1/16 (6.25 %) above
 * the true one.  That is coarser than the whole-run histogram (lg_hist.h,
 * 0.1 %), so that 200 buckets of 64 threads take about 30 MB (2.2 KB a
 * bucket).
 *
 * Like the whole-run histogram the layout is fixed, so series of several
 * workers or runs with the same bucket width add exactly, bucket by
 * bucket (lg_series_add).
 *
 * Example: a 30 s run has 30 buckets of 1 s; a 1 h run has 200 of 18 s
 * (lg_series_bucket_ns).  1500 us lands in slot 16 + 6 * 16 + 7 = 119,
 * which covers 1472 .. 1535 us.
 *
 * Ownership: lg_series_create() allocates, lg_series_destroy() frees and
 * accepts NULL.  Not thread-safe: each worker owns its own series.
 */
#ifndef LG_SERIES_H
#define LG_SERIES_H

#include <stdint.h>

#include <jansson.h>

#include "rl_status.h"

#define LG_SERIES_MAX_BUCKETS 200
#define LG_SERIES_SLOTS 544 /* slot of one day (2^36.3 us) plus one */

/* Status classes of a bucket; LG_CLASS_OTHER is 1xx and unknown codes. */
typedef enum lg_status_class {
    LG_CLASS_2XX = 0,
    LG_CLASS_3XX,
    LG_CLASS_429,
    LG_CLASS_4XX, /* 4xx other than 429 */
    LG_CLASS_5XX,
    LG_CLASS_OTHER,
    LG_CLASSES
} lg_status_class;

typedef struct lg_series_bucket {
    uint32_t latency[LG_SERIES_SLOTS]; /* counts by slot */
    uint64_t responses;
    uint64_t status[LG_CLASSES];
    uint64_t errors; /* requests that ended without a status */
    int64_t max_us;  /* exact maximum latency; 0 while empty */
} lg_series_bucket;

typedef struct lg_series {
    int64_t start_unix_us; /* wall-clock time of the run's start (UTC) */
    int64_t bucket_ns;
    int nbuckets;
    lg_series_bucket *buckets; /* owned, nbuckets entries */
} lg_series;

/* Returns the bucket width for a sending phase of duration_ns: 1 s, or
 * duration / LG_SERIES_MAX_BUCKETS rounded up to whole seconds. */
int64_t lg_series_bucket_ns(int64_t duration_ns);

/* Returns a zeroed series of ceil(duration / bucket) buckets (at least
 * one), or NULL when out of memory. */
lg_series *lg_series_create(int64_t duration_ns, int64_t bucket_ns);
void lg_series_destroy(lg_series *s);

/* Counts a response (status > 0) or an error (status 0) of the request
 * intended offset_ns after the start, with its latency in microseconds. */
void lg_series_record(lg_series *s, int64_t offset_ns, int status, int64_t latency_us);

/* Adds src into dst bucket by bucket, growing dst when src is longer; the
 * runs are taken to have started together, at the earlier start.
 * Returns 0, LG_ERR_LAYOUT when the bucket widths differ (dst unchanged),
 * or LG_ERR_NOMEM. */
int lg_series_add(lg_series *dst, const lg_series *src);

/* Returns percentile p (0 < p <= 100) of a bucket's latencies: the top of
 * the slot holding it, capped at the bucket's maximum; 0 when empty. */
int64_t lg_series_percentile(const lg_series_bucket *b, double p);

/* Slot arithmetic, exposed for tests. */
int lg_series_slot(int64_t value_us);
int64_t lg_series_slot_highest_us(int slot);

/* {"start_unix_us", "bucket_seconds", "buckets": [{"offset_seconds", "responses",
 * "p50_us", "p90_us", "p99_us", "max_us", "status": {...}, "errors",
 * "latency_slots": [[first, count, ...], ...]}]}; a new reference. */
json_t *lg_series_to_json(const lg_series *s);

/* Reads what lg_series_to_json wrote; `where` names the file in errors.
 * Returns a new series (caller destroys) or NULL with err set. */
lg_series *lg_series_from_json(const json_t *j, const char *where, rl_error *err);

#endif
