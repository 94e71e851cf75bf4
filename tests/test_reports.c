/*
 * test_reports.c: the report writers, the time-series collector, --out,
 * gnuplot rendering and `ratelab check`.
 *
 * What is checked:
 *   - golden files: Markdown, JSON, summary CSV, JUnit and hourly CSV of
 *     the inputs in tests/golden/input, byte for byte (seeded, so stable);
 *     RATELAB_UPDATE_GOLDEN=1 rewrites them instead (tests/golden/README.md);
 *   - the collector's rows against the worked example in sim_series.h;
 *   - XML escaping;
 *   - --out without gnuplot (RATELAB_GNUPLOT=/nonexistent): the scripts
 *     are written and the note says how to render them;
 *   - --out with gnuplot, when it is installed: every PNG has the PNG
 *     signature and an IHDR of RPT_PLOT_WIDTH x RPT_PLOT_HEIGHT;
 *   - the load-series plot writer;
 *   - the policy named alike in text, Markdown and JSON, and the realism
 *     sections of the Markdown report;
 *   - `ratelab check`: a stricter env file fails with exit 1 and names the
 *     scenario and the limit it needs, a bad env file exits 2, JUnit names
 *     the failing scenario.
 *
 * Commands run in the source tree (ctest's working directory), so paths in
 * the outputs are relative and the goldens do not depend on the checkout.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "rl_time.h"
#include "rpt_formats.h"
#include "sim.h"
#include "sim_scenario.h"
#include "sim_series.h"
#include "tst_support.h"

#define GOLDEN_DIR "tests/golden"
#define INPUT_MIXED GOLDEN_DIR "/input/mixed-fleet.ini"
#define INPUT_QUIET GOLDEN_DIR "/input/quiet-fit.ini"

/* ---- helpers ---------------------------------------------------------- */

static char *read_all(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)len + 1);
        if (buf != NULL && fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        }
        if (buf != NULL) {
            buf[len] = '\0';
            if (len_out != NULL)
                *len_out = (size_t)len;
        }
    }
    fclose(f);
    return buf;
}

static int write_all(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Compares text with the golden file name (or rewrites it when
 * RATELAB_UPDATE_GOLDEN is set).  On a mismatch prints the first
 * differing line. */
static void check_golden(const char *name, const char *text)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
    if (getenv("RATELAB_UPDATE_GOLDEN") != NULL) {
        CU_ASSERT_EQUAL(write_all(path, text), 0);
        return;
    }
    char *want = read_all(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    if (strcmp(want, text) != 0) {
        size_t i = 0, line = 1;
        while (want[i] != '\0' && want[i] == text[i]) {
            line += want[i] == '\n';
            i++;
        }
        fprintf(stderr, "\n%s differs from the output at line %zu; regenerate with "
                        "RATELAB_UPDATE_GOLDEN=1 if the change is intended\n",
                path, line);
    }
    CU_ASSERT_STRING_EQUAL(want, text);
    free(want);
}

static int gnuplot_installed(void)
{
    return access("/usr/bin/gnuplot", X_OK) == 0 ||
           access("/usr/local/bin/gnuplot", X_OK) == 0;
}

/* Reads a PNG's size from its IHDR chunk; returns 0 or -1 when the file is
 * not a PNG. */
static int png_size(const char *path, uint32_t *width, uint32_t *height)
{
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[24];
    FILE *f = fopen(path, "rb");

    if (f == NULL)
        return -1;
    size_t n = fread(head, 1, sizeof(head), f);
    fclose(f);
    if (n != sizeof(head) || memcmp(head, signature, 8) != 0 ||
        memcmp(head + 12, "IHDR", 4) != 0)
        return -1;
    *width = (uint32_t)head[16] << 24 | (uint32_t)head[17] << 16 |
             (uint32_t)head[18] << 8 | head[19];
    *height = (uint32_t)head[20] << 24 | (uint32_t)head[21] << 16 |
              (uint32_t)head[22] << 8 | head[23];
    return 0;
}

static int file_exists(const char *dir, const char *name)
{
    char path[2100];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void check_png(const char *dir, const char *name)
{
    char path[2100];
    uint32_t w = 0, h = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    CU_ASSERT_EQUAL(png_size(path, &w, &h), 0);
    CU_ASSERT_EQUAL(w, RPT_PLOT_WIDTH);
    CU_ASSERT_EQUAL(h, RPT_PLOT_HEIGHT);
}

/* ---- golden files ----------------------------------------------------- */

static void test_golden_markdown(void)
{
    tst_output o;
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "sim", "--format", "md", INPUT_MIXED,
                                      INPUT_QUIET, NULL),
                          0);
    CU_ASSERT_EQUAL(o.status, 1); /* min_headroom fails on purpose */
    check_golden("sim.md", o.out);
    tst_output_free(&o);
}

