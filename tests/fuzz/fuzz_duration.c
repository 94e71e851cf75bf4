/*
 * fuzz_duration.c: rl_duration_parse on arbitrary text.  A parsed
 * duration must format and parse back to the same number of microseconds.
 */
#include "fuzz_common.h"
#include "rl_time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    char formatted[64];
    int64_t us = -1, again = -1;
    rl_error err = {{0}};
    int rc;

    if (text == NULL)
        return 0;
    rc = rl_duration_parse(text, &us, &err);
    FUZZ_CHECK_ERROR(rc, err);
    if (rc == 0) {
        FUZZ_CHECK(us >= 0, "'%s' parsed to a negative %lld us", text, (long long)us);
        int n = rl_duration_format(us, formatted, sizeof(formatted));
        FUZZ_CHECK(n > 0 && (size_t)n < sizeof(formatted), "format of %lld", (long long)us);
        rc = rl_duration_parse(formatted, &again, &err);
        FUZZ_CHECK(rc == 0 && again == us, "'%s' -> %lld us -> '%s' -> %lld us",
                   text, (long long)us, formatted, (long long)again);
    }
    free(text);
    return 0;
}
