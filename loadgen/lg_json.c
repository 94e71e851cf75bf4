/*
 * lg_json.c: result serialization, parsing and the text summary.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lg_json.h"
#include "lg_status.h"

/* ---- histograms ------------------------------------------------------- */

/* Checks that a count is a whole number >= 0; `field` names it. */
static int check_count(const json_t *value, const char *where, const char *field,
                       rl_error *err)
{
    if (json_is_integer(value) && json_integer_value(value) >= 0)
        return 0;
    rl_error_set(err, "%s: %s is invalid: expected a whole number of at least 0", where,
                 field);
    return LG_ERR_INVALID;
}

json_t *lg_hist_to_json(const lg_hist *h)
{
    json_t *runs = json_array();
    json_t *run = NULL;
    for (int i = 0; runs != NULL && i < LG_HIST_COUNTS; i++) {
        if (h->counts[i] == 0) {
            run = NULL;
            continue;
        }
        if (run == NULL) {
            run = json_array();
            json_array_append_new(run, json_integer(i));
            json_array_append_new(runs, run);
        }
        json_array_append_new(run, json_integer((json_int_t)h->counts[i]));
    }
    return json_pack("{s:{s:i,s:i,s:I,s:i},s:I,s:I,s:I,s:f,s:I,s:o}", "layout",
                     "significant_digits", LG_HIST_SIGNIFICANT_DIGITS, "lowest_us", 1,
                     "highest_us", (json_int_t)LG_HIST_HIGHEST_US, "buckets",
                     LG_HIST_COUNTS, "total", (json_int_t)h->total, "min_us",
                     (json_int_t)(h->total > 0 ? h->min_us : 0), "max_us",
                     (json_int_t)h->max_us, "sum_us", h->sum_us, "overflow",
                     (json_int_t)h->overflow, "runs", runs);
}

static int check_layout(const json_t *layout, const char *where, rl_error *err)
{
    json_int_t digits = -1, lowest = -1, highest = -1, buckets = -1;
    if (json_unpack((json_t *)layout, "{s:I,s:I,s:I,s:I}", "significant_digits", &digits,
                    "lowest_us", &lowest, "highest_us", &highest, "buckets",
                    &buckets) != 0) {
        rl_error_set(err, "%s: histogram layout is missing or malformed", where);
        return LG_ERR_INVALID;
    }
    if (digits != LG_HIST_SIGNIFICANT_DIGITS || lowest != 1 ||
        highest != LG_HIST_HIGHEST_US || buckets != LG_HIST_COUNTS) {
        rl_error_set(err, "%s: histogram layout (%" JSON_INTEGER_FORMAT
                          " digits, %" JSON_INTEGER_FORMAT " buckets) differs from "
                          "this build's (%d digits, %d buckets); merge results of the "
                          "same ratelab version",
                     where, digits, buckets, LG_HIST_SIGNIFICANT_DIGITS, LG_HIST_COUNTS);
        return LG_ERR_LAYOUT;
    }
    return 0;
}

static int add_runs(lg_hist *h, const json_t *runs, const char *where, rl_error *err)
{
    size_t i, j;
    json_t *run, *count;
    json_array_foreach(runs, i, run)
    {
        json_t *first = json_array_get(run, 0);
        if (!json_is_integer(first) || json_array_size(run) < 2) {
            rl_error_set(err, "%s: histogram run %zu is malformed", where, i);
            return LG_ERR_INVALID;
        }
        json_int_t index = json_integer_value(first);
        json_array_foreach(run, j, count)
        {
            if (j == 0)
                continue;
            json_int_t bucket = index + (json_int_t)j - 1;
            if (!json_is_integer(count) || json_integer_value(count) < 0 || bucket < 0 ||
                bucket >= LG_HIST_COUNTS) {
                rl_error_set(err, "%s: histogram run %zu has an invalid bucket or count",
                             where, i);
                return LG_ERR_INVALID;
            }
            lg_hist_add_bucket(h, (int)bucket, (uint64_t)json_integer_value(count));
        }
    }
    return 0;
}