static void test_golden_json(void)
{
    tst_output o, synonym;
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "sim", "--format", "json", INPUT_MIXED,
                                      INPUT_QUIET, NULL),
                          0);
    CU_ASSERT_EQUAL(o.status, 1);
    check_golden("sim.json", o.out);

    /* --json is the same document. */
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&synonym, "sim", "--json", INPUT_MIXED, INPUT_QUIET,
                                      NULL),
                          0);
    CU_ASSERT_STRING_EQUAL(o.out, synonym.out);
    tst_output_free(&o);
    tst_output_free(&synonym);
}

static void test_golden_csv(void)
{
    tst_output o;
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "sim", "--format", "csv", INPUT_MIXED,
                                      INPUT_QUIET, NULL),
                          0);
    CU_ASSERT_EQUAL(o.status, 1);
    check_golden("summary.csv", o.out);
    tst_output_free(&o);
}

static void test_golden_junit(void)
{
    const char *dir = tst_tmpdir();
    char path[1024];
    tst_output o;

    snprintf(path, sizeof(path), "%s/junit.xml", dir);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "sim", "--junit", path, INPUT_MIXED,
                                      INPUT_QUIET, NULL),
                          0);
    CU_ASSERT_EQUAL(o.status, 1);
    char *xml = read_all(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    check_golden("junit.xml", xml);
    CU_ASSERT(tst_contains(xml, "classname=\"mixed-fleet\" name=\"min_headroom\""));
    CU_ASSERT(tst_contains(xml, "message=\"min_headroom 10 %: failed (-15.6 %, miners)\""));
    free(xml);
    tst_output_free(&o);
}

static void test_golden_hourly_csv(void)
{
    const char *dir = tst_tmpdir();
    char path[1024];
    tst_output o;

    setenv("RATELAB_GNUPLOT", "/nonexistent", 1);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "sim", "--out", dir, INPUT_MIXED, NULL), 0);
    unsetenv("RATELAB_GNUPLOT");
    CU_ASSERT_EQUAL(o.status, 1);
    snprintf(path, sizeof(path), "%s/mixed-fleet/hourly.csv", dir);
    char *csv = read_all(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    check_golden("mixed-fleet-hourly.csv", csv);
    free(csv);
    tst_output_free(&o);
}

/* ---- the collector ---------------------------------------------------- */

static const char five_minutes_vs_20[] =
    "[scenario]\nstart = 2025-01-01T00:00:00Z\ndays = 2\n"
    "[limits]\nminer = 20\n"
    "[population miners]\ninterval = 5m\nstart = together\n";

static void run_with_series(const char *text, sim_result **r, sim_series **s)
{
    sim_scenario sc;
    sim_series_collector *c = NULL;
    sim_config cfg;
    rl_error err;

    memset(&sc, 0, sizeof(sc));
    CU_ASSERT_EQUAL_FATAL(sim_scenario_parse(&sc, text, strlen(text), "inline.ini", &err),
                          0);
    CU_ASSERT_EQUAL_FATAL(sim_series_collector_create(&sc, &c, &err), 0);
    sim_config_init(&cfg);
    cfg.on_request = sim_series_observe;
    cfg.user = c;
    CU_ASSERT_EQUAL_FATAL(sim_run(&sc, &cfg, r, &err), 0);
    CU_ASSERT_EQUAL_FATAL(sim_series_finish(c, s, &err), 0);
    sim_series_collector_destroy(c);
    sim_scenario_free(&sc);
}

