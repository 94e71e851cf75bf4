/*
 * sim_series.c: the time-series collector behind plots and CSV files.
 *
 * The collector sees every decided request (sim_series_observe, the run's
 * on_request observer) in time order.  Before applying a request at time t
 * it writes every row due at or before t, so a row at T holds the state
 * after the requests made before T and none made at T or later.
 *
 * Per population it keeps two histograms over its clients: how many clients
 * have each counter value, and how many have made each number of requests
 * in the current window.  The maximum only grows within a window, and so
 * does the lower median, because every change moves one client up; each
 * histogram tracks both incrementally, so a row costs O(populations) and
 * the whole run O(requests + rows + histogram sizes).  A window boundary
 * resets every client to 0 at once (the clients' own records are reset
 * lazily, by comparing their window with the current one).
 */
#include <stdlib.h>
#include <string.h>

#include "rl_time.h"
#include "sim_series.h"

/* Clients per value, with the maximum and the lower median kept current. */
typedef struct value_hist {
    int64_t *clients_at; /* clients_at[v]: clients whose value is v */
    size_t cap;
    int64_t nclients;
    int64_t max;
    int64_t median;
    int64_t below; /* clients whose value is below `median` */
} value_hist;

typedef struct client_state {
    int64_t window_id;
    int64_t counter;
    int64_t requests;
} client_state;

struct sim_series_collector {
    sim_series *s;    /* being filled; handed over by finish */
    size_t rows_cap;  /* rows planned at creation */
    int npops;
    int64_t *pop_offset; /* first client of each population */
    client_state *clients;
    value_hist *counter_hist; /* per population */
    value_hist *request_hist; /* per population */

    int64_t window_id; /* the window the current state belongs to */
    /* 1: replicas count in their own memory, so the global counter is the
     * sum of the counted requests (as in sim_global_result), not the
     * counter one replica reported. */
    int sum_counted;
    int64_t global_counter;
    int64_t global_requests;
    int64_t next_row_us; /* time of the next row(s); > end when done */
    int failed;          /* out of memory while observing */
};

/* Grid spacings tried in order; each divides one hour. */
static const int64_t step_choices_s[] = {1,  2,  5,   10,  15,  30,   60,
                                         120, 300, 600, 900, 1800, 3600};

/* ---- histograms ------------------------------------------------------- */

static void hist_reset(value_hist *h)
{
    memset(h->clients_at, 0, h->cap * sizeof(*h->clients_at));
    h->clients_at[0] = h->nclients;
    h->max = 0;
    h->median = 0;
    h->below = 0;
}

static int hist_init(value_hist *h, int64_t nclients)
{
    h->cap = 64;
    h->nclients = nclients;
    h->clients_at = calloc(h->cap, sizeof(*h->clients_at));
    if (h->clients_at == NULL)
        return RL_ERR_NOMEM;
    hist_reset(h);
    return 0;
}

/* Moves the median up while fewer than rank + 1 clients are at or below it. */
static void hist_settle_median(value_hist *h)
{
    int64_t rank = (h->nclients - 1) / 2;

    while ((size_t)h->median < h->cap && h->below + h->clients_at[h->median] <= rank) {
        h->below += h->clients_at[h->median];
        h->median++;
    }
}

/* Moves one client from value `from` to the larger value `to`. */
static int hist_move_up(value_hist *h, int64_t from, int64_t to)
{
    if ((size_t)to >= h->cap) {
        size_t cap = h->cap;
        while ((size_t)to >= cap)
            cap *= 2;
        int64_t *bigger = realloc(h->clients_at, cap * sizeof(*bigger));
        if (bigger == NULL)
            return RL_ERR_NOMEM;
        memset(bigger + h->cap, 0, (cap - h->cap) * sizeof(*bigger));
        h->clients_at = bigger;
        h->cap = cap;
    }
    h->clients_at[from]--;
    h->clients_at[to]++;
    if (to > h->max)
        h->max = to;
    if (from < h->median && to >= h->median)
        h->below--;
    hist_settle_median(h);
    return 0;
}

/* ---- the row schedule ------------------------------------------------- */

static int64_t window_of(const sim_series *s, int64_t t_us)
{
    return rl_window_id(&s->window, t_us);
}

static int is_boundary(const sim_series *s, int64_t t_us)
{
    return rl_window_start_us(&s->window, window_of(s, t_us)) == t_us;
}

/* The first row time after t_us: a grid time, a window boundary or the end. */
static int64_t next_row_after(const sim_series *s, int64_t t_us)
{
    int64_t grid = s->start_us + ((t_us - s->start_us) / s->step_us + 1) * s->step_us;
    int64_t boundary = rl_window_reset_us(&s->window, window_of(s, t_us));
    int64_t next = grid < boundary ? grid : boundary;

    return next < s->end_us ? next : s->end_us;
}

/* Rows written at time t_us: two at a boundary inside the run, else one. */
static size_t rows_at(const sim_series *s, int64_t t_us)
{
    return t_us < s->end_us && is_boundary(s, t_us) ? 2 : 1;
}

