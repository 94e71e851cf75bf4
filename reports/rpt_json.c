/*
 * rpt_json.c: the JSON report of simulator runs (jansson).
 *
 * One document per invocation: {"schema_version": 1, "scenarios": [...]}.
 * Each scenario object carries the verdict, the expectations, the limits
 * with their sources, the populations' counts and per-window statistics,
 * the global total and the hourly outcome arrays.  docs/sim.md lists every
 * field; bump RPT_JSON_SCHEMA_VERSION when a field changes meaning or goes
 * away (adding fields does not need it).
 *
 * Conventions: times are ISO-8601 UTC strings or null, durations are
 * integer microseconds (names end in _us), headrooms are fractions or null
 * (a limit of 0), counts are integers.
 *
 * Ownership: every builder returns a new reference, or NULL when out of
 * memory.  json_pack's "o" takes over the reference it is given, and a
 * NULL from a nested builder makes the outer pack fail and return NULL.
 * NOTE: whether a failed pack releases the references it already took
 * depends on the jansson version, so an out-of-memory failure may leak.
 */
#include <math.h>
#include <stdio.h>

#include "rl_time.h"
#include "rpt.h"
#include "rpt_realism.h"

json_t *rpt_json_time(int64_t t_us)
{
    char buf[RL_ISO8601_MAX];

    if (t_us == SIM_TIME_NONE)
        return json_null();
    rl_time_format_iso8601(t_us, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *fraction_or_null(double x)
{
    return isnan(x) ? json_null() : json_real(x);
}

static json_t *limit_value(const rl_limit_value *v)
{
    return json_pack("{s:I, s:s, s:s}", "value", (json_int_t)v->value, "source",
                     rl_source_name(v->source), "origin", v->origin);
}

static json_t *limits_object(const sim_result *r)
{
    char window[RL_WINDOW_LABEL_MAX + 8];
    json_t *roles = json_array();

    for (int i = 0; roles != NULL && i < r->limits.nroles; i++) {
        const rl_role_limit *role = &r->limits.roles[i];
        json_t *v = limit_value(&role->per_client);
        if (v == NULL || json_object_set_new(v, "role", json_string(role->name)) < 0 ||
            json_array_append_new(roles, v) < 0) {
            json_decref(roles);
            return NULL;
        }
    }
    rl_window_format(&r->window, window, sizeof(window));
    return json_pack("{s:s, s:s, s:o, s:o}", "window", window, "policy",
                     rpt_policy_name(r), "per_client", roles, "total",
                     limit_value(&r->limits.total));
}

/* JSON integers are signed 64-bit in jansson: a seed above 2^63 - 1 is
 * written as a decimal string instead, so it is never shown wrapped. */
static json_t *seed_value(uint64_t seed)
{
    char text[24];

    if (seed <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)seed);
    snprintf(text, sizeof(text), "%llu", (unsigned long long)seed);
    return json_string(text);
}

static json_t *run_object(const sim_result *r)
{
    return json_pack("{s:o, s:o, s:I, s:o, s:I, s:I}", "start",
                     rpt_json_time(r->start_us), "end", rpt_json_time(r->end_us), "days",
                     (json_int_t)r->days, "seed", seed_value(r->seed), "windows",
                     (json_int_t)r->n_windows, "hours", (json_int_t)r->n_hours);
}

static const char *cadence_name(sim_cadence c)
{
    return c == SIM_CADENCE_FIXED_RATE ? "fixed-rate" : "fixed-delay";
}

static const char *start_name(sim_start s)
{
    static const char *const names[] = {"spread", "together", "random", "offset"};
    return names[s];
}

static json_t *cadence_object(const sim_population *p)
{
    return json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:b}", "kind",
        cadence_name(p->cadence), "interval_us", (json_int_t)p->interval_us,
        "work_min_us", (json_int_t)p->work_min_us, "work_max_us",
        (json_int_t)p->work_max_us, "jitter_us", (json_int_t)p->jitter_us, "start",
        start_name(p->start), "start_offset_us", (json_int_t)p->start_offset_us,
        "first_delay_us", (json_int_t)p->first_delay_us, "auth_valid", p->auth_valid);
}

static json_t *population_object(const sim_pop_result *p)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I}", "name", p->name, "role",
        p->role, "clients", (json_int_t)p->clients, "limit", (json_int_t)p->limit,
        "cadence", cadence_object(&p->config), "requests",
        (json_int_t)p->counts.requests, "accepted", (json_int_t)p->counts.accepted,
        "rejected_client", (json_int_t)p->counts.rejected_client, "rejected_global",
        (json_int_t)p->counts.rejected_global, "failed_auth",
        (json_int_t)p->counts.failed_auth);
    json_t *rest = json_pack(
        "{s:{s:I, s:I, s:f, s:I}, s:I, s:o, s:o, s:o, s:{s:I, s:I}}", "per_window",
        "pairs", (json_int_t)p->per_window.pairs, "min", (json_int_t)p->per_window.min,
        "mean", p->per_window.mean, "max", (json_int_t)p->per_window.max,
        "max_window_usage", (json_int_t)p->max_window_usage, "headroom",
        fraction_or_null(p->headroom), "first_rejection",
        rpt_json_time(p->first_rejection_us), "first_rejection_client",
        p->first_rejection_us == SIM_TIME_NONE ? json_null()
                                               : json_string(p->first_rejection_client),
        "worst_window", "requests", (json_int_t)p->worst_window_requests, "rejected",
        (json_int_t)p->worst_window_rejected);

    if (o == NULL || rest == NULL || json_object_update(o, rest) < 0) {
        json_decref(o);
        o = NULL;
    }
    json_decref(rest);
    return o;
}

