/*
 * test_core_window.c: window ids, boundaries, labels and text forms in
 * rl_window.c, for calendar days at several UTC offsets and fixed windows.
 */
#include <stdint.h>
#include <string.h>

#include "rl_time.h"
#include "rl_window.h"
#include "tst_support.h"

/* Parses an ISO-8601 time written in the test, which must be valid. */
static int64_t at(const char *iso)
{
    int64_t us = 0;
    rl_error err = {""};

    if (rl_time_parse_iso8601(iso, &us, &err) != RL_OK)
        CU_FAIL_FATAL("bad time in the test itself");
    return us;
}

static rl_window window_of(const char *text)
{
    rl_window w = rl_window_utc_day();
    rl_error err = {""};

    if (rl_window_parse(text, &w, &err) != RL_OK)
        CU_FAIL_FATAL("bad window in the test itself");
    return w;
}

/* Checks the label of the window containing `iso`. */
static void check_label(const rl_window *w, const char *iso, const char *label)
{
    char buf[RL_WINDOW_LABEL_MAX];
    int n = rl_window_label(w, rl_window_id(w, at(iso)), buf, sizeof(buf));

    CU_ASSERT_STRING_EQUAL(buf, label);
    CU_ASSERT_EQUAL(n, (int)strlen(label));
}

/* Checks the reset time of the window containing `iso`. */
static void check_reset(const rl_window *w, const char *iso, const char *reset_iso)
{
    CU_ASSERT_EQUAL(rl_window_reset_us(w, rl_window_id(w, at(iso))), at(reset_iso));
}

static void test_utc_day_header_example(void)
{
    rl_window w = rl_window_utc_day();
    int64_t t = at("2025-01-01T01:40:00Z");
    int64_t id = rl_window_id(&w, t);

    CU_ASSERT_EQUAL(id, 20089);
    CU_ASSERT_EQUAL(rl_window_start_us(&w, id), at("2025-01-01T00:00:00Z"));
    CU_ASSERT_EQUAL(rl_window_reset_us(&w, id), at("2025-01-02T00:00:00Z"));
    CU_ASSERT_EQUAL(rl_window_length_us(&w, id), RL_US_PER_DAY);
    check_label(&w, "2025-01-01T01:40:00Z", "2025-01-01");

    w = window_of("utc-05:00");
    CU_ASSERT_EQUAL(rl_window_id(&w, t), 20088);
    check_label(&w, "2025-01-01T01:40:00Z", "2024-12-31");
    check_reset(&w, "2025-01-01T01:40:00Z", "2025-01-01T05:00:00Z");
}

static void test_utc_day_across_midnight(void)
{
    rl_window w = rl_window_utc_day();

    CU_ASSERT_EQUAL(rl_window_id(&w, at("2024-12-31T23:59:59.999999Z")), 20088);
    CU_ASSERT_EQUAL(rl_window_id(&w, at("2025-01-01T00:00:00Z")), 20089);
    check_label(&w, "2024-12-31T23:59:59.999999Z", "2024-12-31");
    check_label(&w, "2025-01-01T00:00:00Z", "2025-01-01");
    check_reset(&w, "2024-12-31T23:59:59.999999Z", "2025-01-01T00:00:00Z");
    check_reset(&w, "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");
}

static void test_offset_plus_0530(void)
{
    rl_window w = window_of("utc+05:30");

    /* Local midnight of 2025-01-02 is 2025-01-01T18:30:00Z. */
    check_label(&w, "2025-01-01T18:29:59.999999Z", "2025-01-01");
    check_label(&w, "2025-01-01T18:30:00Z", "2025-01-02");
    check_reset(&w, "2025-01-01T12:00:00Z", "2025-01-01T18:30:00Z");
    CU_ASSERT_EQUAL(rl_window_start_us(&w, rl_window_id(&w, at("2025-01-01T12:00:00Z"))),
                    at("2024-12-31T18:30:00Z"));
}

static void test_offset_minus_0800(void)
{
    rl_window w = window_of("utc-08:00");

    check_label(&w, "2025-01-01T07:59:59Z", "2024-12-31");
    check_label(&w, "2025-01-01T08:00:00Z", "2025-01-01");
    check_reset(&w, "2025-01-01T08:00:00Z", "2025-01-02T08:00:00Z");
}