static void test_series_worked_example(void)
{
    sim_result *r = NULL;
    sim_series *s = NULL;
    int64_t day0 = 0;
    rl_error err;

    run_with_series(five_minutes_vs_20, &r, &s);
    CU_ASSERT_EQUAL(rl_time_parse_iso8601("2025-01-01T00:00:00Z", &day0, &err), 0);
    CU_ASSERT_EQUAL(s->step_us, RL_US_PER_MIN);

    /* 01:40: requests 00:00 to 01:35 made and counted. */
    size_t row = sim_series_find_row(s, day0 + 100 * RL_US_PER_MIN);
    CU_ASSERT_FATAL(row < s->nrows);
    CU_ASSERT_EQUAL(sim_series_pop(s, row, 0)->worst_counter, 20);
    CU_ASSERT_EQUAL(sim_series_pop(s, row, 0)->worst_requests, 20);

    /* 01:41: the request at 01:40 was made and rejected. */
    row = sim_series_find_row(s, day0 + 101 * RL_US_PER_MIN);
    CU_ASSERT_EQUAL(sim_series_pop(s, row, 0)->worst_counter, 20);
    CU_ASSERT_EQUAL(sim_series_pop(s, row, 0)->worst_requests, 21);
    CU_ASSERT_EQUAL(s->global_counter[row], 20);
    CU_ASSERT_EQUAL(s->global_requests[row], 21);

    /* Midnight: the day's last values, then the new day's zeros. */
    row = sim_series_find_row(s, day0 + RL_US_PER_DAY);
    CU_ASSERT_FATAL(row + 1 < s->nrows);
    CU_ASSERT_EQUAL(s->window_index[row], 0);
    CU_ASSERT_EQUAL(sim_series_pop(s, row, 0)->worst_requests, 288);
    CU_ASSERT_EQUAL(sim_series_pop(s, row, 0)->median_counter, 20);
    CU_ASSERT_EQUAL(s->time_us[row + 1], day0 + RL_US_PER_DAY);
    CU_ASSERT_EQUAL(s->window_index[row + 1], 1);
    CU_ASSERT_EQUAL(sim_series_pop(s, row + 1, 0)->worst_requests, 0);

    /* The run's end and the global demand. */
    CU_ASSERT_EQUAL(s->time_us[s->nrows - 1], r->end_us);
    CU_ASSERT_EQUAL(sim_series_pop(s, s->nrows - 1, 0)->worst_requests, 288);
    CU_ASSERT_EQUAL(s->global_peak_requests, 288);
    /* 2 days at 1 minute: 2881 grid rows, plus the row at the boundary. */
    CU_ASSERT_EQUAL(s->nrows, 2882);

    sim_series_destroy(s);
    sim_result_destroy(r);
}

static void test_series_median_of_fleet(void)
{
    /* Four hourly clients spread over the hour start at 00:00, 00:15,
     * 00:30 and 00:45.  The median is the lower one, the 2nd smallest. */
    static const char text[] = "[scenario]\nstart = 2025-01-01\n"
                               "[limits]\nminer = 100\n"
                               "[population m]\ncount = 4\ninterval = 1h\n";
    sim_result *r = NULL;
    sim_series *s = NULL;

    run_with_series(text, &r, &s);
    size_t row = sim_series_find_row(s, r->start_us + 50 * RL_US_PER_MIN);
    CU_ASSERT_EQUAL(sim_series_pop(s, row, 0)->worst_requests, 1);
    CU_ASSERT_EQUAL(sim_series_pop(s, row, 0)->median_requests, 1);
    row = sim_series_find_row(s, r->start_us + 70 * RL_US_PER_MIN);
    CU_ASSERT_EQUAL(sim_series_pop(s, row, 0)->worst_requests, 2);
    /* Lower median of {2, 1, 1, 1}. */
    CU_ASSERT_EQUAL(sim_series_pop(s, row, 0)->median_requests, 1);
    row = sim_series_find_row(s, r->start_us + 100 * RL_US_PER_MIN);
    /* {2, 2, 2, 1} at 01:40: clients at 0, 15 and 30 min have made 2. */
    CU_ASSERT_EQUAL(sim_series_pop(s, row, 0)->median_requests, 2);
    sim_series_destroy(s);
    sim_result_destroy(r);
}

/* ---- XML -------------------------------------------------------------- */

static void test_xml_escape(void)
{
    char *x = rpt_xml_escape("a&b <c> \"d\" 'e'\x01\tf");
    CU_ASSERT_STRING_EQUAL(x, "a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos;?\tf");
    free(x);
}

/* ---- --out and gnuplot ------------------------------------------------ */

static void test_out_without_gnuplot(void)
{
    const char *dir = tst_tmpdir();
    char sub[1024];
    tst_output o;

    setenv("RATELAB_GNUPLOT", "/nonexistent", 1);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "sim", "--out", dir, "scenarios/five-minute-vs-20.ini",
                                      NULL),
                          0);
    unsetenv("RATELAB_GNUPLOT");
    CU_ASSERT_EQUAL(o.status, 0);
    CU_ASSERT(tst_contains(o.err, "gnuplot not found; render with: gnuplot "));
    CU_ASSERT(tst_contains(o.err, "/five-minute-vs-20/usage.gp"));

    snprintf(sub, sizeof(sub), "%s/five-minute-vs-20", dir);
    CU_ASSERT(file_exists(dir, "report.md"));
    CU_ASSERT(file_exists(dir, "report.json"));
    CU_ASSERT(file_exists(dir, "summary.csv"));
    CU_ASSERT(file_exists(sub, "usage.gp"));
    CU_ASSERT(file_exists(sub, "global.gp"));
    CU_ASSERT(file_exists(sub, "hourly.gp"));
    CU_ASSERT(file_exists(sub, "usage.csv"));
    CU_ASSERT(!file_exists(sub, "usage-miners.png"));

    char path[1100];
    snprintf(path, sizeof(path), "%s/report.md", dir);
    char *md = read_all(path, NULL);
    CU_ASSERT(tst_contains(md, "Plots not rendered: gnuplot not found."));
    CU_ASSERT(tst_contains(md, "gnuplot five-minute-vs-20/usage.gp"));
    free(md);
    tst_output_free(&o);
}

