/*
 * rl_time.h: time values, durations and ISO-8601 text, without any clock.
 *
 * All times in ratelab are int64 microseconds since the Unix epoch, UTC
 * (names end in _us).  Calendar arithmetic is proleptic Gregorian on day
 * numbers, valid from year 0001 to 9999, so no time zone database and no
 * libc time function is involved: results are the same on every machine.
 */
#ifndef RL_TIME_H
#define RL_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "rl_status.h"

#define RL_US_PER_MS 1000LL
#define RL_US_PER_SEC 1000000LL
#define RL_US_PER_MIN (60LL * RL_US_PER_SEC)
#define RL_US_PER_HOUR (60LL * RL_US_PER_MIN)
#define RL_US_PER_DAY (24LL * RL_US_PER_HOUR)

/* Floor division and modulo for negative numerators (b > 0). */
int64_t rl_floor_div(int64_t a, int64_t b);
int64_t rl_floor_mod(int64_t a, int64_t b);

/* Days since 1970-01-01 of a civil date, and back. */
int64_t rl_days_from_civil(int year, int month, int day);
void rl_civil_from_days(int64_t days, int *year, int *month, int *day);

/*
 * Parses a duration such as "300ms", "45s", "5m", "2h", "1d", "1h30m" or
 * "71m59s" into microseconds.  Units: us, ms, s, m, h, d; parts in any
 * decreasing order, each unit at most once.  A bare number, an empty string,
 * a sign, spaces or an overflow are errors (RL_ERR_INVALID or RL_ERR_RANGE)
 * with a message naming the text.  Zero ("0s") is accepted; callers that need
 * a positive duration check it themselves.
 */
int rl_duration_parse(const char *text, int64_t *out_us, rl_error *err);

/* Writes the shortest exact form ("1h30m", "300ms", "0s").  Returns the
 * length snprintf would have written. */
int rl_duration_format(int64_t us, char *buf, size_t len);

/*
 * Parses an ISO-8601 / RFC 3339 time: "2025-01-01T00:00:00Z",
 * "2025-01-01T00:00:00.250Z", "2025-01-01T02:00:00+02:00", or a date alone
 * ("2025-01-01", midnight UTC).  A time without a zone is an error, because
 * guessing the zone is how days end up shifted.
 */
int rl_time_parse_iso8601(const char *text, int64_t *out_us, rl_error *err);

/* Writes "2025-01-01T01:40:00Z", with ".ffffff" only when the microseconds
 * are not zero.  Returns the length snprintf would have written. */
int rl_time_format_iso8601(int64_t t_us, char *buf, size_t len);

/* Longest output of rl_time_format_iso8601, with the terminating NUL. */
#define RL_ISO8601_MAX 32

#endif