int lg_hist_from_json(lg_hist *h, const json_t *j, const char *where, rl_error *err)
{
    const json_t *runs = json_object_get(j, "runs");
    json_t *min = json_object_get(j, "min_us"), *max = json_object_get(j, "max_us");
    json_t *sum = json_object_get(j, "sum_us"), *total = json_object_get(j, "total");
    int rc = check_layout(json_object_get(j, "layout"), where, err);
    if (rc < 0)
        return rc;
    if (!json_is_array(runs) || !json_is_integer(min) || !json_is_integer(max) ||
        !json_is_number(sum) || !json_is_integer(total)) {
        rl_error_set(err, "%s: histogram needs runs, total, min_us, max_us and sum_us",
                     where);
        return LG_ERR_INVALID;
    }
    const char *bad = json_integer_value(total) < 0   ? "total"
                      : json_integer_value(min) < 0   ? "min_us"
                      : json_integer_value(max) < 0   ? "max_us"
                      : !(json_number_value(sum) >= 0) ? "sum_us"
                                                       : NULL;
    json_t *overflow = json_object_get(j, "overflow");
    if (bad == NULL && overflow != NULL && check_count(overflow, where, "overflow", err) < 0)
        bad = "overflow";
    if (bad != NULL) {
        rl_error_set(err, "%s: histogram %s is invalid: expected a number of at least 0",
                     where, bad);
        return LG_ERR_INVALID;
    }

    uint64_t before = h->total;
    rc = add_runs(h, runs, where, err);
    if (rc < 0)
        return rc;
    if (h->total - before != (uint64_t)json_integer_value(total)) {
        rl_error_set(err, "%s: histogram total %" JSON_INTEGER_FORMAT
                          " does not match its bucket counts",
                     where, json_integer_value(total));
        return LG_ERR_INVALID;
    }
    if (json_integer_value(total) > 0) {
        if (json_integer_value(min) < h->min_us)
            h->min_us = json_integer_value(min);
        if (json_integer_value(max) > h->max_us)
            h->max_us = json_integer_value(max);
    }
    h->sum_us += json_number_value(sum);
    if (json_is_integer(overflow))
        h->overflow += (uint64_t)json_integer_value(overflow);
    return 0;
}

json_t *lg_latency_summary_json(const lg_hist *h)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "p50",
                     (json_int_t)lg_hist_percentile(h, 50), "p90",
                     (json_int_t)lg_hist_percentile(h, 90), "p99",
                     (json_int_t)lg_hist_percentile(h, 99), "p999",
                     (json_int_t)lg_hist_percentile(h, 99.9), "max", (json_int_t)h->max_us,
                     "min", (json_int_t)(h->total > 0 ? h->min_us : 0), "mean",
                     lg_hist_mean(h));
}

/* ---- results ---------------------------------------------------------- */

static json_t *result_json(const lg_result *r);

static json_t *status_json(const lg_stats *s)
{
    json_t *obj = json_object();
    char code[16];
    for (int i = 1; obj != NULL && i < LG_STATUS_CODES; i++) {
        if (s->status[i] == 0)
            continue;
        snprintf(code, sizeof(code), "%d", i);
        json_object_set_new(obj, code, json_integer((json_int_t)s->status[i]));
    }
    if (obj != NULL && s->status[0] > 0)
        json_object_set_new(obj, "other", json_integer((json_int_t)s->status[0]));
    return obj;
}

static json_t *errors_json(const lg_stats *s)
{
    json_t *obj = json_object();
    for (int i = 0; obj != NULL && i < LG_ERROR_KINDS; i++)
        json_object_set_new(obj, lg_error_kind_name(i), json_integer((json_int_t)s->errors[i]));
    return obj;
}

