/*
 * lg_replay.c: schedule building from the simulator, and conformance.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_replay.h"
#include "lg_status.h"
#include "lg_template.h"
#include "rl_time.h"

/* A client table larger than this is a scenario the replay cannot pace
 * anyway; refusing it keeps the per-window table's memory bounded. */
#define LG_REPLAY_MAX_CLIENTS 1000000LL
#define LG_REPLAY_MAX_ROWS 20000000LL

typedef struct collector {
    lg_replay *rp;
    int64_t cap;
    int64_t first_window;
    const rl_window *window;
    const sim_scenario *sc;
    int failed; /* out of memory inside the callback */
} collector;

static int grow(collector *c)
{
    lg_replay *rp = c->rp;
    int64_t cap = c->cap == 0 ? 1024 : c->cap * 2;
    void *e = realloc(rp->entries, (size_t)cap * sizeof(*rp->entries));
    if (e != NULL)
        rp->entries = e;
    void *p = realloc(rp->predicted, (size_t)cap * sizeof(*rp->predicted));
    if (p != NULL)
        rp->predicted = p;
    void *t = realloc(rp->sim_time_us, (size_t)cap * sizeof(*rp->sim_time_us));
    if (t != NULL)
        rp->sim_time_us = t;
    void *w = realloc(rp->window, (size_t)cap * sizeof(*rp->window));
    if (w != NULL)
        rp->window = w;
    if (e == NULL || p == NULL || t == NULL || w == NULL)
        return LG_ERR_NOMEM;
    c->cap = cap;
    return 0;
}

/* The simulator's observer: one call per request, in time order. */
static void on_sim_request(void *user, const sim_request_info *info)
{
    collector *c = user;
    lg_replay *rp = c->rp;
    if (c->failed || (rp->n == c->cap && grow(c) < 0)) {
        c->failed = 1;
        return;
    }

    int64_t number = rp->pop_first[info->pop] + info->client;
    long double offset_ns =
        (long double)(info->time_us - rp->base_us) * 1000.0L / (long double)rp->speed;
    rp->entries[rp->n] = (lg_sched_entry){
        .offset_ns = (int64_t)offset_ns,
        .client = rp->clients[number],
        .client_number = (int)number,
        .role = c->sc->pops[info->pop].role_index,
        .auth_ok = info->auth_ok,
    };
    rp->predicted[rp->n] = info->response;
    rp->sim_time_us[rp->n] = info->time_us;
    rp->window[rp->n] = rl_window_id(c->window, info->time_us) - c->first_window;
    rp->n++;
}

static int build_clients(lg_replay *rp, const sim_scenario *sc, rl_error *err)
{
    rp->npops = sc->npops;
    rp->pop_first = calloc((size_t)sc->npops + 1, sizeof(*rp->pop_first));
    if (rp->pop_first == NULL)
        goto nomem;
    for (int p = 0; p < sc->npops; p++) {
        rp->pop_first[p + 1] = rp->pop_first[p] + sc->pops[p].count;
        if (rp->pop_first[p + 1] > LG_REPLAY_MAX_CLIENTS) {
            rl_error_set(err, "%s: the replay supports at most %lld clients", sc->path,
                         LG_REPLAY_MAX_CLIENTS);
            return LG_ERR_INVALID;
        }
        if (lg_check_client_id(sc->pops[p].name, "population name (used in hotkeys)",
                               err) < 0)
            return LG_ERR_INVALID;
    }
    rp->nclients = rp->pop_first[sc->npops];
    rp->clients = calloc((size_t)rp->nclients, sizeof(*rp->clients));
    if (rp->clients == NULL)
        goto nomem;
    for (int p = 0; p < sc->npops; p++) {
        for (int64_t i = 0; i < sc->pops[p].count; i++) {
            char id[SIM_CLIENT_ID_MAX];
            snprintf(id, sizeof(id), "%s-%" PRId64, sc->pops[p].name, i);
            if ((rp->clients[rp->pop_first[p] + i] = strdup(id)) == NULL)
                goto nomem;
        }
    }
    return 0;
nomem:
    rl_error_set(err, "out of memory while building the replay's client table");
    return LG_ERR_NOMEM;
}

