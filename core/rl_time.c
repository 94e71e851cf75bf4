/*
 * rl_time.c: floor arithmetic, civil dates, durations and ISO-8601 text.
 *
 * Part of the limiter core; nothing here reads a clock or calls a libc time
 * function.  Civil dates use the proleptic Gregorian calendar computed on
 * day numbers with March-based years, so that the leap day is the last day
 * of its year and the month lengths from March on follow a fixed pattern.
 *
 * Invariants: rl_days_from_civil and rl_civil_from_days are inverses for
 * every date, including those outside the years 1..9999 that the parsers
 * accept.  Every parser fills rl_error with one sentence on failure.
 */
#include <stdio.h>
#include <string.h>

#include "rl_time.h"

int64_t rl_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    /* C division truncates toward zero; step down when the remainder is
     * negative so that q * b <= a always holds. */
    if (a % b != 0 && a < 0)
        q--;
    return q;
}

int64_t rl_floor_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;

    if (r < 0)
        r += b;
    return r;
}

/* Days in a 400-year Gregorian cycle, and the day number of 0000-03-01
 * relative to 1970-01-01. */
#define DAYS_PER_ERA 146097
#define DAYS_0000_03_01 (-719468)

int64_t rl_days_from_civil(int year, int month, int day)
{
    /* Count years from March so that February's length only affects the
     * last day of the counted year. */
    int64_t y = (int64_t)year - (month <= 2 ? 1 : 0);
    int64_t era = rl_floor_div(y, 400);
    int64_t year_of_era = y - era * 400;                   /* 0..399 */
    int64_t month_from_march = (month + 9) % 12;           /* Mar = 0 */
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    int64_t day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;

    return era * DAYS_PER_ERA + day_of_era + DAYS_0000_03_01;
}

void rl_civil_from_days(int64_t days, int *year, int *month, int *day)
{
    int64_t z = days - DAYS_0000_03_01;
    int64_t era = rl_floor_div(z, DAYS_PER_ERA);
    int64_t day_of_era = z - era * DAYS_PER_ERA; /* 0..146096 */

    /* Remove the leap days before this day (one every 4 years, minus one
     * every 100, plus the 400th year's) to get whole 365-day years. */
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 -
                           day_of_era / 146096) /
                          365;
    int64_t day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_from_march = (5 * day_of_year + 2) / 153;
    int64_t m = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;

    *day = (int)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    *month = (int)m;
    *year = (int)(year_of_era + era * 400 + (m <= 2 ? 1 : 0));
}

/* ------------------------------------------------------------------------ */
/* Durations                                                                */
/* ------------------------------------------------------------------------ */

/* Units from largest to smallest; a duration's parts must follow this
 * order, so the index doubles as a rank. */
static const struct {
    const char *name;
    int64_t us;
} duration_units[] = {
    {"d", RL_US_PER_DAY}, {"h", RL_US_PER_HOUR}, {"m", RL_US_PER_MIN},
    {"s", RL_US_PER_SEC}, {"ms", RL_US_PER_MS},  {"us", 1},
};
#define N_DURATION_UNITS ((int)(sizeof(duration_units) / sizeof(duration_units[0])))

#define DURATION_EXPECTED                                                      \
    "expected a number followed by a unit (us, ms, s, m, h, d), such as "      \
    "300ms, 45s, 5m, 1h30m"

/* Matches the unit at p; returns its index and sets *len, or -1. */
static int match_duration_unit(const char *p, size_t *len)
{
    if (p[0] == 'm' && p[1] == 's') {
        *len = 2;
        return 4;
    }
    if (p[0] == 'u' && p[1] == 's') {
        *len = 2;
        return 5;
    }
    for (int i = 0; i < 4; i++) {
        if (p[0] == duration_units[i].name[0]) {
            *len = 1;
            return i;
        }
    }
    return -1;
}

