/*
 * sim_tally.c: per-request bookkeeping shared by the simulator engines
 * (see sim_tally.h).
 */
#include <math.h>
#include <stdio.h>

#include "rl_time.h"
#include "sim_tally.h"

sim_response sim_tally_classify(rl_policy policy, int auth_ok, const rl_decision *d)
{
    if (!auth_ok && policy == RL_POLICY_ATOMIC)
        return SIM_FAILED_AUTH;
    if (d->outcome == RL_REJECTED_GLOBAL)
        return SIM_REJECTED_GLOBAL;
    if (d->outcome == RL_REJECTED_CLIENT)
        return SIM_REJECTED_CLIENT;
    return auth_ok ? SIM_ACCEPTED : SIM_FAILED_AUTH;
}

void sim_tally_fold(sim_result *r, sim_fold_state *fold, int pop, sim_window_tally *w)
{
    sim_pop_result *pr = &r->pops[pop];
    int64_t n = w->requests;

    if (n == 0)
        return;
    if (fold->pairs_seen[pop]++ == 0 || n < fold->min_seen[pop])
        fold->min_seen[pop] = n;
    if (n > pr->max_window_usage)
        pr->max_window_usage = n;
    if (w->rejected > pr->worst_window_rejected) {
        pr->worst_window_rejected = w->rejected;
        pr->worst_window_requests = n;
    }
    w->requests = 0;
    w->rejected = 0;
}

static void count_response(sim_counts *c, sim_response resp)
{
    c->requests++;
    switch (resp) {
    case SIM_ACCEPTED:
        c->accepted++;
        break;
    case SIM_REJECTED_CLIENT:
        c->rejected_client++;
        break;
    case SIM_REJECTED_GLOBAL:
        c->rejected_global++;
        break;
    case SIM_FAILED_AUTH:
        c->failed_auth++;
        break;
    }
}

void sim_tally_note_first(int64_t *at_us, char *who, size_t len, int64_t t_us,
                          const char *id)
{
    if (*at_us != SIM_TIME_NONE)
        return;
    *at_us = t_us;
    snprintf(who, len, "%s", id);
}

/* Raises the total's peak usage with one decided request.  A fixed window
 * sums the counted requests of the window over every replica, because with
 * store = per-replica each replica's counter sees only its share; the
 * other algorithms report a usage that is not per window, so their peak is
 * the highest one reported. */
static void note_global_usage(sim_result *r, sim_fold_state *fold, int64_t window_id,
                              const rl_decision *d)
{
    int64_t usage = d->global_count;

    if (r->realism.active && d->global_count > r->realism.peak_replica_counter)
        r->realism.peak_replica_counter = d->global_count;
    if (!r->realism.active || r->realism.config.algo == RL_ALGO_FIXED_WINDOW) {
        if (fold->counted_window_id != window_id) {
            fold->counted_window_id = window_id;
            fold->counted_in_window = 0;
        }
        fold->counted_in_window += d->counted;
        usage = fold->counted_in_window;
    }
    if (usage > r->global.peak_window_usage) {
        r->global.peak_window_usage = usage;
        r->global.peak_window_id = window_id;
    }
}

void sim_tally_request(sim_result *r, sim_fold_state *fold, int pop, sim_window_tally *w,
                       const char *id, int64_t t_us, int64_t window_id,
                       sim_response resp, const rl_decision *d)
{
    sim_pop_result *pr = &r->pops[pop];
    int rejected = resp == SIM_REJECTED_CLIENT || resp == SIM_REJECTED_GLOBAL;
    int64_t hour = (t_us - r->start_us) / RL_US_PER_HOUR;

    if (w->requests > 0 && w->window_id != window_id)
        sim_tally_fold(r, fold, pop, w);
    w->window_id = window_id;
    w->requests++;
    w->rejected += rejected;

    count_response(&pr->counts, resp);
    count_response(&r->total, resp);
    if (resp == SIM_ACCEPTED)
        r->accepted_per_hour[hour]++;
    else if (resp == SIM_FAILED_AUTH)
        r->failed_auth_per_hour[hour]++;
    else
        r->rejected_per_hour[hour]++;

    if (rejected) {
        sim_tally_note_first(&pr->first_rejection_us, pr->first_rejection_client,
                             sizeof(pr->first_rejection_client), t_us, id);
        sim_tally_note_first(&r->first_rejection_us, r->first_rejection_client,
                             sizeof(r->first_rejection_client), t_us, id);
    }
    if (resp == SIM_REJECTED_GLOBAL && r->global.exhausted_at_us == SIM_TIME_NONE)
        r->global.exhausted_at_us = t_us;
    note_global_usage(r, fold, window_id, d);
}

static double headroom_of(int64_t usage, int64_t limit)
{
    if (limit <= 0)
        return NAN;
    return (double)(limit - usage) / (double)limit;
}

void sim_tally_finish(sim_result *r, const sim_fold_state *fold)
{
    for (int i = 0; i < r->npops; i++) {
        sim_pop_result *pr = &r->pops[i];
        sim_window_stats *w = &pr->per_window;

        w->pairs = sim_mul_sat(pr->clients, r->n_windows);
        /* A pair with no request never reaches sim_tally_fold: it is a 0. */
        w->min = fold->pairs_seen[i] < w->pairs ? 0 : fold->min_seen[i];
        w->max = pr->max_window_usage;
        w->mean = (double)pr->counts.requests / (double)w->pairs;
        pr->headroom = headroom_of(pr->max_window_usage, pr->limit);
    }
    r->global.headroom = headroom_of(r->global.peak_window_usage, r->global.limit);
    r->fits = r->total.rejected_client == 0 && r->total.rejected_global == 0;
}

/* Start offset of client i of n, relative to the scenario start. */
int64_t sim_start_offset_us(const sim_population *p, int64_t i, sim_rng *rng)
{
    switch (p->start) {
    case SIM_START_SPREAD: {
        /* floor(i * interval / n) without overflowing: interval = q*n + r,
         * and i * r < n * n <= 2^64 because n < 2^32. */
        uint64_t n = (uint64_t)p->count, q = (uint64_t)p->interval_us / n;
        uint64_t rem = (uint64_t)p->interval_us % n;
        return (int64_t)((uint64_t)i * q + ((uint64_t)i * rem) / n);
    }
    case SIM_START_TOGETHER:
        return 0;
    case SIM_START_RANDOM:
        return sim_rng_uniform_i64(rng, 0, p->interval_us - 1);
    case SIM_START_OFFSET:
        return p->start_offset_us;
    }
    return 0;
}
