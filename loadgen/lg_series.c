/*
 * lg_series.c: per-bucket statistics of a load run (see lg_series.h).
 */
#include <stdlib.h>
#include <string.h>

#include "lg_hist.h"
#include "lg_series.h"
#include "lg_status.h"

#define SLOT_EXACT 16 /* values below are their own slot */
#define SLOT_SUB_BITS 4

int64_t lg_series_bucket_ns(int64_t duration_ns)
{
    const int64_t second_ns = 1000000000LL;
    int64_t per_bucket = duration_ns / LG_SERIES_MAX_BUCKETS +
                         (duration_ns % LG_SERIES_MAX_BUCKETS != 0);
    int64_t seconds = per_bucket / second_ns + (per_bucket % second_ns != 0);
    return (seconds < 1 ? 1 : seconds) * second_ns;
}

lg_series *lg_series_create(int64_t duration_ns, int64_t bucket_ns)
{
    int64_t n = bucket_ns > 0 ? duration_ns / bucket_ns + (duration_ns % bucket_ns != 0) : 0;
    if (n < 1)
        n = 1;
    if (n > LG_SERIES_MAX_BUCKETS)
        n = LG_SERIES_MAX_BUCKETS;
    lg_series *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->buckets = calloc((size_t)n, sizeof(*s->buckets));
    if (s->buckets == NULL) {
        free(s);
        return NULL;
    }
    s->bucket_ns = bucket_ns;
    s->nbuckets = (int)n;
    return s;
}

void lg_series_destroy(lg_series *s)
{
    if (s == NULL)
        return;
    free(s->buckets);
    free(s);
}

int lg_series_slot(int64_t value_us)
{
    if (value_us < 0)
        value_us = 0;
    if (value_us > LG_HIST_HIGHEST_US)
        value_us = LG_HIST_HIGHEST_US;
    if (value_us < SLOT_EXACT)
        return (int)value_us;
    int log2 = 63 - __builtin_clzll((unsigned long long)value_us);
    int shift = log2 - SLOT_SUB_BITS;
    int sub = (int)((value_us >> shift) & (SLOT_EXACT - 1));
    return SLOT_EXACT + shift * SLOT_EXACT + sub;
}

int64_t lg_series_slot_highest_us(int slot)
{
    if (slot < SLOT_EXACT)
        return slot;
    int shift = (slot - SLOT_EXACT) / SLOT_EXACT;
    int sub = (slot - SLOT_EXACT) % SLOT_EXACT;
    int64_t lowest = (int64_t)(SLOT_EXACT + sub) << shift;
    return lowest + ((int64_t)1 << shift) - 1;
}

static lg_status_class class_of(int status)
{
    if (status >= 200 && status < 300)
        return LG_CLASS_2XX;
    if (status >= 300 && status < 400)
        return LG_CLASS_3XX;
    if (status == 429)
        return LG_CLASS_429;
    if (status >= 400 && status < 500)
        return LG_CLASS_4XX;
    if (status >= 500 && status < 600)
        return LG_CLASS_5XX;
    return LG_CLASS_OTHER;
}

void lg_series_record(lg_series *s, int64_t offset_ns, int status, int64_t latency_us)
{
    int64_t i = offset_ns > 0 ? offset_ns / s->bucket_ns : 0;
    lg_series_bucket *b = &s->buckets[i < s->nbuckets ? i : s->nbuckets - 1];
    if (status <= 0) {
        b->errors++;
        return;
    }
    b->responses++;
    b->status[class_of(status)]++;
    b->latency[lg_series_slot(latency_us)]++;
    if (latency_us > b->max_us)
        b->max_us = latency_us;
}

static void bucket_add(lg_series_bucket *dst, const lg_series_bucket *src)
{
    for (int k = 0; k < LG_SERIES_SLOTS; k++)
        dst->latency[k] += src->latency[k];
    for (int c = 0; c < LG_CLASSES; c++)
        dst->status[c] += src->status[c];
    dst->responses += src->responses;
    dst->errors += src->errors;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;
}

