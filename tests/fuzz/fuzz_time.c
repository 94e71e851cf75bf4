/*
 * fuzz_time.c: rl_time_parse_iso8601 on arbitrary text.  A parsed time must
 * format and parse back to the same microsecond.
 */
#include "fuzz_common.h"
#include "rl_time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    char formatted[RL_ISO8601_MAX];
    int64_t t_us = 0, again = 0;
    rl_error err = {{0}};
    int rc;

    if (text == NULL)
        return 0;
    rc = rl_time_parse_iso8601(text, &t_us, &err);
    FUZZ_CHECK_ERROR(rc, err);
    if (rc == 0) {
        int n = rl_time_format_iso8601(t_us, formatted, sizeof(formatted));
        FUZZ_CHECK(n > 0 && (size_t)n < sizeof(formatted), "format of %lld",
                   (long long)t_us);
        rc = rl_time_parse_iso8601(formatted, &again, &err);
        FUZZ_CHECK(rc == 0 && again == t_us, "'%s' -> %lld -> '%s' -> %lld (%s)",
                   text, (long long)t_us, formatted, (long long)again,
                   rc == 0 ? "" : err.message);
    }
    free(text);
    return 0;
}
