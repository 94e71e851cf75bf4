/*
 * rpt_realism.c: report sections for the realism models (see
 * rpt_realism.h).  Reads the result only.
 *
 * Text layout, after the global line (the Markdown report has the same
 * sections as paragraphs and tables, and a table of the client models):
 *   server    replicas, store, race estimate or per-replica counting, and
 *             the estimated overshoot
 *   clock     where the server's day starts in true UTC
 *   honest    requests of auth-valid populations, their rejections and the
 *             first one (only when some population has auth = invalid)
 *   retries   how many requests were retries of a 429
 *   trace     rows replayed and bad rows skipped
 *   compare   one row per policy of the [compare] section
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rl_time.h"
#include "rpt.h"
#include "rpt_realism.h"

/* Room for one sentence of a report; longer ones are cut. */
#define RPT_REALISM_LINE_MAX 512

/* Appends printf output at *used, never past len. */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
    va_list ap;

    if (*used >= len)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used += (size_t)n;
}

void rpt_realism_describe_population(const sim_pop_result *p, char *buf, size_t len)
{
    const sim_realism_pop *m = &p->config.realism;
    char a[32], b[32], on429[96];
    size_t used = 0;

    buf[0] = '\0';
    if (m->restart_every_us > 0) {
        rl_duration_format(m->restart_every_us, a, sizeof(a));
        append(buf, len, &used, ", restart every %s", a);
        if (m->restart_jitter_us > 0) {
            rl_duration_format(m->restart_jitter_us, b, sizeof(b));
            append(buf, len, &used, " +-%s", b);
        }
    }
    if (m->on429.kind != SIM_ON429_NONE) {
        sim_on429_format(&m->on429, on429, sizeof(on429));
        append(buf, len, &used, ", on_429 %s", on429);
    }
    if (m->target == SIM_TARGET_POPULATION)
        append(buf, len, &used, ", aimed at %s's hotkeys", m->target_name);
    else if (m->target == SIM_TARGET_RANDOM)
        append(buf, len, &used, ", aimed at random hotkeys");
}

void rpt_realism_text_population(FILE *out, const sim_pop_result *p)
{
    const sim_realism_pop *m = &p->config.realism;
    const sim_realism_pop_result *z = &p->realism;

    if (m->on429.kind != SIM_ON429_NONE)
        fprintf(out, "    %-18s %lld of the requests; %lld rejected requests given up\n",
                "retries", (long long)z->retries, (long long)z->gave_up);
    if (m->restart_every_us > 0)
        fprintf(out, "    %-18s %lld; %lld scheduled requests dropped by them\n",
                "restarts", (long long)z->restarts, (long long)z->dropped);
}

/* Describes the servers ("3 replicas sharing one store, rtt 2ms, ...") in
 * what and their estimated overshoot in overshoot.  Returns 0 when the run
 * models a single server with a shared store (nothing to say). */
static int describe_server(const sim_result *r, char *what, size_t what_len,
                           char *overshoot, size_t overshoot_len)
{
    const sim_realism *m = &r->realism.config;
    const sim_realism_result *z = &r->realism;
    char rtt[32], every[32];

    if (m->replicas < 2 && m->store == SIM_STORE_SHARED)
        return 0;
    rl_duration_format(m->rtt_us, rtt, sizeof(rtt));
    if (m->store == SIM_STORE_SHARED)
        snprintf(what, what_len, "%lld replicas sharing one store, rtt %s, %s",
                 (long long)m->replicas, rtt,
                 m->rtt_us > 0 && r->policy == RL_POLICY_DEPLOYED
                     ? "race of the deployed read-then-increment modelled"
                     : "no race modelled (atomic policy or rtt 0)");
    else {
        char restarts[64] = "no replica restarts";
        if (m->replica_restart_every_us > 0) {
            rl_duration_format(m->replica_restart_every_us, every, sizeof(every));
            snprintf(restarts, sizeof(restarts), "replicas restart every %s", every);
        }
        snprintf(what, what_len, "%lld replica%s counting in their own memory (%s), %s",
                 (long long)(m->replicas > 1 ? m->replicas : 1),
                 m->replicas > 1 ? "s" : "",
                 m->balance == SIM_BALANCE_RANDOM ? "random" : "round-robin", restarts);
    }
    snprintf(overshoot, overshoot_len,
             "estimated overshoot: %lld requests over per-client limits (at most %lld "
             "over in one client-window), %lld over the total",
             (long long)z->overshoot_client, (long long)z->overshoot_max_per_window,
             (long long)z->overshoot_global);
    return 1;
}

