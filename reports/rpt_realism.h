/*
 * rpt_realism.h: the parts of the text, Markdown and JSON reports that
 * describe the
 * realism models (sim_realism.h): retries, restarts, attackers' effect on
 * honest clients, replica overshoot, the server's day start, trace replay
 * and the [compare] table.
 *
 * Each function writes nothing (or returns NULL for JSON) when the result
 * did not come from the realism engine, so plain reports stay as they were.
 */
#ifndef RPT_REALISM_H
#define RPT_REALISM_H

#include <stdio.h>

#include <jansson.h>

#include "sim.h"

/* Writes the population's model settings, appended to its header line
 * (", restart every 3h, on_429 retry 1m times 2"), into buf. */
void rpt_realism_describe_population(const sim_pop_result *p, char *buf, size_t len);

/* Writes the population's retry and restart lines (4-space indent). */
void rpt_realism_text_population(FILE *out, const sim_pop_result *p);

/* Writes where the server's day starts in true UTC when that is not
 * midnight (clock_offset or a utc+HH:MM window); also for plain runs. */
void rpt_realism_text_clock(FILE *out, const sim_result *r);

/* Writes, into buf, what the global peak sums when the replicas count in
 * their own memory: "each of the 3 replicas enforces the total on its own
 * counter; the highest one reached 20".  Returns 0 (buf empty) when the
 * run has one counter per window, so the peak is that counter. */
int rpt_realism_replica_counter(const sim_result *r, char *buf, size_t len);

/* Writes the run-wide block: server, clock, honest clients, trace,
 * comparison table (2-space indent). */
void rpt_realism_text(FILE *out, const sim_result *r);

/* Writes, in Markdown, a table of each population's retry, restart and
 * target settings with what they did, when any population has one. */
void rpt_realism_md_populations(FILE *out, const sim_result *r);

/* Writes the clock line of rpt_realism_text_clock() as a paragraph. */
void rpt_realism_md_clock(FILE *out, const sim_result *r);

/* Writes the run-wide block of rpt_realism_text() as paragraphs and a
 * comparison table. */
void rpt_realism_md(FILE *out, const sim_result *r);

/* Returns a new object for the population's models, or NULL when the
 * realism engine did not run (or out of memory: check r->realism.active). */
json_t *rpt_realism_json_population(const sim_result *r, const sim_pop_result *p);

/* Returns a new "realism" object for the run, or NULL (as above). */
json_t *rpt_realism_json(const sim_result *r);

#endif
