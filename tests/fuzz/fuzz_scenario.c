/*
 * fuzz_scenario.c: sim_scenario_parse on arbitrary bytes, given with their
 * length and no terminator.  The scenario is named "fuzz.ini" in the
 * current directory, so an `env = FILE` key reads FILE relative to where
 * the fuzzer runs (tests/fuzz/run.sh runs it in a scratch directory that
 * holds copies of scenarios/deploy).  A parsed scenario must satisfy the
 * bounds that docs/scenarios.md promises.
 */
#include "fuzz_common.h"
#include "sim_scenario.h"

static void check_scenario(const sim_scenario *sc)
{
    FUZZ_CHECK(sc->npops >= 1 && sc->npops <= SIM_POPULATIONS_MAX, "%d populations",
               sc->npops);
    FUZZ_CHECK(sc->days >= 1 && sc->days <= SIM_DAYS_MAX, "%lld days",
               (long long)sc->days);
    for (int i = 0; i < sc->npops; i++) {
        const sim_population *p = &sc->pops[i];
        FUZZ_CHECK(p->count >= 1 && p->count <= SIM_COUNT_MAX, "count %lld",
                   (long long)p->count);
        FUZZ_CHECK(p->interval_us > 0, "interval %lld", (long long)p->interval_us);
        FUZZ_CHECK(p->jitter_us >= 0, "jitter %lld", (long long)p->jitter_us);
        FUZZ_CHECK(p->work_min_us >= 0 && p->work_min_us <= p->work_max_us,
                   "work %lld..%lld", (long long)p->work_min_us,
                   (long long)p->work_max_us);
        FUZZ_CHECK(p->role_index >= 0 && p->role_index < sc->limits.nroles,
                   "role index %d of %d", p->role_index, sc->limits.nroles);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    sim_scenario sc;
    rl_error err = {{0}};
    int rc;

    if (size > SIM_SCENARIO_FILE_MAX)
        return 0;
    text = fuzz_copy(data, size);
    if (text == NULL)
        return 0;
    rc = sim_scenario_parse(&sc, text, size, "fuzz.ini", &err);
    FUZZ_CHECK_ERROR(rc, err);
    if (rc == 0) {
        check_scenario(&sc);
        sim_scenario_free(&sc);
    }
    free(text);
    return 0;
}