int rpt_realism_replica_counter(const sim_result *r, char *buf, size_t len)
{
    const sim_realism *m = &r->realism.config;

    buf[0] = '\0';
    if (!r->realism.active || m->store != SIM_STORE_PER_REPLICA)
        return 0;
    if (m->replicas > 1)
        snprintf(buf, len,
                 "each of the %lld replicas enforces the total on its own counter; the "
                 "highest one reached %lld",
                 (long long)m->replicas, (long long)r->realism.peak_replica_counter);
    else
        snprintf(buf, len,
                 "the replica enforces the total on its own counter, which restarts "
                 "empty; it reached %lld",
                 (long long)r->realism.peak_replica_counter);
    return 1;
}

static void write_server(FILE *out, const sim_result *r)
{
    char what[RPT_REALISM_LINE_MAX], overshoot[RPT_REALISM_LINE_MAX];

    if (describe_server(r, what, sizeof(what), overshoot, sizeof(overshoot)))
        fprintf(out, "  server    %s\n            %s\n", what, overshoot);
}

/* Describes where the server's day starts in true UTC ("the server's day
 * starts at 01:00:00 UTC (clock +1h, window utc-day)").  Returns 0 when it
 * starts at midnight UTC: no clock offset and no utc+HH:MM window. */
static int describe_clock(const sim_result *r, char *buf, size_t len)
{
    const sim_realism *m = &r->realism.config;
    char offset[32], window[32];
    int64_t offset_us = r->realism.active ? m->clock_offset_us : 0;
    int64_t id = rl_window_id(&r->window, r->start_us + offset_us);
    int64_t start = rl_window_start_us(&r->window, id) - offset_us;
    int64_t s = rl_floor_mod(start, RL_US_PER_DAY) / RL_US_PER_SEC;

    if (offset_us == 0 && (r->window.kind != RL_WINDOW_CALENDAR_DAY ||
                           r->window.utc_offset_s == 0))
        return 0;
    rl_duration_format(offset_us < 0 ? -offset_us : offset_us, offset, sizeof(offset));
    rl_window_format(&r->window, window, sizeof(window));
    snprintf(buf, len,
             "the server's %s starts at %02lld:%02lld:%02lld UTC (clock %s%s, window %s)",
             r->window.kind == RL_WINDOW_CALENDAR_DAY ? "day" : "first window of the day",
             (long long)(s / 3600), (long long)(s / 60 % 60), (long long)(s % 60),
             offset_us < 0 ? "-" : "+", offset, window);
    return 1;
}

void rpt_realism_text_clock(FILE *out, const sim_result *r)
{
    char line[RPT_REALISM_LINE_MAX];

    if (describe_clock(r, line, sizeof(line)))
        fprintf(out, "  clock     %s\n", line);
}

/* Writes " (CLIENT)" after a time, or nothing when there is no time. */
static void format_who(int64_t t_us, const char *client, char *buf, size_t len)
{
    if (t_us == SIM_TIME_NONE)
        buf[0] = '\0';
    else
        snprintf(buf, len, " (%s)", client);
}

/* Describes what auth-valid clients got ("100 requests of auth-valid
 * clients, 3 rejected, first at ... (miners-0)").  Returns 0 when no
 * population has auth = invalid, so every client is honest. */
static int describe_honest(const sim_result *r, char *buf, size_t len)
{
    const sim_realism_result *z = &r->realism;
    char when[RL_ISO8601_MAX], who[SIM_CLIENT_ID_MAX + 4];
    int attackers = 0;

    for (int i = 0; i < r->npops; i++)
        attackers += !r->pops[i].config.auth_valid;
    if (attackers == 0)
        return 0;
    rpt_format_time(z->honest_first_rejection_us, when, sizeof(when));
    format_who(z->honest_first_rejection_us, z->honest_first_rejection_client, who,
               sizeof(who));
    snprintf(buf, len, "%lld requests of auth-valid clients, %lld rejected, first at %s%s",
             (long long)z->honest_requests, (long long)z->honest_rejected, when, who);
    return 1;
}

static void write_honest(FILE *out, const sim_result *r)
{
    char line[RPT_REALISM_LINE_MAX];

    if (describe_honest(r, line, sizeof(line)))
        fprintf(out, "  honest    %s\n", line);
}