/* Reads decimal digits into *value; returns the count, or -1 on overflow. */
static int read_decimal(const char *p, int64_t *value)
{
    int64_t v = 0;
    int n = 0;

    while (p[n] >= '0' && p[n] <= '9') {
        int digit = p[n] - '0';
        if (v > (INT64_MAX - digit) / 10)
            return -1;
        v = v * 10 + digit;
        n++;
    }
    *value = v;
    return n;
}

/* Names what is wrong at p, where a number (at_unit = 0) or a unit was
 * expected, as the start of an error sentence; "" when nothing more specific
 * than the general form applies. */
static const char *duration_flaw(const char *text, const char *p, int at_unit)
{
    int letter = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');

    if (*p == ' ' || *p == '\t')
        return "spaces are not allowed; ";
    if (*p == '+' || *p == '-')
        return "a sign is not allowed; ";
    if (at_unit && *p == '\0')
        return "the number has no unit; ";
    if (at_unit && (*p == '.' || *p == ','))
        return "fractions are not allowed (write 1h30m, not 1.5h); ";
    /* A letter after a unit ("5min") means the unit was longer than one we
     * know. */
    if (at_unit || (letter && p != text))
        return "unknown unit; ";
    return "";
}

static int duration_range_error(const char *text, rl_error *err)
{
    rl_error_set(err,
                 "invalid duration '%s': too large; the maximum is about "
                 "106751991d (2^63 microseconds)",
                 text);
    return RL_ERR_RANGE;
}

int rl_duration_parse(const char *text, int64_t *out_us, rl_error *err)
{
    const char *p = text;
    int64_t total = 0;
    int last_rank = -1;

    if (text == NULL || *text == '\0') {
        rl_error_set(err, "invalid duration '': the value is empty; " DURATION_EXPECTED);
        return RL_ERR_INVALID;
    }
    while (*p != '\0') {
        int64_t number;
        size_t unit_len = 0;
        int digits = read_decimal(p, &number);
        int rank;

        if (digits < 0)
            return duration_range_error(text, err);
        if (digits == 0) {
            rl_error_set(err, "invalid duration '%s': %s" DURATION_EXPECTED, text,
                         duration_flaw(text, p, 0));
            return RL_ERR_INVALID;
        }
        p += digits;
        rank = match_duration_unit(p, &unit_len);
        if (rank < 0) {
            rl_error_set(err, "invalid duration '%s': %s" DURATION_EXPECTED, text,
                         duration_flaw(text, p, 1));
            return RL_ERR_INVALID;
        }
        if (rank <= last_rank) {
            rl_error_set(err,
                         "invalid duration '%s': units must appear from largest to "
                         "smallest (d, h, m, s, ms, us), each at most once, such "
                         "as 1h30m",
                         text);
            return RL_ERR_INVALID;
        }
        p += unit_len;
        last_rank = rank;

        /* Multiply and add without overflowing int64. */
        if (number > (INT64_MAX - total) / duration_units[rank].us)
            return duration_range_error(text, err);
        total += number * duration_units[rank].us;
    }
    *out_us = total;
    return RL_OK;
}

int rl_duration_format(int64_t us, char *buf, size_t len)
{
    char tmp[64];
    size_t n = 0;
    uint64_t rest;

    /* Work on the magnitude as unsigned so INT64_MIN has one. */
    if (us < 0) {
        tmp[n++] = '-';
        rest = (uint64_t)0 - (uint64_t)us;
    } else {
        rest = (uint64_t)us;
    }
    if (rest == 0) {
        tmp[n++] = '0';
        tmp[n++] = 's';
    }
    for (int i = 0; i < N_DURATION_UNITS && rest > 0; i++) {
        uint64_t unit = (uint64_t)duration_units[i].us;
        uint64_t part = rest / unit;

        if (part == 0)
            continue;
        rest -= part * unit;
        n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "%llu%s",
                              (unsigned long long)part, duration_units[i].name);
    }
    tmp[n] = '\0';
    return snprintf(buf, len, "%s", tmp);
}