static int set_windows(lg_replay *rp, const sim_scenario *sc, double speed, rl_error *err)
{
    int64_t first = rl_window_id(&sc->window, sc->start_us);
    int64_t end_us = sc->start_us + sc->days * RL_US_PER_DAY;
    rp->speed = speed;
    rp->base_us = rl_window_start_us(&sc->window, first);
    rp->window_sim_us = rl_window_length_us(&sc->window, first);
    rp->nwindows = rl_window_id(&sc->window, end_us - 1) - first + 1;

    double real_us = (double)rp->window_sim_us / speed;
    if (fabs(real_us - nearbyint(real_us)) > 1e-6 || real_us < 10000.0) {
        rl_error_set(err, "--speed %g: the scenario's window (%" PRId64 " s) divided by "
                          "the speed must be a whole number of microseconds of at least "
                          "10 ms; e.g. speed 1440 makes a day last 60 s",
                     speed, (int64_t)(rp->window_sim_us / RL_US_PER_SEC));
        return LG_ERR_INVALID;
    }
    rp->window_real_us = (int64_t)nearbyint(real_us);
    rp->length_real_ns = rp->nwindows * rp->window_real_us * 1000LL;
    return 0;
}

int lg_replay_build(lg_replay *rp, const sim_scenario *sc, double speed,
                    int64_t max_requests, rl_error *err)
{
    memset(rp, 0, sizeof(*rp));
    int rc = set_windows(rp, sc, speed, err);
    if (rc == 0)
        rc = build_clients(rp, sc, err);
    if (rc < 0)
        goto fail;
    rp->nroles = sc->limits.nroles;
    for (int r = 0; r < sc->limits.nroles; r++)
        rp->roles[r] = sc->limits.roles[r].name;

    collector c = {.rp = rp, .sc = sc, .window = &sc->window};
    c.first_window = rl_window_id(&sc->window, sc->start_us);
    sim_config cfg;
    sim_config_init(&cfg);
    cfg.max_requests = max_requests;
    cfg.on_request = on_sim_request;
    cfg.user = &c;
    sim_result *result = NULL;
    rc = sim_run(sc, &cfg, &result, err);
    sim_result_destroy(result);
    if (rc == 0 && c.failed) {
        rl_error_set(err, "out of memory while recording the simulated requests");
        rc = LG_ERR_NOMEM;
    }
    if (rc == 0)
        rp->outcomes = calloc((size_t)(rp->n > 0 ? rp->n : 1), sizeof(*rp->outcomes));
    if (rc == 0 && rp->outcomes == NULL) {
        rl_error_set(err, "out of memory");
        rc = LG_ERR_NOMEM;
    }
    if (rc == 0)
        return 0;
fail:
    lg_replay_free(rp);
    return rc < 0 ? rc : LG_ERR_INVALID;
}

void lg_replay_free(lg_replay *rp)
{
    if (rp == NULL)
        return;
    for (int64_t i = 0; rp->clients != NULL && i < rp->nclients; i++)
        free(rp->clients[i]);
    free(rp->clients);
    free(rp->pop_first);
    free(rp->entries);
    free(rp->outcomes);
    free(rp->predicted);
    free(rp->sim_time_us);
    free(rp->window);
    memset(rp, 0, sizeof(*rp));
}

int64_t lg_replay_align(lg_replay *rp, int64_t now_real_us, int64_t lead_us)
{
    int64_t w = rp->window_real_us;
    int64_t earliest = now_real_us + lead_us;
    rp->real_start_us = (rl_floor_div(earliest - 1, w) + 1) * w;
    return rp->real_start_us;
}

/* ---- conformance ------------------------------------------------------ */

enum { CLASS_ADMITTED = 0, CLASS_REJECTED = 1, CLASS_FAILED = 2 };

static int observed_class(const lg_outcome *o)
{
    if (!o->sent || o->error >= 0 || o->status <= 0 || o->status >= 500)
        return CLASS_FAILED;
    return o->status == 429 ? CLASS_REJECTED : CLASS_ADMITTED;
}

/* 1 when entry i has no outcome because an interrupted run stopped first:
 * never sent, or sent and neither answered nor failed. */
static int not_run(const lg_replay *rp, int64_t i)
{
    const lg_outcome *o = &rp->outcomes[i];
    return rp->interrupted && (!o->sent || (o->error < 0 && o->status <= 0));
}

static int predicted_class(sim_response r)
{
    return (r == SIM_ACCEPTED || r == SIM_FAILED_AUTH) ? CLASS_ADMITTED : CLASS_REJECTED;
}

const char *lg_observed_name(const lg_outcome *o, char *buf, size_t len)
{
    if (!o->sent)
        snprintf(buf, len, "not sent");
    else if (o->error >= 0)
        snprintf(buf, len, "%s", lg_error_kind_name(o->error));
    else if (o->status == 429)
        snprintf(buf, len, "429 (%s limit)", o->global_limit ? "global" : "client");
    else
        snprintf(buf, len, "%d", o->status);
    return buf;
}

