/*
 * sim_scenario.c: reads scenario files into sim_scenario structs.
 *
 * The simulator's input layer: the CLI calls sim_scenario_load(), the engine
 * consumes the struct.  Syntax is inih's (r55 on Debian 12), driven through
 * ini_parse_stream() with our own line reader over the text, because that
 * build passes no line number to handlers.  The reader:
 *   - counts lines, so every handler call gets its line number;
 *   - rejects a line longer than SIM_SCENARIO_LINE_MAX bytes (inih would cut
 *     it silently and read the rest as another line) and NUL bytes;
 *   - drops a line's leading whitespace and a UTF-8 BOM, so inih never sees
 *     an indented line and never joins it to the previous value as a
 *     continuation;
 *   - handles section headers itself, because inih 55 does not call the
 *     handler for a section header, so an empty or repeated section would
 *     otherwise go unnoticed.
 *
 * Order of evaluation: keys are checked as they are read and the first error
 * stops the parse.  Checks that span sections run once the file is read:
 * the limits are built (defaults, then the env file, then explicit [limits]
 * keys, whatever their order in the file), then each population's role is
 * looked up in them, then start times are checked against the run's length.
 *
 * Always: after an error, *sc holds no allocation and sim_scenario_free()
 * may be called on it; the error message starts with "PATH:LINE: " (or
 * "PATH: " for whole-file problems) and names the key and the value.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "rl_algo.h"
#include "rl_time.h"
#include "sim_scenario.h"

#define SECTION_KEYS_MAX 16

typedef enum section_kind {
    SECTION_NONE = 0,
    SECTION_SCENARIO,
    SECTION_LIMITS,
    SECTION_POPULATION,
    SECTION_EXPECT,
    SECTION_SERVER,
    SECTION_COMPARE
} section_kind;

/* Where a population's keys were, for checks made after the whole file is
 * read.  Values are kept as written for messages (cut at 63 bytes). */
typedef struct pop_lines {
    int role;
    int start;
    int first_delay;
    char start_text[SIM_NAME_MAX];
    char first_delay_text[SIM_NAME_MAX];
    int target; /* realism keys, checked once every population is known */
} pop_lines;

/* A per-client limit set by a [limits] key, applied after the env file. */
typedef struct limit_key {
    char role[RL_ROLE_NAME_MAX];
    int64_t value;
    int line;
} limit_key;

typedef struct parse_ctx {
    sim_scenario *sc;
    const char *path;
    rl_error *err;
    int status; /* first error, 0 while none */
    int err_at; /* line being read when the error was found */

    /* The reader's position in the text. */
    const char *text;
    size_t len;
    size_t pos;
    int line;

    /* The current section. */
    section_kind section;
    char section_raw[SIM_SCENARIO_LINE_MAX + 1]; /* as inih passes it */
    int key_line[SECTION_KEYS_MAX]; /* per key of the section, 0: unset */
    char key_value[SECTION_KEYS_MAX][SIM_SCENARIO_LINE_MAX + 1];
    int nsections;
    int scenario_line, limits_line, expect_line;
    int server_line, compare_line, burst_line;

    /* [scenario] */
    int name_set;

    /* [limits], applied once the file is read. */
    limit_key limit_keys[RL_MAX_ROLES];
    int nlimit_keys;
    int64_t total;
    int total_line;
    char env[SIM_PATH_MAX];
    int env_line;
    char container[SIM_NAME_MAX];
    int container_line;

    /* [population NAME]: pops grow in sc, their lines here. */
    pop_lines *lines;
    int pops_cap;
} parse_ctx;

typedef int (*key_parser)(parse_ctx *c, const char *key, const char *value);

typedef struct key_spec {
    const char *name;
    key_parser parse;
} key_spec;

/* ------------------------------------------------------------------ */
/* Error messages                                                      */
/* ------------------------------------------------------------------ */