/* The smallest grid step that keeps the grid under the target row count,
 * and no finer than 1/1440 of a window (one minute for a day). */
static int64_t choose_step_us(const sim_series *s)
{
    int64_t run_us = s->end_us - s->start_us;
    int64_t finest_us = rl_window_length_us(&s->window, s->first_window_id) / 1440;
    size_t n = sizeof(step_choices_s) / sizeof(step_choices_s[0]);

    for (size_t i = 0; i < n; i++) {
        int64_t step = step_choices_s[i] * RL_US_PER_SEC;
        if (step >= finest_us && run_us / step <= SIM_SERIES_TARGET_ROWS)
            return step;
    }
    return step_choices_s[n - 1] * RL_US_PER_SEC;
}

/* Counts the rows of the run; stops counting past `max_rows`. */
static size_t count_rows(const sim_series *s, size_t max_rows)
{
    size_t rows = 1;

    for (int64_t t = s->start_us; t < s->end_us && rows <= max_rows;) {
        t = next_row_after(s, t);
        rows += rows_at(s, t);
    }
    return rows;
}

/* ---- creation --------------------------------------------------------- */

static int allocate_rows(sim_series *s, size_t rows)
{
    s->time_us = calloc(rows, sizeof(int64_t));
    s->window_index = calloc(rows, sizeof(int64_t));
    s->global_counter = calloc(rows, sizeof(int64_t));
    s->global_requests = calloc(rows, sizeof(int64_t));
    s->pops = calloc(rows * (size_t)s->npops, sizeof(*s->pops));
    if (s->time_us == NULL || s->window_index == NULL || s->global_counter == NULL ||
        s->global_requests == NULL || s->pops == NULL)
        return RL_ERR_NOMEM;
    return 0;
}

static int allocate_clients(sim_series_collector *c, const sim_scenario *sc)
{
    int64_t nclients = 0;

    c->pop_offset = calloc((size_t)sc->npops, sizeof(int64_t));
    c->counter_hist = calloc((size_t)sc->npops, sizeof(value_hist));
    c->request_hist = calloc((size_t)sc->npops, sizeof(value_hist));
    if (c->pop_offset == NULL || c->counter_hist == NULL || c->request_hist == NULL)
        return RL_ERR_NOMEM;

    for (int i = 0; i < sc->npops; i++) {
        c->pop_offset[i] = nclients;
        nclients += sc->pops[i].count;
        if (hist_init(&c->counter_hist[i], sc->pops[i].count) < 0 ||
            hist_init(&c->request_hist[i], sc->pops[i].count) < 0)
            return RL_ERR_NOMEM;
    }
    c->clients = calloc((size_t)nclients, sizeof(*c->clients));
    if (c->clients == NULL)
        return RL_ERR_NOMEM;
    for (int64_t i = 0; i < nclients; i++)
        c->clients[i].window_id = INT64_MIN; /* no request yet */
    return 0;
}

static void write_row(sim_series_collector *c, int64_t t_us, int64_t window_id);

int sim_series_collector_create(const sim_scenario *sc, sim_series_collector **out,
                                rl_error *err)
{
    sim_series_collector *c = calloc(1, sizeof(*c));
    sim_series *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (c == NULL || s == NULL) {
        free(s);
        goto nomem;
    }
    c->s = s;
    c->npops = sc->npops;
    /* NOTE: reads the scenario's policy, not a --policy override: with one
     * per-replica server run under sliding-log, sliding-window or gcra the
     * series sums admissions per window instead of the usage the
     * algorithm reports (several replicas need a fixed window). */
    c->sum_counted = sc->realism.store == SIM_STORE_PER_REPLICA &&
                     sc->realism.algo == RL_ALGO_FIXED_WINDOW;
    s->npops = sc->npops;
    s->window = sc->window;
    s->start_us = sc->start_us;
    s->end_us = sc->start_us + sc->days * RL_US_PER_DAY;
    s->first_window_id = window_of(s, s->start_us);
    s->step_us = choose_step_us(s);

    /* Every row holds 2 global values and 4 per population. */
    int64_t per_row = 2 + 4 * (int64_t)sc->npops;
    size_t max_rows = (size_t)(SIM_SERIES_MAX_VALUES / per_row);
    c->rows_cap = count_rows(s, max_rows);
    if (c->rows_cap > max_rows) {
        rl_error_set(err, "%s: the time series of scenario '%s' would hold more than "
                          "%lld values; shorten days or use fewer populations for "
                          "plots and CSV output",
                     sc->path, sc->name, (long long)SIM_SERIES_MAX_VALUES);
        sim_series_collector_destroy(c);
        return RL_ERR_RANGE;
    }
    if (allocate_rows(s, c->rows_cap) < 0 || allocate_clients(c, sc) < 0)
        goto nomem;

    c->window_id = s->first_window_id;
    write_row(c, s->start_us, c->window_id);
    c->next_row_us = next_row_after(s, s->start_us);
    *out = c;
    return 0;

nomem:
    sim_series_collector_destroy(c);
    rl_error_set(err, "%s: out of memory setting up the time series", sc->path);
    return RL_ERR_NOMEM;
}

