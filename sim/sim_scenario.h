/*
 * sim_scenario.h: scenario files, parsed into plain structs.
 *
 * A scenario is an INI file (parsed with inih) with sections [scenario],
 * [limits], one or more [population NAME], and optionally [expect].  Every
 * key and its default is listed in docs/scenarios.md.  Unknown sections and
 * keys are errors, and every error names file:line, the key, the value and
 * what was expected.
 *
 * Ownership: sim_scenario_load() allocates the populations array;
 * sim_scenario_free() releases it (the struct itself is the caller's).
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "rl_limits.h"
#include "rl_status.h"
#include "rl_store.h"
#include "rl_window.h"
#include "sim_realism.h"

#define SIM_NAME_MAX 64
#define SIM_TEXT_MAX 512
#define SIM_PATH_MAX 1024

/* Input bounds, each an error when exceeded (see docs/scenarios.md). */
#define SIM_SCENARIO_FILE_MAX (1024 * 1024) /* bytes of a scenario or env file */
#define SIM_SCENARIO_LINE_MAX 199 /* bytes per line: inih 55's buffer, less NUL */
#define SIM_DAYS_MAX 3660         /* about ten years */
#define SIM_COUNT_MAX 10000000    /* clients in one population */
#define SIM_POPULATIONS_MAX 1000

typedef enum sim_cadence {
    SIM_CADENCE_FIXED_RATE = 0, /* t_k = t_0 + k*interval + jitter_k */
    SIM_CADENCE_FIXED_DELAY = 1 /* t_(k+1) = t_k + work_k + interval + jitter_k */
} sim_cadence;

typedef enum sim_start {
    SIM_START_SPREAD = 0,   /* client i of n at i*interval/n (integer us) */
    SIM_START_TOGETHER = 1, /* every client at the scenario start */
    SIM_START_RANDOM = 2,   /* uniform in [0, interval) */
    SIM_START_OFFSET = 3    /* every client at start + offset */
} sim_start;

typedef struct sim_population {
    char name[SIM_NAME_MAX];
    char role[RL_ROLE_NAME_MAX]; /* "miner" unless set */
    int role_index;              /* into the scenario's limits.roles */
    int64_t count;               /* clients, >= 1 */
    sim_cadence cadence;
    int64_t interval_us;                /* > 0 */
    int64_t work_min_us, work_max_us;   /* fixed-delay upload time, uniform */
    int64_t jitter_us;                  /* +- uniform, >= 0 */
    sim_start start;
    int64_t start_offset_us; /* SIM_START_OFFSET */
    int64_t first_delay_us;  /* added to every client's first request */
    int auth_valid;          /* 0: every request fails authentication */
    int line;                /* of the section header, for messages */
    sim_realism_pop realism; /* restarts, on_429, target (sim_realism.h) */
} sim_population;

typedef struct sim_expect {
    int has_outcome;
    int outcome_fits; /* 1: "fits", 0: "rejects" */
    int has_max_rejections;
    int64_t max_rejections;
    int has_min_headroom;
    double min_headroom_pct; /* percent, e.g. 42.0 */
    int has_rejections;      /* exact count over the whole run */
    int64_t rejections;
    int has_first_rejection; /* "none" or an ISO-8601 time */
    int64_t first_rejection_us; /* INT64_MIN for "none" */
    int has_global_exhausted;   /* "none" or an ISO-8601 time */
    int64_t global_exhausted_us; /* INT64_MIN for "none" */
} sim_expect;

typedef struct sim_scenario {
    char path[SIM_PATH_MAX]; /* as given, for messages */
    char name[SIM_NAME_MAX]; /* defaults to the file name without .ini */
    char description[SIM_TEXT_MAX];
    int64_t start_us; /* default 2025-01-01T00:00:00Z */
    int64_t days;     /* default 1 */
    uint64_t seed;    /* default 1 */

    rl_limits limits; /* defaults, then env file, then explicit keys */
    rl_window window; /* default utc-day */
    rl_policy policy; /* default deployed */

    sim_population *pops; /* owned */
    int npops;

    sim_expect expect;
    sim_realism realism; /* replicas, clock offset, algorithms, [compare] */
} sim_scenario;

/* Parses a scenario from text; `path` names it in messages and anchors a
 * relative `env` file.  On error returns RL_ERR_INVALID (or RL_ERR_NOMEM)
 * with err filled and *sc freed. */
int sim_scenario_parse(sim_scenario *sc, const char *text, size_t len,
                       const char *path, rl_error *err);

/* Reads and parses a file. */
int sim_scenario_load(sim_scenario *sc, const char *path, rl_error *err);

void sim_scenario_free(sim_scenario *sc);

#endif