static void test_out_png_sizes(void)
{
    const char *dir = tst_tmpdir();
    char sub[1024];
    tst_output o;

    if (!gnuplot_installed()) {
        fprintf(stderr, "\n  gnuplot is not installed (apt-get install gnuplot-nox): "
                        "PNG checks skipped\n");
        return;
    }
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "sim", "--out", dir, INPUT_MIXED, NULL), 0);
    CU_ASSERT_EQUAL(o.status, 1);
    CU_ASSERT(!tst_contains(o.err, "gnuplot"));
    snprintf(sub, sizeof(sub), "%s/mixed-fleet", dir);
    check_png(sub, "usage-miners.png");
    check_png(sub, "usage-validators.png");
    check_png(sub, "global.png");
    check_png(sub, "hourly.png");
    CU_ASSERT(file_exists(sub, "global.svg"));
    CU_ASSERT(!file_exists(sub, "gnuplot.log"));

    /* The script renders from any working directory. */
    char script[1100];
    snprintf(script, sizeof(script), "%s/global.gp", sub);
    char path[1100];
    snprintf(path, sizeof(path), "%s/global.png", sub);
    CU_ASSERT_EQUAL(unlink(path), 0);
    tst_output g;
    char *argv[] = {"/usr/bin/gnuplot", script, NULL};
    if (access(argv[0], X_OK) != 0)
        argv[0] = "/usr/local/bin/gnuplot";
    CU_ASSERT_EQUAL_FATAL(tst_run(argv, NULL, 60, &g), 0);
    CU_ASSERT_EQUAL(g.status, 0);
    check_png(sub, "global.png");
    tst_output_free(&g);
    tst_output_free(&o);
}

static void test_load_plot_writer(void)
{
    enum { N = 6 };
    double p50[N] = {1, 1.2, 1.1, 3, 2, 1}, p90[N] = {2, 2.5, 2, 8, 4, 2};
    double p99[N] = {5, 6, 5, 20, 9, 4};
    int64_t ok[N] = {100, 100, 90, 60, 80, 100}, limited[N] = {0, 0, 10, 40, 20, 0};
    int64_t zero[N] = {0};
    rpt_load_series ls = {"loopback 200/s", 1735689600000000LL, 10 * RL_US_PER_SEC, N,
                          p50, p90, p99, ok, limited, zero, zero, zero};
    const char *dir = tst_tmpdir();
    static const char *const scripts[] = {"load-latency.gp", "load-status.gp"};
    char note[RPT_NOTE_MAX];

    CU_ASSERT_EQUAL_FATAL(rpt_plot_write_load(dir, &ls), 0);
    char path[1024];
    snprintf(path, sizeof(path), "%s/load.csv", dir);
    char *csv = read_all(path, NULL);
    CU_ASSERT(tst_contains(csv, "2025-01-01T00:00:30Z,1735689630.000000,3.000,8.000,20.000,"
                                "60,40,0,0,0\n"));
    free(csv);
    if (!gnuplot_installed())
        return;
    CU_ASSERT_EQUAL(rpt_plot_render(dir, scripts, 2, 60, note, sizeof(note)), RPT_RENDERED);
    check_png(dir, "load-latency.png");
    check_png(dir, "load-status.png");
}

/* Counts the occurrences of needle in text. */
static int count_of(const char *text, const char *needle)
{
    int n = 0;

    for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle))
        n++;
    return n;
}

/* Writes the plot scripts of one scenario (gnuplot is not run) and returns
 * the text of DIR/NAME/SCRIPT; the caller frees it. */
static char *plot_script(const char *scenario, const char *name, const char *script)
{
    const char *dir = tst_tmpdir();
    char out_dir[1024], path[1200];
    tst_output o;

    snprintf(out_dir, sizeof(out_dir), "%s/%s", dir, name);
    setenv("RATELAB_GNUPLOT", "/nonexistent", 1);
    int rc = tst_ratelab(&o, "sim", "--out", out_dir, scenario, NULL);
    unsetenv("RATELAB_GNUPLOT");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(o.status == 0 || o.status == 1);
    tst_output_free(&o);
    snprintf(path, sizeof(path), "%s/%s/%s", out_dir, name, script);
    return read_all(path, NULL);
}

/* 20 counted of a 200,000 total: the axis ends at 1.2 times the 288
 * requests made instead of squashing them under the total, and the title
 * says where the total is. */
