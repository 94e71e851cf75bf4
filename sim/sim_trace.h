/*
 * sim_trace.h: request traces (CSV) replayed through the simulator: what
 * would these limits have done to this traffic?
 *
 * A trace is a CSV file of past requests, one per row, such as one
 * extracted from a server's access logs.  Columns, in this order unless a
 * header row names them:
 *
 *   time     ISO-8601 with a zone ("2025-01-01T00:05:00Z"), or Unix epoch
 *            seconds or milliseconds (digits, optional fraction)
 *   client   the hotkey: 1 to 256 bytes, no comma or quote
 *   role     a role the limits define ("miner", "validator")
 *   auth     optional: "valid" (the default when empty or absent) or
 *            "invalid"
 *
 * The first row is a header when every one of its fields is a column name
 * (any case); it may list the columns in any order, with auth optional, and
 * must name time, client and role.  Blank
 * lines and lines starting with '#' are skipped.  Fields are trimmed of
 * spaces and tabs and are never quoted.
 *
 * Epoch units are chosen once per file, from the first numeric time:
 * below 100000000000 (1e11, which is 5138 in seconds and 1973 in
 * milliseconds) the file is in seconds, otherwise in milliseconds.  A
 * later numeric time on the other side of 1e11 is a bad row, as it would
 * otherwise land decades away.  ISO-8601 and numeric times may be mixed.
 *
 * Rows may come in any order: they are sorted by time, stably, so rows
 * with equal times keep their order in the file, and the replay decides
 * them in that order.
 *
 * Bad rows: by default the first one is an error naming PATH:LINE and the
 * problem; with skip_bad_rows they are counted and left out instead.  A
 * trace without any good row is an error either way.
 *
 * Ownership: sim_trace_parse() returns a trace that sim_trace_destroy()
 * frees (NULL accepted).  The parser reads a buffer and does no I/O, so a
 * fuzzer can call it directly.
 */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "rl_status.h"
#include "sim_scenario.h"

/* Input bounds. */
#define SIM_TRACE_FILE_MAX (256 * 1024 * 1024) /* bytes */
#define SIM_TRACE_LINE_MAX 1024                /* bytes per row */

typedef struct sim_trace sim_trace;

typedef struct sim_trace_row {
    int64_t time_us;
    size_t client; /* index into the trace's clients, grouped by population */
    int64_t line;  /* in the file, for messages */
} sim_trace_row;

/* Parses a CSV trace from a buffer.  `path` names it in messages.  Returns
 * 0 with *out set, RL_ERR_INVALID (err names PATH:LINE), or RL_ERR_NOMEM. */
int sim_trace_parse(const char *text, size_t len, const char *path, int skip_bad_rows,
                    sim_trace **out, rl_error *err);

void sim_trace_destroy(sim_trace *t);

int64_t sim_trace_rows(const sim_trace *t);    /* good rows */
int64_t sim_trace_skipped(const sim_trace *t); /* bad rows left out */
const sim_trace_row *sim_trace_at(const sim_trace *t, int64_t i); /* time order */
size_t sim_trace_clients(const sim_trace *t);
const char *sim_trace_client_id(const sim_trace *t, size_t client);
/* Bytes of every client id with its NUL, for the engine's id buffer. */
size_t sim_trace_id_bytes(const sim_trace *t);

/*
 * Builds the scenario that replays a trace into *out: the limits, window,
 * policy, server models, seed and [expect] of `base` (its populations and
 * client models are ignored), one population per (role, auth) pair of the
 * trace named after the role ("miner", "miner-invalid"), and a run from
 * the UTC midnight before the first row to the first midnight after the
 * last.  `trace` is borrowed and must outlive *out; free *out with
 * sim_scenario_free().  Returns 0, RL_ERR_INVALID (a role the limits do not
 * define, naming the first line that uses it; a trace over 3660 days) or
 * RL_ERR_NOMEM.
 */
int sim_trace_scenario(const sim_trace *trace, const sim_scenario *base,
                       sim_scenario *out, rl_error *err);

#endif
