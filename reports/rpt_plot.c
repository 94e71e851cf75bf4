/*
 * rpt_plot.c: gnuplot scripts for simulator runs, sweeps and load runs.
 *
 * Each script is plain gnuplot 5.4 that a reader can edit: it reads a CSV
 * file from its own directory (the directory part of ARG0, which gnuplot
 * sets to the script's path) and writes a PNG (pngcairo when the build has
 * it, else the libgd png terminal) and an SVG next to it.  Every number
 * the plot needs besides the data (limits, the window shown, axis ticks,
 * titles) is computed here and written into the script as a constant, so
 * the scripts hold no logic beyond the plot commands.
 *
 * What a reader should see without reading numbers:
 *   - titles name the scenario and the answer ("miners run out at 01:40
 *     UTC"), with the numbers in a second line;
 *   - limits are horizontal black lines, the moment a limit runs out is a
 *     dashed red vertical line with its time;
 *   - x axes are UTC times of day (HH:MM) for day windows.
 * rpt_gnuplot.c runs the scripts.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rl_time.h"
#include "rpt_formats.h"

#define TITLE_MAX 1024
#define PATH_MAX_PLOT 4096

/* Colours: a palette readable in print and by most colour-blind readers. */
#define COLOUR_BAD "#c0392b"
#define COLOUR_COUNTED "#e67e22"
#define COLOUR_MEDIAN "#2e86c1"
#define COLOUR_GOOD "#27ae60"
#define COLOUR_MUTED "#7f8c8d"
#define COLOUR_WINDOW "#1f4e79"        /* the busiest window's counter */
#define COLOUR_OTHER_WINDOWS "#85c1e9" /* the other windows' counters */

FILE *rpt_plot_open(const char *dir, const char *name)
{
    char path[PATH_MAX_PLOT];

    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return fopen(path, "w");
}

static int close_file(FILE *f)
{
    int failed = ferror(f);
    return fclose(f) != 0 || failed ? RPT_ERR_IO : RPT_OK;
}