static void test_plot_global_scales_to_usage(void)
{
    char *gp = plot_script("scenarios/five-minute-vs-20.ini", "five-minute-vs-20",
                           "global.gp");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gp);
    CU_ASSERT(tst_contains(gp, "set yrange [0:345.6]"));
    CU_ASSERT(tst_contains(gp, "total 200,000/day (far above this scale)"));
    CU_ASSERT(!tst_contains(gp, "title \"total 200,000/day\""));
    free(gp);

    /* Near the total, the total is drawn. */
    gp = plot_script("scenarios/total-3473-miners.ini", "total-3473-miners", "global.gp");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gp);
    CU_ASSERT(tst_contains(gp, "title \"total 1,000,000/day\""));
    CU_ASSERT(!tst_contains(gp, "far above this scale"));
    free(gp);
}

/* Seven windows give three legend entries (the busiest window's counter,
 * the other windows' and the requests made), not one per window. */
static void test_plot_global_legend_short(void)
{
    char *gp = plot_script("scenarios/fixed-delay-upload-vs-500.ini",
                           "fixed-delay-upload-vs-500", "global.gp");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gp);
    CU_ASSERT_EQUAL(count_of(gp, "\" title \""), 3);
    CU_ASSERT(tst_contains(gp, "title \"counted, the other 6 windows\""));
    CU_ASSERT_EQUAL(count_of(gp, " notitle"), 5);
    free(gp);
}

/* The median is drawn last, with its own dash pattern, so it shows where
 * it equals the busiest client's line. */
static void test_plot_median_on_top(void)
{
    char *gp = plot_script("scenarios/total-3473-miners.ini", "total-3473-miners",
                           "usage.gp");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gp);
    const char *counted = strstr(gp, "counted by the limiter");
    const char *median = strstr(gp, "dt (3,4) lc rgb \"#2e86c1\" title \"median client");
    CU_ASSERT_PTR_NOT_NULL(counted);
    CU_ASSERT_PTR_NOT_NULL(median);
    CU_ASSERT(counted != NULL && median != NULL && median > counted);
    free(gp);
}

/* Three 5-minute miners against 150/day run out at 12:30.  From there the
 * busiest client's line climbs from 150 to about 204 under the label's
 * width, which at the middle height (0.55 of 331, about 182) it would
 * cross: the label moves up to 0.70. */
static void test_plot_label_avoids_line(void)
{
    const char *dir = tst_tmpdir();
    char *sc = tst_write_file(dir, "cross.ini",
                              "[scenario]\nname = cross\n[limits]\nminer = 150\n"
                              "[population miners]\ninterval = 5m\ncount = 3\n");
    char *gp = plot_script(sc, "cross", "usage.gp");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gp);
    CU_ASSERT(tst_contains(gp, "set label 1 \"runs out 12:30 UTC\" at 12.500000, graph "
                               "0.70 left"));
    free(gp);
    free(sc);
}

/* ---- ratelab check ---------------------------------------------------- */

static void test_check_stricter_env_fails(void)
{
    const char *dir = tst_tmpdir();
    char *env = tst_write_file(dir, "strict.env", "DAILY_LIMIT_PER_MINER=100\n");
    char junit[1024];
    tst_output o;

    snprintf(junit, sizeof(junit), "%s/check.xml", dir);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "check", "--env", env, "--junit", junit,
                                      "scenarios/five-minute-vs-500.ini",
                                      "scenarios/mainnet-two-hours-vs-100.ini", NULL),
                          0);
    CU_ASSERT_EQUAL(o.status, 1);
    CU_ASSERT(tst_contains(o.out, "FAILED  five-minute-vs-500: requests rejected under "));
    CU_ASSERT(tst_contains(o.out, "(miner 100/day), expected to fit: 188 of 288 rejected "
                                  "per client-day; first rejection 08:20 UTC; needs "
                                  "miner >= 288"));
    CU_ASSERT(tst_contains(o.out, "ok      mainnet-two-hours-vs-100: all requests fit "
                                  "under "));
    CU_ASSERT(tst_contains(o.out, "(miner 100/day), as expected: nothing rejected"));
    CU_ASSERT(tst_contains(o.out, "1 of 2 scenarios hold, 1 break"));

    char *xml = read_all(junit, NULL);
    CU_ASSERT(tst_contains(xml, "classname=\"five-minute-vs-500\" name=\"outcome\""));
    CU_ASSERT(tst_contains(xml, "message=\"outcome fits: failed (rejects)\""));
    CU_ASSERT(tst_contains(xml, "needs miner &gt;= 288"));
    free(xml);
    free(env);
    tst_output_free(&o);
}