static void write_compare(FILE *out, const sim_result *r)
{
    const sim_realism_result *z = &r->realism;
    char when[RL_ISO8601_MAX], who[SIM_CLIENT_ID_MAX + 4];

    if (z->ncompare == 0)
        return;
    fprintf(out, "  compare   %-15s %10s %10s %10s %8s  %s\n", "policy", "requests",
            "accepted", "rejected", "retries", "first rejection");
    for (int i = 0; i < z->ncompare; i++) {
        const sim_compare_row *row = &z->compare[i];
        rpt_format_time(row->first_rejection_us, when, sizeof(when));
        format_who(row->first_rejection_us, row->first_rejection_client, who, sizeof(who));
        fprintf(out, "            %-15s %10lld %10lld %10lld %8lld  %s%s\n",
                rl_algo_policy_name(row->choice.algo, row->choice.policy),
                (long long)row->requests, (long long)row->accepted,
                (long long)row->rejected, (long long)row->retries, when, who);
    }
}

void rpt_realism_text(FILE *out, const sim_result *r)
{
    const sim_realism_result *z = &r->realism;

    if (!z->active)
        return;
    write_server(out, r);
    write_honest(out, r);
    if (z->retries > 0)
        fprintf(out, "  retries   %lld of %lld requests were retries of a 429\n",
                (long long)z->retries, (long long)r->total.requests);
    if (z->trace_rows > 0)
        fprintf(out, "  trace     %lld rows replayed, %lld bad rows skipped\n",
                (long long)z->trace_rows, (long long)z->trace_skipped);
    write_compare(out, r);
}

/* ---- Markdown -------------------------------------------------------------- */

/* Names and client ids are letters, digits, '.', '_' and '-' (the scenario
 * parser checks them), so nothing below needs Markdown escaping. */

void rpt_realism_md_populations(FILE *out, const sim_result *r)
{
    char models[RPT_REALISM_LINE_MAX];
    int any = 0;

    if (!r->realism.active)
        return;
    for (int i = 0; i < r->npops && !any; i++) {
        rpt_realism_describe_population(&r->pops[i], models, sizeof(models));
        any = models[0] != '\0';
    }
    if (!any)
        return;
    fputs("| population | client model | retries | rejected requests given up | "
          "restarts | scheduled requests dropped |\n"
          "|---|---|---:|---:|---:|---:|\n",
          out);
    for (int i = 0; i < r->npops; i++) {
        const sim_pop_result *p = &r->pops[i];
        rpt_realism_describe_population(p, models, sizeof(models));
        /* The description is written to follow a header line: ", restart ...". */
        fprintf(out, "| %s | %s | %lld | %lld | %lld | %lld |\n", p->name,
                models[0] != '\0' ? models + 2 : "none", (long long)p->realism.retries,
                (long long)p->realism.gave_up, (long long)p->realism.restarts,
                (long long)p->realism.dropped);
    }
    fputc('\n', out);
}

void rpt_realism_md_clock(FILE *out, const sim_result *r)
{
    char line[RPT_REALISM_LINE_MAX];

    if (describe_clock(r, line, sizeof(line)))
        fprintf(out, "Clock: %s.\n\n", line);
}

static void md_compare(FILE *out, const sim_result *r)
{
    const sim_realism_result *z = &r->realism;
    char when[RL_ISO8601_MAX], who[SIM_CLIENT_ID_MAX + 4];

    fputs("| policy | requests | accepted | rejected | retries | first rejection |\n"
          "|---|---:|---:|---:|---:|---|\n",
          out);
    for (int i = 0; i < z->ncompare; i++) {
        const sim_compare_row *row = &z->compare[i];
        rpt_format_time(row->first_rejection_us, when, sizeof(when));
        format_who(row->first_rejection_us, row->first_rejection_client, who, sizeof(who));
        fprintf(out, "| %s | %lld | %lld | %lld | %lld | %s%s |\n",
                rl_algo_policy_name(row->choice.algo, row->choice.policy),
                (long long)row->requests, (long long)row->accepted,
                (long long)row->rejected, (long long)row->retries, when, who);
    }
    fputc('\n', out);
}

