/*
 * rpt_sweep.c: reports of capacity sweeps (sim_sweep.h): text, JSON, CSV
 * and a gnuplot script.
 *
 * The text starts with the answer in one line, e.g.
 *   ANSWER  the largest miners.count that fits is 3472 (3473 rejects)
 * then both neighbours' results and every value that was run, in order.
 * Duration values are written in the scenario format ("1h12m"); in JSON
 * and CSV they are integer microseconds with the text beside them.
 */
#include <math.h>
#include <string.h>

#include "rl_time.h"
#include "rpt_formats.h"

#define VALUE_MAX 64
#define SWEEP_LINE_MAX 512

static const char *answer_name(sim_sweep_answer a)
{
    static const char *const names[] = {"found", "all_fit", "none_fit", "table"};
    return names[a];
}

static void value_text(const sim_sweep_result *sw, int64_t v, char *buf, size_t len)
{
    sim_sweep_format_value(&sw->config.key, v, buf, len);
}

/* The answer in one sentence, without the "ANSWER" tag. */
static void answer_sentence(const sim_sweep_result *sw, char *buf, size_t len)
{
    const sim_sweep_config *c = &sw->config;
    const char *key = c->key.text;
    int up = c->key.direction > 0;
    char v[VALUE_MAX], other[VALUE_MAX];

    value_text(sw, sw->boundary, v, sizeof(v));
    switch (sw->answer) {
    case SIM_SWEEP_FOUND:
        value_text(sw, sw->points[sw->reject_index].value, other, sizeof(other));
        snprintf(buf, len, "the %s %s that fits is %s (%s rejects)",
                 up ? "smallest" : "largest", key, v, other);
        return;
    case SIM_SWEEP_ALL_FIT:
        snprintf(buf, len, "every %s in the range fits, %s included: the %s that fits "
                           "is %s or %s",
                 key, v, up ? "smallest" : "largest", v, up ? "less" : "more");
        return;
    case SIM_SWEEP_NONE_FIT:
        snprintf(buf, len, "no %s in the range fits: even %s rejects", key, v);
        return;
    case SIM_SWEEP_TABLE_ONLY:
        break;
    }
    size_t fitting = 0;
    for (size_t i = 0; i < sw->npoints; i++)
        fitting += sw->points[i].fits;
    snprintf(buf, len, "%zu of %zu values of %s fit", fitting, sw->npoints, key);
}

/* "fits (5 runs)" or "rejects in 3 of 5 runs: up to 2 rejections, first
 * 2025-01-02T23:59:12Z, seed 4". */
static void point_sentence(const sim_sweep_point *p, char *buf, size_t len)
{
    char when[RL_ISO8601_MAX];

    if (p->fits) {
        snprintf(buf, len, "fits (%d run%s, peak %lld per client-window)", p->runs,
                 p->runs == 1 ? "" : "s", (long long)p->peak_client_usage);
        return;
    }
    rl_time_format_iso8601(p->first_rejection_us, when, sizeof(when));
    snprintf(buf, len, "rejects in %d of %d run%s: up to %lld rejection%s, first %s, "
                       "seed %llu",
             p->runs_rejecting, p->runs, p->runs == 1 ? "" : "s",
             (long long)p->rejections_max, p->rejections_max == 1 ? "" : "s", when,
             (unsigned long long)p->worst_seed);
}

static void write_neighbour(FILE *out, const sim_sweep_result *sw, long index)
{
    char v[VALUE_MAX], line[SWEEP_LINE_MAX];

    if (index < 0)
        return;
    value_text(sw, sw->points[index].value, v, sizeof(v));
    point_sentence(&sw->points[index], line, sizeof(line));
    fprintf(out, "  %-12s %s\n", v, line);
}

