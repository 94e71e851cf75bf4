/*
 * fuzz_dotenv.c: rl_limits_apply_dotenv on arbitrary bytes, given with
 * their length and no terminator.  Every limit it sets must stay within
 * 0..RL_LIMIT_VALUE_MAX.
 */
#include "fuzz_common.h"
#include "rl_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_copy(data, size);
    rl_limits limits;
    rl_error err = {{0}};
    int rc;

    if (text == NULL)
        return 0;
    rl_limits_init_defaults(&limits);
    rc = rl_limits_apply_dotenv(&limits, text, size, "fuzz.env", &err);
    FUZZ_CHECK_ERROR(rc, err);
    FUZZ_CHECK(limits.nroles >= 0 && limits.nroles <= RL_MAX_ROLES, "%d roles",
               limits.nroles);
    for (int i = 0; i < limits.nroles; i++)
        FUZZ_CHECK(limits.roles[i].per_client.value >= 0 &&
                       limits.roles[i].per_client.value <= RL_LIMIT_VALUE_MAX,
                   "role %d limit %lld", i, (long long)limits.roles[i].per_client.value);
    free(text);
    return 0;
}