static void test_check_same_limits_pass(void)
{
    tst_output o;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "check", "--env", "scenarios/deploy/testnet.env",
                                      "scenarios/five-minute-vs-500.ini", NULL),
                          0);
    CU_ASSERT_EQUAL(o.status, 0);
    CU_ASSERT(tst_contains(o.out, "ok      five-minute-vs-500: all requests fit under "
                                  "scenarios/deploy/testnet.env (miner 500/day), as "
                                  "expected"));
    tst_output_free(&o);
}

/* Plots written by check name the deployment file their limits came from,
 * and those of sim name none. */
static void test_check_plots_name_env(void)
{
    static const char *const scripts[] = {"usage.gp", "global.gp", "hourly.gp"};
    static const char *const fragments[] = {
        "limit 100/day from scenarios/deploy/mainnet.env",
        "total 200,000/day from scenarios/deploy/mainnet.env",
        "limits from scenarios/deploy/mainnet.env"};
    const char *dir = tst_tmpdir();
    char check_dir[1024], sim_dir[1024], path[1200];
    tst_output o;

    snprintf(check_dir, sizeof(check_dir), "%s/check", dir);
    snprintf(sim_dir, sizeof(sim_dir), "%s/sim", dir);
    setenv("RATELAB_GNUPLOT", "/nonexistent", 1);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "check", "--env", "scenarios/deploy/mainnet.env",
                                      "--out", check_dir,
                                      "scenarios/mainnet-two-hours-vs-100.ini", NULL),
                          0);
    CU_ASSERT_EQUAL(o.status, 0);
    tst_output_free(&o);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "sim", "--out", sim_dir,
                                      "scenarios/mainnet-two-hours-vs-100.ini", NULL),
                          0);
    unsetenv("RATELAB_GNUPLOT");
    CU_ASSERT_EQUAL(o.status, 0);
    tst_output_free(&o);

    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/mainnet-two-hours-vs-100/%s", check_dir,
                 scripts[i]);
        char *gp = read_all(path, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(gp);
        if (!tst_contains(gp, fragments[i]))
            fprintf(stderr, "\n%s lacks '%s'\n", path, fragments[i]);
        CU_ASSERT(tst_contains(gp, fragments[i]));
        free(gp);

        snprintf(path, sizeof(path), "%s/mainnet-two-hours-vs-100/%s", sim_dir,
                 scripts[i]);
        gp = read_all(path, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(gp);
        CU_ASSERT(!tst_contains(gp, "mainnet.env"));
        free(gp);
    }
}

/* A scenario that documents a rejection fails the gate when the new limits
 * let it through, and its line says that the limits grew, so nobody reads
 * it as lost capacity; one that still rejects says the rejection was
 * expected. */
static void test_check_expected_rejection_lines(void)
{
    tst_output o;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "check", "--env", "scenarios/deploy/mainnet.env",
                                      "scenarios/one-second-short-vs-20.ini",
                                      "scenarios/five-minute-vs-20.ini", NULL),
                          0);
    CU_ASSERT_EQUAL(o.status, 1);
    CU_ASSERT(tst_contains(o.out, "FAILED  one-second-short-vs-20: all requests fit under "
                                  "scenarios/deploy/mainnet.env (miner 100/day), expected "
                                  "to reject: these limits admit the requests the "
                                  "scenario expected to be rejected (more capacity, not "
                                  "less): nothing rejected"));
    CU_ASSERT(tst_contains(o.out, "          outcome rejects: failed (fits)"));
    CU_ASSERT(tst_contains(o.out, "FAILED  five-minute-vs-20: requests rejected under "
                                  "scenarios/deploy/mainnet.env (miner 100/day), as "
                                  "expected, but other expectations failed: 188 of 288"));
    CU_ASSERT(!tst_contains(o.out, "REJECTS"));
    tst_output_free(&o);
}

static void test_check_bad_env_exits_2(void)
{
    const char *dir = tst_tmpdir();
    char *env = tst_write_file(dir, "bad.env", "DAILY_LIMIT_PER_MINER=lots\n");
    tst_output o;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "check", "--env", env, "scenarios/", NULL), 0);
    CU_ASSERT_EQUAL(o.status, 2);
    CU_ASSERT(tst_contains(o.err, "bad.env:1"));
    CU_ASSERT_STRING_EQUAL(o.out, "");
    tst_output_free(&o);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "check", "scenarios/", NULL), 0);
    CU_ASSERT_EQUAL(o.status, 2);
    CU_ASSERT(tst_contains(o.err, "--env FILE is required"));
    tst_output_free(&o);
    free(env);
}