json_t *lg_result_to_json(const lg_result *r)
{
    json_t *doc = result_json(r);
    if (doc != NULL && r->stats.series != NULL &&
        json_object_set_new(doc, "series", lg_series_to_json(r->stats.series)) < 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static json_t *result_json(const lg_result *r)
{
    const lg_stats *s = &r->stats;
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,"
        "s:b,s:o,s:o,s:o,s:o,s:{s:o,s:o}}",
        "format", LG_RESULT_FORMAT, "mode", r->mode, "target", r->target, "rate", r->rate,
        "connections", r->connections, "threads", r->threads, "runs", r->runs, "requests",
        (json_int_t)s->sent, "responses", (json_int_t)s->responses, "errors_total",
        (json_int_t)lg_stats_error_total(s), "unfinished", (json_int_t)s->unfinished,
        "late_sends", (json_int_t)s->late, "not_sent", (json_int_t)s->not_sent,
        "requests_per_second", r->requests_per_second, "target_rate", r->target_rate,
        "achieved_rate", r->achieved_rate, "send_seconds", r->send_seconds,
        "elapsed_seconds", r->elapsed_seconds, "cpu_wait_seconds",
        (double)s->cpu_wait_us / 1e6, "interrupted", r->interrupted, "status",
        status_json(s), "errors", errors_json(s), "latency_us",
        lg_latency_summary_json(s->latency), "service_time_us",
        lg_latency_summary_json(s->service), "histograms", "latency",
        lg_hist_to_json(s->latency), "service_time", lg_hist_to_json(s->service));
}

/* Returns the status code a "status" key names: 1 .. LG_STATUS_CODES - 1
 * for digits, 0 for "other", -1 for anything else. */
static int status_key_code(const char *key)
{
    if (strcmp(key, "other") == 0)
        return 0;
    int code = 0;
    for (const char *c = key; *c != '\0'; c++) {
        if (*c < '0' || *c > '9' || c - key >= 3)
            return -1;
        code = code * 10 + (*c - '0');
    }
    return key[0] != '\0' && code > 0 && code < LG_STATUS_CODES ? code : -1;
}

static int read_counts(lg_stats *s, const json_t *j, const char *where, rl_error *err)
{
    const char *key;
    json_t *value;
    char field[96];
    uint64_t status_total = 0;
    json_object_foreach((json_t *)json_object_get(j, "status"), key, value)
    {
        int code = status_key_code(key);
        if (code < 0) {
            rl_error_set(err, "%s: status \"%.32s\" is not a status code: expected 1 to "
                              "%d or \"other\"",
                         where, key, LG_STATUS_CODES - 1);
            return LG_ERR_INVALID;
        }
        snprintf(field, sizeof(field), "status \"%s\"", key);
        if (check_count(value, where, field, err) < 0)
            return LG_ERR_INVALID;
        s->status[code] += (uint64_t)json_integer_value(value);
        status_total += (uint64_t)json_integer_value(value);
    }
    if (status_total != s->responses) {
        rl_error_set(err, "%s: the status counts add up to %" PRIu64 ", but responses is "
                          "%" PRIu64 "; the file was changed or is damaged",
                     where, status_total, s->responses);
        return LG_ERR_INVALID;
    }
    for (int i = 0; i < LG_ERROR_KINDS; i++) {
        json_t *n = json_object_get(json_object_get(j, "errors"), lg_error_kind_name(i));
        snprintf(field, sizeof(field), "errors \"%s\"", lg_error_kind_name(i));
        if (n != NULL && check_count(n, where, field, err) < 0)
            return LG_ERR_INVALID;
        if (n != NULL)
            s->errors[i] += (uint64_t)json_integer_value(n);
    }
    return 0;
}

/* Checks the fields that json_unpack only type-checks: counts and times
 * must not be negative, and times must be finite. */
static int check_result_ranges(const json_t *j, const char *where, rl_error *err)
{
    static const char *const counts[] = {"connections", "threads", "requests",
                                         "responses", "unfinished", "late_sends",
                                         "not_sent"};
    static const char *const reals[] = {"requests_per_second", "target_rate",
                                        "achieved_rate", "send_seconds",
                                        "elapsed_seconds", "cpu_wait_seconds"};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
        if (check_count(json_object_get(j, counts[i]), where, counts[i], err) < 0)
            return LG_ERR_INVALID;
    json_t *runs = json_object_get(j, "runs");
    if (runs != NULL && (!json_is_integer(runs) || json_integer_value(runs) < 1)) {
        rl_error_set(err, "%s: runs is invalid: expected a whole number of at least 1",
                     where);
        return LG_ERR_INVALID;
    }
    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        json_t *v = json_object_get(j, reals[i]);
        double x = json_number_value(v);
        if (v != NULL && (!json_is_number(v) || !(x >= 0) || x > 1e15)) {
            rl_error_set(err, "%s: %s is invalid: expected a number from 0 to 1e15", where,
                         reals[i]);
            return LG_ERR_INVALID;
        }
    }
    return 0;
}

