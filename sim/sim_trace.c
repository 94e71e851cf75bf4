/*
 * sim_trace.c: reads CSV request traces and turns them into a replay
 * scenario (format and rules in sim_trace.h and docs/realism.md).
 *
 * Where it sits: `ratelab sim --trace` reads the file and calls
 * sim_trace_parse() on its bytes, then sim_trace_scenario(), then
 * sim_run(); the realism engine replays the rows in time order.
 *
 * What always holds after a successful parse: rows are sorted by
 * (time, line); clients are numbered so that each (role, auth) group's
 * clients are consecutive, groups in order of first appearance and
 * clients within a group by id; every row's client index is valid.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rl_limiter.h"
#include "rl_time.h"
#include "sim_trace.h"

#define FIELDS_MAX 4
#define GROUPS_MAX 64
#define EPOCH_MS_FROM 100000000000LL /* 1e11: smaller numbers are seconds */
#define EPOCH_S_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */

enum { COL_TIME, COL_CLIENT, COL_ROLE, COL_AUTH };

/* A client group: one population of the replay. */
typedef struct trace_group {
    char role[RL_ROLE_NAME_MAX];
    int auth_valid;
    int64_t first_line;
    int64_t clients;
} trace_group;

/* A row as read, before clients are numbered. */
typedef struct raw_row {
    int64_t time_us;
    int64_t line;
    size_t id_offset; /* into ids */
    int group;
    size_t client;
} raw_row;

struct sim_trace {
    char *ids; /* every row's id while parsing; then one per client */
    size_t ids_len, ids_cap;
    raw_row *raw;
    int64_t nraw, raw_cap;
    sim_trace_row *rows;
    int64_t skipped;
    trace_group groups[GROUPS_MAX];
    int ngroups;
    size_t *client_ids; /* offset of each client's id in ids */
    size_t nclients;
    size_t client_id_bytes;
};

/* The parser's state while reading. */
typedef struct trace_parse {
    sim_trace *t;
    const char *path;
    int skip_bad_rows;
    rl_error *err;
    int64_t line;
    int columns[FIELDS_MAX]; /* column of each field, by COL_* */
    int ncolumns;
    int epoch_unit; /* 0 unknown, 1 seconds, 2 milliseconds */
    int seen_data;
} trace_parse;

void sim_trace_destroy(sim_trace *t)
{
    if (t == NULL)
        return;
    free(t->ids);
    free(t->raw);
    free(t->rows);
    free(t->client_ids);
    free(t);
}

int64_t sim_trace_rows(const sim_trace *t)
{
    return t->nraw;
}

int64_t sim_trace_skipped(const sim_trace *t)
{
    return t->skipped;
}

const sim_trace_row *sim_trace_at(const sim_trace *t, int64_t i)
{
    return &t->rows[i];
}

size_t sim_trace_clients(const sim_trace *t)
{
    return t->nclients;
}

const char *sim_trace_client_id(const sim_trace *t, size_t client)
{
    return t->ids + t->client_ids[client];
}

size_t sim_trace_id_bytes(const sim_trace *t)
{
    return t->client_id_bytes;
}

/* ---- fields ------------------------------------------------------------ */

/* Records a bad row: an error, or a skipped row with skip_bad_rows.
 * Returns 0 to go on, RL_ERR_INVALID to stop. */
