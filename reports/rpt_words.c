/*
 * rpt_words.c: the short sentences and names that plots, every report and
 * the check command share, so a scenario's answer reads the same everywhere.
 *
 * Times are written as a UTC time of day ("01:40 UTC"), because the limits
 * reset at UTC midnight and operators think in times of day; a time on a
 * later date than the run's start adds the date.
 */
#include <stdio.h>

#include "rl_algo.h"
#include "rl_time.h"
#include "rpt_formats.h"

void rpt_format_time(int64_t t_us, char *buf, size_t len)
{
    if (t_us == SIM_TIME_NONE)
        snprintf(buf, len, "none");
    else
        rl_time_format_iso8601(t_us, buf, len);
}

/* The alternative algorithms run only in the realism engine, so a result
 * without it used a fixed window. */
const char *rpt_policy_name(const sim_result *r)
{
    rl_algo_kind algo = r->realism.active ? r->realism.config.algo : RL_ALGO_FIXED_WINDOW;

    return rl_algo_policy_name(algo, r->policy);
}

int rpt_format_clock(int64_t t_us, int64_t day0_us, char *buf, size_t len)
{
    int64_t day = rl_floor_div(t_us, RL_US_PER_DAY);
    int64_t in_day_s = rl_floor_mod(t_us, RL_US_PER_DAY) / RL_US_PER_SEC;
    int hh = (int)(in_day_s / 3600), mm = (int)(in_day_s / 60 % 60), ss = (int)(in_day_s % 60);
    char clock[16], date[16] = "";

    if (ss != 0)
        snprintf(clock, sizeof(clock), "%02d:%02d:%02d", hh, mm, ss);
    else
        snprintf(clock, sizeof(clock), "%02d:%02d", hh, mm);
    if (day != rl_floor_div(day0_us, RL_US_PER_DAY)) {
        int y, m, d;
        rl_civil_from_days(day, &y, &m, &d);
        snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, d);
    }
    return snprintf(buf, len, "%s UTC%s%s", clock, date[0] ? " on " : "", date);
}

int rpt_format_count(int64_t n, char *buf, size_t len)
{
    char digits[32];
    int nd = snprintf(digits, sizeof(digits), "%lld", (long long)(n < 0 ? -n : n));
    size_t o = 0;

    if (n < 0 && o + 1 < len)
        buf[o++] = '-';
    for (int i = 0; i < nd && o + 1 < len; i++) {
        if (i > 0 && (nd - i) % 3 == 0 && o + 2 < len)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    if (len > 0)
        buf[o] = '\0';
    return (int)o;
}

/* "day" for calendar windows, the length ("1m") for fixed ones. */
static void window_unit(const rl_window *w, char *buf, size_t len)
{
    if (w->kind == RL_WINDOW_CALENDAR_DAY)
        snprintf(buf, len, "day");
    else
        rl_window_format(w, buf, len);
}

int rpt_population_headline(const sim_result *r, int pop, char *buf, size_t len)
{
    const sim_pop_result *p = &r->pops[pop];
    char when[64], unit[32], peak[32], limit[32];

    window_unit(&r->window, unit, sizeof(unit));
    rpt_format_count(p->max_window_usage, peak, sizeof(peak));
    rpt_format_count(p->limit, limit, sizeof(limit));
    if (p->first_rejection_us == SIM_TIME_NONE)
        return snprintf(buf, len, "%s: %s fit (peak %s of %s/%s)", r->name, p->name, peak,
                        limit, unit);

    rpt_format_clock(p->first_rejection_us, r->start_us, when, sizeof(when));
    if (p->counts.rejected_client == 0)
        return snprintf(buf, len, "%s: %s are cut off by the total at %s", r->name,
                        p->name, when);
    return snprintf(buf, len, "%s: %s run out at %s", r->name, p->name, when);
}

int rpt_global_headline(const sim_result *r, char *buf, size_t len)
{
    char when[64], unit[32], peak[32], limit[32];

    window_unit(&r->window, unit, sizeof(unit));
    rpt_format_count(r->global.peak_window_usage, peak, sizeof(peak));
    rpt_format_count(r->global.limit, limit, sizeof(limit));
    if (r->global.exhausted_at_us == SIM_TIME_NONE)
        return snprintf(buf, len, "%s: the total holds (peak %s of %s/%s)", r->name, peak,
                        limit, unit);
    rpt_format_clock(r->global.exhausted_at_us, r->start_us, when, sizeof(when));
    return snprintf(buf, len, "%s: the total runs out at %s", r->name, when);
}