static void test_check_unknown_role_exits_2(void)
{
    const char *dir = tst_tmpdir();
    char *sc = tst_write_file(dir, "relay.ini",
                              "[limits]\nrole.relay = 5\n"
                              "[population r]\nrole = relay\ninterval = 1h\n");
    tst_output o;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "check", "--env", "scenarios/deploy/mainnet.env",
                                      sc, NULL),
                          0);
    CU_ASSERT_EQUAL(o.status, 2);
    CU_ASSERT(tst_contains(o.err, "DAILY_LIMIT_PER_RELAY"));
    tst_output_free(&o);
    free(sc);
}

static void test_check_json_verdicts(void)
{
    tst_output o;
    json_error_t jerr;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "check", "--env", "scenarios/deploy/mainnet.env",
                                      "--format", "json", "scenarios/five-minute-vs-500.ini",
                                      NULL),
                          0);
    CU_ASSERT_EQUAL(o.status, 1);
    json_t *doc = json_loads(o.out, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *check = json_object_get(doc, "check");
    CU_ASSERT(json_is_false(json_object_get(check, "passed")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(check, "broken")), 1);
    json_t *first = json_array_get(json_object_get(check, "scenarios"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "name")),
                           "five-minute-vs-500");
    json_decref(doc);
    tst_output_free(&o);
}

/* check takes one deployment file: a second --env (or any other
 * single-valued option) with another value is a usage error. */
static void test_check_repeated_options(void)
{
    static const struct {
        const char *args[10];
        const char *fragment;
    } cases[] = {
        {{"check", "--env", "a.env", "--env", "b.env", NULL},
         "--env given twice with different values, 'a.env' and 'b.env'"},
        {{"check", "--env", "a.env", "--container", "x", "--container", "y", NULL},
         "--container given twice"},
        {{"check", "--env", "a.env", "--format", "md", "--format", "json", NULL},
         "--format given twice"},
        {{"check", "--env", "a.env", "--junit", "a.xml", "--junit", "b.xml", NULL},
         "--junit given twice"},
        {{"check", "--env", "a.env", "--seed", "1", "--seed", "2", NULL},
         "--seed given twice"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tst_output o;
        CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(&o, (char *const *)cases[i].args), 0);
        CU_ASSERT_EQUAL(o.status, 2);
        CU_ASSERT_STRING_EQUAL(o.out, "");
        CU_ASSERT(tst_contains(o.err, cases[i].fragment));
        tst_output_free(&o);
    }

    /* The same file twice is the same gate. */
    char *args[] = {"check", "--env", "scenarios/deploy/testnet.env", "--env",
                    "scenarios/deploy/testnet.env", "scenarios/five-minute-vs-500.ini",
                    NULL};
    tst_output o;
    CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(&o, args), 0);
    CU_ASSERT_EQUAL(o.status, 0);
    tst_output_free(&o);
}

/* ---- percentages -------------------------------------------------------- */

/* One request a day against 3/day and 20000/day: headrooms of 66.67 % and
 * 99.995 %, which every format shows rounded down, as 66.6 % and 99.9 %. */
static void test_percentages_round_down_alike(void)
{
    const char *dir = tst_tmpdir();
    char *sc = tst_write_file(dir, "daily.ini",
                              "[limits]\nminer = 3\ntotal = 20000\n"
                              "[population m]\ninterval = 24h\nstart = together\n");
    char *env = tst_write_file(dir, "daily.env",
                               "DAILY_LIMIT_PER_MINER=3\nTOTAL_DAILY_LIMIT=20000\n");
    tst_output o;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "sim", sc, NULL), 0);
    CU_ASSERT(tst_contains(o.out, "headroom           66.6 %"));
    CU_ASSERT(tst_contains(o.out, "in one window (2025-01-01), headroom 99.9 %"));
    tst_output_free(&o);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "sim", "--format", "md", sc, NULL), 0);
    CU_ASSERT(tst_contains(o.out, "| 1 | 3 | 66.6 % | none |"));
    CU_ASSERT(tst_contains(o.out, "(peak 1 of 20,000/day); headroom 99.9 %."));
    CU_ASSERT(!tst_contains(o.out, "66.7 %"));
    CU_ASSERT(!tst_contains(o.out, "100.0 %"));
    tst_output_free(&o);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "check", "--env", env, sc, NULL), 0);
    CU_ASSERT_EQUAL(o.status, 0);
    CU_ASSERT(tst_contains(o.out, "nothing rejected, headroom 66.6 %"));
    tst_output_free(&o);
    free(sc);
    free(env);
}

/* ---- the policy and the realism sections in every format ---------------- */

/* Every writer names the policy the same way: the alternative algorithms
 * by their own names, never as the fixed-window policy they decide with. */