static void test_offset_plus_1400(void)
{
    rl_window w = window_of("utc+14:00");

    /* At +14:00 the local day starts at 10:00 UTC of the previous day. */
    check_label(&w, "2024-12-31T09:59:59Z", "2024-12-31");
    check_label(&w, "2024-12-31T10:00:00Z", "2025-01-01");
    check_label(&w, "2025-01-01T09:59:59Z", "2025-01-01");
    check_reset(&w, "2024-12-31T10:00:00Z", "2025-01-01T10:00:00Z");
}

static void test_leap_days(void)
{
    rl_window w = rl_window_utc_day();

    check_label(&w, "2024-02-29T12:00:00Z", "2024-02-29");
    check_reset(&w, "2024-02-29T12:00:00Z", "2024-03-01T00:00:00Z");
    check_label(&w, "2000-02-29T23:59:59Z", "2000-02-29");
    check_label(&w, "2000-03-01T00:00:00Z", "2000-03-01");

    /* 1900 is not a leap year: 28 February is followed by 1 March. */
    check_label(&w, "1900-02-28T12:00:00Z", "1900-02-28");
    check_reset(&w, "1900-02-28T12:00:00Z", "1900-03-01T00:00:00Z");

    /* At -08:00, the UTC morning of 1 March 2024 is still 29 February. */
    w = window_of("utc-08:00");
    check_label(&w, "2024-03-01T07:00:00Z", "2024-02-29");
}

static void test_far_dates(void)
{
    rl_window w = rl_window_utc_day();
    rl_window east = window_of("utc+14:00");
    rl_window west = window_of("utc-01:00");

    check_label(&w, "9999-12-31T23:59:59Z", "9999-12-31");
    check_label(&w, "0001-01-01T00:00:00Z", "0001-01-01");
    check_reset(&w, "0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z");
    CU_ASSERT_EQUAL(rl_window_id(&w, at("0001-01-01T00:00:00Z")), -719162);

    /* An offset can move a local date past the parser's year range. */
    check_label(&east, "9999-12-31T12:00:00Z", "10000-01-01");
    check_label(&west, "0001-01-01T00:00:00Z", "0000-12-31");
}

static void test_negative_epoch_times(void)
{
    rl_window w = rl_window_utc_day();

    CU_ASSERT_EQUAL(rl_window_id(&w, -1), -1);
    CU_ASSERT_EQUAL(rl_window_id(&w, -RL_US_PER_DAY), -1);
    CU_ASSERT_EQUAL(rl_window_id(&w, -RL_US_PER_DAY - 1), -2);
    CU_ASSERT_EQUAL(rl_window_start_us(&w, -1), -RL_US_PER_DAY);
    CU_ASSERT_EQUAL(rl_window_reset_us(&w, -1), 0);
    check_label(&w, "1969-12-31T23:59:59.999999Z", "1969-12-31");
    check_label(&w, "1900-01-01T00:00:00Z", "1900-01-01");
}

static void test_fixed_60s(void)
{
    rl_window w = window_of("60s");
    char buf[RL_WINDOW_LABEL_MAX];

    CU_ASSERT_EQUAL(w.kind, RL_WINDOW_FIXED);
    CU_ASSERT_EQUAL(rl_window_length_us(&w, 0), 60 * RL_US_PER_SEC);
    CU_ASSERT_EQUAL(rl_window_id(&w, 0), 0);
    CU_ASSERT_EQUAL(rl_window_id(&w, 60 * RL_US_PER_SEC - 1), 0);
    CU_ASSERT_EQUAL(rl_window_id(&w, 60 * RL_US_PER_SEC), 1);
    CU_ASSERT_EQUAL(rl_window_reset_us(&w, 0), 60 * RL_US_PER_SEC);

    /* 2025-01-01T01:40:00Z is 1735695600 s, so minute 28928260. */
    CU_ASSERT_EQUAL(rl_window_id(&w, at("2025-01-01T01:40:00Z")), 28928260);
    check_label(&w, "2025-01-01T01:40:59Z", "28928260");
    check_reset(&w, "2025-01-01T01:40:30Z", "2025-01-01T01:41:00Z");

    CU_ASSERT_EQUAL(rl_window_label(&w, -1, buf, sizeof(buf)), 2);
    CU_ASSERT_STRING_EQUAL(buf, "-1");
    CU_ASSERT_EQUAL(rl_window_label(&w, INT64_MIN, buf, sizeof(buf)), 20);
    CU_ASSERT_STRING_EQUAL(buf, "-9223372036854775808");
}