/* Writes a string as a gnuplot double-quoted string (with \n kept). */
static void put_gp_string(FILE *out, const char *text)
{
    fputc('"', out);
    for (const char *c = text; *c != '\0'; c++) {
        if (*c == '"' || *c == '\\')
            fputc('\\', out);
        if (*c == '\n')
            fputs("\\n", out);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

/* The lines every script starts with: where it is, the terminals, the
 * CSV layout. */
static void put_preamble(FILE *out, const char *script, const char *what,
                         const char *data)
{
    fprintf(out, "# %s: %s.\n", script, what);
    fprintf(out, "# Written by ratelab; reads %s from this script's directory and\n"
                 "# writes its PNG and SVG there.  Render: gnuplot PATH/%s\n\n",
            data, script);
    fprintf(out, "here = ARG0[1:strlen(ARG0) - %zu]\n", strlen(script));
    fputs("png_term = strstrt(GPVAL_TERMINALS . \" \", \" pngcairo \") > 0 ? "
          "\"pngcairo\" : \"png\"\n",
          out);
    /* gnuplot may run several scripts in one process: start from scratch. */
    fputs("reset\nset datafile separator comma\nset datafile columnheaders\n"
          "set grid lc rgb \"#dddddd\"\nset key below horizontal\n"
          "set border lw 1.2\nset tics nomirror\nset format y \"%.0f\"\n\n",
          out);
}

void rpt_plot_render_loop_open(FILE *out, const char *base)
{
    fprintf(out,
            "do for [fmt in \"png svg\"] {\n"
            "    if (fmt eq \"png\") {\n"
            "        eval \"set terminal \" . png_term . \" size %d,%d noenhanced\"\n"
            "    } else {\n"
            "        set terminal svg size %d,%d noenhanced background \"white\"\n"
            "    }\n"
            "    set output here . \"%s.\" . fmt\n",
            RPT_PLOT_WIDTH, RPT_PLOT_HEIGHT, RPT_PLOT_WIDTH, RPT_PLOT_HEIGHT, base);
}

void rpt_plot_render_loop_close(FILE *out)
{
    fputs("}\nset output\n", out);
}

/* ---- time axes -------------------------------------------------------- */

/* Writes "set xtics (...)" for an x axis in hours from a UTC midnight,
 * from x0_h to x1_h, labelled HH:MM (24:00 at the end of a day). */
static void put_clock_tics(FILE *out, double x0_h, double x1_h)
{
    double span = x1_h - x0_h;
    double every = span / 4; /* tick spacing in hours: 3 h for a day */
    if (span > 12)
        every = 3;
    else if (span > 4)
        every = 1;
    else if (span > 1)
        every = 0.25;
    int first = 1;

    fputs("set xtics (", out);
    for (double x = ceil(x0_h / every) * every; x <= x1_h + 1e-9; x += every) {
        double in_day = fmod(x, 24.0);
        int minutes = (int)lround(in_day * 60.0);
        if (x > x0_h && in_day < 1e-9)
            minutes = 24 * 60; /* the end of a day reads 24:00 */
        fprintf(out, "%s\"%02d:%02d\" %.6f", first ? "" : ", ", minutes / 60,
                minutes % 60, x);
        first = 0;
    }
    fputs(")\n", out);
}

/* Writes "set xtics (...)" for an x axis in hours since the run's start,
 * labelled with UTC times (short runs) or dates (long ones). */
static void put_run_tics(FILE *out, int64_t start_us, int64_t hours)
{
    int64_t every = 3; /* hours between ticks: about ten ticks at most */
    if (hours > 14 * 24)
        every = ((hours / 24 + 9) / 10) * 24;
    else if (hours > 48)
        every = 24;
    int first = 1;

    fputs("set xtics (", out);
    for (int64_t h = 0; h <= hours; h += every) {
        int64_t t = start_us + h * RL_US_PER_HOUR;
        int64_t s = rl_floor_mod(t, RL_US_PER_DAY) / RL_US_PER_SEC;
        int y, m, d;
        rl_civil_from_days(rl_floor_div(t, RL_US_PER_DAY), &y, &m, &d);
        if (every < 24)
            fprintf(out, "%s\"%02d:%02d\" %lld", first ? "" : ", ", (int)(s / 3600),
                    (int)(s / 60 % 60), (long long)h);
        else
            fprintf(out, "%s\"%02d-%02d\" %lld", first ? "" : ", ", m, d, (long long)h);
        first = 0;
    }
    fputs(")\n", out);
}

/* Computes window w's span on a time-of-day axis, in hours from the UTC
 * midnight before its start. */
static void window_span_h(const sim_series *s, int64_t w, double *x0, double *x1)
{
    int64_t id = s->first_window_id + w;
    int64_t ws = rl_window_start_us(&s->window, id);
    int64_t midnight = rl_floor_div(ws, RL_US_PER_DAY) * RL_US_PER_DAY;

    *x0 = (double)(ws - midnight) / (double)RL_US_PER_HOUR;
    *x1 = *x0 + (double)rl_window_length_us(&s->window, id) / (double)RL_US_PER_HOUR;
}

/* The x expression and tics of window w: calendar windows use UTC time of
 * day (column 3), fixed windows the offset in the window (column 4). */
static const char *window_x_axis(FILE *out, const sim_series *s, int64_t w, double *x0,
                                 double *x1)
{
    if (s->window.kind == RL_WINDOW_CALENDAR_DAY) {
        window_span_h(s, w, x0, x1);
        put_clock_tics(out, *x0, *x1);
        fputs("set xlabel \"time of day (UTC)\"\n", out);
        return "($3/3600.0)";
    }
    *x0 = 0;
    *x1 = (double)rl_window_length_us(&s->window, s->first_window_id + w) /
          (double)RL_US_PER_HOUR;
    fputs("set xtics auto\nset xlabel \"hours into the window\"\n", out);
    return "($4/3600.0)";
}

/* x of time t_us on window w's axis. */
static double window_x(const sim_series *s, int64_t w, int64_t t_us)
{
    double x0, x1;
    int64_t ws = rl_window_start_us(&s->window, s->first_window_id + w);

    window_span_h(s, w, &x0, &x1);
    if (s->window.kind != RL_WINDOW_CALENDAR_DAY)
        x0 = 0;
    return x0 + (double)(t_us - ws) / (double)RL_US_PER_HOUR;
}

static int64_t window_of_time(const sim_series *s, int64_t t_us)
{
    return rl_window_id(&s->window, t_us) - s->first_window_id;
}

static void window_unit(const rl_window *w, char *buf, size_t len)
{
    if (w->kind == RL_WINDOW_CALENDAR_DAY)
        snprintf(buf, len, "day");
    else
        rl_window_format(w, buf, len);
}

/* ---- the run-out marker ------------------------------------------------ */

/* Width of one label character as a fraction of the x axis.  An estimate:
 * about 8.5 pixels per character of gnuplot's default font in the roughly
 * 880-pixel-wide plot area of a RPT_PLOT_WIDTH image. */
#define LABEL_CHAR_X 0.0097
/* Half the height of a label line as a fraction of the y axis, with a
 * margin.  An estimate: about 22 pixels of the roughly 370-pixel-high plot
 * area. */
#define LABEL_HALF_Y 0.06
#define MAX_PLOT_LINES 10

/* The vertical extent of one plotted line over the x range of a label. */
typedef struct line_extent {
    double lo, hi;
} line_extent;

/* A run-out marker: a vertical line at x and its label beside it. */
typedef struct plot_marker {
    double x;
    int left;      /* 1: the label is left of the line */
    double xa, xb; /* the x range the label covers */
    line_extent lines[MAX_PLOT_LINES];
    int nlines;
} plot_marker;

/* Places a marker's label on the side of x with more room (x0..x1 is the
 * axis) and works out the x range it covers. */
static void marker_place(plot_marker *m, double x, double x0, double x1, const char *label)
{
    double width = (double)(strlen(label) + 1) * LABEL_CHAR_X * (x1 - x0);

    memset(m, 0, sizeof(*m));
    m->x = x;
    m->left = x > x0 + (x1 - x0) * 0.6;
    m->xa = m->left ? x - width : x;
    m->xb = m->left ? x : x + width;
}

/* Starts a new line of the plot; its values are added with marker_add. */
static void marker_line(plot_marker *m)
{
    if (m->nlines < MAX_PLOT_LINES) {
        m->lines[m->nlines].lo = INFINITY;
        m->lines[m->nlines].hi = -INFINITY;
        m->nlines++;
    }
}

/* Adds to the current line the value it has from x to next_x, when that
 * span meets the label's x range.  A step line keeps a row's value up to
 * the next row, so a row before the label's range can count as well. */
static void marker_add(plot_marker *m, double x, double next_x, double value)
{
    if (m->nlines == 0 || x > m->xb || next_x < m->xa)
        return;

    line_extent *e = &m->lines[m->nlines - 1];
    if (value < e->lo)
        e->lo = value;
    if (value > e->hi)
        e->hi = value;
}

/* Chooses the label's height, as a fraction of the y axis [0, top], where
 * no line passes behind it: the middle if free, else the nearest free
 * height.  Returns -1 when every height is taken. */
static double marker_label_y(const plot_marker *m, double top)
{
    static const double heights[] = {0.55, 0.7, 0.4, 0.85, 0.25, 0.93, 0.12};

    for (size_t h = 0; h < sizeof(heights) / sizeof(heights[0]); h++) {
        double lo = (heights[h] - LABEL_HALF_Y) * top, hi = (heights[h] + LABEL_HALF_Y) * top;
        int free = 1;
        for (int i = 0; i < m->nlines && free; i++)
            free = m->lines[i].hi < lo || m->lines[i].lo > hi;
        if (free)
            return heights[h];
    }
    return -1;
}

/* Writes a marker: a dashed red vertical line with its label at a height
 * where no line crosses it, or on an opaque box when there is none. */
static void put_marker(FILE *out, int n, const plot_marker *m, double top,
                       const char *label)
{
    double y = marker_label_y(m, top);

    fprintf(out, "set arrow %d from %.6f, graph 0 to %.6f, graph 1 nohead lw 1.5 dt 2 "
                 "lc rgb \"%s\" front\n",
            n, m->x, m->x, COLOUR_BAD);
    if (y < 0)
        fputs("set style textbox opaque noborder\n", out);
    fprintf(out, "set label %d ", n);
    put_gp_string(out, label);
    fprintf(out, " at %.6f, graph %.2f %s offset %s,0 tc rgb \"%s\" front%s\n", m->x,
            y < 0 ? 0.55 : y, m->left ? "right" : "left", m->left ? "-0.6" : "0.6",
            COLOUR_BAD, y < 0 ? " boxed" : "");
}

/* x of row `row` of window w, and of the row after it (the end of its
 * step), on window w's axis. */
static void row_span(const sim_series *s, int64_t w, size_t row, double *x, double *next_x)
{
    *x = window_x(s, w, s->time_us[row]);
    *next_x = row + 1 < s->nrows && s->window_index[row + 1] == w
                  ? window_x(s, w, s->time_us[row + 1])
                  : *x;
}

/* ---- per-population usage --------------------------------------------- */

/* The window in which the population's busiest client made the most
 * requests (the first such), and that number. */
static int64_t busiest_window(const sim_series *s, int pop, int64_t *peak)
{
    int64_t w = 0;

    *peak = -1;
    for (size_t row = 0; row < s->nrows; row++) {
        const sim_series_pop_value *v = sim_series_pop(s, row, pop);
        if (v->worst_requests > *peak) {
            *peak = v->worst_requests;
            w = s->window_index[row];
        }
    }
    return w;
}

/* Writes " from PATH" into buf when the limits came from a named file,
 * else nothing. */
static void limits_from_words(const char *limits_from, char *buf, size_t len)
{
    if (limits_from != NULL)
        snprintf(buf, len, " from %s", limits_from);
    else
        buf[0] = '\0';
}

static void usage_title(FILE *out, const sim_result *r, const sim_series *s, int pop,
                        int64_t w, int64_t peak, const char *limits_from)
{
    const sim_pop_result *p = &r->pops[pop];
    char headline[TITLE_MAX], title[3 * TITLE_MAX], unit[32], label[RL_WINDOW_LABEL_MAX];
    char from[TITLE_MAX];

    rpt_population_headline(r, pop, headline, sizeof(headline));
    window_unit(&r->window, unit, sizeof(unit));
    rl_window_label(&s->window, s->first_window_id + w, label, sizeof(label));
    limits_from_words(limits_from, from, sizeof(from));
    snprintf(title, sizeof(title),
             "%s\nbusiest of %lld client%s: %lld requests in window %s, limit %lld/%s%s",
             headline, (long long)p->clients, p->clients == 1 ? "" : "s",
             (long long)peak, label, (long long)p->limit, unit, from);
    fputs("set title ", out);
    put_gp_string(out, title);
    fputc('\n', out);
}

/* Adds the lines of a usage plot (window w) to a marker's extents. */
static void usage_extents(plot_marker *m, const sim_series *s, int pop, int64_t w,
                          int64_t limit)
{
    double x, next_x;

    marker_line(m); /* the limit */
    marker_add(m, m->xa, m->xb, (double)limit);
    for (int line = 0; line < 3; line++) {
        marker_line(m);
        for (size_t row = 0; row < s->nrows; row++) {
            if (s->window_index[row] != w)
                continue;
            const sim_series_pop_value *v = sim_series_pop(s, row, pop);
            int64_t value = line == 0   ? v->worst_requests
                            : line == 1 ? v->worst_counter
                                        : v->median_requests;
            row_span(s, w, row, &x, &next_x);
            marker_add(m, x, next_x, (double)value);
        }
    }
}

static void usage_plot(FILE *out, const sim_result *r, const sim_series *s, int pop,
                       const char *limits_from)
{
    const sim_pop_result *p = &r->pops[pop];
    int64_t peak, w = busiest_window(s, pop, &peak);
    int col = 7 + 4 * pop; /* worst_counter; then median_counter, worst_requests, ... */
    double x0, x1, top = (double)(peak > p->limit ? peak : p->limit);
    char base[SIM_NAME_MAX + 8], unit[32], label[96];

    fprintf(out, "\n# Population %s: window %lld of the run.\nunset arrow\nunset label\n",
            p->name, (long long)w);
    usage_title(out, r, s, pop, w, peak, limits_from);
    const char *x = window_x_axis(out, s, w, &x0, &x1);
    fprintf(out, "set xrange [%.6f:%.6f]\nset yrange [0:%.6g]\n", x0, x1,
            top > 0 ? top * 1.15 : 1.0);
    fputs("set ylabel \"requests per client in the window\"\n", out);
    if (p->first_rejection_us != SIM_TIME_NONE && window_of_time(s, p->first_rejection_us) == w) {
        char when[64];
        plot_marker m;
        rpt_format_clock(p->first_rejection_us, r->start_us, when, sizeof(when));
        snprintf(label, sizeof(label), "runs out %s", when);
        marker_place(&m, window_x(s, w, p->first_rejection_us), x0, x1, label);
        usage_extents(&m, s, pop, w, p->limit);
        put_marker(out, 1, &m, top > 0 ? top * 1.15 : 1.0, label);
    }

    window_unit(&r->window, unit, sizeof(unit));
    snprintf(base, sizeof(base), "usage-%s", p->name);
    rpt_plot_render_loop_open(out, base);
    /* Drawn bottom up: the limit, the busiest client's requests and its
     * counter, then the median on top with its own dash pattern, so it
     * stays visible where it equals the busiest client's line. */
    fprintf(out, "    plot %lld with lines lw 2.5 lc rgb \"black\" title \"limit %lld/%s\", \\\n",
            (long long)p->limit, (long long)p->limit, unit);
    fprintf(out, "         here . \"usage.csv\" using %s:($2 == %lld ? $%d : NaN) with steps "
                 "lw 3 lc rgb \"%s\" title \"%s: requests made\", \\\n",
            x, (long long)w, col + 2, COLOUR_BAD,
            p->clients > 1 ? "busiest client" : "the client");
    fprintf(out, "         here . \"usage.csv\" using %s:($2 == %lld ? $%d : NaN) with steps "
                 "lw 2.5 dt 2 lc rgb \"%s\" title \"%s: counted by the limiter\"%s\n",
            x, (long long)w, col, COLOUR_COUNTED,
            p->clients > 1 ? "busiest client" : "the client", p->clients > 1 ? ", \\" : "");
    if (p->clients > 1)
        fprintf(out, "         here . \"usage.csv\" using %s:($2 == %lld ? $%d : NaN) with "
                     "steps lw 3 dt (3,4) lc rgb \"%s\" title \"median client: requests "
                     "made\"\n",
                x, (long long)w, col + 3, COLOUR_MEDIAN);
    rpt_plot_render_loop_close(out);
}

static int write_usage(const char *dir, const sim_result *r, const sim_series *s,
                       const char *limits_from)
{
    FILE *out = rpt_plot_open(dir, "usage.gp");

    if (out == NULL)
        return RPT_ERR_IO;
    put_preamble(out, "usage.gp",
                 "each population's requests per client through its busiest window",
                 "usage.csv");
    for (int i = 0; i < r->npops; i++)
        usage_plot(out, r, s, i, limits_from);
    return close_file(out);
}

/* ---- the global total ------------------------------------------------- */

/* Chooses the windows drawn: all of them up to 7, else the one with the
 * most requests and the one where the total ran out. */
static size_t global_windows(const sim_result *r, const sim_series *s, int64_t *ws)
{
    int64_t n = s->window_index[s->nrows - 1] + 1;
    size_t count = 0;

    if (n <= 7) {
        for (int64_t w = 0; w < n; w++)
            ws[count++] = w;
        return count;
    }
    ws[count++] = s->global_peak_window_index;
    if (r->global.exhausted_at_us != SIM_TIME_NONE &&
        window_of_time(s, r->global.exhausted_at_us) != ws[0])
        ws[count++] = window_of_time(s, r->global.exhausted_at_us);
    return count;
}

/* Returns 1 when the total is so far above the usage that drawing it would
 * squash every line against the x axis: the axis then ends at 1.2 times
 * the usage and the title says where the total is. */
static int total_off_scale(const sim_result *r, const sim_series *s)
{
    int64_t usage = s->global_peak_requests > r->global.peak_window_usage
                        ? s->global_peak_requests
                        : r->global.peak_window_usage;

    return r->global.limit > 3 * usage;
}

static void global_title(FILE *out, const sim_result *r, const sim_series *s,
                         const char *limits_from)
{
    char headline[TITLE_MAX], title[3 * TITLE_MAX], unit[32], from[TITLE_MAX];

    rpt_global_headline(r, headline, sizeof(headline));
    window_unit(&r->window, unit, sizeof(unit));
    limits_from_words(limits_from, from, sizeof(from));
    char made[32], counted[32], total[32];

    rpt_format_count(s->global_peak_requests, made, sizeof(made));
    rpt_format_count(r->global.peak_window_usage, counted, sizeof(counted));
    rpt_format_count(r->global.limit, total, sizeof(total));
    snprintf(title, sizeof(title),
             "%s\nall clients: up to %s requests made and %s counted per %s, total %s/%s%s%s",
             headline, made, counted, unit, total, unit, from,
             total_off_scale(r, s) ? " (far above this scale)" : "");
    fputs("set title ", out);
    put_gp_string(out, title);
    fputc('\n', out);
}

/* Adds the lines of the global plot to a marker's extents. */
static void global_extents(plot_marker *m, const sim_series *s, const int64_t *wins,
                           size_t n, int64_t total_on_scale)
{
    double x, next_x;

    if (total_on_scale > 0) {
        marker_line(m);
        marker_add(m, m->xa, m->xb, (double)total_on_scale);
    }
    for (size_t i = 0; i <= n; i++) {
        /* Window i's counter, then (i == n) the requests of the peak window. */
        int64_t w = i < n ? wins[i] : s->global_peak_window_index;
        marker_line(m);
        for (size_t row = 0; row < s->nrows; row++) {
            if (s->window_index[row] != w)
                continue;
            row_span(s, w, row, &x, &next_x);
            marker_add(m, x, next_x,
                       (double)(i < n ? s->global_counter[row] : s->global_requests[row]));
        }
    }
}

/* Writes one window's global counter as a plot element (and a line break). */
static void put_global_counter(FILE *out, const char *x, int64_t w, const char *colour,
                               const char *width, const char *title)
{
    fprintf(out, "here . \"usage.csv\" using %s:($2 == %lld ? $5 : NaN) with steps "
                 "lw %s lc rgb \"%s\" %s, \\\n         ",
            x, (long long)w, width, colour, title);
}

static void global_plot(FILE *out, const sim_result *r, const sim_series *s,
                        const char *limits_from)
{
    int64_t wins[7] = {0};
    size_t n = global_windows(r, s, wins);
    double x0, x1;
    char unit[32], label[RL_WINDOW_LABEL_MAX], total[32];
    int off_scale = total_off_scale(r, s);
    int64_t usage = s->global_peak_requests > r->global.peak_window_usage
                        ? s->global_peak_requests
                        : r->global.peak_window_usage;
    double ymax = off_scale ? (double)usage * 1.2
                            : (double)(usage > r->global.limit ? usage : r->global.limit) * 1.15;

    if (ymax <= 0)
        ymax = 1.0;

    global_title(out, r, s, limits_from);
    const char *x = window_x_axis(out, s, wins[0], &x0, &x1);
    fprintf(out, "set xrange [%.6f:%.6f]\nset yrange [0:%.6g]\n", x0, x1, ymax);
    fputs("set ylabel \"requests of all clients in the window\"\n", out);
    rpt_format_count(r->global.limit, total, sizeof(total));
    if (r->global.exhausted_at_us != SIM_TIME_NONE) {
        char when[64], text[96];
        plot_marker m;
        int64_t w = window_of_time(s, r->global.exhausted_at_us);
        rpt_format_clock(r->global.exhausted_at_us, r->start_us, when, sizeof(when));
        snprintf(text, sizeof(text), "total runs out %s", when);
        marker_place(&m, window_x(s, w, r->global.exhausted_at_us), x0, x1, text);
        global_extents(&m, s, wins, n, off_scale ? 0 : r->global.limit);
        put_marker(out, 1, &m, ymax, text);
    }

    /* One legend entry for the busiest window's counter and one for all
     * the others, however many windows are drawn.  The busiest window is
     * drawn over the others, and the requests made last, dashed, so they
     * show where they equal the counter. */
    window_unit(&r->window, unit, sizeof(unit));
    rpt_plot_render_loop_open(out, "global");
    fputs("    plot ", out);
    if (!off_scale)
        fprintf(out, "%lld with lines lw 2.5 lc rgb \"black\" title \"total %s/%s\", \\\n"
                     "         ",
                (long long)r->global.limit, total, unit);
    int others = 0;
    for (size_t i = 0; i < n; i++) {
        if (wins[i] == s->global_peak_window_index)
            continue;
        char title[96] = "notitle";
        rl_window_label(&s->window, s->first_window_id + wins[i], label, sizeof(label));
        if (others++ == 0 && n == 2)
            snprintf(title, sizeof(title), "title \"counted, window %s\"", label);
        else if (others == 1)
            snprintf(title, sizeof(title), "title \"counted, the other %zu windows\"", n - 1);
        put_global_counter(out, x, wins[i], COLOUR_OTHER_WINDOWS, "1.5", title);
    }
    rl_window_label(&s->window, s->first_window_id + s->global_peak_window_index, label,
                    sizeof(label));
    char title[96];
    snprintf(title, sizeof(title), "title \"counted, window %s%s\"", label,
             n > 1 ? " (the busiest)" : "");
    put_global_counter(out, x, s->global_peak_window_index, COLOUR_WINDOW, "2.5", title);
    fprintf(out, "here . \"usage.csv\" using %s:($2 == %lld ? $6 : NaN) with steps "
                 "lw 2 dt 2 lc rgb \"%s\" title \"requests made, window %s\"\n",
            x, (long long)s->global_peak_window_index, COLOUR_MUTED, label);
    rpt_plot_render_loop_close(out);
}

static int write_global(const char *dir, const sim_result *r, const sim_series *s,
                        const char *limits_from)
{
    FILE *out = rpt_plot_open(dir, "global.gp");

    if (out == NULL)
        return RPT_ERR_IO;
    put_preamble(out, "global.gp", "the global counter through each window, against "
                                   "the total",
                 "usage.csv");
    global_plot(out, r, s, limits_from);
    return close_file(out);
}

/* ---- requests per hour ------------------------------------------------ */

static int write_hourly(const char *dir, const sim_result *r, const char *limits_from)
{
    FILE *out = rpt_plot_open(dir, "hourly.gp");
    char title[2 * TITLE_MAX], from[TITLE_MAX] = "";
    const sim_counts *c = &r->total;

    if (out == NULL)
        return RPT_ERR_IO;
    put_preamble(out, "hourly.gp", "accepted and rejected requests per hour",
                 "hourly.csv");
    if (limits_from != NULL)
        snprintf(from, sizeof(from), ", limits from %s", limits_from);
    snprintf(title, sizeof(title), "%s: %s\n%lld accepted, %lld rejected, %lld failed "
                                   "auth in %lld day%s%s",
             r->name, r->fits ? "fits, nothing rejected" : "requests rejected",
             (long long)c->accepted, (long long)(c->rejected_client + c->rejected_global),
             (long long)c->failed_auth, (long long)r->days, r->days == 1 ? "" : "s", from);
    fputs("set title ", out);
    put_gp_string(out, title);
    fputc('\n', out);
    put_run_tics(out, r->start_us, r->n_hours);
    fprintf(out, "set xrange [0:%lld]\nset yrange [0:*]\n", (long long)r->n_hours);
    fputs("set xlabel \"UTC time\"\nset ylabel \"requests per hour\"\n"
          "set style fill solid 0.85 noborder\nset boxwidth 0.9\n",
          out);

    /* Stacked: each box is drawn over the taller one before it. */
    rpt_plot_render_loop_open(out, "hourly");
    fputs("    plot ", out);
    if (c->failed_auth > 0)
        fprintf(out, "here . \"hourly.csv\" using ($0+0.5):($2+$3+$4) with boxes "
                     "lc rgb \"%s\" title \"failed auth\", \\\n         ",
                COLOUR_MUTED);
    fprintf(out, "here . \"hourly.csv\" using ($0+0.5):($2+$3) with boxes lc rgb \"%s\" "
                 "title \"rejected\", \\\n",
            COLOUR_BAD);
    fprintf(out, "         \"\" using ($0+0.5):2 with boxes lc rgb \"%s\" "
                 "title \"accepted\"\n",
            COLOUR_GOOD);
    rpt_plot_render_loop_close(out);
    return close_file(out);
}

int rpt_plot_write(const char *dir, const sim_result *r, const sim_series *s,
                   const char *limits_from)
{
    int rc = write_usage(dir, r, s, limits_from);

    if (rc == 0)
        rc = write_global(dir, r, s, limits_from);
    if (rc == 0)
        rc = write_hourly(dir, r, limits_from);
    return rc;
}