static void test_policy_named_alike(void)
{
    static const char *const policies[] = {"deployed", "atomic", "sliding-log",
                                           "sliding-window", "gcra"};
    const char *scenario = "scenarios/five-minute-vs-20.ini";

    for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
        char run_line[64], json_policy[64];
        tst_output text, md, json;
        snprintf(run_line, sizeof(run_line), "policy %s, seed", policies[i]);
        snprintf(json_policy, sizeof(json_policy), "\"policy\": \"%s\"", policies[i]);

        CU_ASSERT_EQUAL_FATAL(
            tst_ratelab(&text, "sim", "--policy", policies[i], scenario, NULL), 0);
        CU_ASSERT_EQUAL_FATAL(tst_ratelab(&md, "sim", "--format", "md", "--policy",
                                          policies[i], scenario, NULL),
                              0);
        CU_ASSERT_EQUAL_FATAL(tst_ratelab(&json, "sim", "--json", "--policy",
                                          policies[i], scenario, NULL),
                              0);
        CU_ASSERT(tst_contains(text.out, run_line));
        CU_ASSERT(tst_contains(md.out, run_line));
        CU_ASSERT(tst_contains(json.out, json_policy));
        tst_output_free(&text);
        tst_output_free(&md);
        tst_output_free(&json);
    }
}

/* Runs `ratelab sim --format md` on a shipped realism scenario and checks
 * that the report contains `fragment`. */
static void check_md_contains(const char *scenario, const char *fragment)
{
    tst_output o;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&o, "sim", "--format", "md", scenario, NULL), 0);
    CU_ASSERT(o.status == 0 || o.status == 1);
    if (!tst_contains(o.out, fragment))
        fprintf(stderr, "\n%s: the Markdown report lacks '%s'\n", scenario, fragment);
    CU_ASSERT(tst_contains(o.out, fragment));
    tst_output_free(&o);
}

static void test_markdown_realism_sections(void)
{
    check_md_contains("scenarios/realism/compare-policies.ini",
                      "| gcra | 288 | 20 | 268 | 0 | 2025-01-01T00:05:00Z (miners-0) |");
    check_md_contains("scenarios/realism/clock-ahead.ini",
                      "Clock: the server's day starts at 23:55:00 UTC (clock +5m, "
                      "window utc-day).");
    check_md_contains("scenarios/realism/retry-vs-20.ini",
                      "| miners | on_429 retry 1m times 2 | 536 | 268 | 0 | 0 |");
    check_md_contains("scenarios/realism/retry-vs-20.ini",
                      "Retries: 536 of 824 requests were retries of a 429.");
    check_md_contains("scenarios/realism/restarts-3h.ini",
                      "| miners | restart every 3h | 0 | 0 | 7 | 7 |");
    check_md_contains("scenarios/realism/attacker-spends-quota.ini",
                      "Honest clients: 24 requests of auth-valid clients, 9 rejected, "
                      "first at 2025-01-01T15:00:00Z (miners-0).");
    check_md_contains("scenarios/realism/replicas-per-replica.ini",
                      "Server: 3 replicas counting in their own memory (round-robin), "
                      "no replica restarts; estimated overshoot: 40 requests over "
                      "per-client limits");
    check_md_contains("scenarios/realism/replicas-shared-race.ini",
                      "Server: 2 replicas sharing one store, rtt 1s, race of the "
                      "deployed read-then-increment modelled");
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"golden markdown", test_golden_markdown},
        {"golden json", test_golden_json},
        {"golden summary csv", test_golden_csv},
        {"golden junit", test_golden_junit},
        {"golden hourly csv", test_golden_hourly_csv},
        {"series worked example", test_series_worked_example},
        {"series median of fleet", test_series_median_of_fleet},
        {"xml escape", test_xml_escape},
        {"out without gnuplot", test_out_without_gnuplot},
        {"out png sizes", test_out_png_sizes},
        {"load plot writer", test_load_plot_writer},
        {"plot global scales to usage", test_plot_global_scales_to_usage},
        {"plot global legend short", test_plot_global_legend_short},
        {"plot median on top", test_plot_median_on_top},
        {"plot label avoids line", test_plot_label_avoids_line},
        {"check stricter env fails", test_check_stricter_env_fails},
        {"check same limits pass", test_check_same_limits_pass},
        {"check expected rejection lines", test_check_expected_rejection_lines},
        {"check plots name env", test_check_plots_name_env},
        {"check bad env exits 2", test_check_bad_env_exits_2},
        {"check unknown role exits 2", test_check_unknown_role_exits_2},
        {"check json verdicts", test_check_json_verdicts},
        {"check repeated options", test_check_repeated_options},
        {"percentages round down alike", test_percentages_round_down_alike},
        {"policy named alike", test_policy_named_alike},
        {"markdown realism sections", test_markdown_realism_sections},
        CU_TEST_INFO_NULL,
    };
    return tst_main("reports", NULL, NULL, tests);
}
