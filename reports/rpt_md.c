/*
 * rpt_md.c: the Markdown report of simulator runs, for people reading a
 * pull request, a wiki page or a CI summary.
 *
 * Layout: a title, an optional intro, an overview table with one row per
 * scenario (verdict and the answer in words), then a section per scenario:
 * its verdict line, the run, the limits with their sources, a table of the
 * populations, the global total, the realism sections of the text report
 * (rpt_realism.h) when the run has them, the expectations and, in an --out
 * directory, the plots.  Table cells escape '|' so names and explanations
 * cannot break a table.
 */
#include <math.h>
#include <string.h>

#include "rl_time.h"
#include "rpt_formats.h"
#include "rpt_realism.h"

#define LINE_MAX_MD 1024

/* Writes text with table separators escaped and HTML's < > & as
 * entities, so "<tags>" in a description shows instead of vanishing. */
static void put_cell(FILE *out, const char *text)
{
    for (const char *c = text; *c != '\0'; c++) {
        if (*c == '<')
            fputs("&lt;", out);
        else if (*c == '>')
            fputs("&gt;", out);
        else if (*c == '&')
            fputs("&amp;", out);
        else if (*c == '|')
            fputs("\\|", out);
        else
            fputc(*c == '\n' ? ' ' : *c, out);
    }
}

static void window_unit(const rl_window *w, char *buf, size_t len)
{
    if (w->kind == RL_WINDOW_CALENDAR_DAY)
        snprintf(buf, len, "day");
    else
        rl_window_format(w, buf, len);
}

static const char *verdict_word(const sim_result *r)
{
    return r->fits ? "FITS" : "REJECTS";
}

/* The answer in words: the first population that runs out, else the total
 * when it runs out, else the tightest population's headline. */
static void answer_words(const sim_result *r, char *buf, size_t len)
{
    char line[LINE_MAX_MD];
    size_t skip = strlen(r->name) + 2; /* the headline starts with "NAME: " */
    int pick = 0;

    for (int i = 0; i < r->npops; i++) {
        const sim_pop_result *p = &r->pops[i], *best = &r->pops[pick];
        if (p->first_rejection_us != SIM_TIME_NONE &&
            (best->first_rejection_us == SIM_TIME_NONE ||
             p->first_rejection_us < best->first_rejection_us))
            pick = i;
        else if (best->first_rejection_us == SIM_TIME_NONE && !isnan(p->headroom) &&
                 (isnan(best->headroom) || p->headroom < best->headroom))
            pick = i;
    }
    if (r->fits || r->total.rejected_client > 0)
        rpt_population_headline(r, pick, line, sizeof(line));
    else
        rpt_global_headline(r, line, sizeof(line));
    snprintf(buf, len, "%s", strlen(line) > skip ? line + skip : line);
}

static void write_overview(FILE *out, const sim_result *const *results, size_t n)
{
    char answer[LINE_MAX_MD];

    fputs("| scenario | verdict | answer | expectations |\n|---|---|---|---|\n", out);
    for (size_t i = 0; i < n; i++) {
        const sim_result *r = results[i];
        int met = 0;
        for (int k = 0; k < r->nexpectations; k++)
            met += r->expectations[k].met;
        answer_words(r, answer, sizeof(answer));
        fputs("| ", out);
        put_cell(out, r->name);
        fprintf(out, " | %s | ", verdict_word(r));
        put_cell(out, answer);
        if (r->nexpectations == 0)
            fputs(" | none |\n", out);
        else
            fprintf(out, " | %d of %d met%s |\n", met, r->nexpectations,
                    met == r->nexpectations ? "" : " (**failed**)");
    }
    fputc('\n', out);
}

static void write_run(FILE *out, const sim_result *r)
{
    char start[RL_ISO8601_MAX], end[RL_ISO8601_MAX], window[64];

    rpt_format_time(r->start_us, start, sizeof(start));
    rpt_format_time(r->end_us, end, sizeof(end));
    rl_window_format(&r->window, window, sizeof(window));
    fprintf(out, "Run: %s to %s (%lld day%s), window %s, policy %s, seed %llu. "
                 "Scenario file: `%s`.\n\n",
            start, end, (long long)r->days, r->days == 1 ? "" : "s", window,
            rpt_policy_name(r), (unsigned long long)r->seed, r->path);
}

static void write_limit_row(FILE *out, const char *name, const rl_limit_value *v,
                            const char *unit)
{
    fprintf(out, "| %s | %lld/%s | %s", name, (long long)v->value, unit,
            rl_source_name(v->source));
    if (v->origin[0] != '\0' && strcmp(v->origin, rl_source_name(v->source)) != 0) {
        fputs(" (", out);
        put_cell(out, v->origin);
        fputc(')', out);
    }
    fputs(" |\n", out);
}

