/*
 * fuzz_taskdef.c: rl_limits_apply_taskdef on arbitrary bytes, once letting
 * the parser choose the container and once naming container "app", and
 * rl_limits_apply_file, which picks the format from the first character.
 */
#include "fuzz_common.h"
#include "rl_limits.h"

static void apply(const char *text, size_t size, const char *container, int any_format)
{
    rl_limits limits;
    rl_error err = {{0}};
    int rc;

    rl_limits_init_defaults(&limits);
    if (any_format)
        rc = rl_limits_apply_file(&limits, text, size, "fuzz.json", container, &err);
    else
        rc = rl_limits_apply_taskdef(&limits, text, size, "fuzz.json", container, &err);
    FUZZ_CHECK_ERROR(rc, err);
    FUZZ_CHECK(limits.total.value >= 0 && limits.total.value <= RL_LIMIT_VALUE_MAX,
               "total %lld", (long long)limits.total.value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_copy(data, size);

    if (text == NULL)
        return 0;
    apply(text, size, NULL, 0);
    apply(text, size, "app", 0);
    apply(text, size, NULL, 1);
    free(text);
    return 0;
}
