/*
 * rl_window.c: window ids, boundaries, labels and the window's text form.
 *
 * Part of the limiter core.  Every mapping is floor division on
 * microseconds since the epoch, so times before 1970 get negative ids and
 * the same arithmetic.  A calendar window is a day at a fixed offset (no
 * daylight saving time), so every window of a kind has the same length.
 *
 * rl_window_label is on the limiter's hot path (once per decision), so it
 * writes its digits by hand instead of calling snprintf.
 */
#include <stdio.h>
#include <string.h>

#include "rl_time.h"
#include "rl_window.h"

#define MAX_UTC_OFFSET_S (14 * 3600)

rl_window rl_window_utc_day(void)
{
    rl_window w = {RL_WINDOW_CALENDAR_DAY, 0, RL_US_PER_DAY};

    return w;
}

/* Parses "+HH:MM" or "-HH:MM" (after "utc") into seconds east of UTC. */
static int parse_utc_offset(const char *p, int32_t *offset_s)
{
    int sign = p[0] == '-' ? -1 : 1;
    int hours, minutes;

    if (p[0] != '+' && p[0] != '-')
        return -1;
    for (int i = 1; i <= 5; i++) {
        if (i == 3 ? p[i] != ':' : (p[i] < '0' || p[i] > '9'))
            return -1;
    }
    if (p[6] != '\0')
        return -1;
    hours = (p[1] - '0') * 10 + (p[2] - '0');
    minutes = (p[4] - '0') * 10 + (p[5] - '0');
    if (minutes > 59 || hours * 3600 + minutes * 60 > MAX_UTC_OFFSET_S)
        return -1;
    *offset_s = sign * (hours * 3600 + minutes * 60);
    return 0;
}

int rl_window_parse(const char *text, rl_window *out, rl_error *err)
{
    rl_window w = rl_window_utc_day();
    int64_t length_us;
    rl_error duration_err;

    if (text == NULL)
        text = "";
    if (strcmp(text, "utc-day") == 0) {
        *out = w;
        return RL_OK;
    }
    if (strncmp(text, "utc", 3) == 0) {
        if (parse_utc_offset(text + 3, &w.utc_offset_s) != 0) {
            rl_error_set(err,
                         "invalid window '%s': a UTC offset must be utc+HH:MM or "
                         "utc-HH:MM, at most 14:00, such as utc+05:30 or utc-08:00",
                         text);
            return RL_ERR_INVALID;
        }
        *out = w;
        return RL_OK;
    }

    /* Anything else must be a fixed length. */
    if (rl_duration_parse(text, &length_us, &duration_err) != RL_OK || length_us <= 0) {
        rl_error_set(err,
                     "invalid window '%s': expected utc-day, utc+HH:MM, utc-HH:MM, "
                     "or a positive duration such as 60s or 1h",
                     text);
        return RL_ERR_INVALID;
    }
    w.kind = RL_WINDOW_FIXED;
    w.length_us = length_us;
    *out = w;
    return RL_OK;
}

int rl_window_format(const rl_window *w, char *buf, size_t len)
{
    int32_t offset_s = w->utc_offset_s;
    int32_t magnitude_s = offset_s < 0 ? -offset_s : offset_s;

    if (w->kind == RL_WINDOW_FIXED)
        return rl_duration_format(w->length_us, buf, len);
    if (offset_s == 0)
        return snprintf(buf, len, "utc-day");
    return snprintf(buf, len, "utc%c%02d:%02d", offset_s < 0 ? '-' : '+',
                    (int)(magnitude_s / 3600), (int)(magnitude_s / 60 % 60));
}

int64_t rl_window_id(const rl_window *w, int64_t t_us)
{
    if (w->kind == RL_WINDOW_FIXED)
        return rl_floor_div(t_us, w->length_us);
    return rl_floor_div(t_us + w->utc_offset_s * RL_US_PER_SEC, RL_US_PER_DAY);
}

int64_t rl_window_start_us(const rl_window *w, int64_t id)
{
    if (w->kind == RL_WINDOW_FIXED)
        return id * w->length_us;
    return id * RL_US_PER_DAY - w->utc_offset_s * RL_US_PER_SEC;
}

int64_t rl_window_reset_us(const rl_window *w, int64_t id)
{
    return rl_window_start_us(w, id + 1);
}

int64_t rl_window_length_us(const rl_window *w, int64_t id)
{
    (void)id; /* every window of a kind has the same length (no DST) */
    return w->kind == RL_WINDOW_FIXED ? w->length_us : RL_US_PER_DAY;
}

/* Writes v in decimal at the end of tmp (which ends at `end`); returns the
 * start of the digits. */
static char *write_decimal_backwards(char *end, uint64_t v, int min_digits)
{
    char *p = end;

    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
        min_digits--;
    } while (v != 0 || min_digits > 0);
    return p;
}

/* Copies n bytes of text into buf as snprintf would (truncating, always
 * terminating when len > 0) and returns n. */
static int copy_out(const char *text, size_t n, char *buf, size_t len)
{
    if (len > 0) {
        size_t k = n < len - 1 ? n : len - 1;
        memcpy(buf, text, k);
        buf[k] = '\0';
    }
    return (int)n;
}

/* Writes "YYYY-MM-DD" (or a wider or negative year) for a day number. */
static size_t format_date(int64_t days, char *out)
{
    char tmp[RL_WINDOW_LABEL_MAX];
    char *end = tmp + sizeof(tmp);
    char *p;
    int year, month, day;
    uint64_t year_magnitude;

    rl_civil_from_days(days, &year, &month, &day);
    year_magnitude = year < 0 ? (uint64_t)(-(int64_t)year) : (uint64_t)year;
    p = write_decimal_backwards(end, (uint64_t)day, 2);
    *--p = '-';
    p = write_decimal_backwards(p, (uint64_t)month, 2);
    *--p = '-';
    p = write_decimal_backwards(p, year_magnitude, 4);
    if (year < 0)
        *--p = '-';
    memcpy(out, p, (size_t)(end - p));
    return (size_t)(end - p);
}

int rl_window_label(const rl_window *w, int64_t id, char *buf, size_t len)
{
    char tmp[RL_WINDOW_LABEL_MAX];
    char *end = tmp + sizeof(tmp);
    char *p;
    size_t n;

    if (w->kind == RL_WINDOW_CALENDAR_DAY) {
        n = format_date(id, tmp);
        return copy_out(tmp, n, buf, len);
    }

    /* A fixed window's label is its id, which is negative before 1970. */
    p = write_decimal_backwards(end, id < 0 ? (uint64_t)0 - (uint64_t)id : (uint64_t)id,
                                1);
    if (id < 0)
        *--p = '-';
    return copy_out(p, (size_t)(end - p), buf, len);
}