/* ------------------------------------------------------------------------ */
/* ISO-8601                                                                 */
/* ------------------------------------------------------------------------ */

#define ISO8601_EXPECTED                                                       \
    "expected an ISO-8601 time such as 2025-01-01T00:00:00Z, "                 \
    "2025-01-01T02:00:00.250+02:00, or a date alone such as 2025-01-01 "       \
    "(midnight UTC)"

/* Reads exactly n digits at *p and advances; returns -1 when one is not a
 * digit. */
static int read_fixed_digits(const char **p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

/* Advances past c when *p starts with it; returns whether it did. */
static int skip_char(const char **p, char c)
{
    if (**p != c)
        return 0;
    ++*p;
    return 1;
}

static int days_in_month(int year, int month)
{
    static const int lengths[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : lengths[month - 1];
}

/* Parses "YYYY-MM-DD" at *p into a day number. */
static int parse_date_part(const char **p, const char *text, int64_t *days,
                           rl_error *err)
{
    int year = read_fixed_digits(p, 4);
    int month = -1, day = -1;

    if (year >= 0 && skip_char(p, '-'))
        month = read_fixed_digits(p, 2);
    if (month >= 0 && skip_char(p, '-'))
        day = read_fixed_digits(p, 2);
    if (day < 0) {
        rl_error_set(err, "invalid time '%s': " ISO8601_EXPECTED, text);
        return RL_ERR_INVALID;
    }
    if (year < 1 || month < 1 || month > 12 || day < 1 ||
        day > days_in_month(year, month)) {
        rl_error_set(err,
                     "invalid time '%s': no such date (years 0001 to 9999, months "
                     "01 to 12, days up to the month's length)",
                     text);
        return RL_ERR_RANGE;
    }
    *days = rl_days_from_civil(year, month, day);
    return RL_OK;
}

/* Parses "HH:MM:SS[.f{1,6}]" at *p into microseconds since midnight. */
static int parse_clock_part(const char **p, const char *text, int64_t *us,
                            rl_error *err)
{
    int hour = read_fixed_digits(p, 2);
    int minute = -1, second = -1;
    int64_t fraction_us = 0;

    if (hour >= 0 && skip_char(p, ':'))
        minute = read_fixed_digits(p, 2);
    if (minute >= 0 && skip_char(p, ':'))
        second = read_fixed_digits(p, 2);
    if (second < 0) {
        rl_error_set(err, "invalid time '%s': " ISO8601_EXPECTED, text);
        return RL_ERR_INVALID;
    }
    if (hour > 23 || minute > 59 || second > 59) {
        rl_error_set(err,
                     "invalid time '%s': hour, minute or second out of range "
                     "(00:00:00 to 23:59:59; leap seconds are not supported)",
                     text);
        return RL_ERR_RANGE;
    }
    if (**p == '.') {
        int digits = 0;
        ++*p;
        while ((*p)[0] >= '0' && (*p)[0] <= '9' && digits < 7) {
            fraction_us = fraction_us * 10 + ((*p)[0] - '0');
            ++*p;
            digits++;
        }
        if (digits == 0 || digits > 6) {
            rl_error_set(err,
                         "invalid time '%s': the fraction of a second needs 1 to 6 "
                         "digits (microseconds)",
                         text);
            return RL_ERR_INVALID;
        }
        for (; digits < 6; digits++)
            fraction_us *= 10;
    }
    *us = (hour * 3600LL + minute * 60LL + second) * RL_US_PER_SEC + fraction_us;
    return RL_OK;
}

/* Parses "Z" or "+HH:MM" / "-HH:MM" at *p into an offset east of UTC. */
static int parse_zone_part(const char **p, const char *text, int64_t *offset_us,
                           rl_error *err)
{
    int sign, hours, minutes = -1;

    if (**p == 'Z' || **p == 'z') {
        ++*p;
        *offset_us = 0;
        return RL_OK;
    }
    if (**p == '\0') {
        rl_error_set(err,
                     "invalid time '%s': no time zone; add Z for UTC or an offset "
                     "such as +02:00",
                     text);
        return RL_ERR_INVALID;
    }
    if (**p != '+' && **p != '-') {
        rl_error_set(err, "invalid time '%s': " ISO8601_EXPECTED, text);
        return RL_ERR_INVALID;
    }
    sign = **p == '-' ? -1 : 1;
    ++*p;
    hours = read_fixed_digits(p, 2);
    if (hours >= 0 && skip_char(p, ':'))
        minutes = read_fixed_digits(p, 2);
    if (hours < 0 || minutes < 0 || hours > 23 || minutes > 59) {
        rl_error_set(err,
                     "invalid time '%s': the UTC offset must be +HH:MM or -HH:MM "
                     "(up to 23:59), such as +02:00",
                     text);
        return RL_ERR_INVALID;
    }
    *offset_us = sign * (hours * 3600LL + minutes * 60LL) * RL_US_PER_SEC;
    return RL_OK;
}

int rl_time_parse_iso8601(const char *text, int64_t *out_us, rl_error *err)
{
    const char *p = text;
    int64_t days = 0, clock_us = 0, offset_us = 0;
    int rc;

    if (text == NULL || *text == '\0') {
        rl_error_set(err, "invalid time '': the value is empty; " ISO8601_EXPECTED);
        return RL_ERR_INVALID;
    }
    rc = parse_date_part(&p, text, &days, err);
    if (rc != RL_OK)
        return rc;

    /* A date alone means midnight UTC. */
    if (*p == '\0') {
        *out_us = days * RL_US_PER_DAY;
        return RL_OK;
    }
    if (*p != 'T' && *p != 't') {
        rl_error_set(err, "invalid time '%s': " ISO8601_EXPECTED, text);
        return RL_ERR_INVALID;
    }
    p++;
    rc = parse_clock_part(&p, text, &clock_us, err);
    if (rc == RL_OK)
        rc = parse_zone_part(&p, text, &offset_us, err);
    if (rc != RL_OK)
        return rc;
    if (*p != '\0') {
        rl_error_set(err, "invalid time '%s': unexpected text after the zone; "
                     ISO8601_EXPECTED, text);
        return RL_ERR_INVALID;
    }
    /* A zone offset can move a valid local time out of the calendar's
     * range ("9999-12-31T23:59:59-01:00" is in year 10000 UTC), where
     * rl_time_format_iso8601 would write a time this parser rejects. */
    int64_t t_us = days * RL_US_PER_DAY + clock_us - offset_us;
    if (t_us < rl_days_from_civil(1, 1, 1) * RL_US_PER_DAY ||
        t_us >= rl_days_from_civil(10000, 1, 1) * RL_US_PER_DAY) {
        rl_error_set(err, "invalid time '%s': in UTC it falls outside the years "
                     "0001 to 9999; use a time inside them", text);
        return RL_ERR_RANGE;
    }
    *out_us = t_us;
    return RL_OK;
}

int rl_time_format_iso8601(int64_t t_us, char *buf, size_t len)
{
    int64_t days = rl_floor_div(t_us, RL_US_PER_DAY);
    int64_t in_day_us = rl_floor_mod(t_us, RL_US_PER_DAY);
    int64_t second_of_day = in_day_us / RL_US_PER_SEC;
    int fraction_us = (int)(in_day_us % RL_US_PER_SEC);
    int year, month, day;

    rl_civil_from_days(days, &year, &month, &day);
    if (fraction_us != 0)
        return snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", year, month,
                        day, (int)(second_of_day / 3600),
                        (int)(second_of_day / 60 % 60), (int)(second_of_day % 60),
                        fraction_us);
    return snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, month, day,
                    (int)(second_of_day / 3600), (int)(second_of_day / 60 % 60),
                    (int)(second_of_day % 60));
}
