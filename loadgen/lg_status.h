/*
 * lg_status.h: status codes of the load generator library (rlload).
 *
 * Every lg_* function that can fail returns 0 (LG_OK) or a negative
 * lg_status.  Functions that parse user input also fill an rl_error with one
 * sentence naming the input, the value and what was expected, which the CLI
 * prints as is before exiting with status 2.
 */
#ifndef LG_STATUS_H
#define LG_STATUS_H

typedef enum lg_status {
    LG_OK = 0,
    LG_ERR_NOMEM = -1,   /* an allocation failed */
    LG_ERR_INVALID = -2, /* bad input; the rl_error says which and why */
    LG_ERR_CURL = -3,    /* libcurl could not be set up */
    LG_ERR_THREAD = -4,  /* a worker thread could not be started */
    LG_ERR_LAYOUT = -5   /* histograms with different bucket layouts */
} lg_status;

/* Returns a static description of a status code; never NULL. */
const char *lg_strerror(int status);

#endif