static int bad_row(trace_parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_row(trace_parse *p, const char *fmt, ...)
{
    char message[RL_ERROR_MAX];
    va_list ap;

    if (p->skip_bad_rows) {
        p->t->skipped++;
        return 0;
    }
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    rl_error_set(p->err, "%s:%lld: %s; fix the row, or skip bad rows (--skip-bad-rows)",
                 p->path, (long long)p->line, message);
    return RL_ERR_INVALID;
}

static char *trim(char *s)
{
    char *end = s + strlen(s);

    while (*s == ' ' || *s == '\t')
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    return s;
}

/* Splits a line at commas into at most FIELDS_MAX trimmed fields; returns
 * the number of fields, or -1 when there are more. */
static int split(char *line, char **fields)
{
    int n = 0;

    for (char *s = line;; n++) {
        char *comma = strchr(s, ',');
        if (n == FIELDS_MAX)
            return -1;
        if (comma != NULL)
            *comma = '\0';
        fields[n] = trim(s);
        if (comma == NULL)
            return n + 1;
        s = comma + 1;
    }
}

/* Parses digits with an optional fraction of at most `frac_max` digits
 * into units of 10^-frac_max.  Returns 0 or -1. */
static int parse_decimal(const char *s, int frac_max, int64_t *whole, int64_t *scaled)
{
    int64_t w = 0, f = 0;
    int digits = 0, frac = 0;

    for (; isdigit((unsigned char)*s); s++, digits++) {
        if (w > (INT64_MAX - 9) / 10)
            return -1;
        w = w * 10 + (*s - '0');
    }
    if (*s == '.')
        for (s++; isdigit((unsigned char)*s); s++, frac++) {
            if (frac == frac_max)
                return -1;
            f = f * 10 + (*s - '0');
        }
    if (digits == 0 || *s != '\0')
        return -1;
    for (; frac < frac_max; frac++)
        f *= 10;
    *whole = w;
    *scaled = f;
    return 0;
}

/* Parses an epoch time in the file's unit (chosen by the first one). */
static int parse_epoch(trace_parse *p, const char *s, int64_t *out_us)
{
    int64_t whole, frac;

    if (parse_decimal(s, 6, &whole, &frac) < 0)
        return bad_row(p, "time '%s': invalid time: expected ISO-8601 with a zone "
                          "(2025-01-01T00:05:00Z) or Unix epoch seconds or "
                          "milliseconds",
                       s);
    int unit = whole < EPOCH_MS_FROM ? 1 : 2;
    if (p->epoch_unit == 0)
        p->epoch_unit = unit;
    if (unit != p->epoch_unit)
        return bad_row(p, "time '%s': looks like epoch %s, but the file's first "
                          "numeric time is in %s",
                       s, unit == 1 ? "seconds" : "milliseconds",
                       unit == 1 ? "milliseconds" : "seconds");
    if (unit == 2 && frac % 1000 != 0)
        return bad_row(p, "time '%s': milliseconds have at most 3 decimals", s);
    int64_t seconds = unit == 1 ? whole : whole / 1000;
    if (seconds > EPOCH_S_MAX)
        return bad_row(p, "time '%s': after the year 9999", s);
    *out_us = unit == 1 ? whole * RL_US_PER_SEC + frac
                        : whole * RL_US_PER_MS + frac / 1000;
    return 1;
}

/* Returns 1 with *out_us set, 0 for a skipped bad row, or an error. */
static int parse_time(trace_parse *p, const char *s, int64_t *out_us)
{
    rl_error e;

    if (strpbrk(s, "-:T") == NULL)
        return parse_epoch(p, s, out_us);
    if (rl_time_parse_iso8601(s, out_us, &e) < 0)
        return bad_row(p, "time: %s", e.message);
    return 1;
}

static int valid_role(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= RL_ROLE_NAME_MAX || !islower((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

/* Returns the group of (role, auth), adding it; -1 when there are too many. */
static int group_of(sim_trace *t, const char *role, int auth_valid, int64_t line)
{
    for (int i = 0; i < t->ngroups; i++)
        if (t->groups[i].auth_valid == auth_valid && strcmp(t->groups[i].role, role) == 0)
            return i;
    if (t->ngroups == GROUPS_MAX)
        return -1;
    trace_group *g = &t->groups[t->ngroups];
    snprintf(g->role, sizeof(g->role), "%s", role);
    g->auth_valid = auth_valid;
    g->first_line = line;
    return t->ngroups++;
}

/* ---- rows -------------------------------------------------------------- */

static int store_row(trace_parse *p, int64_t time_us, const char *client, int group)
{
    sim_trace *t = p->t;
    size_t n = strlen(client) + 1;

    if (t->nraw == t->raw_cap) {
        int64_t cap = t->raw_cap ? t->raw_cap * 2 : 256;
        raw_row *bigger = realloc(t->raw, (size_t)cap * sizeof(*bigger));
        if (bigger == NULL)
            return RL_ERR_NOMEM;
        t->raw = bigger;
        t->raw_cap = cap;
    }
    if (t->ids_len + n > t->ids_cap) {
        size_t cap = t->ids_cap ? t->ids_cap * 2 : 4096;
        while (cap < t->ids_len + n)
            cap *= 2;
        char *bigger = realloc(t->ids, cap);
        if (bigger == NULL)
            return RL_ERR_NOMEM;
        t->ids = bigger;
        t->ids_cap = cap;
    }
    memcpy(t->ids + t->ids_len, client, n);
    t->raw[t->nraw++] = (raw_row){time_us, p->line, t->ids_len, group, 0};
    t->ids_len += n;
    return 0;
}

/* Parses one data row's fields. */
static int parse_row(trace_parse *p, char **fields, int n)
{
    const char *f[FIELDS_MAX] = {NULL, NULL, NULL, ""};
    int64_t time_us = 0;

    if (n < 3 || n > p->ncolumns)
        return bad_row(p, "%d fields: expected %s", n,
                       p->ncolumns == 3 ? "3 (time,client,role)"
                                        : "3 or 4 (time,client,role[,auth])");
    for (int i = 0; i < n; i++)
        f[p->columns[i]] = fields[i];
    if (f[COL_TIME] == NULL || f[COL_CLIENT] == NULL || f[COL_ROLE] == NULL)
        return bad_row(p, "a time, client or role field is missing");

    int rc = parse_time(p, f[COL_TIME], &time_us);
    if (rc <= 0)
        return rc;
    size_t len = strlen(f[COL_CLIENT]);
    if (len == 0 || len > RL_CLIENT_MAX || strchr(f[COL_CLIENT], '"') != NULL)
        return bad_row(p, "client '%.64s': expected 1 to %d bytes without quotes",
                       f[COL_CLIENT], RL_CLIENT_MAX);
    if (!valid_role(f[COL_ROLE]))
        return bad_row(p, "role '%.64s': expected a lower-case role name such as miner",
                       f[COL_ROLE]);
    int auth_valid = f[COL_AUTH][0] == '\0' || strcmp(f[COL_AUTH], "valid") == 0;
    if (!auth_valid && strcmp(f[COL_AUTH], "invalid") != 0)
        return bad_row(p, "auth '%.64s': expected valid, invalid or nothing",
                       f[COL_AUTH]);
    int group = group_of(p->t, f[COL_ROLE], auth_valid, p->line);
    if (group < 0)
        return bad_row(p, "more than %d (role, auth) pairs", GROUPS_MAX);
    return store_row(p, time_us, f[COL_CLIENT], group);
}

/* Reads a header row: names in any order, auth optional. */
static int parse_header(trace_parse *p, char **fields, int n)
{
    static const char *const names[FIELDS_MAX] = {"time", "client", "role", "auth"};
    int seen[FIELDS_MAX] = {0};

    for (int i = 0; i < n; i++) {
        int col = -1;
        for (int c = 0; c < FIELDS_MAX; c++)
            if (strcasecmp(fields[i], names[c]) == 0)
                col = c;
        if (col < 0 || seen[col]) {
            rl_error_set(p->err, "%s:%lld: header column '%.64s': expected each of "
                                 "time, client, role and optionally auth once",
                         p->path, (long long)p->line, fields[i]);
            return RL_ERR_INVALID;
        }
        seen[col] = 1;
        p->columns[i] = col;
    }
    if (!seen[COL_TIME] || !seen[COL_CLIENT] || !seen[COL_ROLE]) {
        rl_error_set(p->err, "%s:%lld: the header needs the columns time, client and "
                             "role",
                     p->path, (long long)p->line);
        return RL_ERR_INVALID;
    }
    p->ncolumns = n;
    return 0;
}

/* True when every field is a column name: the first row is then a header. */
static int is_header(char **fields, int n)
{
    static const char *const names[] = {"time", "client", "role", "auth"};

    for (int i = 0; i < n; i++) {
        int known = 0;
        for (int c = 0; c < FIELDS_MAX; c++)
            known |= strcasecmp(fields[i], names[c]) == 0;
        if (!known)
            return 0;
    }
    return 1;
}

static int parse_line(trace_parse *p, const char *start, size_t n)
{
    char line[SIM_TRACE_LINE_MAX + 1];
    char *fields[FIELDS_MAX];

    if (n > 0 && start[n - 1] == '\r')
        n--;
    if (n > SIM_TRACE_LINE_MAX)
        return bad_row(p, "the row is %zu bytes long: at most %d", n, SIM_TRACE_LINE_MAX);
    if (memchr(start, '\0', n) != NULL)
        return bad_row(p, "the row contains a NUL byte");
    memcpy(line, start, n);
    line[n] = '\0';
    char *text = trim(line);
    if (text[0] == '\0' || text[0] == '#')
        return 0;

    int nf = split(text, fields);
    if (nf < 0)
        return bad_row(p, "more than 4 fields: expected time,client,role[,auth]");
    int header = !p->seen_data && is_header(fields, nf);
    p->seen_data = 1;
    return header ? parse_header(p, fields, nf) : parse_row(p, fields, nf);
}

/* ---- numbering and order ------------------------------------------------ */

/* A row with its id, so the comparison needs no context. */
typedef struct row_ref {
    const char *id;
    raw_row *row;
} row_ref;

static int compare_client(const void *a, const void *b)
{
    const row_ref *x = a, *y = b;

    if (x->row->group != y->row->group)
        return x->row->group < y->row->group ? -1 : 1;
    int c = strcmp(x->id, y->id);
    if (c != 0)
        return c;
    return x->row->line < y->row->line ? -1 : x->row->line > y->row->line;
}

static int compare_time(const void *a, const void *b)
{
    const sim_trace_row *x = a, *y = b;

    if (x->time_us != y->time_us)
        return x->time_us < y->time_us ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Numbers the clients, grouped, and sorts the rows by time. */
static int number_clients(sim_trace *t)
{
    row_ref *order = malloc((size_t)t->nraw * sizeof(*order));
    t->client_ids = malloc((size_t)t->nraw * sizeof(*t->client_ids));
    t->rows = malloc((size_t)t->nraw * sizeof(*t->rows));
    if (order == NULL || t->client_ids == NULL || t->rows == NULL) {
        free(order);
        return RL_ERR_NOMEM;
    }
    for (int64_t i = 0; i < t->nraw; i++)
        order[i] = (row_ref){t->ids + t->raw[i].id_offset, &t->raw[i]};
    qsort(order, (size_t)t->nraw, sizeof(*order), compare_client);

    for (int64_t i = 0; i < t->nraw; i++) {
        raw_row *r = order[i].row;
        const row_ref *prev = i > 0 ? &order[i - 1] : NULL;
        if (prev == NULL || prev->row->group != r->group || strcmp(prev->id, order[i].id) != 0) {
            t->client_ids[t->nclients++] = r->id_offset;
            t->groups[r->group].clients++;
            t->client_id_bytes += strlen(t->ids + r->id_offset) + 1;
        }
        r->client = t->nclients - 1;
    }
    free(order);
    for (int64_t i = 0; i < t->nraw; i++)
        t->rows[i] = (sim_trace_row){t->raw[i].time_us, t->raw[i].client, t->raw[i].line};
    qsort(t->rows, (size_t)t->nraw, sizeof(*t->rows), compare_time);
    return 0;
}

int sim_trace_parse(const char *text, size_t len, const char *path, int skip_bad_rows,
                    sim_trace **out, rl_error *err)
{
    trace_parse p = {0};
    int rc = 0;

    *out = NULL;
    p.t = calloc(1, sizeof(*p.t));
    if (p.t == NULL)
        return RL_ERR_NOMEM;
    p.path = path;
    p.skip_bad_rows = skip_bad_rows;
    p.err = err;
    p.ncolumns = FIELDS_MAX;
    for (int i = 0; i < FIELDS_MAX; i++)
        p.columns[i] = i;

    for (size_t pos = 0; rc == 0 && pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
        p.line++;
        rc = parse_line(&p, text + pos, n);
        pos += n + (nl != NULL);
    }
    if (rc == 0 && p.t->nraw == 0) {
        rl_error_set(err, "%s: no request rows%s: expected CSV rows "
                          "time,client,role[,auth]",
                     path, p.t->skipped > 0 ? " that could be read" : "");
        rc = RL_ERR_INVALID;
    }
    if (rc == 0)
        rc = number_clients(p.t);
    if (rc == RL_ERR_NOMEM)
        rl_error_set(err, "%s: out of memory reading the trace", path);
    if (rc < 0) {
        sim_trace_destroy(p.t);
        return rc;
    }
    *out = p.t;
    return 0;
}

/* ---- the replay scenario ------------------------------------------------ */

static int fill_population(const sim_trace *t, int g, sim_scenario *out, rl_error *err)
{
    const trace_group *grp = &t->groups[g];
    sim_population *p = &out->pops[g];

    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s%s", grp->role,
             grp->auth_valid ? "" : "-invalid");
    snprintf(p->role, sizeof(p->role), "%s", grp->role);
    p->role_index = rl_limits_role_index(&out->limits, grp->role);
    if (p->role_index < 0) {
        rl_error_set(err, "%s:%lld: role '%s' is not in the limits: add "
                          "DAILY_LIMIT_PER_%s to the env file or role.%s = N to "
                          "the scenario",
                     out->path, (long long)grp->first_line, grp->role, grp->role,
                     grp->role);
        return RL_ERR_INVALID;
    }
    p->count = grp->clients;
    p->cadence = SIM_CADENCE_FIXED_RATE;
    p->interval_us = RL_US_PER_DAY; /* unused: the trace gives the times */
    p->start = SIM_START_TOGETHER;
    p->auth_valid = grp->auth_valid;
    p->line = (int)(grp->first_line < 1000000000 ? grp->first_line : 0);
    return 0;
}

int sim_trace_scenario(const sim_trace *t, const sim_scenario *base, sim_scenario *out,
                       rl_error *err)
{
    int64_t first = t->rows[0].time_us, last = t->rows[t->nraw - 1].time_us;

    *out = *base;
    out->pops = NULL;
    out->npops = 0;
    out->start_us = rl_floor_div(first, RL_US_PER_DAY) * RL_US_PER_DAY;
    out->days = rl_floor_div(last - out->start_us, RL_US_PER_DAY) + 1;
    if (out->days > SIM_DAYS_MAX) {
        rl_error_set(err, "%s: the trace spans %lld days: at most %d can be replayed",
                     out->path, (long long)out->days, SIM_DAYS_MAX);
        return RL_ERR_INVALID;
    }
    out->realism.trace = t;
    out->pops = calloc((size_t)t->ngroups, sizeof(*out->pops));
    if (out->pops == NULL) {
        rl_error_set(err, "%s: out of memory building the replay", out->path);
        return RL_ERR_NOMEM;
    }
    out->npops = t->ngroups;
    for (int g = 0; g < t->ngroups; g++) {
        int rc = fill_population(t, g, out, err);
        if (rc < 0) {
            sim_scenario_free(out);
            return rc;
        }
    }
    return 0;
}