/* Records the first error: "PATH:LINE: message" (line 0: "PATH: message"). */
static int fail_at(parse_ctx *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(parse_ctx *c, int line, const char *fmt, ...)
{
    char message[RL_ERROR_MAX];
    va_list ap;

    if (c->status != 0)
        return c->status;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (line > 0)
        rl_error_set(c->err, "%s:%d: %s", c->path, line, message);
    else
        rl_error_set(c->err, "%s: %s", c->path, message);
    c->status = RL_ERR_INVALID;
    c->err_at = c->line;
    return c->status;
}

/* Records "PATH:LINE: key = 'value': message" for the line being read. */
static int fail_key(parse_ctx *c, const char *key, const char *value,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail_key(parse_ctx *c, const char *key, const char *value,
                    const char *fmt, ...)
{
    char message[RL_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    return fail_at(c, c->line, "%s = '%s': %s", key, value, message);
}

/*
 * Records a core parser's message for a key.  The core quotes the value
 * after the kind of error ("invalid duration '5 min': ..."); the quote is
 * dropped because our prefix already shows the value.
 */
static int fail_core(parse_ctx *c, const char *key, const char *value,
                     const rl_error *e)
{
    char quoted[SIM_SCENARIO_LINE_MAX + 4];
    char message[RL_ERROR_MAX];
    const char *at;
    size_t head;

    snprintf(quoted, sizeof(quoted), " '%s'", value);
    at = strstr(e->message, quoted);
    if (value[0] == '\0' || at == NULL)
        return fail_key(c, key, value, "%s", e->message);
    head = (size_t)(at - e->message);
    snprintf(message, sizeof(message), "%.*s%s", (int)head, e->message,
             at + strlen(quoted));
    return fail_key(c, key, value, "%s", message);
}

/* ------------------------------------------------------------------ */
/* Value parsers shared by several keys                                */
/* ------------------------------------------------------------------ */

/* Parses a plain decimal integer: digits only, no sign or spaces.
 * Returns 0, RL_ERR_INVALID or RL_ERR_RANGE (above UINT64_MAX). */
static int parse_u64(const char *text, uint64_t *out)
{
    uint64_t v = 0;
    const char *p;

    if (*text == '\0')
        return RL_ERR_INVALID;
    for (p = text; *p != '\0'; p++) {
        unsigned digit;

        if (*p < '0' || *p > '9')
            return RL_ERR_INVALID;
        digit = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return RL_ERR_RANGE;
        v = v * 10 + digit;
    }
    *out = v;
    return 0;
}

/* Parses a whole number in [min, max] for `key`.  `expected` completes
 * "expected ..." in the message. */
static int parse_count(parse_ctx *c, const char *key, const char *value,
                       int64_t min, int64_t max, const char *expected,
                       int64_t *out)
{
    uint64_t v;
    int rc = parse_u64(value, &v);

    if (rc == RL_ERR_INVALID)
        return fail_key(c, key, value,
                        "invalid number: expected %s, written as plain digits",
                        expected);
    if (rc != 0 || v < (uint64_t)min || v > (uint64_t)max)
        return fail_key(c, key, value, "out of range: expected %s", expected);
    *out = (int64_t)v;
    return 0;
}

static int parse_duration(parse_ctx *c, const char *key, const char *value,
                          int64_t *out_us)
{
    rl_error e;

    if (rl_duration_parse(value, out_us, &e) != 0)
        return fail_core(c, key, value, &e);
    return 0;
}

static int parse_positive_duration(parse_ctx *c, const char *key,
                                   const char *value, int64_t *out_us)
{
    if (parse_duration(c, key, value, out_us) != 0)
        return c->status;
    if (*out_us <= 0)
        return fail_key(c, key, value,
                        "must be greater than zero: expected a duration such "
                        "as 5m or 1h30m");
    return 0;
}

/* Parses "none" (stored as INT64_MIN) or an ISO-8601 time. */
static int parse_time_or_none(parse_ctx *c, const char *key, const char *value,
                              int64_t *out_us)
{
    rl_error e;

    if (strcmp(value, "none") == 0) {
        *out_us = INT64_MIN;
        return 0;
    }
    if (rl_time_parse_iso8601(value, out_us, &e) != 0)
        return fail_core(c, key, value, &e);
    return 0;
}

/* Chooses one of `words` (NULL-terminated) and stores its index in *out. */
static int parse_word(parse_ctx *c, const char *key, const char *value,
                      const char *const *words, const char *expected, int *out)
{
    int i;

    for (i = 0; words[i] != NULL; i++) {
        if (strcmp(value, words[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return fail_key(c, key, value, "expected %s", expected);
}

/* A scenario or population name: 1..63 bytes of letters, digits, '.', '_'
 * and '-', so that it is safe in report file names and CSV cells. */
static int valid_name(const char *name)
{
    size_t n = strlen(name);
    size_t i;

    if (n == 0 || n >= SIM_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];

        if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-')
            return 0;
    }
    return 1;
}

#define NAME_EXPECTED                                                          \
    "1 to 63 letters, digits, '.', '_' or '-'"

/* ------------------------------------------------------------------ */
/* [scenario]                                                          */
/* ------------------------------------------------------------------ */

static int key_name(parse_ctx *c, const char *key, const char *value)
{
    if (!valid_name(value))
        return fail_key(c, key, value, "invalid name: expected " NAME_EXPECTED);
    memcpy(c->sc->name, value, strlen(value) + 1); /* < SIM_NAME_MAX */
    c->name_set = 1;
    return 0;
}

static int key_description(parse_ctx *c, const char *key, const char *value)
{
    (void)key;
    /* A line is at most SIM_SCENARIO_LINE_MAX bytes, so this fits. */
    snprintf(c->sc->description, sizeof(c->sc->description), "%s", value);
    return 0;
}

static int key_scenario_start(parse_ctx *c, const char *key, const char *value)
{
    rl_error e;

    if (rl_time_parse_iso8601(value, &c->sc->start_us, &e) != 0)
        return fail_core(c, key, value, &e);
    return 0;
}

static int key_days(parse_ctx *c, const char *key, const char *value)
{
    return parse_count(c, key, value, 1, SIM_DAYS_MAX,
                       "a whole number of days from 1 to 3660", &c->sc->days);
}

static int key_seed(parse_ctx *c, const char *key, const char *value)
{
    int rc = parse_u64(value, &c->sc->seed);

    if (rc == RL_ERR_INVALID)
        return fail_key(c, key, value,
                        "invalid seed: expected an unsigned integer written as "
                        "plain digits, such as 42");
    if (rc != 0)
        return fail_key(c, key, value,
                        "out of range: expected an unsigned integer from 0 to "
                        "18446744073709551615");
    return 0;
}

static const key_spec scenario_keys[] = {
    {"name", key_name},         {"description", key_description},
    {"start", key_scenario_start}, {"days", key_days},
    {"seed", key_seed},         {NULL, NULL}};

/* ------------------------------------------------------------------ */
/* [limits]                                                            */
/* ------------------------------------------------------------------ */

/* Parses a limit value the way the core parses environment variables. */
static int parse_limit(parse_ctx *c, const char *key, const char *value,
                       int64_t *out)
{
    char what[RL_ERROR_MAX];
    rl_error e;

    snprintf(what, sizeof(what), "%s:%d: %s", c->path, c->line, key);
    if (rl_limit_parse_value(value, out, what, &e) == 0)
        return 0;
    /* The core's message already names the file, line and key. */
    if (c->status == 0) {
        rl_error_set(c->err, "%s", e.message);
        c->status = RL_ERR_INVALID;
        c->err_at = c->line;
    }
    return c->status;
}

/* Records a per-client limit for a role, to apply after the env file. */
static int set_role_limit(parse_ctx *c, const char *key, const char *value,
                          const char *role)
{
    limit_key *lk;
    int i;

    for (i = 0; i < c->nlimit_keys; i++) {
        if (strcmp(c->limit_keys[i].role, role) == 0)
            return fail_key(c, key, value,
                            "the limit of role %s is already set on line %d: "
                            "remove one of them",
                            role, c->limit_keys[i].line);
    }
    if (c->nlimit_keys == RL_MAX_ROLES)
        return fail_key(c, key, value, "too many roles: at most %d",
                        RL_MAX_ROLES);
    lk = &c->limit_keys[c->nlimit_keys];
    if (parse_limit(c, key, value, &lk->value) != 0)
        return c->status;
    snprintf(lk->role, sizeof(lk->role), "%s", role);
    lk->line = c->line;
    c->nlimit_keys++;
    return 0;
}

static int key_miner(parse_ctx *c, const char *key, const char *value)
{
    return set_role_limit(c, key, value, "miner");
}

static int key_validator(parse_ctx *c, const char *key, const char *value)
{
    return set_role_limit(c, key, value, "validator");
}

/* role.NAME = N: the per-client limit of any role. */
static int key_role_limit(parse_ctx *c, const char *key, const char *value)
{
    const char *role = key + strlen("role.");

    if (!rl_limits_role_name_valid(role))
        return fail_key(c, key, value,
                        "invalid role name '%s' in the key: expected role.NAME "
                        "with NAME " RL_ROLE_NAME_RULE,
                        role);
    return set_role_limit(c, key, value, role);
}

static int key_total(parse_ctx *c, const char *key, const char *value)
{
    if (parse_limit(c, key, value, &c->total) != 0)
        return c->status;
    c->total_line = c->line;
    return 0;
}

static int key_window(parse_ctx *c, const char *key, const char *value)
{
    rl_error e;

    if (rl_window_parse(value, &c->sc->window, &e) != 0)
        return fail_core(c, key, value, &e);
    return 0;
}

static int key_policy(parse_ctx *c, const char *key, const char *value)
{
    rl_error e;

    if (rl_algo_policy_parse(value, &c->sc->realism.algo, &c->sc->policy, &e) != 0)
        return fail_core(c, key, value, &e);
    return 0;
}

/* burst = N: GCRA's requests beyond the steady rate. */
static int key_burst(parse_ctx *c, const char *key, const char *value)
{
    c->burst_line = c->line;
    return parse_count(c, key, value, 0, 1000000000,
                       "a whole number of requests from 0 to 1000000000",
                       &c->sc->realism.burst);
}

static int key_env(parse_ctx *c, const char *key, const char *value)
{
    if (value[0] == '\0')
        return fail_key(c, key, value,
                        "empty path: expected a dotenv or task-definition "
                        "file, relative to the scenario's directory");
    snprintf(c->env, sizeof(c->env), "%s", value);
    c->env_line = c->line;
    return 0;
}

static int key_container(parse_ctx *c, const char *key, const char *value)
{
    if (value[0] == '\0' || strlen(value) >= sizeof(c->container))
        return fail_key(c, key, value,
                        "expected the name of a container in the env file's "
                        "containerDefinitions, 1 to 63 bytes");
    snprintf(c->container, sizeof(c->container), "%s", value);
    c->container_line = c->line;
    return 0;
}

static const key_spec limits_keys[] = {
    {"miner", key_miner},   {"validator", key_validator}, {"total", key_total},
    {"window", key_window}, {"policy", key_policy},       {"env", key_env},
    {"container", key_container}, {"burst", key_burst}, {NULL, NULL}};

/* ------------------------------------------------------------------ */
/* [population NAME]                                                   */
/* ------------------------------------------------------------------ */

/* Indices into population_keys, for the checks at the section's end. */
enum { POP_ROLE, POP_COUNT, POP_CADENCE, POP_INTERVAL, POP_WORK, POP_JITTER,
       POP_START, POP_FIRST_DELAY, POP_AUTH, POP_RESTART_EVERY, POP_RESTART_JITTER };

static sim_population *current_pop(parse_ctx *c)
{
    return &c->sc->pops[c->sc->npops - 1];
}

static int key_role(parse_ctx *c, const char *key, const char *value)
{
    if (!rl_limits_role_name_valid(value))
        return fail_key(c, key, value, "invalid role: expected " RL_ROLE_NAME_RULE);
    snprintf(current_pop(c)->role, sizeof(current_pop(c)->role), "%s", value);
    c->lines[c->sc->npops - 1].role = c->line;
    return 0;
}

static int key_count(parse_ctx *c, const char *key, const char *value)
{
    return parse_count(c, key, value, 1, SIM_COUNT_MAX,
                       "a whole number of clients from 1 to 10000000",
                       &current_pop(c)->count);
}

static int key_cadence(parse_ctx *c, const char *key, const char *value)
{
    static const char *const words[] = {"fixed-rate", "fixed-delay", NULL};
    int i = 0;

    if (parse_word(c, key, value, words, "fixed-rate or fixed-delay", &i) != 0)
        return c->status;
    current_pop(c)->cadence = i == 0 ? SIM_CADENCE_FIXED_RATE
                                     : SIM_CADENCE_FIXED_DELAY;
    return 0;
}

static int key_interval(parse_ctx *c, const char *key, const char *value)
{
    return parse_positive_duration(c, key, value, &current_pop(c)->interval_us);
}

/* work = DURATION or MIN..MAX (uniform). */
static int key_work(parse_ctx *c, const char *key, const char *value)
{
    sim_population *p = current_pop(c);
    const char *dots = strstr(value, "..");
    char low[SIM_SCENARIO_LINE_MAX + 1];
    rl_error e;

    if (dots == NULL) {
        if (parse_duration(c, key, value, &p->work_min_us) != 0)
            return c->status;
        p->work_max_us = p->work_min_us;
        return 0;
    }
    snprintf(low, sizeof(low), "%.*s", (int)(dots - value), value);
    if (rl_duration_parse(low, &p->work_min_us, &e) != 0 ||
        rl_duration_parse(dots + 2, &p->work_max_us, &e) != 0)
        return fail_key(c, key, value,
                        "%s (MIN..MAX needs two durations, such as 2m..8m)",
                        e.message);
    if (p->work_min_us > p->work_max_us)
        return fail_key(c, key, value,
                        "the minimum is above the maximum: expected MIN..MAX "
                        "with MIN <= MAX, such as 2m..8m");
    return 0;
}

static int key_jitter(parse_ctx *c, const char *key, const char *value)
{
    return parse_duration(c, key, value, &current_pop(c)->jitter_us);
}

/* Returns the value of two decimal digits at p, or -1. */
static int two_digits(const char *p)
{
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return -1;
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Parses "HH:MM" or "HH:MM:SS" (hours 00..99).  Returns 0 or -1. */
static int parse_clock_offset(const char *text, int64_t *out_us)
{
    size_t n = strlen(text);
    int h, m, s = 0;

    if ((n != 5 && n != 8) || text[2] != ':' || (n == 8 && text[5] != ':'))
        return -1;
    h = two_digits(text);
    m = two_digits(text + 3);
    if (n == 8)
        s = two_digits(text + 6);
    if (h < 0 || m < 0 || m > 59 || s < 0 || s > 59)
        return -1;
    *out_us = h * RL_US_PER_HOUR + m * RL_US_PER_MIN + s * RL_US_PER_SEC;
    return 0;
}

static int key_pop_start(parse_ctx *c, const char *key, const char *value)
{
    static const char *const words[] = {"spread", "together", "random", NULL};
    sim_population *p = current_pop(c);
    pop_lines *pl = &c->lines[c->sc->npops - 1];
    int i;

    pl->start = c->line;
    snprintf(pl->start_text, sizeof(pl->start_text), "%s", value);
    for (i = 0; words[i] != NULL; i++) {
        if (strcmp(value, words[i]) == 0) {
            p->start = (sim_start)i; /* same order as enum sim_start */
            return 0;
        }
    }
    p->start = SIM_START_OFFSET;
    if (strchr(value, ':') != NULL) {
        if (parse_clock_offset(value, &p->start_offset_us) == 0)
            return 0;
        return fail_key(c, key, value,
                        "invalid offset: expected HH:MM or HH:MM:SS (minutes "
                        "and seconds 00 to 59), such as 00:30");
    }
    if (rl_duration_parse(value, &p->start_offset_us, NULL) == 0)
        return 0;
    return fail_key(c, key, value,
                    "expected spread, together, random, an offset HH:MM or "
                    "HH:MM:SS such as 00:30, or a duration such as 30m");
}

static int key_first_delay(parse_ctx *c, const char *key, const char *value)
{
    pop_lines *pl = &c->lines[c->sc->npops - 1];

    pl->first_delay = c->line;
    snprintf(pl->first_delay_text, sizeof(pl->first_delay_text), "%s", value);
    return parse_duration(c, key, value, &current_pop(c)->first_delay_us);
}

static int key_auth(parse_ctx *c, const char *key, const char *value)
{
    static const char *const words[] = {"invalid", "valid", NULL};
    int i = 0;

    if (parse_word(c, key, value, words, "valid or invalid", &i) != 0)
        return c->status;
    current_pop(c)->auth_valid = i;
    return 0;
}

static int key_restart_every(parse_ctx *c, const char *key, const char *value)
{
    return parse_positive_duration(c, key, value,
                                   &current_pop(c)->realism.restart_every_us);
}

static int key_restart_jitter(parse_ctx *c, const char *key, const char *value)
{
    return parse_duration(c, key, value, &current_pop(c)->realism.restart_jitter_us);
}

static int key_on_429(parse_ctx *c, const char *key, const char *value)
{
    rl_error e;

    if (sim_on429_parse(value, &current_pop(c)->realism.on429, &e) != 0)
        return fail_key(c, key, value, "%s", e.message);
    return 0;
}

/* target = random or the name of a population, resolved at the end. */
static int key_target(parse_ctx *c, const char *key, const char *value)
{
    sim_realism_pop *m = &current_pop(c)->realism;

    if (!valid_name(value))
        return fail_key(c, key, value,
                        "expected random or a population name (" NAME_EXPECTED ")");
    m->target = strcmp(value, "random") == 0 ? SIM_TARGET_RANDOM : SIM_TARGET_POPULATION;
    snprintf(m->target_name, sizeof(m->target_name), "%s", value);
    c->lines[c->sc->npops - 1].target = c->line;
    return 0;
}

/* Same order as the POP_* indices. */
static const key_spec population_keys[] = {
    {"role", key_role},         {"count", key_count},
    {"cadence", key_cadence},   {"interval", key_interval},
    {"work", key_work},         {"jitter", key_jitter},
    {"start", key_pop_start},   {"first_delay", key_first_delay},
    {"auth", key_auth},         {"restart_every", key_restart_every},
    {"restart_jitter", key_restart_jitter}, {"on_429", key_on_429},
    {"target", key_target},     {NULL, NULL}};

/* ------------------------------------------------------------------ */
/* [server] and [compare]                                              */
/* ------------------------------------------------------------------ */

static int key_replicas(parse_ctx *c, const char *key, const char *value)
{
    return parse_count(c, key, value, 1, 1000, "a whole number of replicas from 1 to 1000",
                       &c->sc->realism.replicas);
}

static int key_store(parse_ctx *c, const char *key, const char *value)
{
    static const char *const words[] = {"shared", "per-replica", NULL};
    int i = 0;

    if (parse_word(c, key, value, words, "shared or per-replica", &i) != 0)
        return c->status;
    c->sc->realism.store = (sim_store_kind)i;
    return 0;
}

static int key_rtt(parse_ctx *c, const char *key, const char *value)
{
    if (parse_duration(c, key, value, &c->sc->realism.rtt_us) != 0)
        return c->status;
    if (c->sc->realism.rtt_us > RL_US_PER_MIN)
        return fail_key(c, key, value, "out of range: expected at most 1m");
    return 0;
}

static int key_balance(parse_ctx *c, const char *key, const char *value)
{
    static const char *const words[] = {"round-robin", "random", NULL};
    int i = 0;

    if (parse_word(c, key, value, words, "round-robin or random", &i) != 0)
        return c->status;
    c->sc->realism.balance = (sim_balance)i;
    return 0;
}

static int key_replica_restart_every(parse_ctx *c, const char *key, const char *value)
{
    return parse_positive_duration(c, key, value,
                                   &c->sc->realism.replica_restart_every_us);
}

/* clock_offset = +5m, -30s or 5m: the server's clock minus true UTC. */
static int key_clock_offset(parse_ctx *c, const char *key, const char *value)
{
    int negative = value[0] == '-';
    const char *text = value[0] == '-' || value[0] == '+' ? value + 1 : value;
    int64_t us = 0;
    rl_error e;

    if (rl_duration_parse(text, &us, &e) != 0)
        return fail_key(c, key, value,
                        "expected a signed duration such as +5m or -30s: %s",
                        e.message);
    if (us > RL_US_PER_DAY)
        return fail_key(c, key, value, "out of range: expected at most 1d either way");
    c->sc->realism.clock_offset_us = negative ? -us : us;
    return 0;
}

static const key_spec server_keys[] = {
    {"replicas", key_replicas},
    {"store", key_store},
    {"rtt", key_rtt},
    {"balance", key_balance},
    {"replica_restart_every", key_replica_restart_every},
    {"clock_offset", key_clock_offset},
    {NULL, NULL}};

/* policies = deployed, sliding-log, gcra */
static int key_policies(parse_ctx *c, const char *key, const char *value)
{
    sim_realism *m = &c->sc->realism;
    char list[SIM_SCENARIO_LINE_MAX + 1];
    rl_error e;

    snprintf(list, sizeof(list), "%s", value);
    for (char *word = strtok(list, ", \t"); word != NULL; word = strtok(NULL, ", \t")) {
        sim_policy_choice *p = &m->compare[m->ncompare];
        if (m->ncompare == SIM_COMPARE_MAX)
            return fail_key(c, key, value, "too many policies: at most %d",
                            SIM_COMPARE_MAX);
        if (rl_algo_policy_parse(word, &p->algo, &p->policy, &e) != 0)
            return fail_key(c, key, value, "%s", e.message);
        m->ncompare++;
    }
    if (m->ncompare == 0)
        return fail_key(c, key, value,
                        "expected a comma-separated list of policies, such as "
                        "deployed, sliding-log, gcra");
    return 0;
}

static const key_spec compare_keys[] = {{"policies", key_policies}, {NULL, NULL}};

/* ------------------------------------------------------------------ */
/* [expect]                                                            */
/* ------------------------------------------------------------------ */

static int key_outcome(parse_ctx *c, const char *key, const char *value)
{
    static const char *const words[] = {"rejects", "fits", NULL};
    int i = 0;

    if (parse_word(c, key, value, words, "fits or rejects", &i) != 0)
        return c->status;
    c->sc->expect.has_outcome = 1;
    c->sc->expect.outcome_fits = i;
    return 0;
}

static int key_max_rejections(parse_ctx *c, const char *key, const char *value)
{
    c->sc->expect.has_max_rejections = 1;
    return parse_count(c, key, value, 0, INT64_MAX, "a whole number >= 0",
                       &c->sc->expect.max_rejections);
}

static int key_rejections(parse_ctx *c, const char *key, const char *value)
{
    c->sc->expect.has_rejections = 1;
    return parse_count(c, key, value, 0, INT64_MAX, "a whole number >= 0",
                       &c->sc->expect.rejections);
}

/* min_headroom = 42, 42.4 or 42.4%: plain decimal, no exponent. */
static int key_min_headroom(parse_ctx *c, const char *key, const char *value)
{
    const char *p = value;
    int digits = 0;
    double v;

    if (*p == '-')
        p++;
    for (; isdigit((unsigned char)*p); p++)
        digits++;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            digits++;
    if (*p == '%')
        p++;
    if (digits == 0 || *p != '\0')
        return fail_key(c, key, value,
                        "invalid percentage: expected a decimal number with an "
                        "optional %%, such as 42 or 42.4%%");
    v = strtod(value, NULL);
    if (v < -1e9 || v > 100)
        return fail_key(c, key, value,
                        "out of range: expected a percentage from -1000000000 "
                        "to 100");
    c->sc->expect.has_min_headroom = 1;
    c->sc->expect.min_headroom_pct = v;
    return 0;
}

static int key_first_rejection(parse_ctx *c, const char *key, const char *value)
{
    c->sc->expect.has_first_rejection = 1;
    return parse_time_or_none(c, key, value, &c->sc->expect.first_rejection_us);
}

static int key_global_exhausted(parse_ctx *c, const char *key,
                                const char *value)
{
    c->sc->expect.has_global_exhausted = 1;
    return parse_time_or_none(c, key, value,
                              &c->sc->expect.global_exhausted_us);
}

static const key_spec expect_keys[] = {
    {"outcome", key_outcome},
    {"max_rejections", key_max_rejections},
    {"min_headroom", key_min_headroom},
    {"rejections", key_rejections},
    {"first_rejection", key_first_rejection},
    {"global_exhausted", key_global_exhausted},
    {NULL, NULL}};

/* ------------------------------------------------------------------ */
/* Sections                                                            */
/* ------------------------------------------------------------------ */

static const key_spec *section_keys(section_kind kind)
{
    switch (kind) {
    case SECTION_SCENARIO:
        return scenario_keys;
    case SECTION_LIMITS:
        return limits_keys;
    case SECTION_POPULATION:
        return population_keys;
    case SECTION_EXPECT:
        return expect_keys;
    case SECTION_SERVER:
        return server_keys;
    case SECTION_COMPARE:
        return compare_keys;
    default:
        return NULL;
    }
}

/* Checks a population once its section has ended. */
/* Checks a population's realism keys once its section has ended. */
static int finish_population_models(parse_ctx *c)
{
    const sim_realism_pop *m = &current_pop(c)->realism;

    if (c->key_line[POP_RESTART_JITTER] != 0 && m->restart_every_us == 0)
        return fail_at(c, c->key_line[POP_RESTART_JITTER],
                       "restart_jitter = '%s': only meaningful with restart_every; "
                       "add restart_every or remove it",
                       c->key_value[POP_RESTART_JITTER]);
    if (m->restart_every_us > 0 && m->restart_jitter_us >= m->restart_every_us)
        return fail_at(c, c->key_line[POP_RESTART_JITTER],
                       "restart_jitter = '%s': must be less than restart_every "
                       "(%s), so that restarts keep their order",
                       c->key_value[POP_RESTART_JITTER],
                       c->key_value[POP_RESTART_EVERY]);
    return 0;
}

static int finish_population(parse_ctx *c)
{
    sim_population *p = current_pop(c);
    char text[64];

    if (finish_population_models(c) != 0)
        return c->status;

    if (c->key_line[POP_INTERVAL] == 0)
        return fail_at(c, p->line,
                       "[population %s]: missing key 'interval': expected a "
                       "duration > 0 between requests, such as 5m",
                       p->name);
    if (c->key_line[POP_WORK] != 0 && p->cadence == SIM_CADENCE_FIXED_RATE)
        return fail_at(c, c->key_line[POP_WORK],
                       "work = '%s': only meaningful with cadence = "
                       "fixed-delay, because a fixed-rate client's schedule "
                       "does not move with its upload time; remove it or set "
                       "cadence = fixed-delay",
                       c->key_value[POP_WORK]);
    /* With |jitter| < interval/2, t_(k+1) - t_k >= interval - 2*jitter > 0,
     * so a client's requests keep their order and never coincide. */
    if (p->jitter_us > (p->interval_us - 1) / 2) {
        rl_duration_format(p->interval_us, text, sizeof(text));
        return fail_at(c, c->key_line[POP_JITTER],
                       "jitter = '%s': must be less than half the interval "
                       "(%s), so that a client's requests keep their order",
                       c->key_value[POP_JITTER], text);
    }
    return 0;
}

/* Checks that the run, whose end is exclusive, ends in the year 9999 at the
 * latest: reports print its start and end in ISO-8601, and [expect] times
 * only parse with four-digit years. */
static int finish_scenario(parse_ctx *c)
{
    const int64_t end_max_us = rl_days_from_civil(10000, 1, 1) * RL_US_PER_DAY;
    const sim_scenario *sc = c->sc;
    enum { SCENARIO_START = 2, SCENARIO_DAYS = 3 }; /* in scenario_keys */
    int line = c->key_line[SCENARIO_DAYS] != 0 ? c->key_line[SCENARIO_DAYS]
                                               : c->key_line[SCENARIO_START];

    if (sc->start_us < end_max_us - sc->days * RL_US_PER_DAY)
        return 0;
    return fail_at(c, line,
                   "start = '%s' with days = %lld: the run would end after "
                   "the year 9999; lower days or move start earlier",
                   c->key_line[SCENARIO_START] != 0
                       ? c->key_value[SCENARIO_START]
                       : "2025-01-01T00:00:00Z",
                   (long long)sc->days);
}

static int finish_section(parse_ctx *c)
{
    if (c->section == SECTION_POPULATION)
        return finish_population(c);
    if (c->section == SECTION_SCENARIO)
        return finish_scenario(c);
    return 0;
}

/* Appends a population with its defaults. */
static int add_population(parse_ctx *c, const char *name)
{
    sim_scenario *sc = c->sc;
    sim_population *p;
    int i;

    for (i = 0; i < sc->npops; i++) {
        if (strcmp(sc->pops[i].name, name) == 0)
            return fail_at(c, c->line,
                           "duplicate section [population %s] (first on line "
                           "%d): population names must be unique",
                           name, sc->pops[i].line);
    }
    if (sc->npops == SIM_POPULATIONS_MAX)
        return fail_at(c, c->line,
                       "[population %s]: too many populations: at most %d",
                       name, SIM_POPULATIONS_MAX);
    if (sc->npops == c->pops_cap) {
        int cap = c->pops_cap == 0 ? 8 : c->pops_cap * 2;
        sim_population *pops = realloc(sc->pops, (size_t)cap * sizeof(*pops));
        pop_lines *lines;

        if (pops == NULL)
            return c->status = RL_ERR_NOMEM;
        sc->pops = pops;
        lines = realloc(c->lines, (size_t)cap * sizeof(*lines));
        if (lines == NULL)
            return c->status = RL_ERR_NOMEM;
        c->lines = lines;
        c->pops_cap = cap;
    }

    p = &sc->pops[sc->npops];
    memset(p, 0, sizeof(*p));
    memset(&c->lines[sc->npops], 0, sizeof(c->lines[0]));
    memcpy(p->name, name, strlen(name) + 1); /* valid_name: < SIM_NAME_MAX */
    snprintf(p->role, sizeof(p->role), "miner");
    p->role_index = -1;
    p->count = 1;
    p->cadence = SIM_CADENCE_FIXED_RATE;
    p->start = SIM_START_SPREAD;
    p->auth_valid = 1;
    p->line = c->line;
    sc->npops++;
    return 0;
}

/* Marks a once-only section as seen.  *seen stores its first line. */
static int once(parse_ctx *c, int *seen, const char *name)
{
    if (*seen != 0)
        return fail_at(c, c->line,
                       "duplicate section [%s] (first on line %d): put all "
                       "its keys in one section",
                       name, *seen);
    *seen = c->line;
    return 0;
}

/* Starts the section named by a header's inner text (trimmed). */
static int open_section(parse_ctx *c, const char *name)
{
    if (strcmp(name, "scenario") == 0) {
        c->section = SECTION_SCENARIO;
        return once(c, &c->scenario_line, name);
    }
    if (strcmp(name, "limits") == 0) {
        c->section = SECTION_LIMITS;
        return once(c, &c->limits_line, name);
    }
    if (strcmp(name, "expect") == 0) {
        c->section = SECTION_EXPECT;
        return once(c, &c->expect_line, name);
    }
    if (strcmp(name, "server") == 0) {
        c->section = SECTION_SERVER;
        return once(c, &c->server_line, name);
    }
    if (strcmp(name, "compare") == 0) {
        c->section = SECTION_COMPARE;
        return once(c, &c->compare_line, name);
    }
    if (strncmp(name, "population", 10) == 0 &&
        (name[10] == '\0' || isspace((unsigned char)name[10]))) {
        const char *pop = name + 10;

        while (isspace((unsigned char)*pop))
            pop++;
        if (!valid_name(pop))
            return fail_at(c, c->line,
                           "[%s]: invalid or missing population name '%s': "
                           "expected [population NAME] with NAME " NAME_EXPECTED,
                           name, pop);
        c->section = SECTION_POPULATION;
        return add_population(c, pop);
    }
    return fail_at(c, c->line,
                   "unknown section [%s]: expected [scenario], [limits], "
                   "[population NAME], [expect], [server] or [compare]",
                   name);
}

/*
 * Handles a section header line (leading whitespace already removed).  inih
 * passes the handler the text between '[' and the first ']' unchanged, which
 * is kept in section_raw to match its calls against this section.
 */
static int begin_section(parse_ctx *c, const char *line)
{
    const char *close = strchr(line, ']');
    const char *after;
    char name[SIM_SCENARIO_LINE_MAX + 1];
    size_t n;

    if (finish_section(c) != 0)
        return c->status;
    if (close == NULL)
        return fail_at(c, c->line,
                       "'%s': missing ']': expected a section header such as "
                       "[limits]",
                       line);
    for (after = close + 1; isspace((unsigned char)*after); after++)
        ;
    if (*after != '\0' && *after != ';' && *after != '#')
        return fail_at(c, c->line,
                       "'%s': unexpected text after ']': expected only a "
                       "comment there",
                       line);

    n = (size_t)(close - line - 1);
    snprintf(c->section_raw, sizeof(c->section_raw), "%.*s", (int)n, line + 1);
    while (n > 0 && isspace((unsigned char)line[n]))
        n--;
    line++;
    while (n > 0 && isspace((unsigned char)*line)) {
        line++;
        n--;
    }
    snprintf(name, sizeof(name), "%.*s", (int)n, line);

    memset(c->key_line, 0, sizeof(c->key_line));
    c->nsections++;
    return open_section(c, name);
}

/* ------------------------------------------------------------------ */
/* inih callbacks                                                      */
/* ------------------------------------------------------------------ */

/* Lists a section's keys for "expected one of ..." messages. */
static void list_keys(const key_spec *keys, int with_roles, char *buf,
                      size_t len)
{
    size_t used = 0;
    int i;

    buf[0] = '\0';
    for (i = 0; keys[i].name != NULL && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                 i == 0 ? "" : ", ", keys[i].name);
    if (with_roles && used < len)
        snprintf(buf + used, len - used, ", role.NAME");
}

static int dispatch_key(parse_ctx *c, const char *key, const char *value)
{
    const key_spec *keys = section_keys(c->section);
    char expected[256];
    int i;

    for (i = 0; keys[i].name != NULL; i++) {
        if (strcmp(keys[i].name, key) != 0)
            continue;
        if (c->key_line[i] != 0)
            return fail_key(c, key, value,
                            "duplicate key in [%s] (first set on line %d): "
                            "remove one of them",
                            c->section_raw, c->key_line[i]);
        c->key_line[i] = c->line;
        snprintf(c->key_value[i], sizeof(c->key_value[i]), "%s", value);
        return keys[i].parse(c, key, value);
    }
    if (c->section == SECTION_LIMITS && strncmp(key, "role.", 5) == 0)
        return key_role_limit(c, key, value);

    list_keys(keys, c->section == SECTION_LIMITS, expected, sizeof(expected));
    return fail_key(c, key, value, "unknown key in [%s]: expected one of %s",
                    c->section_raw, expected);
}

static int on_key(void *user, const char *section, const char *key,
                  const char *value)
{
    parse_ctx *c = user;

    if (c->status != 0)
        return 0;
    if (c->section == SECTION_NONE) {
        fail_key(c, key, value,
                 "the key is outside any section: put it under [scenario], "
                 "[limits], [population NAME], [expect], [server] or "
                 "[compare]");
        return 0;
    }
    /* The reader and inih split headers the same way; this guards that. */
    if (strcmp(section, c->section_raw) != 0) {
        fail_at(c, c->line,
                "'%s = %s': section [%s] was not recognised: check the "
                "section header above this line",
                key, value, section);
        return 0;
    }
    return dispatch_key(c, key, value) == 0;
}

/*
 * inih's fgets-style reader: hands over one line of the text per call
 * (without its line ending, leading whitespace or a BOM) and returns NULL
 * at the end or after an error, which stops inih.
 */
static char *read_line(char *buf, int num, void *stream)
{
    parse_ctx *c = stream;
    const char *start = c->text + c->pos;
    const char *nl;
    size_t n, skip = 0;

    if (c->status != 0 || c->pos >= c->len)
        return NULL;
    nl = memchr(start, '\n', c->len - c->pos);
    n = nl != NULL ? (size_t)(nl - start) : c->len - c->pos;
    c->pos += n + (nl != NULL);
    c->line++;
    if (n > 0 && start[n - 1] == '\r')
        n--;

    if (memchr(start, '\0', n) != NULL) {
        fail_at(c, c->line, "the line contains a NUL byte: expected text");
        return NULL;
    }
    if (n > SIM_SCENARIO_LINE_MAX || n + 1 > (size_t)num) {
        fail_at(c, c->line,
                "the line is %zu bytes long: lines may be at most %d bytes "
                "(the limit of the inih library); shorten it",
                n, SIM_SCENARIO_LINE_MAX);
        return NULL;
    }
    if (c->line == 1 && n >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0)
        skip = 3;
    while (skip < n && isspace((unsigned char)start[skip]))
        skip++;
    memcpy(buf, start + skip, n - skip);
    buf[n - skip] = '\0';

    if (buf[0] == '[' && begin_section(c, buf) != 0)
        return NULL;
    return buf;
}

/* ------------------------------------------------------------------ */
/* Checks after the whole file is read                                 */
/* ------------------------------------------------------------------ */

/* Copies line `n` (1-based), trimmed, into buf and cuts it to fit. */
static void copy_line(const parse_ctx *c, int n, char *buf, size_t len)
{
    const char *p = c->text;
    const char *end = c->text + c->len;
    const char *nl;
    size_t size;

    while (--n > 0 && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL)
        p = nl + 1;
    nl = memchr(p, '\n', (size_t)(end - p));
    size = (size_t)((nl != NULL ? nl : end) - p);
    while (size > 0 && isspace((unsigned char)p[size - 1]))
        size--;
    while (size > 0 && isspace((unsigned char)*p)) {
        p++;
        size--;
    }
    snprintf(buf, len, "%.*s", (int)size, p);
}

/* Reads a whole file of at most SIM_SCENARIO_FILE_MAX bytes into a
 * NUL-terminated buffer that the caller frees.  On failure returns NULL
 * with a reason in `why`. */
static char *read_file(const char *path, size_t *len_out, char *why,
                       size_t why_len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;

    if (f == NULL) {
        snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc(SIM_SCENARIO_FILE_MAX + 1);
    if (buf == NULL) {
        snprintf(why, why_len, "cannot read %s: out of memory", path);
        goto out;
    }
    n = fread(buf, 1, SIM_SCENARIO_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
    } else if (n > SIM_SCENARIO_FILE_MAX) {
        snprintf(why, why_len,
                 "cannot read %s: larger than %d bytes (1 MiB), the limit for "
                 "scenario and env files",
                 path, SIM_SCENARIO_FILE_MAX);
    } else {
        buf[n] = '\0';
        *len_out = n;
        fclose(f);
        return buf;
    }
    free(buf);
    buf = NULL;
out:
    fclose(f);
    return NULL;
}

/* Reads the env file, relative to the scenario's directory, and applies it. */
static int apply_env_file(parse_ctx *c)
{
    const char *slash = strrchr(c->path, '/');
    char path[SIM_PATH_MAX];
    char why[RL_ERROR_MAX];
    const char *p;
    rl_error e;
    size_t len = 0;
    char *text;
    int n, rc;

    if (c->env[0] == '/' || slash == NULL)
        n = snprintf(path, sizeof(path), "%s", c->env);
    else
        n = snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - c->path),
                     c->path, c->env);
    if (n < 0 || (size_t)n >= sizeof(path))
        return fail_at(c, c->env_line, "env = '%s': the path is too long",
                       c->env);
    text = read_file(path, &len, why, sizeof(why));
    if (text == NULL)
        return fail_at(c, c->env_line, "env = '%s': %s", c->env, why);

    for (p = text; isspace((unsigned char)*p); p++)
        ;
    if (c->container_line != 0 && *p != '{') {
        free(text);
        return fail_at(c, c->container_line,
                       "container = '%s': %s is a dotenv file, and container "
                       "applies only to task definitions (JSON)",
                       c->container, path);
    }
    rc = rl_limits_apply_file(&c->sc->limits, text, len, path,
                              c->container_line != 0 ? c->container : NULL, &e);
    free(text);
    if (rc != 0)
        return fail_at(c, c->env_line, "env = '%s': %s", c->env, e.message);
    return 0;
}

/* Builds the limits: defaults, then the env file, then [limits] keys. */
static int build_limits(parse_ctx *c)
{
    rl_limits *l = &c->sc->limits;
    int i;

    if (c->container_line != 0 && c->env_line == 0)
        return fail_at(c, c->container_line,
                       "container = '%s': no env file to choose a container "
                       "from: add env = TASK-DEFINITION.json or remove it",
                       c->container);
    if (c->env_line != 0 && apply_env_file(c) != 0)
        return c->status;

    for (i = 0; i < c->nlimit_keys; i++) {
        const limit_key *lk = &c->limit_keys[i];
        int idx = rl_limits_add_role(l, lk->role);

        if (idx < 0)
            return fail_at(c, lk->line,
                           "role %s: too many roles: at most %d, counting "
                           "those of the defaults and the env file",
                           lk->role, RL_MAX_ROLES);
        l->roles[idx].per_client.value = lk->value;
        l->roles[idx].per_client.source = RL_SOURCE_SCENARIO;
        snprintf(l->roles[idx].per_client.origin, RL_ORIGIN_MAX, "%.200s:%d",
                 c->path, lk->line);
    }
    if (c->total_line != 0) {
        l->total.value = c->total;
        l->total.source = RL_SOURCE_SCENARIO;
        snprintf(l->total.origin, RL_ORIGIN_MAX, "%.200s:%d", c->path,
                 c->total_line);
    }
    return 0;
}

/* Resolves each population's role and checks its first request is inside
 * the run. */
static int check_populations(parse_ctx *c)
{
    const rl_limits *l = &c->sc->limits;
    int64_t run_us = c->sc->days * RL_US_PER_DAY;
    int i, r;

    for (i = 0; i < c->sc->npops; i++) {
        sim_population *p = &c->sc->pops[i];
        const pop_lines *pl = &c->lines[i];
        char known[RL_MAX_ROLES * (RL_ROLE_NAME_MAX + 2)] = "";
        size_t used = 0;

        p->role_index = rl_limits_role_index(l, p->role);
        if (p->role_index < 0) {
            for (r = 0; r < l->nroles; r++)
                used += (size_t)snprintf(known + used, sizeof(known) - used,
                                         "%s%s", r == 0 ? "" : ", ",
                                         l->roles[r].name);
            return fail_at(c, pl->role != 0 ? pl->role : p->line,
                           "role = '%s': unknown role in [population %s]: the "
                           "limits define %s; add role.%s = N to [limits] or "
                           "use one of those",
                           p->role, p->name, known, p->role);
        }
        if (p->start == SIM_START_OFFSET && p->start_offset_us >= run_us)
            return fail_at(c, pl->start,
                           "start = '%s': the offset is not before the run's "
                           "end (days = %lld): lower it or raise days",
                           pl->start_text, (long long)c->sc->days);
        if (p->first_delay_us >= run_us)
            return fail_at(c, pl->first_delay,
                           "first_delay = '%s': not before the run's end "
                           "(days = %lld): lower it or raise days",
                           pl->first_delay_text, (long long)c->sc->days);
    }
    return 0;
}

/* Resolves `target` population names. */
static int check_targets(parse_ctx *c)
{
    for (int i = 0; i < c->sc->npops; i++) {
        sim_realism_pop *m = &c->sc->pops[i].realism;
        if (m->target != SIM_TARGET_POPULATION)
            continue;
        m->target_index = -1;
        for (int j = 0; j < c->sc->npops; j++)
            if (j != i && strcmp(c->sc->pops[j].name, m->target_name) == 0)
                m->target_index = j;
        if (m->target_index < 0)
            return fail_at(c, c->lines[i].target,
                           "target = '%s': no other population of that name: "
                           "expected random or the name of another [population "
                           "NAME]",
                           m->target_name);
        if (c->sc->pops[m->target_index].realism.target != SIM_TARGET_OWN)
            return fail_at(c, c->lines[i].target,
                           "target = '%s': that population has a target itself; "
                           "aim at a population that uses its own ids",
                           m->target_name);
    }
    return 0;
}

/* Rejects [server] and [limits] model keys that do not go together. */
static int check_server(parse_ctx *c)
{
    const sim_realism *m = &c->sc->realism;
    int line = c->server_line;

    if (c->burst_line != 0 && m->algo != RL_ALGO_GCRA)
        return fail_at(c, c->burst_line,
                       "burst: only meaningful with policy = gcra; remove it or "
                       "set the policy");
    if (m->replicas > 1 && m->algo != RL_ALGO_FIXED_WINDOW)
        return fail_at(c, line,
                       "[server]: replicas = %lld works with policy deployed or "
                       "atomic only",
                       (long long)m->replicas);
    if (m->rtt_us > 0 && (m->store != SIM_STORE_SHARED || m->replicas < 2))
        return fail_at(c, line,
                       "[server]: rtt applies to store = shared with replicas of 2 "
                       "or more");
    if (m->replica_restart_every_us > 0 && m->store != SIM_STORE_PER_REPLICA)
        return fail_at(c, line,
                       "[server]: replica_restart_every applies to store = "
                       "per-replica only");
    return 0;
}

/* Rejects [expect] keys that contradict each other. */
static int check_expect(parse_ctx *c)
{
    const sim_expect *x = &c->sc->expect;

    if (!x->has_outcome)
        return 0;
    if (x->has_rejections && (x->rejections == 0) != x->outcome_fits)
        return fail_at(c, c->expect_line,
                       "[expect]: outcome = %s contradicts rejections = %lld",
                       x->outcome_fits ? "fits" : "rejects",
                       (long long)x->rejections);
    if (x->has_first_rejection &&
        (x->first_rejection_us == INT64_MIN) != x->outcome_fits)
        return fail_at(c, c->expect_line,
                       "[expect]: outcome = %s contradicts first_rejection = %s",
                       x->outcome_fits ? "fits" : "rejects",
                       x->outcome_fits ? "a time" : "none");
    return 0;
}

/* Sets the name from the file name without its directory and ".ini". */
static int default_name(parse_ctx *c)
{
    const char *base = strrchr(c->path, '/');
    char name[SIM_PATH_MAX];
    size_t n;

    base = base != NULL ? base + 1 : c->path;
    n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".ini") == 0)
        n -= 4;
    snprintf(name, sizeof(name), "%.*s", (int)n, base);
    if (!valid_name(name))
        return fail_at(c, 0,
                       "the file name '%s' cannot serve as the scenario name "
                       "(expected " NAME_EXPECTED "): set name in [scenario]",
                       name);
    memcpy(c->sc->name, name, n + 1); /* valid_name: n < SIM_NAME_MAX */
    return 0;
}

static int finish_file(parse_ctx *c)
{
    if (c->nsections == 0)
        return fail_at(c, 0,
                       "no sections: expected [scenario], [limits] and at "
                       "least one [population NAME]");
    if (c->sc->npops == 0)
        return fail_at(c, 0,
                       "no [population NAME] section: a scenario needs at "
                       "least one population of clients");
    if (!c->name_set && default_name(c) != 0)
        return c->status;
    if (build_limits(c) != 0 || check_populations(c) != 0 || check_targets(c) != 0 ||
        check_server(c) != 0)
        return c->status;
    return check_expect(c);
}

/* ------------------------------------------------------------------ */
/* Public functions                                                    */
/* ------------------------------------------------------------------ */

/* Fills the defaults without allocating anything. */
static int init_scenario(sim_scenario *sc, const char *path, rl_error *err)
{
    memset(sc, 0, sizeof(*sc));
    rl_limits_init_defaults(&sc->limits);
    sc->window = rl_window_utc_day();
    sc->policy = RL_POLICY_DEPLOYED;
    sc->days = 1;
    sc->seed = 1;
    sc->start_us = rl_days_from_civil(2025, 1, 1) * RL_US_PER_DAY;
    sc->expect.first_rejection_us = INT64_MIN;
    sc->expect.global_exhausted_us = INT64_MIN;
    if (strlen(path) >= sizeof(sc->path)) {
        rl_error_set(err, "%.100s...: the path is too long (at most %d bytes)",
                     path, SIM_PATH_MAX - 1);
        return RL_ERR_INVALID;
    }
    snprintf(sc->path, sizeof(sc->path), "%s", path);
    return 0;
}

int sim_scenario_parse(sim_scenario *sc, const char *text, size_t len,
                       const char *path, rl_error *err)
{
    parse_ctx c;
    char line[SIM_SCENARIO_LINE_MAX + 1];
    int bad_line;

    if (init_scenario(sc, path, err) != 0)
        return RL_ERR_INVALID;
    memset(&c, 0, sizeof(c));
    c.sc = sc;
    c.path = sc->path;
    c.err = err;
    c.text = text;
    c.len = len;

    /* inih returns the first line it could not parse or whose handler
     * failed.  A syntax error before our own first error wins.
     * NOTE: Debian's inih 55 keeps its options (inline comments, line
     * buffer) in process-wide variables; this parser expects their
     * defaults and does not set them. */
    bad_line = ini_parse_stream(read_line, &c, on_key, &c);
    if (bad_line < 0 && c.status == 0)
        fail_at(&c, 0, "the inih library failed (status %d) while reading "
                       "the file", bad_line);
    if (bad_line > 0 && (c.status == 0 || bad_line < c.err_at)) {
        c.status = 0;
        copy_line(&c, bad_line, line, sizeof(line));
        fail_at(&c, bad_line,
                "'%s': invalid line: expected [section], key = value, or a "
                "comment starting with ';' or '#'",
                line);
    }
    if (c.status == 0 && finish_section(&c) == 0)
        finish_file(&c);

    free(c.lines);
    if (c.status != 0) {
        if (c.status == RL_ERR_NOMEM)
            rl_error_set(err, "%s: out of memory while parsing", sc->path);
        sim_scenario_free(sc);
    }
    return c.status;
}

int sim_scenario_load(sim_scenario *sc, const char *path, rl_error *err)
{
    char why[RL_ERROR_MAX];
    size_t len = 0;
    char *text;
    int rc;

    if (init_scenario(sc, path, err) != 0)
        return RL_ERR_INVALID;
    text = read_file(path, &len, why, sizeof(why));
    if (text == NULL) {
        rl_error_set(err, "%s", why);
        return RL_ERR_INVALID;
    }
    rc = sim_scenario_parse(sc, text, len, path, err);
    free(text);
    return rc;
}

void sim_scenario_free(sim_scenario *sc)
{
    if (sc == NULL)
        return;
    free(sc->pops);
    sc->pops = NULL;
    sc->npops = 0;
}
