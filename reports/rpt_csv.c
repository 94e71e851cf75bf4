/*
 * rpt_csv.c: CSV files of simulator runs (RFC 4180: comma-separated, a
 * header line, fields quoted only when they contain a comma, a quote or a
 * line break, lines ending in LF).
 *
 * Three tables:
 *   summary   one row per population of every run (what --format csv prints)
 *   hourly    one row per hour of one run (hourly.csv in --out)
 *   usage     every row of the run's time series (usage.csv, the plots' data)
 *
 * Times are ISO-8601 UTC; headrooms are fractions with four decimals and an
 * empty field when there is none (a limit of 0); a time that did not happen
 * is an empty field.  Column names are in docs/reports.md.
 */
#include <math.h>
#include <string.h>

#include "rl_time.h"
#include "rpt_formats.h"

/* Writes a field, quoted when it has to be. */
static void put_field(FILE *out, const char *text)
{
    if (strpbrk(text, ",\"\r\n") == NULL) {
        fputs(text, out);
        return;
    }
    fputc('"', out);
    for (const char *c = text; *c != '\0'; c++) {
        if (*c == '"')
            fputc('"', out);
        fputc(*c, out);
    }
    fputc('"', out);
}

static void put_time(FILE *out, int64_t t_us)
{
    char buf[RL_ISO8601_MAX];

    if (t_us == SIM_TIME_NONE)
        return;
    rl_time_format_iso8601(t_us, buf, sizeof(buf));
    fputs(buf, out);
}

static void summary_row(FILE *out, const sim_result *r, const sim_pop_result *p)
{
    put_field(out, r->name);
    fputc(',', out);
    put_field(out, p->name);
    fprintf(out, ",%s,%lld,%s,%lld,%lld,%lld,%lld,%lld,%lld,%lld,", p->role,
            (long long)p->clients, sim_verdict_name(r), (long long)p->counts.requests,
            (long long)p->counts.accepted, (long long)p->counts.rejected_client,
            (long long)p->counts.rejected_global, (long long)p->counts.failed_auth,
            (long long)p->limit, (long long)p->max_window_usage);
    if (!isnan(p->headroom))
        fprintf(out, "%.4f", p->headroom);
    fputc(',', out);
    put_time(out, p->first_rejection_us);
    fprintf(out, ",%s\n", r->expectations_met ? "true" : "false");
}

int rpt_csv_summary(FILE *out, const sim_result *const *results, size_t n)
{
    fputs("scenario,population,role,clients,scenario_verdict,requests,accepted,"
          "rejected_client,rejected_global,failed_auth,limit,peak_window_usage,"
          "headroom,first_rejection,expectations_met\n",
          out);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < results[i]->npops; j++)
            summary_row(out, results[i], &results[i]->pops[j]);
    return ferror(out) ? RPT_ERR_IO : RPT_OK;
}

/* The per-population column names, after the fixed ones. */
static void population_headers(FILE *out, const sim_result *r)
{
    static const char *const suffixes[] = {"worst_counter", "median_counter",
                                           "worst_requests", "median_requests"};

    for (int i = 0; i < r->npops; i++)
        for (size_t k = 0; k < 4; k++)
            fprintf(out, ",%s_%s", r->pops[i].name, suffixes[k]);
    fputc('\n', out);
}

static void population_values(FILE *out, const sim_series *s, size_t row)
{
    for (int i = 0; i < s->npops; i++) {
        const sim_series_pop_value *v = sim_series_pop(s, row, i);
        fprintf(out, ",%lld,%lld,%lld,%lld", (long long)v->worst_counter,
                (long long)v->median_counter, (long long)v->worst_requests,
                (long long)v->median_requests);
    }
    fputc('\n', out);
}

int rpt_csv_hourly(FILE *out, const sim_result *r, const sim_series *s)
{
    fputs("hour_start,accepted,rejected,failed_auth,global_counter,global_requests",
          out);
    population_headers(out, r);

    for (int64_t h = 0; h < r->n_hours; h++) {
        int64_t start = r->start_us + h * RL_US_PER_HOUR;
        /* The first row at the hour's end holds the values just before it. */
        size_t row = sim_series_find_row(s, start + RL_US_PER_HOUR);

        put_time(out, start);
        fprintf(out, ",%lld,%lld,%lld", (long long)r->accepted_per_hour[h],
                (long long)r->rejected_per_hour[h], (long long)r->failed_auth_per_hour[h]);
        if (row == s->nrows) {
            /* Not reached: the grid step divides an hour. */
            fputs(",,\n", out);
            continue;
        }
        fprintf(out, ",%lld,%lld", (long long)s->global_counter[row],
                (long long)s->global_requests[row]);
        population_values(out, s, row);
    }
    return ferror(out) ? RPT_ERR_IO : RPT_OK;
}

static void put_seconds(FILE *out, int64_t x_us)
{
    if (x_us % RL_US_PER_SEC == 0)
        fprintf(out, "%lld", (long long)(x_us / RL_US_PER_SEC));
    else
        fprintf(out, "%lld.%06lld", (long long)(x_us / RL_US_PER_SEC),
                (long long)(x_us % RL_US_PER_SEC));
}

/* Writes two x values of the plots: seconds from the UTC midnight before
 * the row's window start (up to 86400 for a day's last row), and seconds
 * from the window start. */
static void put_window_times(FILE *out, const sim_series *s, size_t row)
{
    int64_t ws = rl_window_start_us(&s->window, s->first_window_id + s->window_index[row]);
    int64_t midnight = rl_floor_div(ws, RL_US_PER_DAY) * RL_US_PER_DAY;

    put_seconds(out, s->time_us[row] - midnight);
    fputc(',', out);
    put_seconds(out, s->time_us[row] - ws);
}

int rpt_csv_usage(FILE *out, const sim_result *r, const sim_series *s)
{
    fputs("time,window,time_of_day_s,window_offset_s,global_counter,global_requests",
          out);
    population_headers(out, r);

    for (size_t row = 0; row < s->nrows; row++) {
        put_time(out, s->time_us[row]);
        fprintf(out, ",%lld,", (long long)s->window_index[row]);
        put_window_times(out, s, row);
        fprintf(out, ",%lld,%lld", (long long)s->global_counter[row],
                (long long)s->global_requests[row]);
        population_values(out, s, row);
    }
    return ferror(out) ? RPT_ERR_IO : RPT_OK;
}
