/*
 * rpt_text.c: the text report of a simulator run.
 *
 * Layout (two-space indents, one blank line between blocks):
 *   verdict line       FITS or REJECTS, the scenario name and the figures
 *   scenario, run      where it came from, the simulated interval, window,
 *                      policy and seed
 *   limits             every role's per-client limit and the total, each
 *                      with its source ("scenario (file.ini:7)", "default")
 *   one block per population: counts, requests per client per window,
 *                      headroom, first rejection
 *   global             the total's peak usage per window and its exhaustion
 *   expect             one line per [expect] key, met or failed
 *
 * The report only reads the result; it never changes it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rl_time.h"
#include "rpt.h"
#include "rpt_realism.h"

#define UNIT_MAX 32
#define LINE_MAX_TEXT 160

const char *rpt_strerror(int status)
{
    switch (status) {
    case RPT_OK:
        return "success";
    case RPT_ERR_NOMEM:
        return "out of memory";
    case RPT_ERR_IO:
        return "write failed";
    default:
        return "unknown error";
    }
}

/* "day" for calendar windows, the length ("60s") for fixed ones. */
static void window_unit(const rl_window *w, char *buf, size_t len)
{
    if (w->kind == RL_WINDOW_CALENDAR_DAY)
        snprintf(buf, len, "day");
    else
        rl_window_format(w, buf, len);
}

/* "client-day" or "client-window". */
static const char *pair_name(const rl_window *w)
{
    return w->kind == RL_WINDOW_CALENDAR_DAY ? "client-day" : "client-window";
}

/* The population with the lowest headroom (limit above 0), else the first. */
static const sim_pop_result *binding_population(const sim_result *r)
{
    const sim_pop_result *best = &r->pops[0];

    for (int i = 0; i < r->npops; i++) {
        const sim_pop_result *p = &r->pops[i];
        if (isnan(best->headroom) ||
            (!isnan(p->headroom) && p->headroom < best->headroom))
            best = p;
    }
    return best;
}

/* The population whose worst client-window lost the most requests. */
static const sim_pop_result *worst_population(const sim_result *r)
{
    const sim_pop_result *worst = &r->pops[0];

    for (int i = 1; i < r->npops; i++)
        if (r->pops[i].worst_window_rejected > worst->worst_window_rejected)
            worst = &r->pops[i];
    return worst;
}

static int verdict_fits(const sim_result *r, char *buf, size_t len)
{
    const sim_pop_result *p = binding_population(r);
    char unit[UNIT_MAX], pct[UNIT_MAX], who[SIM_NAME_MAX + 4] = "";
    int n;

    window_unit(&r->window, unit, sizeof(unit));
    sim_format_headroom(p->max_window_usage, p->limit, pct, sizeof(pct));
    if (r->npops > 1)
        snprintf(who, sizeof(who), " (%s)", p->name);
    n = snprintf(buf, len,
                 "FITS  %s: %lld requests/%s per %s%s against %lld/%s, headroom %s",
                 r->name, (long long)p->max_window_usage, unit, p->role, who,
                 (long long)p->limit, unit, pct);

    /* Name the total as well when it is the tighter limit. */
    if (!isnan(r->global.headroom) &&
        (isnan(p->headroom) || r->global.headroom < p->headroom) && n >= 0 &&
        (size_t)n < len) {
        char gpct[UNIT_MAX];
        sim_format_headroom(r->global.peak_window_usage, r->global.limit, gpct,
                            sizeof(gpct));
        n += snprintf(buf + n, len - (size_t)n, "; total %lld of %lld/%s, headroom %s",
                      (long long)r->global.peak_window_usage,
                      (long long)r->global.limit, unit, gpct);
    }
    return n;
}

static int verdict_rejects(const sim_result *r, char *buf, size_t len)
{
    const sim_pop_result *p = worst_population(r);
    char when[RL_ISO8601_MAX], unit[UNIT_MAX];
    int n;

    rpt_format_time(r->first_rejection_us, when, sizeof(when));
    window_unit(&r->window, unit, sizeof(unit));
    n = snprintf(
        buf, len, "REJECTS %s: first rejection %s (%s); %lld of %lld rejected per %s",
        r->name, when, r->first_rejection_client, (long long)p->worst_window_rejected,
        (long long)p->worst_window_requests, pair_name(&r->window));

    if (r->global.exhausted_at_us != SIM_TIME_NONE && n >= 0 && (size_t)n < len) {
        rpt_format_time(r->global.exhausted_at_us, when, sizeof(when));
        n += snprintf(buf + n, len - (size_t)n, "; total %lld/%s exhausted at %s",
                      (long long)r->global.limit, unit, when);
    }
    return n;
}

