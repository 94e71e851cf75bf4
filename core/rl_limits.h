/*
 * rl_limits.h: the limits in force and where each value came from.
 *
 * A limit set has named roles (the deployed service has "miner" and
 * "validator"; nothing here is limited to two), each with a per-client limit
 * per window, plus one global total per window shared by every client.
 *
 * Values come from, in increasing precedence: the deployed defaults
 * (DAILY_LIMIT_PER_MINER 20, DAILY_LIMIT_PER_VALIDATOR 10000,
 * TOTAL_DAILY_LIMIT 200000), the process environment, deployment files
 * (dotenv or container task definition), then scenario keys or options.
 * Variable DAILY_LIMIT_PER_<NAME> sets role <name> (lower case);
 * TOTAL_DAILY_LIMIT sets the total.  Other variables are ignored.
 *
 * Parsing is strict on purpose: the deployed service once ignored its
 * variables and nobody noticed.  A value must be a plain decimal integer
 * from 0 to 2^53 (9007199254740992) with no sign, spaces, suffix or
 * exponent; a limit variable set twice in one file is an error.  Every error
 * names the file, the line or JSON path, the variable and the value.
 *
 * The parsers take text, not paths: the core does no file I/O.  The caller
 * reads the file and passes its name for messages.
 */
#ifndef RL_LIMITS_H
#define RL_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "rl_log.h"
#include "rl_status.h"

#define RL_MAX_ROLES 8
#define RL_ROLE_NAME_MAX 32
#define RL_ORIGIN_MAX 256
#define RL_LIMIT_VALUE_MAX 9007199254740992LL /* 2^53: exact in a double */

typedef enum rl_source {
    RL_SOURCE_DEFAULT = 0,
    RL_SOURCE_ENVIRONMENT, /* the process environment */
    RL_SOURCE_FILE,        /* a dotenv or task-definition file */
    RL_SOURCE_SCENARIO,    /* a key in a scenario's [limits] */
    RL_SOURCE_OPTION       /* a command-line option */
} rl_source;

/* One limit value and its origin: "default", "environment", "deploy.env:3"
 * or "task.json: containerDefinitions[0].environment[2]". */
typedef struct rl_limit_value {
    int64_t value;
    rl_source source;
    char origin[RL_ORIGIN_MAX];
} rl_limit_value;

typedef struct rl_role_limit {
    char name[RL_ROLE_NAME_MAX]; /* "miner" */
    rl_limit_value per_client;
} rl_role_limit;

typedef struct rl_limits {
    rl_role_limit roles[RL_MAX_ROLES];
    int nroles;
    rl_limit_value total;
} rl_limits;

/* Fills the deployed defaults: miner 20, validator 10000, total 200000. */
void rl_limits_init_defaults(rl_limits *l);

/* Returns the index of a role, or -1. */
int rl_limits_role_index(const rl_limits *l, const char *name);

/* The role-name rule, for messages: scenario roles and the <NAME> of
 * DAILY_LIMIT_PER_<NAME> (lower-cased) both follow it. */
#define RL_ROLE_NAME_RULE                                                      \
    "a lower-case name of up to 31 letters, digits or '_', starting with a "   \
    "letter, such as miner"

/* Returns 1 when name follows RL_ROLE_NAME_RULE: 1 to RL_ROLE_NAME_MAX - 1
 * bytes, an ASCII lower-case letter first, then ASCII lower-case letters,
 * digits and '_'.  Returns 0 otherwise. */
int rl_limits_role_name_valid(const char *name);

/* Returns the index of a role, adding it (limit 0, source default) when it is
 * new; RL_ERR_RANGE when RL_MAX_ROLES are in use, RL_ERR_INVALID when the
 * name breaks RL_ROLE_NAME_RULE. */
int rl_limits_add_role(rl_limits *l, const char *name);

/* Returns the source name: "default", "environment", "file", "scenario",
 * "option". */
const char *rl_source_name(rl_source s);

/*
 * Parses a limit value strictly (see the header comment).  `what` names the
 * value in the message, e.g. "deploy.env:3: DAILY_LIMIT_PER_MINER".
 */
int rl_limit_parse_value(const char *text, int64_t *out, const char *what,
                         rl_error *err);

/*
 * Sets the limit that `variable` names (DAILY_LIMIT_PER_<ROLE> or
 * TOTAL_DAILY_LIMIT) from a text value.  Returns 1 when it was a limit
 * variable and was set, 0 when the variable is not a limit (ignored), or a
 * negative status on a bad value.
 */
int rl_limits_set_variable(rl_limits *l, const char *variable, const char *value,
                           rl_source source, const char *origin, rl_error *err);

/* Applies the limit variables of an environment block (NULL-terminated
 * "NAME=value" strings, as environ). */
int rl_limits_apply_environment(rl_limits *l, char *const *envp, rl_error *err);

/*
 * Applies a dotenv file's text: KEY=value lines, '#' comments, blank lines,
 * an optional "export " prefix, values in single or double quotes.
 */
int rl_limits_apply_dotenv(rl_limits *l, const char *text, size_t len,
                           const char *filename, rl_error *err);

/*
 * Applies a container task definition (JSON):
 * containerDefinitions[].environment[] {"name", "value"} pairs.  `container`
 * chooses a container by name.  NULL chooses the one container whose
 * environment or secrets name a limit variable: several such containers are
 * an error, and with none the file changes nothing.  "secrets" entries never
 * set a limit.
 */
int rl_limits_apply_taskdef(rl_limits *l, const char *text, size_t len,
                            const char *filename, const char *container,
                            rl_error *err);

/* Applies a deployment file of either kind: JSON when the first
 * non-blank character is '{', dotenv otherwise. */
int rl_limits_apply_file(rl_limits *l, const char *text, size_t len,
                         const char *filename, const char *container,
                         rl_error *err);

/* Returns 1 when rl_limits_apply_file reads text as a task definition
 * (JSON), 0 when it reads it as dotenv. */
int rl_limits_text_is_taskdef(const char *text, size_t len);

/*
 * rl_limits_apply_environment and rl_limits_apply_file with a logger (NULL:
 * none).  Besides applying the limits, they warn at RL_LOG_WARN about input
 * that parses but probably does not do what the operator meant.  Such input
 * is a limit variable in a task definition's "secrets" (its value is not in
 * the file), a name that is a limit only when case is ignored
 * (daily_limit_per_miner), or a file that sets no limit at all.
 */
int rl_limits_apply_environment_logged(rl_limits *l, char *const *envp,
                                       const rl_logger *log, rl_error *err);
int rl_limits_apply_file_logged(rl_limits *l, const char *text, size_t len,
                                const char *filename, const char *container,
                                const rl_logger *log, rl_error *err);

#endif
