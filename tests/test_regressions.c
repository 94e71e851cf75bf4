/*
 * test_regressions.c: inputs that the fuzz harnesses in tests/fuzz found
 * to break a promise of a parser, each kept as a test so the fix stays.
 * A case names the harness and what went wrong; the fix is in the parser's
 * own file.
 */
#include <stdint.h>
#include <string.h>

#include "rl_time.h"
#include "tst_support.h"

/* fuzz_time: a zone offset moved a time past 9999-12-31T23:59:59Z, which
 * then formatted as year 10000 and did not parse back. */
static void test_iso8601_offset_past_year_9999(void)
{
    static const char *const out_of_range[] = {
        "9999-12-31T23:59:59-00:59",
        "9999-12-31T23:00:00-01:00",
        "0001-01-01T00:00:00+00:01",
        "0001-01-01T13:59:59.999999+14:00",
    };
    for (size_t i = 0; i < sizeof(out_of_range) / sizeof(out_of_range[0]); i++) {
        int64_t t_us = 42;
        rl_error err = {""};
        CU_ASSERT_EQUAL(rl_time_parse_iso8601(out_of_range[i], &t_us, &err), RL_ERR_RANGE);
        CU_ASSERT_EQUAL(t_us, 42);
        CU_ASSERT(tst_contains(err.message, out_of_range[i]));
        CU_ASSERT(tst_contains(err.message, "0001 to 9999"));
    }
}

static void test_iso8601_offset_at_range_edges(void)
{
    char text[RL_ISO8601_MAX];
    int64_t t_us = 0, again = 0;
    rl_error err = {""};

    CU_ASSERT_EQUAL(rl_time_parse_iso8601("9999-12-31T22:59:59.999999-01:00", &t_us, &err),
                    RL_OK);
    rl_time_format_iso8601(t_us, text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, "9999-12-31T23:59:59.999999Z");
    CU_ASSERT_EQUAL(rl_time_parse_iso8601(text, &again, &err), RL_OK);
    CU_ASSERT_EQUAL(again, t_us);

    CU_ASSERT_EQUAL(rl_time_parse_iso8601("0001-01-01T14:00:00+14:00", &t_us, &err), RL_OK);
    rl_time_format_iso8601(t_us, text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, "0001-01-01T00:00:00Z");
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"iso8601 offset past year 9999", test_iso8601_offset_past_year_9999},
        {"iso8601 offset at range edges", test_iso8601_offset_at_range_edges},
        CU_TEST_INFO_NULL,
    };
    return tst_main("regressions", NULL, NULL, tests);
}
