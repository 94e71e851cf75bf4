/*
 * sim_compare.c: on_429 values, and the [compare] section's side-by-side
 * runs of one scenario under several policies.
 *
 * Where it sits: the scenario parser calls sim_on429_parse(); sim_run()
 * calls sim_compare_run() after the main run of a scenario with a
 * [compare] section.  Each compared policy is a full sim_run() of the same
 * scenario with the policy overridden and the [compare] section removed,
 * so the rows are exactly what `ratelab sim --policy P` reports.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_time.h"
#include "sim.h"

#define ON429_EXPECTED                                                         \
    "none, retry DELAY [times N], backoff BASE FACTOR CAP [times N] or "       \
    "next-window, such as 'retry 1m times 2' or 'backoff 1m 2 1h'"

/* Splits text at spaces into at most `max` words in buf; returns the count,
 * or -1 when there are more. */
static int split_words(const char *text, char *buf, size_t len, char **words, int max)
{
    int n = 0;

    snprintf(buf, len, "%s", text);
    for (char *s = strtok(buf, " \t"); s != NULL; s = strtok(NULL, " \t")) {
        if (n == max)
            return -1;
        words[n++] = s;
    }
    return n;
}

/* Parses a backoff factor: a decimal >= 1 with at most 3 decimals. */
static int parse_factor(const char *s, int64_t *milli)
{
    int64_t whole = 0, frac = 0;
    int digits = 0, decimals = 0;

    for (; isdigit((unsigned char)*s) && digits < 9; s++, digits++)
        whole = whole * 10 + (*s - '0');
    if (*s == '.')
        for (s++; isdigit((unsigned char)*s) && decimals < 3; s++, decimals++)
            frac = frac * 10 + (*s - '0');
    if (digits == 0 || *s != '\0')
        return -1;
    for (; decimals < 3; decimals++)
        frac *= 10;
    *milli = whole * 1000 + frac;
    return *milli >= 1000 ? 0 : -1;
}

static int parse_delay(const char *s, int64_t *out_us)
{
    return rl_duration_parse(s, out_us, NULL) == 0 && *out_us > 0 ? 0 : -1;
}

/* Parses the optional "times N" at words[at]. */
static int parse_times(char **words, int n, int at, int64_t *times)
{
    char *end;

    *times = SIM_ON429_UNLIMITED;
    if (n == at)
        return 0;
    if (n != at + 2 || strcmp(words[at], "times") != 0 || !isdigit((unsigned char)words[at + 1][0]))
        return -1;
    unsigned long long v = strtoull(words[at + 1], &end, 10);
    if (*end != '\0' || v > 1000000)
        return -1;
    *times = (int64_t)v;
    return 0;
}

int sim_on429_parse(const char *text, sim_on429 *out, rl_error *err)
{
    char buf[256], *w[8];
    int n = split_words(text, buf, sizeof(buf), w, 8);
    int ok = 0;

    memset(out, 0, sizeof(*out));
    out->times = SIM_ON429_UNLIMITED;
    if (n == 1 && strcmp(w[0], "none") == 0) {
        ok = 1;
    } else if (n == 1 && strcmp(w[0], "next-window") == 0) {
        out->kind = SIM_ON429_NEXT_WINDOW;
        ok = 1;
    } else if (n >= 2 && strcmp(w[0], "retry") == 0) {
        out->kind = SIM_ON429_RETRY;
        ok = parse_delay(w[1], &out->delay_us) == 0 && parse_times(w, n, 2, &out->times) == 0;
    } else if (n >= 4 && strcmp(w[0], "backoff") == 0) {
        out->kind = SIM_ON429_BACKOFF;
        ok = parse_delay(w[1], &out->delay_us) == 0 &&
             parse_factor(w[2], &out->factor_milli) == 0 &&
             parse_delay(w[3], &out->cap_us) == 0 && out->cap_us >= out->delay_us &&
             parse_times(w, n, 4, &out->times) == 0;
    }
    if (ok)
        return 0;
    rl_error_set(err,
                 "expected " ON429_EXPECTED " (delays > 0, a factor >= 1 with at "
                 "most 3 decimals, CAP >= BASE, N from 0 to 1000000)");
    return RL_ERR_INVALID;
}

void sim_on429_format(const sim_on429 *o, char *buf, size_t len)
{
    char a[32], c[32], times[32] = "";

    if (o->times != SIM_ON429_UNLIMITED)
        snprintf(times, sizeof(times), " times %lld", (long long)o->times);
    rl_duration_format(o->delay_us, a, sizeof(a));
    rl_duration_format(o->cap_us, c, sizeof(c));
    switch (o->kind) {
    case SIM_ON429_NONE:
        snprintf(buf, len, "none");
        break;
    case SIM_ON429_RETRY:
        snprintf(buf, len, "retry %s%s", a, times);
        break;
    case SIM_ON429_BACKOFF:
        snprintf(buf, len, "backoff %s %lld.%03lld %s%s", a,
                 (long long)(o->factor_milli / 1000), (long long)(o->factor_milli % 1000),
                 c, times);
        break;
    case SIM_ON429_NEXT_WINDOW:
        snprintf(buf, len, "next-window");
        break;
    }
}

/* Runs one compared policy and copies its figures into row. */
static int compare_one(const sim_scenario *sc, const sim_config *cfg,
                       sim_compare_row *row, rl_error *err)
{
    sim_scenario copy = *sc; /* shallow: the populations stay sc's */
    sim_config c = *cfg;
    sim_result *r = NULL;

    copy.realism.ncompare = 0;
    copy.expect = (sim_expect){0};
    copy.expect.first_rejection_us = INT64_MIN;
    copy.expect.global_exhausted_us = INT64_MIN;
    c.override_policy = 1;
    c.algorithm = row->choice.algo;
    c.policy = row->choice.policy;
    c.on_request = NULL;
    int rc = sim_run(&copy, &c, &r, err);
    if (rc < 0)
        return rc;
    row->requests = r->total.requests;
    row->accepted = r->total.accepted;
    row->rejected = r->total.rejected_client + r->total.rejected_global;
    row->retries = r->realism.retries;
    row->first_rejection_us = r->first_rejection_us;
    snprintf(row->first_rejection_client, sizeof(row->first_rejection_client), "%s",
             r->first_rejection_client);
    sim_result_destroy(r);
    return 0;
}

int sim_compare_run(const sim_scenario *sc, const sim_config *cfg, sim_result *r,
                    rl_error *err)
{
    r->realism.ncompare = sc->realism.ncompare;
    for (int i = 0; i < sc->realism.ncompare; i++) {
        sim_compare_row *row = &r->realism.compare[i];
        row->choice = sc->realism.compare[i];
        int rc = compare_one(sc, cfg, row, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}