static json_t *totals_object(const sim_result *r)
{
    const sim_counts *c = &r->total;

    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "requests",
                     (json_int_t)c->requests, "accepted", (json_int_t)c->accepted,
                     "rejected_client", (json_int_t)c->rejected_client,
                     "rejected_global", (json_int_t)c->rejected_global, "failed_auth",
                     (json_int_t)c->failed_auth, "first_rejection",
                     rpt_json_time(r->first_rejection_us), "first_rejection_client",
                     r->first_rejection_us == SIM_TIME_NONE
                         ? json_null()
                         : json_string(r->first_rejection_client));
}

static json_t *global_object(const sim_result *r)
{
    char label[RL_WINDOW_LABEL_MAX];
    json_t *peak_window = json_null();

    if (r->global.peak_window_usage > 0) {
        rl_window_label(&r->window, r->global.peak_window_id, label, sizeof(label));
        peak_window = json_string(label);
    }
    return json_pack("{s:I, s:I, s:o, s:o, s:o}", "limit", (json_int_t)r->global.limit,
                     "peak_window_usage", (json_int_t)r->global.peak_window_usage,
                     "peak_window", peak_window, "headroom",
                     fraction_or_null(r->global.headroom), "exhausted_at",
                     rpt_json_time(r->global.exhausted_at_us));
}

static json_t *int_array(const int64_t *values, int64_t n)
{
    json_t *a = json_array();

    for (int64_t i = 0; a != NULL && i < n; i++) {
        if (json_array_append_new(a, json_integer((json_int_t)values[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static json_t *hourly_object(const sim_result *r)
{
    return json_pack("{s:o, s:o, s:o}", "accepted",
                     int_array(r->accepted_per_hour, r->n_hours), "rejected",
                     int_array(r->rejected_per_hour, r->n_hours), "failed_auth",
                     int_array(r->failed_auth_per_hour, r->n_hours));
}

/* Builds an array with one element per item; NULL when any build fails. */
static json_t *populations_array(const sim_result *r)
{
    json_t *a = json_array();

    for (int i = 0; a != NULL && i < r->npops; i++) {
        json_t *o = population_object(&r->pops[i]);
        /* The realism engine's results, under "realism" (absent otherwise). */
        if (o != NULL && r->realism.active &&
            json_object_set_new(o, "realism", rpt_realism_json_population(r, &r->pops[i])) < 0) {
            json_decref(o);
            o = NULL;
        }
        if (json_array_append_new(a, o) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static json_t *expectations_array(const sim_result *r)
{
    json_t *a = json_array();

    for (int i = 0; a != NULL && i < r->nexpectations; i++) {
        const sim_expect_result *e = &r->expectations[i];
        json_t *o = json_pack("{s:s, s:b, s:s}", "key", e->key, "met", e->met,
                              "explanation", e->explanation);
        if (json_array_append_new(a, o) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

json_t *rpt_json_scenario(const sim_result *r)
{
    char verdict[512];
    json_t *o;

    rpt_text_verdict(r, verdict, sizeof(verdict));
    o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name",
        r->name, "path", r->path, "description", r->description, "verdict",
        sim_verdict_name(r), "summary", verdict, "expectations_met",
        r->expectations_met, "expectations", expectations_array(r), "run",
        run_object(r), "limits", limits_object(r), "populations", populations_array(r),
        "totals", totals_object(r), "global", global_object(r), "hourly",
        hourly_object(r));
    if (o != NULL && r->realism.active &&
        json_object_set_new(o, "realism", rpt_realism_json(r)) < 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

json_t *rpt_json_document_create(void)
{
    return json_pack("{s:i, s:[]}", "schema_version", RPT_JSON_SCHEMA_VERSION,
                     "scenarios");
}

int rpt_json_document_add(json_t *doc, const sim_result *r)
{
    json_t *list = json_object_get(doc, "scenarios");
    json_t *scenario = rpt_json_scenario(r);

    if (list == NULL || scenario == NULL) {
        json_decref(scenario);
        return RPT_ERR_NOMEM;
    }
    return json_array_append_new(list, scenario) < 0 ? RPT_ERR_NOMEM : RPT_OK;
}

int rpt_json_write(FILE *out, const json_t *doc)
{
    /* Ten significant digits print 0.424 as 0.424, not 0.42399999999999999. */
    size_t flags = JSON_INDENT(2) | JSON_REAL_PRECISION(10);

    if (json_dumpf(doc, out, flags) < 0 || fputc('\n', out) == EOF || ferror(out))
        return RPT_ERR_IO;
    return RPT_OK;
}