static int fill_rows(const lg_replay *rp, lg_conformance *c)
{
    int64_t cells = rp->nclients * rp->nwindows;
    if (cells > LG_REPLAY_MAX_ROWS || cells <= 0)
        return 0; /* NOTE: huge scenarios get totals and mismatches only */
    lg_window_row *grid = calloc((size_t)cells, sizeof(*grid));
    if (grid == NULL)
        return LG_ERR_NOMEM;

    for (int64_t i = 0; i < rp->n; i++) {
        int64_t w = rp->window[i];
        if (w < 0 || w >= rp->nwindows || not_run(rp, i))
            continue;
        lg_window_row *row = &grid[rp->entries[i].client_number * rp->nwindows + w];
        int obs = observed_class(&rp->outcomes[i]);
        row->client = rp->entries[i].client_number;
        row->window = w;
        if (predicted_class(rp->predicted[i]) == CLASS_ADMITTED)
            row->predicted_admitted++;
        else
            row->predicted_rejected++;
        row->observed_admitted += obs == CLASS_ADMITTED;
        row->observed_rejected += obs == CLASS_REJECTED;
        row->observed_failed += obs == CLASS_FAILED;
    }

    /* Compact in place: (client, window) order is kept. */
    for (int64_t i = 0; i < cells; i++) {
        const lg_window_row *row = &grid[i];
        if (row->predicted_admitted + row->predicted_rejected > 0)
            grid[c->nrows++] = *row;
    }
    c->rows = grid;
    return 0;
}

int lg_replay_crossed_boundary(const lg_replay *rp, int64_t i)
{
    const lg_outcome *o = &rp->outcomes[i];
    if (!o->sent)
        return 0;
    int64_t window_end_ns = (rp->window[i] + 1) * rp->window_real_us * 1000;
    return o->sent_ns >= window_end_ns;
}

int lg_conformance_compute(const lg_replay *rp, lg_conformance *c)
{
    memset(c, 0, sizeof(*c));
    c->mismatches = malloc((size_t)(rp->n > 0 ? rp->n : 1) * sizeof(*c->mismatches));
    if (c->mismatches == NULL)
        return LG_ERR_NOMEM;
    for (int64_t i = 0; i < rp->n; i++) {
        c->requests++;
        if (not_run(rp, i)) {
            c->not_run++;
            continue;
        }
        c->crossed += lg_replay_crossed_boundary(rp, i);
        if (observed_class(&rp->outcomes[i]) == predicted_class(rp->predicted[i]))
            c->matched++;
        else
            c->mismatches[c->nmismatches++] = i;
    }
    int rc = fill_rows(rp, c);
    if (rc < 0)
        lg_conformance_free(c);
    return rc;
}

void lg_conformance_free(lg_conformance *c)
{
    if (c == NULL)
        return;
    free(c->mismatches);
    free(c->rows);
    memset(c, 0, sizeof(*c));
}

static int row_differs(const lg_window_row *r)
{
    return r->observed_failed > 0 || r->predicted_admitted != r->observed_admitted ||
           r->predicted_rejected != r->observed_rejected;
}

static void print_rows(FILE *out, const lg_replay *rp, const lg_conformance *c,
                       int64_t max_lines)
{
    int only_diff = c->nrows > max_lines;
    fprintf(out, "\nper client and window%s (admitted/rejected; failed = no usable "
                 "answer):\n",
            only_diff ? ", rows that differ only" : "");
    fprintf(out, "  %-24s %7s  %-17s %-17s\n", "client", "window", "predicted",
            "observed");
    int64_t printed = 0, skipped = 0;
    for (int64_t i = 0; i < c->nrows; i++) {
        const lg_window_row *r = &c->rows[i];
        if (only_diff && !row_differs(r))
            continue;
        if (printed >= max_lines) {
            skipped++;
            continue;
        }
        char pred[48], obs[64];
        snprintf(pred, sizeof(pred), "%" PRId64 "/%" PRId64, r->predicted_admitted,
                 r->predicted_rejected);
        snprintf(obs, sizeof(obs), "%" PRId64 "/%" PRId64 "%s", r->observed_admitted,
                 r->observed_rejected, r->observed_failed > 0 ? " +failed" : "");
        fprintf(out, "  %-24s %7" PRId64 "  %-17s %-17s%s\n", rp->clients[r->client],
                r->window, pred, obs, row_differs(r) ? "  MISMATCH" : "");
        printed++;
    }
    if (skipped > 0)
        fprintf(out, "  ... %" PRId64 " more rows: see --json\n", skipped);
}

