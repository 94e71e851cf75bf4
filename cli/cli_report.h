/*
 * cli_report.h: the report options that `ratelab sim` and `ratelab check`
 * share: --format, --out DIR and --junit FILE.
 *
 * A command adds each finished run (its result, its time series when
 * --out asked for plots, an optional one-line note) and calls
 * cli_report_finish() at the end, which prints the chosen stdout format
 * (Markdown, JSON or CSV; text is printed by the command itself as runs
 * end) and writes the --out directory and the JUnit file.  The report owns
 * what is added to it.
 *
 * --out DIR layout: report.md, report.json and summary.csv for all runs,
 * and per scenario DIR/NAME/ with hourly.csv, usage.csv, usage.gp,
 * global.gp, hourly.gp and, when gnuplot ran, their PNG and SVG files.
 */
#ifndef CLI_REPORT_H
#define CLI_REPORT_H

#include <stddef.h>

#include <jansson.h>

#include "sim.h"
#include "sim_series.h"

typedef enum cli_format {
    CLI_FORMAT_TEXT = 0,
    CLI_FORMAT_MD,
    CLI_FORMAT_JSON,
    CLI_FORMAT_CSV
} cli_format;

typedef struct cli_report_run {
    sim_result *result; /* owned */
    sim_series *series; /* owned; NULL without --out */
    char *note;         /* owned; NULL: none */
} cli_report_run;

typedef struct cli_report {
    const char *command; /* "sim", "check": names the JUnit suite */
    cli_format format;
    const char *out_dir;    /* NULL: no --out */
    const char *junit_path; /* NULL: no --junit */
    const char *md_title;   /* NULL: "ratelab COMMAND report" */
    const char *md_intro;   /* NULL: none */
    /* Where the limits came from, named in the plot titles (check: the
     * deployment file); NULL: the scenarios' own limits, not named. */
    const char *limits_from;
    json_t *json_extra;     /* owned; set as "check" in the JSON document */
    sim_request_fn observer; /* NULL, or called for every request as well */
    void *observer_user;
    cli_report_run *runs;
    size_t n, cap;
} cli_report;

/* Parses a --format value; prints a usage error and returns CLI_EXIT_USAGE
 * when it is not text, md, json or csv. */
int cli_format_parse(const char *command, const char *text, cli_format *out);

/* Returns 1 when runs need a time series (--out is set). */
int cli_report_wants_series(const cli_report *rep);

/*
 * Runs one scenario, with a time-series collector when the report wants
 * one.  Returns 0 with *r (and *s, or NULL) set, or CLI_EXIT_USAGE after
 * printing the error.  The caller owns both.
 */
int cli_report_run_scenario(const cli_report *rep, const sim_scenario *sc,
                            const sim_config *cfg, sim_result **r, sim_series **s);

/* A growing list of malloc'd scenario paths. */
typedef struct cli_path_list {
    char **paths;
    size_t n, cap;
} cli_path_list;

/*
 * Expands arguments into scenario files: a regular file stands for itself,
 * a directory for the *.ini files directly in it (sorted by name; hidden
 * files and names not ending in .ini are skipped).  A *.ini entry that
 * cannot be read (a dangling link, no permission), whose path is longer
 * than SIM_PATH_MAX - 1 bytes, or that is not a regular file is an error,
 * as is an argument that is neither a file nor a directory.  Returns 0, or
 * -1 after printing the error naming the entry.
 */
int cli_collect_scenarios(cli_path_list *l, int argc, char *const *argv);
void cli_path_list_free(cli_path_list *l);

/* Adds a run; takes ownership of all three (note may be NULL).  Returns 0,
 * or CLI_EXIT_USAGE when out of memory (the arguments are freed). */
int cli_report_add(cli_report *rep, sim_result *r, sim_series *s, char *note);

/* Prints the stdout format and writes --out and --junit.  Returns 0, or
 * CLI_EXIT_USAGE after printing what could not be written. */
int cli_report_finish(cli_report *rep);

/* Frees every run and json_extra; the struct itself is the caller's. */
void cli_report_free(cli_report *rep);

#endif
