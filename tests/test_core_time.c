/*
 * test_core_time.c: floor arithmetic, civil dates, durations and ISO-8601
 * text in rl_time.c.
 */
#include <stdint.h>
#include <string.h>

#include "rl_time.h"
#include "tst_support.h"

static void test_floor_div_mod_negative(void)
{
    CU_ASSERT_EQUAL(rl_floor_div(7, 7), 1);
    CU_ASSERT_EQUAL(rl_floor_div(6, 7), 0);
    CU_ASSERT_EQUAL(rl_floor_div(-1, 7), -1);
    CU_ASSERT_EQUAL(rl_floor_div(-7, 7), -1);
    CU_ASSERT_EQUAL(rl_floor_div(-8, 7), -2);
    CU_ASSERT_EQUAL(rl_floor_mod(-1, 7), 6);
    CU_ASSERT_EQUAL(rl_floor_mod(-7, 7), 0);
    CU_ASSERT_EQUAL(rl_floor_mod(-8, 7), 6);
    CU_ASSERT_EQUAL(rl_floor_mod(13, 7), 6);
}

static void test_civil_known_days(void)
{
    CU_ASSERT_EQUAL(rl_days_from_civil(1970, 1, 1), 0);
    CU_ASSERT_EQUAL(rl_days_from_civil(1969, 12, 31), -1);
    CU_ASSERT_EQUAL(rl_days_from_civil(2025, 1, 1), 20089);
    CU_ASSERT_EQUAL(rl_days_from_civil(2000, 2, 29), 11016);
    CU_ASSERT_EQUAL(rl_days_from_civil(1, 1, 1), -719162);
    CU_ASSERT_EQUAL(rl_days_from_civil(9999, 12, 31), 2932896);
}

static void test_civil_leap_days(void)
{
    /* 2024 and 2000 are leap years; 1900 is not (divisible by 100 but not
     * by 400). */
    CU_ASSERT_EQUAL(rl_days_from_civil(2024, 3, 1) - rl_days_from_civil(2024, 2, 28), 2);
    CU_ASSERT_EQUAL(rl_days_from_civil(2000, 3, 1) - rl_days_from_civil(2000, 2, 28), 2);
    CU_ASSERT_EQUAL(rl_days_from_civil(1900, 3, 1) - rl_days_from_civil(1900, 2, 28), 1);
    CU_ASSERT_EQUAL(rl_days_from_civil(2025, 1, 1) - rl_days_from_civil(2024, 1, 1), 366);
    CU_ASSERT_EQUAL(rl_days_from_civil(1901, 1, 1) - rl_days_from_civil(1900, 1, 1), 365);
}

/* Every day from 0001-01-01 to 9999-12-31 converts back to itself, and
 * consecutive day numbers are consecutive dates. */
static void test_civil_round_trip_all_days(void)
{
    int64_t first = rl_days_from_civil(1, 1, 1);
    int64_t last = rl_days_from_civil(9999, 12, 31);
    int prev_y = 0, prev_m = 12, prev_d = 31;
    int64_t failures = 0;

    for (int64_t days = first; days <= last; days++) {
        int y, m, d;
        rl_civil_from_days(days, &y, &m, &d);
        if (rl_days_from_civil(y, m, d) != days)
            failures++;
        /* The next date is the next day of the month, or day 1. */
        if (!(y == prev_y && m == prev_m && d == prev_d + 1) && d != 1)
            failures++;
        prev_y = y;
        prev_m = m;
        prev_d = d;
    }
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT_EQUAL(prev_y, 9999);
    CU_ASSERT_EQUAL(prev_m, 12);
    CU_ASSERT_EQUAL(prev_d, 31);
}

static void test_duration_parse_good(void)
{
    static const struct {
        const char *text;
        int64_t us;
    } cases[] = {
        {"300ms", 300 * RL_US_PER_MS},
        {"45s", 45 * RL_US_PER_SEC},
        {"5m", 5 * RL_US_PER_MIN},
        {"2h", 2 * RL_US_PER_HOUR},
        {"1d", RL_US_PER_DAY},
        {"1h30m", 90 * RL_US_PER_MIN},
        {"71m59s", 71 * RL_US_PER_MIN + 59 * RL_US_PER_SEC},
        {"250us", 250},
        {"0s", 0},
        {"1d2h3m4s5ms6us", RL_US_PER_DAY + 2 * RL_US_PER_HOUR + 3 * RL_US_PER_MIN +
                               4 * RL_US_PER_SEC + 5 * RL_US_PER_MS + 6},
        {"9223372036854775807us", INT64_MAX},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t us = -1;
        rl_error err = {""};
        int rc = rl_duration_parse(cases[i].text, &us, &err);
        CU_ASSERT_EQUAL(rc, RL_OK);
        CU_ASSERT_EQUAL(us, cases[i].us);
    }
}