int lg_series_add(lg_series *dst, const lg_series *src)
{
    if (dst->bucket_ns != src->bucket_ns)
        return LG_ERR_LAYOUT;
    if (src->nbuckets > dst->nbuckets) {
        lg_series_bucket *grown =
            realloc(dst->buckets, (size_t)src->nbuckets * sizeof(*grown));
        if (grown == NULL)
            return LG_ERR_NOMEM;
        memset(grown + dst->nbuckets, 0,
               (size_t)(src->nbuckets - dst->nbuckets) * sizeof(*grown));
        dst->buckets = grown;
        dst->nbuckets = src->nbuckets;
    }
    for (int i = 0; i < src->nbuckets; i++)
        bucket_add(&dst->buckets[i], &src->buckets[i]);
    if (dst->start_unix_us == 0 ||
        (src->start_unix_us != 0 && src->start_unix_us < dst->start_unix_us))
        dst->start_unix_us = src->start_unix_us;
    return 0;
}

int64_t lg_series_percentile(const lg_series_bucket *b, double p)
{
    if (b->responses == 0)
        return 0;
    double exact = p / 100.0 * (double)b->responses;
    uint64_t rank = (uint64_t)exact;
    if ((double)rank < exact || rank < 1)
        rank++; /* ceil, and at least the smallest value */
    uint64_t seen = 0;
    for (int k = 0; k < LG_SERIES_SLOTS; k++) {
        seen += b->latency[k];
        if (seen >= rank) {
            int64_t top = lg_series_slot_highest_us(k);
            return top < b->max_us ? top : b->max_us;
        }
    }
    return b->max_us;
}

/* ---- JSON ------------------------------------------------------------- */

static const char *const class_names[LG_CLASSES] = {"2xx", "3xx", "429", "4xx", "5xx",
                                                    "other"};

/* Runs of consecutive non-empty slots: [[first, count, count, ...], ...]. */
static json_t *slots_to_json(const lg_series_bucket *b)
{
    json_t *runs = json_array();
    json_t *run = NULL;
    for (int k = 0; runs != NULL && k < LG_SERIES_SLOTS; k++) {
        if (b->latency[k] == 0) {
            run = NULL;
            continue;
        }
        if (run == NULL) {
            run = json_array();
            json_array_append_new(run, json_integer(k));
            json_array_append_new(runs, run);
        }
        json_array_append_new(run, json_integer(b->latency[k]));
    }
    return runs;
}

static json_t *bucket_to_json(const lg_series *s, int i)
{
    const lg_series_bucket *b = &s->buckets[i];
    json_t *status = json_object();
    for (int c = 0; status != NULL && c < LG_CLASSES; c++)
        json_object_set_new(status, class_names[c], json_integer((json_int_t)b->status[c]));
    return json_pack("{s:f,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:o}", "offset_seconds",
                     (double)i * (double)s->bucket_ns / 1e9, "responses",
                     (json_int_t)b->responses, "p50_us",
                     (json_int_t)lg_series_percentile(b, 50), "p90_us",
                     (json_int_t)lg_series_percentile(b, 90), "p99_us",
                     (json_int_t)lg_series_percentile(b, 99), "max_us", (json_int_t)b->max_us,
                     "status", status, "errors", (json_int_t)b->errors, "latency_slots",
                     slots_to_json(b));
}

json_t *lg_series_to_json(const lg_series *s)
{
    json_t *buckets = json_array();
    for (int i = 0; buckets != NULL && i < s->nbuckets; i++)
        json_array_append_new(buckets, bucket_to_json(s, i));
    return json_pack("{s:I,s:f,s:o}", "start_unix_us", (json_int_t)s->start_unix_us,
                     "bucket_seconds", (double)s->bucket_ns / 1e9, "buckets", buckets);
}

/* Returns a count >= 0 from j, or -1 when it is missing or invalid. */
static json_int_t count_of(const json_t *j)
{
    return json_is_integer(j) && json_integer_value(j) >= 0 ? json_integer_value(j) : -1;
}

