/*
 * lg_rate.c: rate parsing and the open-loop schedule (see lg_rate.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_rate.h"
#include "lg_status.h"
#include "rl_time.h"

static int64_t period_of_unit(const char *unit)
{
    if (strcmp(unit, "s") == 0)
        return RL_US_PER_SEC;
    if (strcmp(unit, "m") == 0)
        return RL_US_PER_MIN;
    if (strcmp(unit, "h") == 0)
        return RL_US_PER_HOUR;
    if (strcmp(unit, "d") == 0)
        return RL_US_PER_DAY;
    return 0;
}

/* Accepts digits with at most one '.', nothing else (no sign, exponent,
 * spaces, hex or "inf"), so strtod's liberal forms are ruled out first. */
static int is_plain_decimal(const char *s, size_t len)
{
    int digits = 0, dots = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if (s[i] == '.')
            dots++;
        else
            return 0;
    }
    return digits > 0 && dots <= 1;
}

int lg_rate_parse(const char *text, lg_rate *out, rl_error *err)
{
    static const char forms[] = "use a positive number of requests per second "
                                "(\"2000\" or \"2000/s\"), per minute (\"500/m\"), "
                                "per hour (\"100/h\"), per day (\"288/d\"), or \"max\"";
    memset(out, 0, sizeof(*out));
    if (strcmp(text, "max") == 0) {
        out->is_max = 1;
        return 0;
    }

    const char *slash = strchr(text, '/');
    size_t num_len = slash != NULL ? (size_t)(slash - text) : strlen(text);
    int64_t period_us = slash != NULL ? period_of_unit(slash + 1) : RL_US_PER_SEC;
    if (period_us == 0 || !is_plain_decimal(text, num_len)) {
        rl_error_set(err, "invalid rate '%s': %s", text, forms);
        return LG_ERR_INVALID;
    }

    char number[64];
    if (num_len >= sizeof(number)) {
        rl_error_set(err, "invalid rate '%s': the number is too long", text);
        return LG_ERR_INVALID;
    }
    memcpy(number, text, num_len);
    number[num_len] = '\0';
    errno = 0;
    double count = strtod(number, NULL);
    double per_sec = count * (double)RL_US_PER_SEC / (double)period_us;
    if (errno != 0 || count <= 0 || per_sec > LG_RATE_MAX_PER_SEC) {
        rl_error_set(err, "invalid rate '%s': it must be above 0 and at most %.0f "
                          "requests per second",
                     text, LG_RATE_MAX_PER_SEC);
        return LG_ERR_INVALID;
    }
    out->count = count;
    out->period_us = period_us;
    return 0;
}

double lg_rate_per_second(const lg_rate *r)
{
    if (r->is_max)
        return 0.0;
    return r->count * (double)RL_US_PER_SEC / (double)r->period_us;
}

int64_t lg_rate_offset_ns(const lg_rate *r, int64_t k)
{
    /* long double keeps k * period exact well past 10^9 requests. */
    long double ns = (long double)k * (long double)r->period_us * 1000.0L /
                     (long double)r->count;
    return (int64_t)ns;
}

void lg_rate_format(const lg_rate *r, char *buf, int len)
{
    if (r->is_max) {
        snprintf(buf, (size_t)len, "max");
        return;
    }
    const char *unit = r->period_us == RL_US_PER_MIN    ? "m"
                       : r->period_us == RL_US_PER_HOUR ? "h"
                       : r->period_us == RL_US_PER_DAY  ? "d"
                                                        : "s";
    snprintf(buf, (size_t)len, "%g/%s", r->count, unit);
}