void lg_conformance_print_text(FILE *out, const lg_replay *rp, const lg_conformance *c,
                               int64_t max_lines)
{
    char when[RL_ISO8601_MAX];
    rl_time_format_iso8601(rp->real_start_us, when, sizeof(when));
    fprintf(out, "\nreplay      speed %g, server window %.3f s, day 0 started at %s\n",
            rp->speed, (double)rp->window_real_us / 1e6, when);
    if (rp->interrupted)
        fprintf(out, "conformance INTERRUPTED: %" PRId64 " of %" PRId64 " requests "
                     "completed, %" PRId64 " as predicted, %" PRId64 " mismatches; %" PRId64
                     " not run, so no verdict\n",
                c->requests - c->not_run, c->requests, c->matched, c->nmismatches,
                c->not_run);
    else
        fprintf(out, "conformance %" PRId64 " requests, %" PRId64 " as predicted, %" PRId64
                     " mismatches: %s\n",
                c->requests, c->matched, c->nmismatches,
                c->nmismatches == 0 ? "CONFORMS" : "DOES NOT CONFORM");
    if (c->crossed > 0)
        fprintf(out, "warning     %" PRId64 " requests left after their window had ended: "
                     "the sender fell behind; lower --speed or the machine's load\n",
                c->crossed);
    print_rows(out, rp, c, max_lines);
    if (c->nmismatches == 0)
        return;

    fprintf(out, "\nmismatches (simulated time, sent at, client, predicted, observed):\n");
    for (int64_t k = 0; k < c->nmismatches && k < max_lines; k++) {
        int64_t i = c->mismatches[k];
        char sim_time[RL_ISO8601_MAX], obs[48];
        rl_time_format_iso8601(rp->sim_time_us[i], sim_time, sizeof(sim_time));
        fprintf(out, "  %s  +%.3f s  %-24s %-16s %s%s\n", sim_time,
                (double)rp->outcomes[i].sent_ns / 1e9, rp->entries[i].client,
                sim_response_name(rp->predicted[i]),
                lg_observed_name(&rp->outcomes[i], obs, sizeof(obs)),
                lg_replay_crossed_boundary(rp, i) ? "  (sent after its window ended)" : "");
    }
    if (c->nmismatches > max_lines)
        fprintf(out, "  ... %" PRId64 " more: see --json\n", c->nmismatches - max_lines);
}

static json_t *mismatch_json(const lg_replay *rp, int64_t i)
{
    char sim_time[RL_ISO8601_MAX], obs[48];
    const lg_outcome *o = &rp->outcomes[i];
    rl_time_format_iso8601(rp->sim_time_us[i], sim_time, sizeof(sim_time));
    return json_pack("{s:s,s:f,s:s,s:s,s:s,s:i,s:b}", "sim_time", sim_time,
                     "sent_offset_s", (double)o->sent_ns / 1e9, "client",
                     rp->entries[i].client, "predicted", sim_response_name(rp->predicted[i]),
                     "observed", lg_observed_name(o, obs, sizeof(obs)), "status", o->status,
                     "sent_after_window", lg_replay_crossed_boundary(rp, i));
}

json_t *lg_conformance_to_json(const lg_replay *rp, const lg_conformance *c)
{
    char when[RL_ISO8601_MAX];
    rl_time_format_iso8601(rp->real_start_us, when, sizeof(when));
    json_t *list = json_array(), *rows = json_array();
    for (int64_t k = 0; list != NULL && k < c->nmismatches; k++)
        json_array_append_new(list, mismatch_json(rp, c->mismatches[k]));
    for (int64_t i = 0; rows != NULL && i < c->nrows; i++) {
        const lg_window_row *r = &c->rows[i];
        json_array_append_new(
            rows, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "client",
                            rp->clients[r->client], "window", (json_int_t)r->window,
                            "predicted_admitted", (json_int_t)r->predicted_admitted,
                            "predicted_rejected", (json_int_t)r->predicted_rejected,
                            "observed_admitted", (json_int_t)r->observed_admitted,
                            "observed_rejected", (json_int_t)r->observed_rejected,
                            "observed_failed", (json_int_t)r->observed_failed));
    }
    return json_pack("{s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:f,s:I,s:s,s:o,s:o}", "conforms",
                     c->nmismatches == 0 && !rp->interrupted, "interrupted",
                     rp->interrupted, "not_run", (json_int_t)c->not_run,
                     "requests", (json_int_t)c->requests, "matched",
                     (json_int_t)c->matched, "mismatches", (json_int_t)c->nmismatches,
                     "sent_after_window", (json_int_t)c->crossed,
                     "speed", rp->speed, "window_real_us", (json_int_t)rp->window_real_us,
                     "real_start", when, "mismatch_list", list, "per_window", rows);
}
