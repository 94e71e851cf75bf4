/*
 * rpt_plot_load.c: plots of a load run over time: latency percentiles and
 * status codes per time bucket.
 *
 * The writer takes an rpt_load_series (plain arrays, one entry per bucket)
 * rather than the load generator's own result, so reports keep reading
 * plain structures and the load generator decides how it buckets
 * (loadgen/lg_series.h).  `ratelab load --plot-dir DIR` fills one from the
 * run's series and calls this writer.
 */
#include <string.h>

#include "rl_time.h"
#include "rpt_formats.h"

static int write_load_csv(FILE *out, const rpt_load_series *ls)
{
    char when[RL_ISO8601_MAX];

    fputs("bucket_start,time_s,p50_ms,p90_ms,p99_ms,status_2xx,status_429,status_4xx,"
          "status_5xx,errors\n",
          out);
    for (size_t i = 0; i < ls->nbuckets; i++) {
        int64_t t = ls->start_us + (int64_t)i * ls->bucket_us;
        rl_time_format_iso8601(t, when, sizeof(when));
        fprintf(out, "%s,%.6f,%.3f,%.3f,%.3f,%lld,%lld,%lld,%lld,%lld\n", when,
                (double)t / 1e6, ls->p50_ms[i], ls->p90_ms[i], ls->p99_ms[i],
                (long long)ls->status_2xx[i], (long long)ls->status_429[i],
                (long long)ls->status_4xx[i], (long long)ls->status_5xx[i],
                (long long)ls->errors[i]);
    }
    return ferror(out) ? RPT_ERR_IO : RPT_OK;
}

/* The common head of both scripts: a UTC clock x axis from epoch seconds. */
static void put_head(FILE *out, const char *script, const char *what, const char *title)
{
    fprintf(out, "# %s: %s over time.\n"
                 "# Written by ratelab; reads load.csv from this script's directory\n"
                 "# and writes its PNG and SVG there.  Render: gnuplot PATH/%s\n\n",
            script, what, script);
    fprintf(out, "here = ARG0[1:strlen(ARG0) - %zu]\n", strlen(script));
    fputs("png_term = strstrt(GPVAL_TERMINALS . \" \", \" pngcairo \") > 0 ? "
          "\"pngcairo\" : \"png\"\n"
          "reset\nset datafile separator comma\nset datafile columnheaders\n"
          "set grid lc rgb \"#dddddd\"\nset key below horizontal\nset tics nomirror\n"
          "set xdata time\nset timefmt \"%s\"\nset format x \"%H:%M:%S\"\n"
          "set xlabel \"time (UTC)\"\n",
          out);
    fputs("set title \"", out);
    for (const char *c = title; *c != '\0'; c++) {
        if (*c == '"' || *c == '\\')
            fputc('\\', out);
        fputc(*c, out);
    }
    fputs("\"\n", out);
}

static int write_latency_gp(FILE *out, const rpt_load_series *ls)
{
    char title[512];

    snprintf(title, sizeof(title), "%s: latency percentiles", ls->title);
    put_head(out, "load-latency.gp", "latency percentiles", title);
    fputs("set ylabel \"latency (ms)\"\nset yrange [0:*]\n", out);
    rpt_plot_render_loop_open(out, "load-latency");
    fputs("    plot here . \"load.csv\" using 2:3 with lines lw 2 lc rgb \"#27ae60\" "
          "title \"p50\", \\\n"
          "         \"\" using 2:4 with lines lw 2 lc rgb \"#e67e22\" title \"p90\", \\\n"
          "         \"\" using 2:5 with lines lw 2 lc rgb \"#c0392b\" title \"p99\"\n"
          "}\nset output\n",
          out);
    return ferror(out) ? RPT_ERR_IO : RPT_OK;
}

static int write_status_gp(FILE *out, const rpt_load_series *ls)
{
    char title[512];

    snprintf(title, sizeof(title), "%s: responses per %g s by status", ls->title,
             (double)ls->bucket_us / 1e6);
    put_head(out, "load-status.gp", "status codes", title);
    fputs("set ylabel \"responses per bucket\"\nset yrange [0:*]\n", out);
    rpt_plot_render_loop_open(out, "load-status");
    fputs("    plot here . \"load.csv\" using 2:6 with steps lw 2 lc rgb \"#27ae60\" "
          "title \"2xx\", \\\n"
          "         \"\" using 2:7 with steps lw 2 lc rgb \"#c0392b\" title \"429\", \\\n"
          "         \"\" using 2:8 with steps lw 2 lc rgb \"#e67e22\" "
          "title \"other 4xx\", \\\n"
          "         \"\" using 2:9 with steps lw 2 lc rgb \"#7d3c98\" title \"5xx\", \\\n"
          "         \"\" using 2:10 with steps lw 2 dt 2 lc rgb \"#7f8c8d\" "
          "title \"no response\"\n"
          "}\nset output\n",
          out);
    return ferror(out) ? RPT_ERR_IO : RPT_OK;
}

typedef int (*load_writer)(FILE *out, const rpt_load_series *ls);

static int write_one(const char *dir, const char *name, load_writer fn,
                     const rpt_load_series *ls)
{
    FILE *out = rpt_plot_open(dir, name);
    int rc;

    if (out == NULL)
        return RPT_ERR_IO;
    rc = fn(out, ls);
    if (fclose(out) != 0)
        rc = RPT_ERR_IO;
    return rc;
}

int rpt_plot_write_load(const char *dir, const rpt_load_series *ls)
{
    int rc = write_one(dir, "load.csv", write_load_csv, ls);

    if (rc == 0)
        rc = write_one(dir, "load-latency.gp", write_latency_gp, ls);
    if (rc == 0)
        rc = write_one(dir, "load-status.gp", write_status_gp, ls);
    return rc;
}
