/*
 * rpt.h: report writers for simulator results: text and JSON.
 *
 * Reports read sim_result structs (sim.h) and never call back into the
 * simulator.  The text report is for people: its first line is the verdict,
 * e.g.
 *
 *   FITS  five-minute-vs-500: 288 requests/day per miner against 500/day,
 *         headroom 42.4 %                               (one line in output)
 *
 * The JSON document is for programs: {"schema_version": 1, "scenarios":
 * [...]}, one object per run; docs/sim.md lists every field.  Times are
 * ISO-8601 UTC strings (null when the event did not happen), headrooms are
 * fractions (0.424), NaN headrooms (a limit of 0) are null.
 *
 * Errors: functions return 0 or a negative rpt_status.
 */
#ifndef RPT_H
#define RPT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "sim.h"

#define RPT_JSON_SCHEMA_VERSION 1

typedef enum rpt_status {
    RPT_OK = 0,
    RPT_ERR_NOMEM = -1, /* building the report ran out of memory */
    RPT_ERR_IO = -2     /* writing to the stream failed */
} rpt_status;

/* Returns a static description of a status; never NULL. */
const char *rpt_strerror(int status);

/* Writes t_us as an ISO-8601 UTC time, or "none" for SIM_TIME_NONE. */
void rpt_format_time(int64_t t_us, char *buf, size_t len);

/* Returns a new JSON string with t_us as an ISO-8601 UTC time, or JSON
 * null for SIM_TIME_NONE; the caller owns the reference. */
json_t *rpt_json_time(int64_t t_us);

/* Returns the policy a run used, as a scenario's `policy` key or --policy
 * spells it: "deployed", "atomic", "sliding-log", "sliding-window" or
 * "gcra".  Every report names the policy through this function. */
const char *rpt_policy_name(const sim_result *r);

/* Writes the verdict line (no newline) into buf, cut to len bytes.
 * Returns the length snprintf would have written. */
int rpt_text_verdict(const sim_result *r, char *buf, size_t len);

/* Writes the full text report of one run, ending with a newline. */
int rpt_text_write(FILE *out, const sim_result *r);

/* Returns a new JSON object describing one run; the caller owns the
 * reference (json_decref).  NULL when out of memory. */
json_t *rpt_json_scenario(const sim_result *r);

/* Returns a new document {"schema_version": 1, "scenarios": []}; the caller
 * owns it.  NULL when out of memory. */
json_t *rpt_json_document_create(void);

/* Appends one run to a document made by rpt_json_document_create(). */
int rpt_json_document_add(json_t *doc, const sim_result *r);

/* Writes a document, indented, with a final newline. */
int rpt_json_write(FILE *out, const json_t *doc);

#endif
