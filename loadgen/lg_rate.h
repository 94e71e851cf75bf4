/*
 * lg_rate.h: request rates ("2000/s", "500/m", "288/d", "max") and the
 * open-loop schedule they define.
 *
 * A rate is `count` requests per `period_us`.  Request k (0-based) of a run
 * is intended for start + k * period / count, computed from k each time, so
 * rounding never accumulates over a long run.  "max" means closed loop: no
 * schedule, each connection sends its next request when the last completes.
 */
#ifndef LG_RATE_H
#define LG_RATE_H

#include <stdint.h>

#include "rl_status.h"

#define LG_RATE_MAX_PER_SEC 10000000.0 /* above this the clock cannot pace */

typedef struct lg_rate {
    int is_max;        /* 1: "max", closed loop */
    double count;      /* > 0 */
    int64_t period_us; /* 1 s, 1 min, 1 h or 1 day */
} lg_rate;

/*
 * Parses "R", "R/s", "R/m", "R/h", "R/d" (R a positive decimal number such
 * as 2000 or 0.5) or "max".  Returns 0, or LG_ERR_INVALID with err naming
 * the text and the accepted forms.
 */
int lg_rate_parse(const char *text, lg_rate *out, rl_error *err);

/* Requests per second; 0 for "max". */
double lg_rate_per_second(const lg_rate *r);

/* Intended offset of request k from the start, in nanoseconds. */
int64_t lg_rate_offset_ns(const lg_rate *r, int64_t k);

/* Writes "2000/s", "288/d" or "max" into buf. */
void lg_rate_format(const lg_rate *r, char *buf, int len);

#endif