int rpt_text_verdict(const sim_result *r, char *buf, size_t len)
{
    return r->fits ? verdict_fits(r, buf, len) : verdict_rejects(r, buf, len);
}

static void write_run(FILE *out, const sim_result *r)
{
    char start[RL_ISO8601_MAX], end[RL_ISO8601_MAX], window[UNIT_MAX];

    fprintf(out, "  scenario  %s (%s)\n", r->name, r->path);
    if (r->description[0] != '\0')
        fprintf(out, "            %s\n", r->description);
    rpt_format_time(r->start_us, start, sizeof(start));
    rpt_format_time(r->end_us, end, sizeof(end));
    rl_window_format(&r->window, window, sizeof(window));
    fprintf(out,
            "  run       %s to %s (%lld day%s), window %s (%lld window%s), "
            "policy %s, seed %llu\n",
            start, end, (long long)r->days, r->days == 1 ? "" : "s", window,
            (long long)r->n_windows, r->n_windows == 1 ? "" : "s",
            rpt_policy_name(r), (unsigned long long)r->seed);
}

static void write_limit(FILE *out, const char *label, const char *name,
                        const rl_limit_value *v, const char *unit)
{
    char amount[UNIT_MAX + 24];

    snprintf(amount, sizeof(amount), "%lld/%s", (long long)v->value, unit);
    fprintf(out, "  %-8s  %-10s %-14s %s", label, name, amount,
            rl_source_name(v->source));
    if (v->origin[0] != '\0' && strcmp(v->origin, rl_source_name(v->source)) != 0)
        fprintf(out, " (%s)", v->origin);
    fputc('\n', out);
}

static void write_limits(FILE *out, const sim_result *r)
{
    char unit[UNIT_MAX];

    window_unit(&r->window, unit, sizeof(unit));
    for (int i = 0; i < r->limits.nroles; i++)
        write_limit(out, i == 0 ? "limits" : "", r->limits.roles[i].name,
                    &r->limits.roles[i].per_client, unit);
    write_limit(out, "", "total", &r->limits.total, unit);
}

/* "fixed-rate every 5m", "fixed-delay 5m after 30s..1m30s of work". */
static void describe_cadence(const sim_population *p, char *buf, size_t len)
{
    char interval[UNIT_MAX], a[UNIT_MAX], b[UNIT_MAX];
    int n;

    rl_duration_format(p->interval_us, interval, sizeof(interval));
    if (p->cadence == SIM_CADENCE_FIXED_RATE) {
        n = snprintf(buf, len, "fixed-rate every %s", interval);
    } else {
        rl_duration_format(p->work_min_us, a, sizeof(a));
        rl_duration_format(p->work_max_us, b, sizeof(b));
        if (p->work_min_us == p->work_max_us)
            n = snprintf(buf, len, "fixed-delay %s after %s of work", interval, a);
        else
            n = snprintf(buf, len, "fixed-delay %s after %s..%s of work", interval, a,
                         b);
    }
    if (p->jitter_us > 0 && n >= 0 && (size_t)n < len) {
        rl_duration_format(p->jitter_us, a, sizeof(a));
        snprintf(buf + n, len - (size_t)n, ", jitter +-%s", a);
    }
}

/* "start spread", "start together, first after 30m". */
static void describe_start(const sim_population *p, char *buf, size_t len)
{
    static const char *const words[] = {"spread", "together", "random", "offset"};
    char offset[UNIT_MAX] = "", delay[UNIT_MAX + 16] = "";

    if (p->start == SIM_START_OFFSET) {
        offset[0] = ' ';
        rl_duration_format(p->start_offset_us, offset + 1, sizeof(offset) - 1);
    }
    if (p->first_delay_us > 0) {
        char d[UNIT_MAX];
        rl_duration_format(p->first_delay_us, d, sizeof(d));
        snprintf(delay, sizeof(delay), ", first after %s", d);
    }
    snprintf(buf, len, "start %s%s%s", words[p->start], offset, delay);
}