static void test_duration_parse_bad(void)
{
    static const struct {
        const char *text;
        int status;
        const char *reason; /* expected in the message */
    } cases[] = {
        {"5x", RL_ERR_INVALID, "unknown unit"},
        {"300", RL_ERR_INVALID, "has no unit"},
        {"", RL_ERR_INVALID, "empty"},
        {"-5m", RL_ERR_INVALID, "sign"},
        {"+5m", RL_ERR_INVALID, "sign"},
        {"5 m", RL_ERR_INVALID, "spaces"},
        {" 5m", RL_ERR_INVALID, "spaces"},
        {"5m ", RL_ERR_INVALID, "spaces"},
        {"m", RL_ERR_INVALID, "expected a number followed by a unit"},
        {"1.5h", RL_ERR_INVALID, "fractions are not allowed"},
        {"30m1h", RL_ERR_INVALID, "largest to smallest"},
        {"1h1h", RL_ERR_INVALID, "at most once"},
        {"5M", RL_ERR_INVALID, "unknown unit"},
        {"5min", RL_ERR_INVALID, "unknown unit"},
        {"99999999999999999999s", RL_ERR_RANGE, "too large"},
        {"9223372036854775808us", RL_ERR_RANGE, "too large"},
        {"106751992d", RL_ERR_RANGE, "too large"},
        {"106751991d5h", RL_ERR_RANGE, "too large"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char quoted[64];
        int64_t us = 12345;
        rl_error err = {""};
        int rc = rl_duration_parse(cases[i].text, &us, &err);

        snprintf(quoted, sizeof(quoted), "'%s'", cases[i].text);
        CU_ASSERT_EQUAL(rc, cases[i].status);
        CU_ASSERT_EQUAL(us, 12345);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "invalid duration"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, quoted));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, cases[i].reason));
    }
}

static void test_duration_message_exact(void)
{
    int64_t us;
    rl_error err = {""};

    CU_ASSERT_EQUAL(rl_duration_parse("5x", &us, &err), RL_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(err.message,
                           "invalid duration '5x': unknown unit; expected a number "
                           "followed by a unit (us, ms, s, m, h, d), such as 300ms, "
                           "45s, 5m, 1h30m");
}

static void test_duration_format_compound(void)
{
    static const struct {
        int64_t us;
        const char *text;
    } cases[] = {
        {0, "0s"},
        {300 * RL_US_PER_MS, "300ms"},
        {90 * RL_US_PER_MIN, "1h30m"},
        {71 * RL_US_PER_MIN + 59 * RL_US_PER_SEC, "1h11m59s"},
        {60 * RL_US_PER_SEC, "1m"},
        {RL_US_PER_DAY, "1d"},
        {RL_US_PER_DAY + 1, "1d1us"},
        {1500 * RL_US_PER_MS, "1s500ms"},
        {-5 * RL_US_PER_MIN, "-5m"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[64];
        int n = rl_duration_format(cases[i].us, buf, sizeof(buf));
        CU_ASSERT_STRING_EQUAL(buf, cases[i].text);
        CU_ASSERT_EQUAL(n, (int)strlen(cases[i].text));
    }
}

/* Formatting then parsing gives the same value back. */
static void test_duration_format_round_trip(void)
{
    static const int64_t values[] = {1, 999, 1000, 59999999, 3600000001LL,
                                     86399999999LL, INT64_MAX};

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char buf[64];
        int64_t back = -1;
        rl_duration_format(values[i], buf, sizeof(buf));
        CU_ASSERT_EQUAL(rl_duration_parse(buf, &back, NULL), RL_OK);
        CU_ASSERT_EQUAL(back, values[i]);
    }
}

static void test_iso8601_parse_good(void)
{
    static const struct {
        const char *text;
        int64_t us;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2025-01-01T00:00:00Z", 1735689600000000LL},
        {"2025-01-01", 1735689600000000LL},
        {"2025-01-01T01:40:00Z", 1735695600000000LL},
        {"2025-01-01T00:00:00.250Z", 1735689600250000LL},
        {"2025-01-01T00:00:00.000001Z", 1735689600000001LL},
        {"2025-01-01T02:00:00+02:00", 1735689600000000LL},
        {"2024-12-31T16:00:00-08:00", 1735689600000000LL},
        {"2025-01-01T05:30:00+05:30", 1735689600000000LL},
        {"2025-01-01t00:00:00z", 1735689600000000LL},
        {"1969-12-31T23:59:59.999999Z", -1},
        {"2000-02-29T12:00:00Z", 951825600000000LL},
        {"0001-01-01T00:00:00Z", -62135596800000000LL},
        {"9999-12-31T23:59:59.999999Z", 253402300799999999LL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t us = 42;
        rl_error err = {""};
        CU_ASSERT_EQUAL(rl_time_parse_iso8601(cases[i].text, &us, &err), RL_OK);
        CU_ASSERT_EQUAL(us, cases[i].us);
    }
}

static void test_iso8601_parse_bad(void)
{
    static const struct {
        const char *text;
        const char *reason;
    } cases[] = {
        {"2025-01-01T00:00:00", "no time zone"},
        {"", "empty"},
        {"2025-1-1", "expected an ISO-8601 time"},
        {"2025-01-01 00:00:00Z", "expected an ISO-8601 time"},
        {"2025-01-01T00:00Z", "expected an ISO-8601 time"},
        {"2025-13-01", "no such date"},
        {"2025-02-29", "no such date"},
        {"1900-02-29", "no such date"},
        {"0000-01-01", "no such date"},
        {"2025-01-32", "no such date"},
        {"2025-01-01T24:00:00Z", "out of range"},
        {"2025-01-01T23:59:60Z", "leap seconds"},
        {"2025-01-01T00:00:00.Z", "1 to 6 digits"},
        {"2025-01-01T00:00:00.1234567Z", "1 to 6 digits"},
        {"2025-01-01T00:00:00+0200", "+HH:MM"},
        {"2025-01-01T00:00:00+24:00", "+HH:MM"},
        {"2025-01-01T00:00:00UTC", "expected an ISO-8601 time"},
        {"2025-01-01T00:00:00Zjunk", "after the zone"},
        {"yesterday", "expected an ISO-8601 time"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char quoted[64];
        int64_t us = 42;
        rl_error err = {""};
        int rc = rl_time_parse_iso8601(cases[i].text, &us, &err);

        snprintf(quoted, sizeof(quoted), "'%s'", cases[i].text);
        CU_ASSERT(rc == RL_ERR_INVALID || rc == RL_ERR_RANGE);
        CU_ASSERT_EQUAL(us, 42);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, quoted));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, cases[i].reason));
    }
}