static void test_fixed_7s_negative_times(void)
{
    rl_window w = window_of("7s");
    int64_t s = RL_US_PER_SEC;

    CU_ASSERT_EQUAL(rl_window_id(&w, -1), -1);
    CU_ASSERT_EQUAL(rl_window_id(&w, -7 * s), -1);
    CU_ASSERT_EQUAL(rl_window_id(&w, -7 * s - 1), -2);
    CU_ASSERT_EQUAL(rl_window_id(&w, 6 * s + 999999), 0);
    CU_ASSERT_EQUAL(rl_window_id(&w, 7 * s), 1);
    CU_ASSERT_EQUAL(rl_window_start_us(&w, -2), -14 * s);
    CU_ASSERT_EQUAL(rl_window_reset_us(&w, -2), -7 * s);
    CU_ASSERT_EQUAL(rl_window_reset_us(&w, -1), 0);

    /* Every time lies in [start, reset) of its own window. */
    for (int64_t t = -50 * s; t <= 50 * s; t += 333333) {
        int64_t id = rl_window_id(&w, t);
        CU_ASSERT(rl_window_start_us(&w, id) <= t);
        CU_ASSERT(t < rl_window_reset_us(&w, id));
    }
}

static void test_parse_and_format(void)
{
    static const struct {
        const char *text;
        const char *canonical;
    } cases[] = {
        {"utc-day", "utc-day"},     {"utc+05:30", "utc+05:30"},
        {"utc-08:00", "utc-08:00"}, {"utc+14:00", "utc+14:00"},
        {"utc-14:00", "utc-14:00"}, {"utc+00:00", "utc-day"},
        {"60s", "1m"},              {"1h", "1h"},
        {"7s", "7s"},               {"1h30m", "1h30m"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rl_window w;
        rl_error err = {""};
        char buf[64];

        CU_ASSERT_EQUAL(rl_window_parse(cases[i].text, &w, &err), RL_OK);
        rl_window_format(&w, buf, sizeof(buf));
        CU_ASSERT_STRING_EQUAL(buf, cases[i].canonical);
    }
    CU_ASSERT_EQUAL(window_of("utc+05:30").utc_offset_s, 19800);
    CU_ASSERT_EQUAL(window_of("utc-08:00").utc_offset_s, -28800);
}

static void test_parse_bad(void)
{
    static const struct {
        const char *text;
        const char *reason;
    } cases[] = {
        {"utc+14:30", "at most 14:00"}, {"utc-15:00", "at most 14:00"},
        {"utc+5:30", "utc+HH:MM"},      {"utc+05:60", "utc+HH:MM"},
        {"utc", "utc+HH:MM"},           {"utc+05:30x", "utc+HH:MM"},
        {"0s", "positive duration"},    {"day", "positive duration"},
        {"", "positive duration"},      {"60", "positive duration"},
        {"UTC-day", "positive duration"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char quoted[64];
        rl_window w = rl_window_utc_day();
        rl_error err = {""};

        snprintf(quoted, sizeof(quoted), "invalid window '%s'", cases[i].text);
        CU_ASSERT_EQUAL(rl_window_parse(cases[i].text, &w, &err), RL_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, quoted));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, cases[i].reason));
    }
}

static void test_label_truncates_like_snprintf(void)
{
    rl_window w = rl_window_utc_day();
    char buf[5];

    CU_ASSERT_EQUAL(rl_window_label(&w, 20089, buf, sizeof(buf)), 10);
    CU_ASSERT_STRING_EQUAL(buf, "2025");
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"utc-day header example", test_utc_day_header_example},
        {"utc-day across midnight", test_utc_day_across_midnight},
        {"offset +05:30", test_offset_plus_0530},
        {"offset -08:00", test_offset_minus_0800},
        {"offset +14:00", test_offset_plus_1400},
        {"leap days", test_leap_days},
        {"far dates", test_far_dates},
        {"negative epoch times", test_negative_epoch_times},
        {"fixed 60s", test_fixed_60s},
        {"fixed 7s negative times", test_fixed_7s_negative_times},
        {"parse and format", test_parse_and_format},
        {"parse bad", test_parse_bad},
        {"label truncates like snprintf", test_label_truncates_like_snprintf},
        CU_TEST_INFO_NULL,
    };

    return tst_main("core_window", NULL, NULL, tests);
}