static void write_population(FILE *out, const sim_result *r, const sim_pop_result *p)
{
    char cadence[LINE_MAX_TEXT], start[LINE_MAX_TEXT], pct[UNIT_MAX];
    char when[RL_ISO8601_MAX], unit[UNIT_MAX], per[UNIT_MAX + 16];
    char models[LINE_MAX_TEXT];

    describe_cadence(&p->config, cadence, sizeof(cadence));
    describe_start(&p->config, start, sizeof(start));
    rpt_realism_describe_population(p, models, sizeof(models));
    if (r->realism.trace_rows > 0) { /* a replay has no cadence */
        snprintf(cadence, sizeof(cadence), "request times from the trace");
        start[0] = '\0';
    }
    window_unit(&r->window, unit, sizeof(unit));
    fprintf(out, "  population %s: %lld client%s, role %s, %s%s%s%s%s\n", p->name,
            (long long)p->clients, p->clients == 1 ? "" : "s", p->role, cadence,
            start[0] != '\0' ? ", " : "", start,
            p->config.auth_valid ? "" : ", auth invalid", models);

    fprintf(out, "    %-18s %lld\n", "requests", (long long)p->counts.requests);
    fprintf(out, "    %-18s %lld\n", "accepted", (long long)p->counts.accepted);
    fprintf(out, "    %-18s %lld by the client limit, %lld by the total\n", "rejected",
            (long long)p->counts.rejected_client, (long long)p->counts.rejected_global);
    if (!p->config.auth_valid || p->counts.failed_auth > 0)
        fprintf(out, "    %-18s %lld\n", "failed auth",
                (long long)p->counts.failed_auth);

    snprintf(per, sizeof(per), "per %s", pair_name(&r->window));
    fprintf(out, "    %-18s min %lld, mean %.1f, max %lld; limit %lld/%s\n", per,
            (long long)p->per_window.min, p->per_window.mean,
            (long long)p->per_window.max, (long long)p->limit, unit);
    sim_format_headroom(p->max_window_usage, p->limit, pct, sizeof(pct));
    fprintf(out, "    %-18s %s\n", "headroom", pct);
    rpt_format_time(p->first_rejection_us, when, sizeof(when));
    if (p->first_rejection_us == SIM_TIME_NONE)
        fprintf(out, "    %-18s none\n", "first rejection");
    else
        fprintf(out, "    %-18s %s (%s)\n", "first rejection", when,
                p->first_rejection_client);
    rpt_realism_text_population(out, p);
}

static void write_totals(FILE *out, const sim_result *r)
{
    const sim_counts *c = &r->total;

    fprintf(out,
            "  all populations: %lld requests, %lld accepted, %lld rejected by "
            "client limits, %lld by the total, %lld failed auth\n",
            (long long)c->requests, (long long)c->accepted,
            (long long)c->rejected_client, (long long)c->rejected_global,
            (long long)c->failed_auth);
}

static void write_global(FILE *out, const sim_result *r)
{
    char unit[UNIT_MAX], pct[UNIT_MAX], label[RL_WINDOW_LABEL_MAX] = "-";
    char when[RL_ISO8601_MAX], replicas[LINE_MAX_TEXT];

    window_unit(&r->window, unit, sizeof(unit));
    sim_format_headroom(r->global.peak_window_usage, r->global.limit, pct, sizeof(pct));
    if (r->global.peak_window_usage > 0)
        rl_window_label(&r->window, r->global.peak_window_id, label, sizeof(label));
    int per_replica = rpt_realism_replica_counter(r, replicas, sizeof(replicas));
    fprintf(out, "  global    total %lld/%s: peak %lld %sin one window (%s), headroom %s",
            (long long)r->global.limit, unit, (long long)r->global.peak_window_usage,
            per_replica ? "counted over all replicas " : "", label, pct);
    if (r->global.exhausted_at_us == SIM_TIME_NONE) {
        fputs(", never exhausted\n", out);
    } else {
        rpt_format_time(r->global.exhausted_at_us, when, sizeof(when));
        fprintf(out, ", exhausted at %s\n", when);
    }
    if (per_replica)
        fprintf(out, "            %s\n", replicas);
}

static void write_expectations(FILE *out, const sim_result *r)
{
    int met = 0;

    if (r->nexpectations == 0) {
        fputs("  expect    nothing (the scenario has no [expect] section)\n", out);
        return;
    }
    for (int i = 0; i < r->nexpectations; i++)
        met += r->expectations[i].met;
    fprintf(out, "  expect    %d of %d met\n", met, r->nexpectations);
    for (int i = 0; i < r->nexpectations; i++)
        fprintf(out, "    %-7s %s\n", r->expectations[i].met ? "ok" : "FAILED",
                r->expectations[i].explanation);
}

int rpt_text_write(FILE *out, const sim_result *r)
{
    char verdict[2 * LINE_MAX_TEXT + 2 * SIM_NAME_MAX];

    rpt_text_verdict(r, verdict, sizeof(verdict));
    fprintf(out, "%s\n\n", verdict);
    write_run(out, r);
    write_limits(out, r);
    fputc('\n', out);
    for (int i = 0; i < r->npops; i++) {
        if (i > 0)
            fputc('\n', out);
        write_population(out, r, &r->pops[i]);
    }
    if (r->npops > 1) {
        fputc('\n', out);
        write_totals(out, r);
    }
    fputc('\n', out);
    write_global(out, r);
    rpt_realism_text_clock(out, r);
    rpt_realism_text(out, r);
    write_expectations(out, r);
    return ferror(out) ? RPT_ERR_IO : RPT_OK;
}
