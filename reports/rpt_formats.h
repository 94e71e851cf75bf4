/*
 * rpt_formats.h: the report formats beside text and JSON: Markdown, CSV,
 * JUnit XML, gnuplot plots, and the reports of capacity sweeps.
 *
 * Like rpt.h, every writer only reads result structures (sim_result,
 * sim_series, sim_sweep_result, rpt_load_series) and never calls back into
 * an engine.  Writers that take a FILE return 0 or RPT_ERR_IO; writers that
 * take a directory create files in it (never the directory itself) and
 * return 0, RPT_ERR_IO or RPT_ERR_NOMEM.
 *
 * Plot files in a scenario's directory (docs/reports.md shows them):
 *   usage.gp    usage-POP.png/.svg  per-client requests and counter through
 *                                   the busiest window, against the limit
 *   global.gp   global.png/.svg     the global counter through each window,
 *                                   against the total
 *   hourly.gp   hourly.png/.svg     accepted and rejected requests per hour
 * They read usage.csv and hourly.csv (rpt_csv_usage, rpt_csv_hourly) from
 * the script's own directory, so `gnuplot DIR/usage.gp` works from
 * anywhere.
 */
#ifndef RPT_FORMATS_H
#define RPT_FORMATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "rpt.h"
#include "sim.h"
#include "sim_series.h"
#include "sim_sweep.h"

#define RPT_NOTE_MAX 1024
#define RPT_PLOT_WIDTH 1000 /* pixels of every PNG */
#define RPT_PLOT_HEIGHT 560
#define RPT_GNUPLOT_TIMEOUT_S 60

/* ---- shared wording --------------------------------------------------- */

/* Writes a time as "01:40 UTC" ("23:59:40 UTC" when it has seconds), with
 * " on 2025-01-03" when it is not on the UTC date of day0_us. */
int rpt_format_clock(int64_t t_us, int64_t day0_us, char *buf, size_t len);

/* Writes a count with thousands separators: "1,000,224". */
int rpt_format_count(int64_t n, char *buf, size_t len);

/* Writes a plot title naming the scenario and its verdict for population
 * `pop`: "five-minute-vs-20: miners run out at 01:40 UTC" or
 * "five-minute-vs-500: miners fit (peak 288 of 500/day)". */
int rpt_population_headline(const sim_result *r, int pop, char *buf, size_t len);

/* The same for the global total: "...: the total runs out at 23:59:40 UTC"
 * or "...: the total holds (peak 999,936 of 1,000,000/day)". */
int rpt_global_headline(const sim_result *r, char *buf, size_t len);

/* ---- Markdown --------------------------------------------------------- */

typedef struct rpt_md_options {
    const char *title;      /* "# TITLE"; NULL: "ratelab sim report" */
    const char *intro;      /* a paragraph under the title; NULL: none */
    const char *const *notes; /* per result, a line under its heading; NULL */
    int link_plots;         /* 1: embed NAME/usage-POP.png and the others */
    const char *plot_note;  /* a line under the plots (how to render); NULL */
} rpt_md_options;

/* Writes one Markdown document for n results.  `opt` may be NULL. */
int rpt_md_write(FILE *out, const sim_result *const *results, size_t n,
                 const rpt_md_options *opt);

/* ---- CSV -------------------------------------------------------------- */

/* One row per population of every result: scenario, verdict, counts,
 * headroom, first rejection.  Header first. */
int rpt_csv_summary(FILE *out, const sim_result *const *results, size_t n);

/* The hourly series: hour_start, accepted, rejected, failed_auth, the global
 * counter and requests at the hour's end, and per population the highest
 * and median client counter and requests at the hour's end. */
int rpt_csv_hourly(FILE *out, const sim_result *r, const sim_series *s);

/* Every row of the series (the plots' data). */
int rpt_csv_usage(FILE *out, const sim_result *r, const sim_series *s);

/* ---- JUnit XML -------------------------------------------------------- */