void sim_series_destroy(sim_series *s)
{
    if (s == NULL)
        return;
    free(s->time_us);
    free(s->window_index);
    free(s->global_counter);
    free(s->global_requests);
    free(s->pops);
    free(s);
}

void sim_series_collector_destroy(sim_series_collector *c)
{
    if (c == NULL)
        return;
    for (int i = 0; c->counter_hist != NULL && i < c->npops; i++)
        free(c->counter_hist[i].clients_at);
    for (int i = 0; c->request_hist != NULL && i < c->npops; i++)
        free(c->request_hist[i].clients_at);
    free(c->counter_hist);
    free(c->request_hist);
    free(c->pop_offset);
    free(c->clients);
    sim_series_destroy(c->s);
    free(c);
}

/* ---- rows ------------------------------------------------------------- */

/* Appends a row with the current state, which belongs to window_id. */
static void write_row(sim_series_collector *c, int64_t t_us, int64_t window_id)
{
    sim_series *s = c->s;
    size_t row = s->nrows;

    /* The schedule was counted at creation; this cannot be exceeded. */
    if (row >= c->rows_cap)
        return;
    s->time_us[row] = t_us;
    s->window_index[row] = window_id - s->first_window_id;
    s->global_counter[row] = c->global_counter;
    s->global_requests[row] = c->global_requests;
    for (int i = 0; i < c->npops; i++) {
        sim_series_pop_value *v = &s->pops[row * (size_t)c->npops + (size_t)i];
        v->worst_counter = c->counter_hist[i].max;
        v->median_counter = c->counter_hist[i].median;
        v->worst_requests = c->request_hist[i].max;
        v->median_requests = c->request_hist[i].median;
    }
    s->nrows++;
}

/* Starts window_id with every counter at 0. */
static void start_window(sim_series_collector *c, int64_t window_id)
{
    c->window_id = window_id;
    c->global_counter = 0;
    c->global_requests = 0;
    for (int i = 0; i < c->npops; i++) {
        hist_reset(&c->counter_hist[i]);
        hist_reset(&c->request_hist[i]);
    }
}

/* Writes the row(s) due at next_row_us and schedules the next. */
static void write_due_rows(sim_series_collector *c)
{
    sim_series *s = c->s;
    int64_t t = c->next_row_us;

    write_row(c, t, window_of(s, t - 1));
    if (rows_at(s, t) == 2) {
        start_window(c, window_of(s, t));
        write_row(c, t, c->window_id);
    }
    c->next_row_us = t < s->end_us ? next_row_after(s, t) : INT64_MAX;
}

/* Folds the global demand of the window that is ending into the peak. */
static void note_global_peak(sim_series_collector *c)
{
    sim_series *s = c->s;

    if (c->global_requests > s->global_peak_requests) {
        s->global_peak_requests = c->global_requests;
        s->global_peak_window_index = c->window_id - s->first_window_id;
    }
}

void sim_series_observe(void *collector, const sim_request_info *info)
{
    sim_series_collector *c = collector;
    const rl_decision *d = info->decision;

    while (c->next_row_us <= info->time_us) {
        note_global_peak(c);
        write_due_rows(c);
    }
    if (d->window_id != c->window_id) /* rows mark every boundary; a guard */
        start_window(c, d->window_id);

    client_state *cl = &c->clients[c->pop_offset[info->pop] + info->client];
    if (cl->window_id != c->window_id) {
        cl->window_id = c->window_id;
        cl->counter = 0;
        cl->requests = 0;
    }
    if (hist_move_up(&c->request_hist[info->pop], cl->requests, cl->requests + 1) < 0)
        c->failed = 1;
    cl->requests++;
    if (d->client_count > cl->counter) {
        if (hist_move_up(&c->counter_hist[info->pop], cl->counter, d->client_count) < 0)
            c->failed = 1;
        cl->counter = d->client_count;
    }
    c->global_requests++;
    if (c->sum_counted)
        c->global_counter += d->counted;
    else
        c->global_counter = d->global_count;
}

int sim_series_finish(sim_series_collector *c, sim_series **out, rl_error *err)
{
    *out = NULL;
    if (c->failed) {
        rl_error_set(err, "out of memory collecting the time series");
        return RL_ERR_NOMEM;
    }
    while (c->next_row_us <= c->s->end_us) {
        note_global_peak(c);
        write_due_rows(c);
    }
    *out = c->s;
    c->s = NULL;
    return 0;
}

const sim_series_pop_value *sim_series_pop(const sim_series *s, size_t row, int pop)
{
    return &s->pops[row * (size_t)s->npops + (size_t)pop];
}

size_t sim_series_find_row(const sim_series *s, int64_t t_us)
{
    size_t lo = 0, hi = s->nrows;

    /* Rows are in time order: the first row whose time is >= t_us. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->time_us[mid] < t_us)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nrows && s->time_us[lo] == t_us ? lo : s->nrows;
}