static void test_iso8601_format(void)
{
    static const struct {
        int64_t us;
        const char *text;
    } cases[] = {
        {0, "1970-01-01T00:00:00Z"},
        {1735695600000000LL, "2025-01-01T01:40:00Z"},
        {1735689600250000LL, "2025-01-01T00:00:00.250000Z"},
        {-1, "1969-12-31T23:59:59.999999Z"},
        {-62135596800000000LL, "0001-01-01T00:00:00Z"},
        {253402300799000000LL, "9999-12-31T23:59:59Z"},
        {951825600000000LL, "2000-02-29T12:00:00Z"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[RL_ISO8601_MAX];
        int n = rl_time_format_iso8601(cases[i].us, buf, sizeof(buf));
        CU_ASSERT_STRING_EQUAL(buf, cases[i].text);
        CU_ASSERT_EQUAL(n, (int)strlen(cases[i].text));
    }
}

/* The extremes of int64 still fit RL_ISO8601_MAX. */
static void test_iso8601_format_extremes_fit(void)
{
    char buf[RL_ISO8601_MAX];

    CU_ASSERT(rl_time_format_iso8601(INT64_MAX, buf, sizeof(buf)) < RL_ISO8601_MAX);
    CU_ASSERT(rl_time_format_iso8601(INT64_MIN, buf, sizeof(buf)) < RL_ISO8601_MAX);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"floor div and mod, negative", test_floor_div_mod_negative},
        {"civil known days", test_civil_known_days},
        {"civil leap days", test_civil_leap_days},
        {"civil round trip, years 1-9999", test_civil_round_trip_all_days},
        {"duration parse good", test_duration_parse_good},
        {"duration parse bad", test_duration_parse_bad},
        {"duration message exact", test_duration_message_exact},
        {"duration format compound", test_duration_format_compound},
        {"duration format round trip", test_duration_format_round_trip},
        {"iso8601 parse good", test_iso8601_parse_good},
        {"iso8601 parse bad", test_iso8601_parse_bad},
        {"iso8601 format", test_iso8601_format},
        {"iso8601 format extremes fit", test_iso8601_format_extremes_fit},
        CU_TEST_INFO_NULL,
    };

    return tst_main("core_time", NULL, NULL, tests);
}
