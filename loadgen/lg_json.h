/*
 * lg_json.h: load results as JSON and text, and back from JSON for merging.
 *
 * A result file holds the summary a reader wants (requests,
 * requests_per_second, status, errors, latency_us percentiles) and the
 * serialized histograms, so results of runs on several machines merge
 * exactly (`ratelab merge`).  A histogram is stored as
 *   {"layout": {"significant_digits": 3, "lowest_us": 1,
 *               "highest_us": 86400000000, "buckets": 27912},
 *    "total", "min_us", "max_us", "sum_us", "overflow",
 *    "runs": [[first_index, count, count, ...], ...]}
 * where each run lists the counts of consecutive non-empty buckets.
 *
 * Ownership: the *_to_json functions return a new reference the caller
 * releases with json_decref().
 */
#ifndef LG_JSON_H
#define LG_JSON_H

#include <stdio.h>

#include <jansson.h>

#include "lg_hist.h"
#include "lg_stats.h"
#include "rl_status.h"

#define LG_RESULT_FORMAT "ratelab-load-1" /* the "format" key of a result */

json_t *lg_hist_to_json(const lg_hist *h);

/* Adds a serialized histogram's counts into h.  LG_ERR_LAYOUT when the
 * layout differs, LG_ERR_INVALID for a malformed one; `where` names it. */
int lg_hist_from_json(lg_hist *h, const json_t *j, const char *where, rl_error *err);

/* {p50, p90, p99, p999, max, min, mean} in microseconds. */
json_t *lg_latency_summary_json(const lg_hist *h);

json_t *lg_result_to_json(const lg_result *r);

/* Reads a result written by lg_result_to_json into an initialised r. */
int lg_result_from_json(lg_result *r, const json_t *j, const char *where,
                        rl_error *err);

/* Writes a JSON document (indented, newline-terminated) to path, or to
 * stdout when path is NULL or "-".  Returns 0 or LG_ERR_INVALID with err
 * naming the file and the reason. */
int lg_json_write(const json_t *doc, const char *path, rl_error *err);

/* Writes doc to f, which was opened for `path` and is closed here; with
 * path NULL, f is standard output and only flushed.  Returns 0 or
 * LG_ERR_INVALID with err naming the file and the reason. */
int lg_json_write_file(const json_t *doc, FILE *f, const char *path, rl_error *err);

/* Writes the human-readable summary. */
void lg_result_print_text(FILE *out, const lg_result *r);

#endif