int lg_result_from_json(lg_result *r, const json_t *j, const char *where, rl_error *err)
{
    const char *format = json_string_value(json_object_get(j, "format"));
    if (format == NULL || strcmp(format, LG_RESULT_FORMAT) != 0) {
        rl_error_set(err, "%s: not a ratelab load result (expected \"format\": \"%s\"); "
                          "write one with 'ratelab load --json --out FILE'",
                     where, LG_RESULT_FORMAT);
        return LG_ERR_INVALID;
    }

    int rc = check_result_ranges(j, where, err);
    if (rc < 0)
        return rc;

    json_int_t sent = 0, responses = 0, unfinished = 0, late = 0, not_sent = 0;
    int connections = 0, threads = 0, runs = 1, interrupted = 0;
    const char *mode = "", *target = "", *rate = "";
    double rps = 0, target_rate = 0, achieved = 0, send_s = 0, elapsed_s = 0;
    double cpu_wait_s = 0; /* optional: results written before it existed lack it */
    json_t *hists = NULL;
    if (json_unpack((json_t *)j,
                    "{s:s,s:s,s:s,s:i,s:i,s?i,s:I,s:I,s:I,s:I,s:I,s:F,s:F,s:F,s:F,s:F,"
                    "s?F,s:b,s:o}",
                    "mode", &mode, "target", &target, "rate", &rate, "connections",
                    &connections, "threads", &threads, "runs", &runs, "requests", &sent,
                    "responses", &responses, "unfinished", &unfinished, "late_sends",
                    &late, "not_sent", &not_sent, "requests_per_second", &rps,
                    "target_rate", &target_rate, "achieved_rate", &achieved,
                    "send_seconds", &send_s, "elapsed_seconds", &elapsed_s,
                    "cpu_wait_seconds", &cpu_wait_s, "interrupted",
                    &interrupted, "histograms", &hists) != 0) {
        rl_error_set(err, "%s: a load result key is missing or has the wrong type", where);
        return LG_ERR_INVALID;
    }

    lg_stats *s = &r->stats;
    s->sent = (uint64_t)sent;
    s->responses = (uint64_t)responses;
    s->unfinished = (uint64_t)unfinished;
    s->late = (uint64_t)late;
    s->not_sent = (uint64_t)not_sent;
    s->cpu_wait_us = cpu_wait_s > 0 ? (uint64_t)(cpu_wait_s * 1e6 + 0.5) : 0;
    snprintf(r->mode, sizeof(r->mode), "%s", mode);
    snprintf(r->target, sizeof(r->target), "%s", target);
    snprintf(r->rate, sizeof(r->rate), "%s", rate);
    r->connections = connections;
    r->threads = threads;
    r->runs = runs;
    r->interrupted = interrupted;
    r->requests_per_second = rps;
    r->target_rate = target_rate;
    r->achieved_rate = achieved;
    r->send_seconds = send_s;
    r->elapsed_seconds = elapsed_s;

    rc = read_counts(s, j, where, err);
    char hist_where[600];
    snprintf(hist_where, sizeof(hist_where), "%s: histograms.latency", where);
    if (rc == 0)
        rc = lg_hist_from_json(s->latency, json_object_get(hists, "latency"), hist_where,
                               err);
    snprintf(hist_where, sizeof(hist_where), "%s: histograms.service_time", where);
    if (rc == 0)
        rc = lg_hist_from_json(s->service, json_object_get(hists, "service_time"),
                               hist_where, err);
    /* Optional: results of older builds have no series. */
    json_t *series = json_object_get(j, "series");
    if (rc == 0 && series != NULL) {
        s->series = lg_series_from_json(series, where, err);
        if (s->series == NULL)
            rc = LG_ERR_INVALID;
    }
    return rc;
}

