/*
 * lg_replay.h: replaying a simulated scenario against a live endpoint, and
 * the conformance report that compares what happened with the prediction.
 *
 * The simulator (sim.h) runs the scenario and reports every request through
 * its observer callback: time, client id, role, whether authentication
 * would pass, and the core's decision.  That list becomes an engine
 * schedule with times scaled down by `speed`: simulated time t is sent at
 *   real_start + (t - base) / speed
 * where base is the start of the limit window holding the scenario's start
 * and real_start is a boundary of the server's compressed window (window
 * length / speed) on CLOCK_REALTIME, so simulated day k falls in the
 * server's k-th window after real_start.
 *
 * Example: a one-day scenario at speed 1440 against `ratelab serve
 * --window 60s` waits for the next whole minute, then plays 00:05:00 at
 * +0.208 s, 01:40:00 at +4.167 s, and the day's last request (23:55) at
 * +59.79 s.
 *
 * Conformance: a request is "admitted" when its status is anything but 429
 * (2xx, and the 400 and 401 answers that still consume quota), "rejected"
 * on 429.  It matches when the observed class equals the predicted one
 * (accepted or failed authentication -> admitted; a client or global
 * rejection -> rejected).  A transport error, a 5xx or a request never
 * sent is always a mismatch, except in an interrupted run: there requests
 * never sent or still in flight at the stop are "not run", and neither
 * match nor mismatch.
 *
 * Ownership: lg_replay_build() allocates everything in the struct;
 * lg_replay_free() releases it and accepts a zeroed struct.
 */
#ifndef LG_REPLAY_H
#define LG_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "lg_engine.h"
#include "rl_status.h"
#include "sim.h"
#include "sim_scenario.h"

typedef struct lg_replay {
    lg_sched_entry *entries; /* owned, sorted by offset */
    int64_t n;
    lg_outcome *outcomes;    /* owned, one per entry */
    sim_response *predicted; /* owned, one per entry */
    int64_t *sim_time_us;    /* owned, one per entry */
    int64_t *window;         /* owned: entry's window number from base */
    char **clients;          /* owned client ids, by client number */
    int64_t nclients;
    int64_t *pop_first;      /* owned: first client number of each population */
    int npops;
    const char *roles[RL_MAX_ROLES]; /* borrowed from the scenario's limits */
    int nroles;

    double speed;
    int64_t base_us;          /* simulated start of window 0 */
    int64_t window_sim_us;    /* the scenario's window length */
    int64_t window_real_us;   /* window_sim_us / speed */
    int64_t nwindows;         /* windows covered by the scenario */
    int64_t length_real_ns;   /* real time from the start to the last window's end */
    int64_t real_start_us;    /* CLOCK_REALTIME of window 0, once aligned */
    int interrupted;          /* set by the caller: the run was stopped early */
} lg_replay;

/*
 * Runs the simulator on sc and builds the schedule.  speed > 0; the
 * scenario's window divided by speed must be a whole number of
 * microseconds of at least 10 ms.  max_requests bounds the simulation.
 * Returns 0, or a negative status with err filled.
 */
int lg_replay_build(lg_replay *rp, const sim_scenario *sc, double speed,
                    int64_t max_requests, rl_error *err);

void lg_replay_free(lg_replay *rp);

/* Chooses the next window boundary at least lead_us after now_real_us and
 * returns it (also stored in rp->real_start_us). */
int64_t lg_replay_align(lg_replay *rp, int64_t now_real_us, int64_t lead_us);

/* Predicted and observed requests of one client in one window. */
typedef struct lg_window_row {
    int64_t client; /* client number */
    int64_t window;
    int64_t predicted_admitted, predicted_rejected;
    int64_t observed_admitted, observed_rejected, observed_failed;
} lg_window_row;

typedef struct lg_conformance {
    int64_t requests;
    int64_t matched;
    int64_t *mismatches; /* owned: entry indices, in time order */
    int64_t nmismatches;
    lg_window_row *rows; /* owned: rows with at least one request */
    int64_t nrows;
    /* Requests sent so late that they left after their window had ended
     * on the server's clock: their mismatches are the sender's, not the
     * endpoint's (a loaded machine, or a speed too high for it). */
    int64_t crossed;
    int64_t not_run; /* interrupted runs: requests never sent or unfinished */
} lg_conformance;

/* 1 when entry i was sent after the end of its intended server window. */
int lg_replay_crossed_boundary(const lg_replay *rp, int64_t i);

/* Compares outcomes with the prediction.  Returns 0 or LG_ERR_NOMEM. */
int lg_conformance_compute(const lg_replay *rp, lg_conformance *c);
void lg_conformance_free(lg_conformance *c);

/* "admitted", "rejected", or a failure such as "timeout", "not sent",
 * "HTTP 503", written into buf. */
const char *lg_observed_name(const lg_outcome *o, char *buf, size_t len);

void lg_conformance_print_text(FILE *out, const lg_replay *rp, const lg_conformance *c,
                               int64_t max_lines);
json_t *lg_conformance_to_json(const lg_replay *rp, const lg_conformance *c);

#endif