int rpt_sweep_text(FILE *out, const sim_sweep_result *sw)
{
    const sim_sweep_config *c = &sw->config;
    char from[VALUE_MAX], to[VALUE_MAX], step[VALUE_MAX], line[SWEEP_LINE_MAX];

    value_text(sw, c->from, from, sizeof(from));
    value_text(sw, c->to, to, sizeof(to));
    answer_sentence(sw, line, sizeof(line));
    fprintf(out, "ANSWER  %s: %s\n\n", sw->scenario, line);

    if (c->mode == SIM_SWEEP_TABLE) {
        value_text(sw, c->step, step, sizeof(step));
        fprintf(out, "  sweep     %s from %s to %s in steps of %s (table)\n", c->key.text,
                from, to, step);
    } else {
        fprintf(out, "  sweep     %s from %s to %s (bisection)\n", c->key.text, from, to);
    }
    if (sw->random)
        fprintf(out, "  runs      %d per value, seeds %llu to %llu; a value fits only "
                     "when every run fits\n",
                sw->runs_per_point, (unsigned long long)sw->base_seed,
                (unsigned long long)(sw->base_seed + (uint64_t)sw->runs_per_point - 1));
    else
        fprintf(out, "  runs      1 per value: the scenario draws no random numbers\n");
    fprintf(out, "  total     %lld simulator runs over %zu values\n\n",
            (long long)sw->total_runs, sw->npoints);

    if (sw->answer != SIM_SWEEP_TABLE_ONLY) {
        fputs("  neighbours\n", out);
        write_neighbour(out, sw, sw->fit_index);
        write_neighbour(out, sw, sw->reject_index);
        fputc('\n', out);
    }
    fputs("  values\n", out);
    for (size_t i = 0; i < sw->npoints; i++)
        write_neighbour(out, sw, (long)i);
    return ferror(out) ? RPT_ERR_IO : RPT_OK;
}

/* ---- JSON ------------------------------------------------------------- */

static json_t *point_json(const sim_sweep_result *sw, const sim_sweep_point *p)
{
    char v[VALUE_MAX], when[RL_ISO8601_MAX];

    value_text(sw, p->value, v, sizeof(v));
    if (p->first_rejection_us != SIM_TIME_NONE)
        rl_time_format_iso8601(p->first_rejection_us, when, sizeof(when));
    return json_pack("{s:I, s:s, s:b, s:i, s:i, s:f, s:I, s:f, s:I, s:I, s:o, s:o, s:I}",
                     "value", (json_int_t)p->value, "value_text", v, "fits", p->fits,
                     "runs", p->runs, "runs_rejecting", p->runs_rejecting,
                     "fraction_rejecting", (double)p->runs_rejecting / (double)p->runs,
                     "rejections_max", (json_int_t)p->rejections_max, "rejections_mean",
                     p->rejections_mean, "peak_client_usage",
                     (json_int_t)p->peak_client_usage, "peak_global_usage",
                     (json_int_t)p->peak_global_usage, "headroom_min",
                     isnan(p->headroom_min) ? json_null() : json_real(p->headroom_min),
                     "first_rejection",
                     p->first_rejection_us == SIM_TIME_NONE ? json_null()
                                                            : json_string(when),
                     "worst_seed", (json_int_t)p->worst_seed);
}

static json_t *neighbour_json(const sim_sweep_result *sw, long index)
{
    return index < 0 ? json_null() : point_json(sw, &sw->points[index]);
}

json_t *rpt_sweep_json(const sim_sweep_result *sw)
{
    const sim_sweep_config *c = &sw->config;
    char answer[SWEEP_LINE_MAX];
    json_t *points = json_array();

    for (size_t i = 0; points != NULL && i < sw->npoints; i++) {
        if (json_array_append_new(points, point_json(sw, &sw->points[i])) < 0) {
            json_decref(points);
            points = NULL;
        }
    }
    answer_sentence(sw, answer, sizeof(answer));
    json_t *sweep = json_pack(
        "{s:s, s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:i, s:b, s:I, s:I}", "scenario",
        sw->scenario, "path", sw->path, "key", c->key.text, "key_is_duration",
        c->key.is_duration, "mode", c->mode == SIM_SWEEP_TABLE ? "table" : "bisection",
        "from", (json_int_t)c->from, "to", (json_int_t)c->to, "step",
        (json_int_t)c->step, "resolution", (json_int_t)c->resolution, "runs_per_point",
        sw->runs_per_point, "random", sw->random, "base_seed", (json_int_t)sw->base_seed,
        "total_runs", (json_int_t)sw->total_runs);
    json_t *rest = json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:o}", "answer", answer_name(sw->answer), "summary",
        answer, "boundary",
        sw->answer == SIM_SWEEP_TABLE_ONLY ? json_null()
                                           : json_integer((json_int_t)sw->boundary),
        "fit", neighbour_json(sw, sw->fit_index), "reject",
        neighbour_json(sw, sw->reject_index), "points", points);

    if (sweep == NULL || rest == NULL || json_object_update(sweep, rest) < 0) {
        json_decref(sweep);
        json_decref(rest);
        return NULL;
    }
    json_decref(rest);
    return json_pack("{s:i, s:o}", "schema_version", RPT_JSON_SCHEMA_VERSION, "sweep",
                     sweep);
}

