/*
 * fuzz_window.c: rl_window_parse on arbitrary text.  A parsed window must
 * format and parse back to the same window, and for sample times between
 * 1970 and 2100 the window containing t must start at or before t and
 * reset after it.
 */
#include "fuzz_common.h"
#include "rl_time.h"
#include "rl_window.h"

static const int64_t sample_times_us[] = {
    0,
    1735689600LL * RL_US_PER_SEC,       /* 2025-01-01T00:00:00Z */
    1735695599LL * RL_US_PER_SEC + 999, /* 2025-01-01T01:39:59.000999Z */
    4102444799LL * RL_US_PER_SEC,       /* 2099-12-31T23:59:59Z */
};

static void check_contains(const rl_window *w, const char *text)
{
    char label[RL_WINDOW_LABEL_MAX];

    for (size_t i = 0; i < sizeof(sample_times_us) / sizeof(sample_times_us[0]); i++) {
        int64_t t = sample_times_us[i];
        int64_t id = rl_window_id(w, t);
        FUZZ_CHECK(rl_window_start_us(w, id) <= t && t < rl_window_reset_us(w, id),
                   "'%s': window %lld does not contain %lld", text, (long long)id,
                   (long long)t);
        int n = rl_window_label(w, id, label, sizeof(label));
        FUZZ_CHECK(n > 0 && (size_t)n < sizeof(label), "'%s': label of %lld", text,
                   (long long)id);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    char formatted[64];
    rl_window w, again;
    rl_error err = {{0}};
    int rc;

    if (text == NULL)
        return 0;
    rc = rl_window_parse(text, &w, &err);
    FUZZ_CHECK_ERROR(rc, err);
    if (rc == 0) {
        int n = rl_window_format(&w, formatted, sizeof(formatted));
        FUZZ_CHECK(n > 0 && (size_t)n < sizeof(formatted), "format of '%s'", text);
        rc = rl_window_parse(formatted, &again, &err);
        FUZZ_CHECK(rc == 0 && again.kind == w.kind &&
                       again.utc_offset_s == w.utc_offset_s &&
                       again.length_us == w.length_us,
                   "'%s' -> '%s' does not parse back", text, formatted);
        check_contains(&w, text);
    }
    free(text);
    return 0;
}