int lg_json_write(const json_t *doc, const char *path, rl_error *err)
{
    int to_stdout = path == NULL || strcmp(path, "-") == 0;
    FILE *f = to_stdout ? stdout : fopen(path, "w");
    if (f == NULL) {
        rl_error_set(err, "cannot write %s: %s", path, strerror(errno));
        return LG_ERR_INVALID;
    }
    return lg_json_write_file(doc, f, to_stdout ? NULL : path, err);
}

int lg_json_write_file(const json_t *doc, FILE *f, const char *path, rl_error *err)
{
    int rc = json_dumpf(doc, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (rc == 0)
        rc = fputc('\n', f) == EOF ? -1 : 0;
    if (path == NULL)
        rc |= fflush(f);
    else
        rc |= fclose(f);
    if (rc != 0) {
        rl_error_set(err, "cannot write %s: %s", path == NULL ? "standard output" : path,
                     strerror(errno));
        return LG_ERR_INVALID;
    }
    return 0;
}

/* ---- text ------------------------------------------------------------- */

static void print_latency(FILE *out, const char *what, const lg_hist *h)
{
    if (h->total == 0) {
        fprintf(out, "  %-13s no responses\n", what);
        return;
    }
    fprintf(out,
            "  %-13s p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n",
            what, lg_hist_percentile(h, 50) / 1e3, lg_hist_percentile(h, 90) / 1e3,
            lg_hist_percentile(h, 99) / 1e3, lg_hist_percentile(h, 99.9) / 1e3,
            h->max_us / 1e3);
}

void lg_result_print_text(FILE *out, const lg_result *r)
{
    const lg_stats *s = &r->stats;
    fprintf(out, "target      %s\n", r->target);
    int show_rate = r->rate[0] != '\0' && strcmp(r->rate, r->mode) != 0;
    fprintf(out, "mode        %s%s%s, %d connections, %d threads%s\n", r->mode,
            show_rate ? " " : "", show_rate ? r->rate : "", r->connections, r->threads,
            r->runs > 1 ? " (merged)" : "");
    fprintf(out, "requests    %" PRIu64 " sent, %" PRIu64 " responses, %" PRIu64
                 " errors, %" PRIu64 " unfinished in %.2f s (%.2f s with drain)\n",
            s->sent, s->responses, lg_stats_error_total(s), s->unfinished, r->send_seconds,
            r->elapsed_seconds);
    fprintf(out, "throughput  %.1f responses/s", r->requests_per_second);
    if (r->target_rate > 0)
        fprintf(out, "; sent %.1f/s against a target of %.1f/s (%.2f %%)", r->achieved_rate,
                r->target_rate, 100.0 * r->achieved_rate / r->target_rate);
    fputc('\n', out);
    if (strcmp(r->mode, "max") != 0)
        fprintf(out, "pacing      %" PRIu64 " late sends (> 1 ms after the intended time), %" PRIu64
                     " not sent (no free connection in time)\n",
                s->late, s->not_sent);
    if (s->cpu_wait_us > 0 && r->elapsed_seconds > 0)
        fprintf(out, "cpu wait    %.2f s: worker threads ready to run but waiting for a CPU "
                     "(%.0f %% of %d threads x %.2f s)\n",
                s->cpu_wait_us / 1e6,
                100.0 * (s->cpu_wait_us / 1e6) / (r->threads * r->elapsed_seconds),
                r->threads, r->elapsed_seconds);

    fprintf(out, "status     ");
    int any = 0;
    for (int i = 0; i < LG_STATUS_CODES; i++) {
        if (s->status[i] == 0)
            continue;
        if (i == 0)
            fprintf(out, " other: %" PRIu64, s->status[i]);
        else
            fprintf(out, " %d: %" PRIu64, i, s->status[i]);
        any = 1;
    }
    fprintf(out, "%s\n", any ? "" : " none");
    fprintf(out, "errors     ");
    for (int i = 0; i < LG_ERROR_KINDS; i++)
        fprintf(out, " %s: %" PRIu64, lg_error_kind_name(i), s->errors[i]);
    fputc('\n', out);
    fprintf(out, "latency (from the intended send time; service time from the actual "
                 "send):\n");
    print_latency(out, "latency", s->latency);
    print_latency(out, "service time", s->service);
    if (r->interrupted)
        fprintf(out, "interrupted: the run was stopped before its end\n");
}