/* ---- CSV and plot ----------------------------------------------------- */

int rpt_sweep_csv(FILE *out, const sim_sweep_result *sw)
{
    char v[VALUE_MAX];

    fputs("value,value_text,fits,runs,runs_rejecting,fraction_rejecting,"
          "rejections_mean,rejections_max,peak_client_usage\n",
          out);
    for (size_t i = 0; i < sw->npoints; i++) {
        const sim_sweep_point *p = &sw->points[i];
        value_text(sw, p->value, v, sizeof(v));
        fprintf(out, "%lld,%s,%s,%d,%d,%.4f,%.4f,%lld,%lld\n", (long long)p->value, v,
                p->fits ? "true" : "false", p->runs, p->runs_rejecting,
                (double)p->runs_rejecting / (double)p->runs, p->rejections_mean,
                (long long)p->rejections_max, (long long)p->peak_client_usage);
    }
    return ferror(out) ? RPT_ERR_IO : RPT_OK;
}

static void write_sweep_gp(FILE *out, const sim_sweep_result *sw)
{
    const char *key = sw->config.key.text;
    double scale = sw->config.key.is_duration ? 1e6 : 1.0;
    char answer[SWEEP_LINE_MAX];

    answer_sentence(sw, answer, sizeof(answer));
    fputs("# sweep.gp: the fraction of runs with rejections at each value.\n"
          "# Written by ratelab; reads sweep.csv from this script's directory and\n"
          "# writes sweep.png and sweep.svg there.  Render: gnuplot PATH/sweep.gp\n\n"
          "here = ARG0[1:strlen(ARG0) - 8]\n"
          "png_term = strstrt(GPVAL_TERMINALS . \" \", \" pngcairo \") > 0 ? "
          "\"pngcairo\" : \"png\"\n"
          "reset\nset datafile separator comma\nset datafile columnheaders\n"
          "set grid lc rgb \"#dddddd\"\nset key below horizontal\nset tics nomirror\n",
          out);
    fprintf(out, "set title \"%s: %s\"\n", sw->scenario, answer);
    fprintf(out, "set xlabel \"%s%s\"\n", key, sw->config.key.is_duration ? " (seconds)" : "");
    fputs("set ylabel \"runs with rejections\"\nset yrange [-0.05:1.05]\n"
          /* Tic labels are formats for their value: a percent sign is %%. */
          "set ytics (\"0%%\" 0, \"25%%\" 0.25, \"50%%\" 0.5, \"75%%\" 0.75, "
          "\"100%%\" 1)\n"
          "set y2label \"rejections per run (mean)\"\nset y2tics\nset y2range [0:*]\n",
          out);
    if (sw->answer == SIM_SWEEP_FOUND)
        fprintf(out, "set arrow 1 from %.6f, graph 0 to %.6f, graph 1 nohead lw 1.5 dt 2 "
                     "lc rgb \"#27ae60\" front\n",
                (double)sw->boundary / scale, (double)sw->boundary / scale);
    rpt_plot_render_loop_open(out, "sweep");
    fprintf(out,
            "    plot here . \"sweep.csv\" using ($1/%g):6 with linespoints lw 2 pt 7 "
            "lc rgb \"#c0392b\" title \"runs with rejections\", \\\n"
            "         \"\" using ($1/%g):7 axes x1y2 with linespoints lw 1.5 dt 2 pt 6 "
            "lc rgb \"#2e86c1\" title \"rejections per run\"\n",
            scale, scale);
    rpt_plot_render_loop_close(out);
}

int rpt_plot_write_sweep(const char *dir, const sim_sweep_result *sw)
{
    FILE *csv = rpt_plot_open(dir, "sweep.csv");
    int rc = csv == NULL ? RPT_ERR_IO : rpt_sweep_csv(csv, sw);

    if (csv != NULL && fclose(csv) != 0)
        rc = RPT_ERR_IO;
    if (rc != 0)
        return rc;
    FILE *gp = rpt_plot_open(dir, "sweep.gp");
    if (gp == NULL)
        return RPT_ERR_IO;
    write_sweep_gp(gp, sw);
    int failed = ferror(gp);
    return fclose(gp) != 0 || failed ? RPT_ERR_IO : RPT_OK;
}
