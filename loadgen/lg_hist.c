/*
 * lg_hist.c: the log-linear histogram (layout and guarantees in lg_hist.h).
 *
 * Recording is a bit scan and an array increment, cheap enough for every
 * request on a worker's hot path.  Percentiles walk the counts once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lg_hist.h"

lg_hist *lg_hist_create(void)
{
    lg_hist *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->counts = calloc(LG_HIST_COUNTS, sizeof(h->counts[0]));
    if (h->counts == NULL) {
        free(h);
        return NULL;
    }
    h->min_us = INT64_MAX;
    return h;
}

void lg_hist_destroy(lg_hist *h)
{
    if (h == NULL)
        return;
    free(h->counts);
    free(h);
}

void lg_hist_reset(lg_hist *h)
{
    memset(h->counts, 0, LG_HIST_COUNTS * sizeof(h->counts[0]));
    h->total = 0;
    h->overflow = 0;
    h->min_us = INT64_MAX;
    h->max_us = 0;
    h->sum_us = 0;
}

/* The magnitude b of a bucket: its width is 2^b. */
static int magnitude_of_value(int64_t v)
{
    if (v < (1LL << LG_HIST_SUB_BITS))
        return 0;
    int log2v = 63 - __builtin_clzll((unsigned long long)v);
    return log2v - (LG_HIST_SUB_BITS - 1);
}

int lg_hist_index(int64_t value_us)
{
    int64_t v = value_us < 0 ? 0 : value_us;
    if (v > LG_HIST_HIGHEST_US)
        v = LG_HIST_HIGHEST_US;
    int b = magnitude_of_value(v);
    return LG_HIST_HALF * b + (int)(v >> b);
}

static int magnitude_of_index(int index)
{
    int b = index / LG_HIST_HALF - 1;
    return b < 0 ? 0 : b;
}

int64_t lg_hist_lowest_us(int index)
{
    int b = magnitude_of_index(index);
    return (int64_t)(index - LG_HIST_HALF * b) << b;
}

int64_t lg_hist_highest_us(int index)
{
    int b = magnitude_of_index(index);
    return lg_hist_lowest_us(index) + (1LL << b) - 1;
}

void lg_hist_record(lg_hist *h, int64_t value_us)
{
    int64_t v = value_us < 0 ? 0 : value_us;
    if (v > LG_HIST_HIGHEST_US) {
        h->overflow++;
        v = LG_HIST_HIGHEST_US;
    }
    h->counts[lg_hist_index(v)]++;
    h->total++;
    h->sum_us += (double)v;
    if (v < h->min_us)
        h->min_us = v;
    if (v > h->max_us)
        h->max_us = v;
}

int64_t lg_hist_percentile(const lg_hist *h, double p)
{
    if (h->total == 0)
        return 0;

    /* The rank of the requested value among the recorded ones, 1-based. */
    double exact = p / 100.0 * (double)h->total;
    uint64_t rank = (uint64_t)exact;
    if ((double)rank < exact)
        rank++;
    if (rank < 1)
        rank = 1;
    if (rank > h->total)
        rank = h->total;

    uint64_t seen = 0;
    for (int i = 0; i < LG_HIST_COUNTS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            int64_t v = lg_hist_highest_us(i);
            return v > h->max_us ? h->max_us : v;
        }
    }
    return h->max_us;
}

double lg_hist_mean(const lg_hist *h)
{
    return h->total == 0 ? 0.0 : h->sum_us / (double)h->total;
}

void lg_hist_add(lg_hist *dst, const lg_hist *src)
{
    for (int i = 0; i < LG_HIST_COUNTS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->overflow += src->overflow;
    dst->sum_us += src->sum_us;
    if (src->total > 0 && src->min_us < dst->min_us)
        dst->min_us = src->min_us;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;
}

void lg_hist_add_bucket(lg_hist *h, int index, uint64_t count)
{
    h->counts[index] += count;
    h->total += count;
}