static int slots_from_json(lg_series_bucket *b, const json_t *runs, const char *where,
                           int i, rl_error *err)
{
    size_t r, k;
    json_t *run, *count;
    uint64_t total = 0;
    json_array_foreach(runs, r, run)
    {
        json_int_t first = json_integer_value(json_array_get(run, 0));
        json_array_foreach(run, k, count)
        {
            json_int_t slot = first + (json_int_t)k - 1;
            if (k == 0)
                continue;
            if (count_of(count) < 0 || count_of(count) > UINT32_MAX || slot < 0 ||
                slot >= LG_SERIES_SLOTS) {
                rl_error_set(err, "%s: series bucket %d: latency_slots run %zu is invalid",
                             where, i, r);
                return LG_ERR_INVALID;
            }
            b->latency[slot] += (uint32_t)count_of(count);
            total += (uint64_t)count_of(count);
        }
    }
    if (total != b->responses) {
        rl_error_set(err, "%s: series bucket %d: latency_slots hold %llu values, but "
                          "responses is %llu",
                     where, i, (unsigned long long)total, (unsigned long long)b->responses);
        return LG_ERR_INVALID;
    }
    return 0;
}

static int bucket_from_json(lg_series_bucket *b, const json_t *j, const char *where, int i,
                            rl_error *err)
{
    const char *bad = NULL;
    json_t *status = json_object_get(j, "status");
    json_int_t responses = count_of(json_object_get(j, "responses"));
    json_int_t errors = count_of(json_object_get(j, "errors"));
    json_int_t max_us = count_of(json_object_get(j, "max_us"));
    uint64_t sum = 0;

    if (responses < 0)
        bad = "responses";
    else if (errors < 0)
        bad = "errors";
    else if (max_us < 0)
        bad = "max_us";
    for (int c = 0; bad == NULL && c < LG_CLASSES; c++) {
        json_int_t n = count_of(json_object_get(status, class_names[c]));
        if (n < 0)
            bad = "status";
        else
            b->status[c] = (uint64_t)n;
        sum += (uint64_t)(n > 0 ? n : 0);
    }
    if (bad == NULL && sum != (uint64_t)responses)
        bad = "status (the counts do not add up to responses)";
    if (bad != NULL) {
        rl_error_set(err, "%s: series bucket %d: %s is invalid", where, i, bad);
        return LG_ERR_INVALID;
    }
    b->responses = (uint64_t)responses;
    b->errors = (uint64_t)errors;
    b->max_us = max_us;
    return slots_from_json(b, json_object_get(j, "latency_slots"), where, i, err);
}

lg_series *lg_series_from_json(const json_t *j, const char *where, rl_error *err)
{
    json_t *buckets = json_object_get(j, "buckets");
    double seconds = json_number_value(json_object_get(j, "bucket_seconds"));
    size_t n = json_array_size(buckets);
    int64_t bucket_ns = (int64_t)(seconds * 1e9 + 0.5);

    if (!json_is_array(buckets) || n < 1 || n > LG_SERIES_MAX_BUCKETS || !(seconds >= 1) ||
        seconds > 86400.0 * 366 || bucket_ns % 1000000000LL != 0) {
        rl_error_set(err, "%s: series needs bucket_seconds (whole seconds) and 1 to %d "
                          "buckets",
                     where, LG_SERIES_MAX_BUCKETS);
        return NULL;
    }
    json_int_t start = count_of(json_object_get(j, "start_unix_us"));
    if (start < 0) {
        rl_error_set(err, "%s: series start_unix_us is invalid: expected a whole number of "
                          "at least 0",
                     where);
        return NULL;
    }
    lg_series *s = lg_series_create((int64_t)n * bucket_ns, bucket_ns);
    if (s == NULL) {
        rl_error_set(err, "out of memory");
        return NULL;
    }
    s->start_unix_us = start;
    for (size_t i = 0; i < n; i++) {
        if (bucket_from_json(&s->buckets[i], json_array_get(buckets, i), where, (int)i,
                             err) < 0) {
            lg_series_destroy(s);
            return NULL;
        }
    }
    return s;
}
