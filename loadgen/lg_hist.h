/*
 * lg_hist.h: log-linear latency histograms with 3 significant digits.
 *
 * Values are microseconds from 0 to LG_HIST_HIGHEST_US (one day).  Bucket
 * index i covers a range of width 2^b where b = max(0, floor(log2 v) - 10):
 * values below 2048 us are counted exactly, and above that every bucket
 * spans at most 1/1024 of its lowest value, so a reported percentile is
 * never below the true one and at most 0.1 % above it.  Values above one
 * day are counted in the last bucket and in `overflow`.
 *
 * The layout is fixed (LG_HIST_COUNTS buckets), so two histograms merge
 * exactly by adding counts, whichever machine recorded them; serialized
 * histograms carry the layout's parameters and merging checks them.
 *
 * Example: 1500 us lands in bucket 1500 (exact); 1,234,567 us has
 * floor(log2) = 20, so b = 10, index = 1024 * 10 + (1234567 >> 10) = 11445,
 * covering 1,233,920 .. 1,234,943 us.
 *
 * Ownership: lg_hist_create() allocates, lg_hist_destroy() frees and
 * accepts NULL.  A histogram is not thread-safe: each worker owns its own.
 */
#ifndef LG_HIST_H
#define LG_HIST_H

#include <stdint.h>

#define LG_HIST_SUB_BITS 11          /* 2048 sub-buckets per magnitude */
#define LG_HIST_HALF 1024            /* sub-buckets in each magnitude above the first */
#define LG_HIST_HIGHEST_US 86400000000LL /* one day */
#define LG_HIST_COUNTS 27912         /* index of LG_HIST_HIGHEST_US plus one */
#define LG_HIST_SIGNIFICANT_DIGITS 3

typedef struct lg_hist {
    uint64_t *counts; /* LG_HIST_COUNTS entries, owned */
    uint64_t total;
    uint64_t overflow; /* values above LG_HIST_HIGHEST_US (recorded as it) */
    int64_t min_us;    /* exact; INT64_MAX while empty */
    int64_t max_us;    /* exact; 0 while empty */
    double sum_us;     /* for the mean */
} lg_hist;

/* Returns a new empty histogram, or NULL when out of memory. */
lg_hist *lg_hist_create(void);
void lg_hist_destroy(lg_hist *h);
void lg_hist_reset(lg_hist *h);

/* Counts one value; negative values count as 0. */
void lg_hist_record(lg_hist *h, int64_t value_us);

/* Bucket arithmetic, exposed for serialization and tests. */
int lg_hist_index(int64_t value_us);
int64_t lg_hist_lowest_us(int index);  /* smallest value of the bucket */
int64_t lg_hist_highest_us(int index); /* largest value of the bucket */

/* Returns the value at percentile p (0 < p <= 100): the highest value of
 * the bucket holding the ceil(p/100 * total)-th smallest value, capped at
 * the exact maximum.  0 when empty. */
int64_t lg_hist_percentile(const lg_hist *h, double p);

double lg_hist_mean(const lg_hist *h);

/* Adds src's counts into dst (same layout by construction). */
void lg_hist_add(lg_hist *dst, const lg_hist *src);

/* Adds count values into one bucket, as a deserializer does; min, max and
 * sum are the caller's to set. */
void lg_hist_add_bucket(lg_hist *h, int index, uint64_t count);

#endif
