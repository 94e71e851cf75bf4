/*
 * fuzz_trace.c: the simulator's trace-CSV reader (sim_trace_parse) on
 * arbitrary bytes, given with their length and no terminator, once
 * stopping at the first bad row and once skipping bad rows, then
 * sim_trace_scenario on what it parsed.
 *
 * Checks: rows come in time order with valid client indexes; skipping bad
 * rows never loses a trace that parses strictly; a strict parse skips
 * nothing.
 */
#include "fuzz_common.h"
#include "sim_scenario.h"
#include "sim_trace.h"

static sim_scenario base;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char text[] = "[limits]\nminer = 20\nvalidator = 100\n"
                               "[population m]\ninterval = 5m\n";
    rl_error err;

    (void)argc;
    (void)argv;
    if (sim_scenario_parse(&base, text, sizeof(text) - 1, "base.ini", &err) != 0) {
        fprintf(stderr, "fuzz_trace: base scenario: %s\n", err.message);
        abort();
    }
    return 0;
}

static void check_trace(const sim_trace *t)
{
    int64_t rows = sim_trace_rows(t);
    size_t clients = sim_trace_clients(t);

    FUZZ_CHECK(rows > 0, "a trace with %lld rows parsed", (long long)rows);
    for (int64_t i = 0; i < rows; i++) {
        const sim_trace_row *row = sim_trace_at(t, i);
        FUZZ_CHECK(row->client < clients, "row %lld: client %zu of %zu", (long long)i,
                   row->client, clients);
        if (i > 0)
            FUZZ_CHECK(sim_trace_at(t, i - 1)->time_us <= row->time_us,
                       "rows %lld and %lld out of order", (long long)i - 1, (long long)i);
    }
    for (size_t c = 0; c < clients; c++) {
        const char *id = sim_trace_client_id(t, c);
        FUZZ_CHECK(id != NULL && id[0] != '\0' && strlen(id) <= 256, "client %zu id", c);
    }
}

static void replay_scenario(const sim_trace *t)
{
    sim_scenario sc;
    rl_error err = {{0}};
    int rc = sim_trace_scenario(t, &base, &sc, &err);

    FUZZ_CHECK_ERROR(rc, err);
    if (rc == 0)
        sim_scenario_free(&sc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_copy(data, size);
    sim_trace *strict = NULL, *lenient = NULL;
    rl_error err = {{0}};
    int rc_strict, rc_lenient;

    if (text == NULL)
        return 0;
    rc_strict = sim_trace_parse(text, size, "fuzz.csv", 0, &strict, &err);
    FUZZ_CHECK_ERROR(rc_strict, err);
    err.message[0] = '\0';
    rc_lenient = sim_trace_parse(text, size, "fuzz.csv", 1, &lenient, &err);
    FUZZ_CHECK_ERROR(rc_lenient, err);

    if (rc_strict == 0) {
        check_trace(strict);
        FUZZ_CHECK(sim_trace_skipped(strict) == 0, "a strict parse skipped rows");
        FUZZ_CHECK(rc_lenient == 0 && sim_trace_rows(lenient) == sim_trace_rows(strict),
                   "skipping bad rows changed a good trace");
        replay_scenario(strict);
    }
    if (rc_lenient == 0)
        check_trace(lenient);
    sim_trace_destroy(strict);
    sim_trace_destroy(lenient);
    free(text);
    return 0;
}
