/*
 * cli.h: the `ratelab` command's subcommands and shared helpers.
 *
 * Each subcommand lives in cmd_<name>.c and has the signature of
 * cli_command_fn.  Exit statuses are the same everywhere: 0 success, 1 a
 * check failed (an expectation, a conformance mismatch, a threshold), 2 bad
 * input or a usage error, with one message on stderr saying what, where and
 * what to do next.
 */
#ifndef CLI_H
#define CLI_H

#include <stddef.h>
#include <stdint.h>

#include "rl_log.h"
#include "rl_limits.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILED 1
#define CLI_EXIT_USAGE 2

typedef int (*cli_command_fn)(int argc, char **argv);

typedef struct cli_command {
    const char *name;
    const char *summary; /* one line for `ratelab help` */
    const char *usage;   /* full help text for `ratelab help NAME` */
    cli_command_fn run;
} cli_command;

/* Subcommands, each defined by its cmd_*.c file. */
extern const cli_command cli_cmd_sim;
extern const cli_command cli_cmd_limits;
extern const cli_command cli_cmd_check;
extern const cli_command cli_cmd_sweep;
extern const cli_command cli_cmd_serve;
extern const cli_command cli_cmd_load;
extern const cli_command cli_cmd_probe;
extern const cli_command cli_cmd_merge;
extern const cli_command cli_cmd_store_bench;

/* Prints "ratelab: <message>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints the error and "Try 'ratelab help <command>'." and returns
 * CLI_EXIT_USAGE, for option errors. */
int cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parses a plain decimal integer from 0 to 18446744073709551615: digits
 * only, no sign, spaces or suffix.  Returns 0, or -1 for anything else. */
int cli_parse_u64(const char *text, uint64_t *out);

/* The first occurrence of a single-valued setting, for cli_option_once().
 * Zero-initialized means not given yet. */
typedef struct cli_once {
    const char *option; /* "--format", "--json"; NULL while not given */
    const char *arg;    /* the value as given; NULL for a flag */
    const char *value;  /* the value it sets, compared with later ones */
} cli_once;

/*
 * Records that `option` (with `arg`, or NULL for a flag such as --json)
 * sets a single-valued setting to `value`.  Repeating the same value is
 * accepted.  A different value, from the same option or from a
 * conflicting one (--json after --format md), is a usage error naming
 * both occurrences, because silently keeping the last one lets a stray
 * option change what a run checks.  Returns 0, or CLI_EXIT_USAGE after
 * printing the error.
 */
int cli_option_once(const char *command, cli_once *slot, const char *option,
                    const char *arg, const char *value);

/*
 * Reads a whole file into a NUL-terminated buffer that the caller frees.
 * "-" reads stdin.  On failure prints "ratelab: cannot read PATH: reason"
 * and returns NULL.  Files over max_bytes are rejected with a message.
 */
char *cli_read_file(const char *path, size_t max_bytes, size_t *len_out);

/*
 * Loads limits from the defaults, the process environment and then each
 * --env file in order (a later file overrides an earlier one; a variable
 * set twice within one file is an error).  Prints the error and returns
 * CLI_EXIT_USAGE on bad input, 0 on success.
 */
int cli_load_limits(rl_limits *limits, const char *const *env_files,
                    int n_env_files, const char *container);

/* Returns CLI_EXIT_USAGE, with the error printed, when RATELAB_LOG is set
 * to anything but error, warn, info or debug; 0 otherwise. */
int cli_check_log_level(void);

/* A logger writing "ratelab: level: line" to stderr; level from
 * RATELAB_LOG (error, warn, info, debug; default info). */
const rl_logger *cli_logger(void);

#endif
