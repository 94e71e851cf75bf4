/*
 * sim_expect.c: evaluates a scenario's [expect] keys against a run.
 *
 * Each key present in the scenario becomes one sim_expect_result with a
 * one-line explanation of the form "KEY EXPECTED: met|failed (OBSERVED)",
 * e.g. "min_headroom 40 %: met (42.4 %)".  The keys and their meaning:
 *
 *   outcome           fits | rejects: the verdict (fits = no request rejected
 *                     by a limit)
 *   max_rejections N  client and global rejections in the run <= N
 *   rejections N      client and global rejections in the run == N
 *   min_headroom P    the smallest population headroom, in percent, >= P
 *   first_rejection   the time of the first rejection, or "none"
 *   global_exhausted  the time of the first global rejection, or "none"
 */
#include <math.h>
#include <stdio.h>

#include "rl_time.h"
#include "sim.h"

static sim_expect_result *next_slot(sim_result *r, const char *key, int met)
{
    sim_expect_result *e = &r->expectations[r->nexpectations++];
    e->key = key;
    e->met = met;
    if (!met)
        r->expectations_met = 0;
    return e;
}

static const char *met_word(int met)
{
    return met ? "met" : "failed";
}

/* Writes an expected or observed time: ISO-8601, or "none". */
static void format_time(int64_t t_us, char *buf, size_t len)
{
    if (t_us == SIM_TIME_NONE)
        snprintf(buf, len, "none");
    else
        rl_time_format_iso8601(t_us, buf, len);
}

static void expect_count(sim_result *r, const char *key, int64_t expected, int exact)
{
    int64_t seen = r->total.rejected_client + r->total.rejected_global;
    int met = exact ? seen == expected : seen <= expected;
    sim_expect_result *e = next_slot(r, key, met);

    snprintf(e->explanation, sizeof(e->explanation), "%s %lld: %s (%lld)", key,
             (long long)expected, met_word(met), (long long)seen);
}

/* Headroom in percent computed from the integers, so that 288 against 500
 * gives exactly the double nearest 42.4, the same as the parsed "42.4". */
static double headroom_pct(const sim_pop_result *pr)
{
    return (double)((pr->limit - pr->max_window_usage) * 100) / (double)pr->limit;
}

void sim_format_headroom(int64_t usage, int64_t limit, char *buf, size_t len)
{
    if (limit <= 0) {
        snprintf(buf, len, "n/a");
        return;
    }

    /* Tenths of a percent, rounded toward minus infinity.  limit is at most
     * 2^53, so (limit - usage) * 1000 fits in 64 bits for any usage below
     * 2^53. */
    int64_t tenths = rl_floor_div((limit - usage) * 1000, limit);
    int64_t magnitude = tenths < 0 ? -tenths : tenths;
    snprintf(buf, len, "%s%lld.%lld %%", tenths < 0 ? "-" : "",
             (long long)(magnitude / 10), (long long)(magnitude % 10));
}

static void expect_min_headroom(sim_result *r, double expected_pct)
{
    const sim_pop_result *lowest = NULL;

    for (int i = 0; i < r->npops; i++) {
        const sim_pop_result *pr = &r->pops[i];
        if (pr->limit > 0 &&
            (lowest == NULL || headroom_pct(pr) < headroom_pct(lowest)))
            lowest = pr;
    }
    if (lowest == NULL) {
        sim_expect_result *e = next_slot(r, "min_headroom", 0);
        snprintf(e->explanation, sizeof(e->explanation),
                 "min_headroom %g %%: failed (no population has a limit above 0)",
                 expected_pct);
        return;
    }

    double seen = headroom_pct(lowest);
    int met = seen >= expected_pct;
    sim_expect_result *e = next_slot(r, "min_headroom", met);
    char shown[32];
    sim_format_headroom(lowest->max_window_usage, lowest->limit, shown, sizeof(shown));
    if (r->npops == 1)
        snprintf(e->explanation, sizeof(e->explanation), "min_headroom %g %%: %s (%s)",
                 expected_pct, met_word(met), shown);
    else
        snprintf(e->explanation, sizeof(e->explanation),
                 "min_headroom %g %%: %s (%s, %s)", expected_pct, met_word(met), shown,
                 lowest->name);
}

static void expect_time(sim_result *r, const char *key, int64_t expected_us,
                        int64_t seen_us, const char *client)
{
    char want[RL_ISO8601_MAX], got[RL_ISO8601_MAX];
    int met = expected_us == seen_us;
    sim_expect_result *e = next_slot(r, key, met);

    format_time(expected_us, want, sizeof(want));
    format_time(seen_us, got, sizeof(got));
    if (seen_us != SIM_TIME_NONE && client != NULL)
        snprintf(e->explanation, sizeof(e->explanation), "%s %s: %s (%s, %s)", key,
                 want, met_word(met), got, client);
    else
        snprintf(e->explanation, sizeof(e->explanation), "%s %s: %s (%s)", key, want,
                 met_word(met), got);
}

void sim_expect_evaluate(const sim_expect *x, sim_result *r)
{
    r->nexpectations = 0;
    r->expectations_met = 1;

    if (x->has_outcome) {
        int met = x->outcome_fits == r->fits;
        sim_expect_result *e = next_slot(r, "outcome", met);
        snprintf(e->explanation, sizeof(e->explanation), "outcome %s: %s (%s)",
                 x->outcome_fits ? "fits" : "rejects", met_word(met),
                 sim_verdict_name(r));
    }
    if (x->has_max_rejections)
        expect_count(r, "max_rejections", x->max_rejections, 0);
    if (x->has_rejections)
        expect_count(r, "rejections", x->rejections, 1);
    if (x->has_min_headroom)
        expect_min_headroom(r, x->min_headroom_pct);
    if (x->has_first_rejection)
        expect_time(r, "first_rejection", x->first_rejection_us, r->first_rejection_us,
                    r->first_rejection_client);
    if (x->has_global_exhausted)
        expect_time(r, "global_exhausted", x->global_exhausted_us,
                    r->global.exhausted_at_us, NULL);
}