/* Writes <testsuites> with one <testsuite> named `suite`: one test case per
 * [expect] key of every result (classname = scenario name, name = key, the
 * failure message = the explanation), or one passing "verdict" test case for
 * a result without expectations.  notes[i] (may be NULL) is added to the
 * scenario's failure text. */
int rpt_junit_write(FILE *out, const char *suite, const sim_result *const *results,
                    size_t n, const char *const *notes);

/* Escapes text for XML attributes and text: & < > " ' and control
 * characters other than tab, LF and CR, which XML 1.0 cannot carry, become
 * '?'.  Returns a new string the caller frees, or NULL (out of memory). */
char *rpt_xml_escape(const char *text);

/* ---- gnuplot ---------------------------------------------------------- */

/* Opens dir/name for writing; NULL with errno set on failure. */
FILE *rpt_plot_open(const char *dir, const char *name);

/* Writes the gnuplot loop that renders the current plot as PNG and SVG,
 * into here.BASE.png and here.BASE.svg (`here` and `png_term` are set by
 * the script's preamble); the plot command follows, then
 * rpt_plot_render_loop_close(). */
void rpt_plot_render_loop_open(FILE *out, const char *base);

/* Ends the loop of rpt_plot_render_loop_open(). */
void rpt_plot_render_loop_close(FILE *out);

/* Writes usage.gp, global.gp and hourly.gp into dir for one run.
 * limits_from, when not NULL, names where the limits came from (the
 * deployment file of `ratelab check`) in every plot's title:
 * "limit 100/day from deploy/mainnet.env". */
int rpt_plot_write(const char *dir, const sim_result *r, const sim_series *s,
                   const char *limits_from);

/* Load-run time series: what a load generator run gives per time bucket. */
typedef struct rpt_load_series {
    char title[256];  /* names the run, e.g. the target and rate */
    int64_t start_us; /* bucket 0 starts here */
    int64_t bucket_us;
    size_t nbuckets;
    const double *p50_ms, *p90_ms, *p99_ms; /* latency percentiles, nbuckets */
    const int64_t *status_2xx, *status_429, *status_4xx, *status_5xx;
    const int64_t *errors; /* requests without a status */
} rpt_load_series;

/* Writes load.csv, load-latency.gp and load-status.gp into dir. */
int rpt_plot_write_load(const char *dir, const rpt_load_series *ls);

/* Writes sweep.csv and sweep.gp into dir. */
int rpt_plot_write_sweep(const char *dir, const sim_sweep_result *sw);

typedef enum rpt_render_result {
    RPT_RENDERED = 0,     /* gnuplot ran and exited 0 */
    RPT_NO_GNUPLOT = 1,   /* not found; the note gives the command to render later */
    RPT_RENDER_FAILED = 2 /* it ran and failed or timed out; the note gives the command to retry */
} rpt_render_result;

/*
 * Runs gnuplot on the scripts (names in dir) with dir as its working
 * directory, stdin from /dev/null, stderr to dir/gnuplot.log, killed after
 * timeout_s seconds.  gnuplot is $RATELAB_GNUPLOT when set (a path), else
 * "gnuplot" on PATH.  Fills note with one line for people: "gnuplot not
 * found; render with: gnuplot DIR/usage.gp ..." or why it failed.
 */
rpt_render_result rpt_plot_render(const char *dir, const char *const *scripts,
                                  size_t nscripts, int timeout_s, char *note,
                                  size_t note_len);

/* ---- sweeps ----------------------------------------------------------- */
/* Writes the sweep result as text: the boundary when one was searched, then a
 * line per value tried. */
int rpt_sweep_text(FILE *out, const sim_sweep_result *sw);

/* Writes one CSV row per value run (what sweep.csv holds). */
int rpt_sweep_csv(FILE *out, const sim_sweep_result *sw);

/* Returns a new JSON document {"schema_version": 1, "sweep": {...}}; the
 * caller owns it.  NULL when out of memory. */
json_t *rpt_sweep_json(const sim_sweep_result *sw);

#endif