static void write_limits(FILE *out, const sim_result *r)
{
    char unit[32];

    window_unit(&r->window, unit, sizeof(unit));
    fputs("| limit | value | source |\n|---|---|---|\n", out);
    for (int i = 0; i < r->limits.nroles; i++)
        write_limit_row(out, r->limits.roles[i].name, &r->limits.roles[i].per_client,
                        unit);
    write_limit_row(out, "total", &r->limits.total, unit);
    fputc('\n', out);
}

static void write_populations(FILE *out, const sim_result *r)
{
    char pct[32], when[RL_ISO8601_MAX];

    fputs("| population | role | clients | requests | accepted | rejected by its limit "
          "| rejected by the total | failed auth | peak per client-window | limit "
          "| headroom | first rejection |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
          out);
    for (int i = 0; i < r->npops; i++) {
        const sim_pop_result *p = &r->pops[i];
        sim_format_headroom(p->max_window_usage, p->limit, pct, sizeof(pct));
        rpt_format_time(p->first_rejection_us, when, sizeof(when));
        fprintf(out, "| %s | %s | %lld | %lld | %lld | %lld | %lld | %lld | %lld | %lld "
                     "| %s | %s |\n",
                p->name, p->role, (long long)p->clients, (long long)p->counts.requests,
                (long long)p->counts.accepted, (long long)p->counts.rejected_client,
                (long long)p->counts.rejected_global, (long long)p->counts.failed_auth,
                (long long)p->max_window_usage, (long long)p->limit, pct, when);
    }
    fputc('\n', out);
}

static void write_global(FILE *out, const sim_result *r)
{
    char line[LINE_MAX_MD], pct[32];

    rpt_global_headline(r, line, sizeof(line));
    sim_format_headroom(r->global.peak_window_usage, r->global.limit, pct, sizeof(pct));
    fprintf(out, "Global total: %s; headroom %s.\n\n", line + strlen(r->name) + 2, pct);
    if (rpt_realism_replica_counter(r, line, sizeof(line)))
        fprintf(out, "The peak counts the requests of every replica together: %s.\n\n",
                line);
}

static void write_expectations(FILE *out, const sim_result *r)
{
    if (r->nexpectations == 0) {
        fputs("Expectations: none (the scenario has no [expect] section).\n\n", out);
        return;
    }
    fputs("| expectation | result |\n|---|---|\n", out);
    for (int i = 0; i < r->nexpectations; i++) {
        fprintf(out, "| %s | ", r->expectations[i].met ? "met" : "**FAILED**");
        put_cell(out, r->expectations[i].explanation);
        fputs(" |\n", out);
    }
    fputc('\n', out);
}

static void write_plots(FILE *out, const sim_result *r, const char *plot_note)
{
    char line[LINE_MAX_MD];

    for (int i = 0; i < r->npops; i++) {
        rpt_population_headline(r, i, line, sizeof(line));
        fprintf(out, "![%s](%s/usage-%s.png)\n\n", line, r->name, r->pops[i].name);
    }
    rpt_global_headline(r, line, sizeof(line));
    fprintf(out, "![%s](%s/global.png)\n\n", line, r->name);
    fprintf(out, "![%s: requests per hour](%s/hourly.png)\n\n", r->name, r->name);
    fprintf(out, "Data: [hourly.csv](%s/hourly.csv), [usage.csv](%s/usage.csv).\n\n",
            r->name, r->name);
    if (plot_note != NULL)
        fprintf(out, "%s Render them with `gnuplot %s/usage.gp %s/global.gp "
                     "%s/hourly.gp` in this directory.\n\n",
                plot_note, r->name, r->name, r->name);
}

static void write_scenario(FILE *out, const sim_result *r, const char *note,
                           const rpt_md_options *opt)
{
    char verdict[LINE_MAX_MD];

    fprintf(out, "## %s: %s\n\n", r->name, verdict_word(r));
    if (note != NULL)
        fprintf(out, "**%s**\n\n", note);
    rpt_text_verdict(r, verdict, sizeof(verdict));
    fprintf(out, "> %s\n\n", verdict);
    if (r->description[0] != '\0') {
        put_cell(out, r->description);
        fputs("\n\n", out);
    }
    write_run(out, r);
    write_limits(out, r);
    write_populations(out, r);
    rpt_realism_md_populations(out, r);
    write_global(out, r);
    rpt_realism_md_clock(out, r);
    rpt_realism_md(out, r);
    write_expectations(out, r);
    if (opt != NULL && opt->link_plots)
        write_plots(out, r, opt->plot_note);
}

int rpt_md_write(FILE *out, const sim_result *const *results, size_t n,
                 const rpt_md_options *opt)
{
    const char *title = opt != NULL && opt->title != NULL ? opt->title
                                                          : "ratelab sim report";

    fprintf(out, "# %s\n\n", title);
    if (opt != NULL && opt->intro != NULL)
        fprintf(out, "%s\n\n", opt->intro);
    write_overview(out, results, n);
    for (size_t i = 0; i < n; i++)
        write_scenario(out, results[i],
                       opt != NULL && opt->notes != NULL ? opt->notes[i] : NULL, opt);
    return ferror(out) ? RPT_ERR_IO : RPT_OK;
}