void rpt_realism_md(FILE *out, const sim_result *r)
{
    const sim_realism_result *z = &r->realism;
    char what[RPT_REALISM_LINE_MAX], overshoot[RPT_REALISM_LINE_MAX];

    if (!z->active)
        return;
    if (describe_server(r, what, sizeof(what), overshoot, sizeof(overshoot)))
        fprintf(out, "Server: %s; %s.\n\n", what, overshoot);
    if (describe_honest(r, what, sizeof(what)))
        fprintf(out, "Honest clients: %s.\n\n", what);
    if (z->retries > 0)
        fprintf(out, "Retries: %lld of %lld requests were retries of a 429.\n\n",
                (long long)z->retries, (long long)r->total.requests);
    if (z->trace_rows > 0)
        fprintf(out, "Trace: %lld rows replayed, %lld bad rows skipped.\n\n",
                (long long)z->trace_rows, (long long)z->trace_skipped);
    if (z->ncompare > 0)
        md_compare(out, r);
}

/* ---- JSON ------------------------------------------------------------------ */

json_t *rpt_realism_json_population(const sim_result *r, const sim_pop_result *p)
{
    const sim_realism_pop *m = &p->config.realism;
    char on429[96];

    if (!r->realism.active)
        return NULL;
    sim_on429_format(&m->on429, on429, sizeof(on429));
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:o}", "retries",
        (json_int_t)p->realism.retries, "gave_up", (json_int_t)p->realism.gave_up,
        "restarts", (json_int_t)p->realism.restarts, "dropped",
        (json_int_t)p->realism.dropped, "on_429", on429, "restart_every_us",
        (json_int_t)m->restart_every_us, "restart_jitter_us",
        (json_int_t)m->restart_jitter_us, "target",
        m->target == SIM_TARGET_OWN      ? json_null()
        : m->target == SIM_TARGET_RANDOM ? json_string("random")
                                         : json_string(m->target_name));
}

static json_t *compare_array(const sim_result *r)
{
    json_t *a = json_array();

    for (int i = 0; a != NULL && i < r->realism.ncompare; i++) {
        const sim_compare_row *row = &r->realism.compare[i];
        json_t *o = json_pack(
            "{s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "policy",
            rl_algo_policy_name(row->choice.algo, row->choice.policy), "requests",
            (json_int_t)row->requests, "accepted", (json_int_t)row->accepted, "rejected",
            (json_int_t)row->rejected, "retries", (json_int_t)row->retries,
            "first_rejection", rpt_json_time(row->first_rejection_us),
            "first_rejection_client",
            row->first_rejection_us == SIM_TIME_NONE
                ? json_null()
                : json_string(row->first_rejection_client));
        if (json_array_append_new(a, o) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

json_t *rpt_realism_json(const sim_result *r)
{
    const sim_realism_result *z = &r->realism;
    const sim_realism *m = &z->config;

    if (!z->active)
        return NULL;
    return json_pack(
        "{s:s, s:I, s:I, s:{s:I, s:I, s:o, s:o}, s:{s:I, s:s, s:I, s:s, s:I, s:I, "
        "s:I, s:I}, s:{s:b, s:I, s:I, s:I}, s:{s:I, s:I}, s:o}",
        "policy", rpt_policy_name(r), "burst", (json_int_t)m->burst, "retries",
        (json_int_t)z->retries, "honest", "requests", (json_int_t)z->honest_requests,
        "rejected", (json_int_t)z->honest_rejected, "first_rejection",
        rpt_json_time(z->honest_first_rejection_us), "first_rejection_client",
        z->honest_first_rejection_us == SIM_TIME_NONE
            ? json_null()
            : json_string(z->honest_first_rejection_client),
        "server", "replicas", (json_int_t)(m->replicas > 1 ? m->replicas : 1), "store",
        m->store == SIM_STORE_SHARED ? "shared" : "per-replica", "rtt_us",
        (json_int_t)m->rtt_us, "balance",
        m->balance == SIM_BALANCE_RANDOM ? "random" : "round-robin",
        "replica_restart_every_us", (json_int_t)m->replica_restart_every_us,
        "peak_replica_counter", (json_int_t)z->peak_replica_counter,
        "clock_offset_us", (json_int_t)m->clock_offset_us, "day_start_utc_us",
        (json_int_t)z->day_start_utc_us, "overshoot", "estimate", 1, "client",
        (json_int_t)z->overshoot_client, "global", (json_int_t)z->overshoot_global,
        "max_per_window", (json_int_t)z->overshoot_max_per_window, "trace", "rows",
        (json_int_t)z->trace_rows, "skipped", (json_int_t)z->trace_skipped, "compare",
        compare_array(r));
}
