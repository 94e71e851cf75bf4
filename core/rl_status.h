/*
 * rl_status.h: status codes and error messages of the limiter core.
 *
 * Every core function that can fail returns 0 (RL_OK) or a negative
 * rl_status.  Functions that parse user input also fill an rl_error with one
 * human-readable sentence naming the input, the value and what was expected;
 * the CLI prints that sentence as is and exits with status 2.
 */
#ifndef RL_STATUS_H
#define RL_STATUS_H

#include <stddef.h>

typedef enum rl_status {
    RL_OK = 0,
    RL_ERR_NOMEM = -1,       /* an allocation failed */
    RL_ERR_INVALID = -2,     /* bad input; rl_error says which and why */
    RL_ERR_RANGE = -3,       /* a number or time outside its valid range */
    RL_ERR_STORE = -4,       /* the store failed (connection lost, bad reply) */
    RL_ERR_TIMEOUT = -5,     /* the store did not answer in time */
    RL_ERR_STALE_WINDOW = -6 /* a request older than the key's newest window */
} rl_status;

/* Returns a static description of a status code; never NULL. */
const char *rl_strerror(int status);

/* One error sentence, filled by the function that failed. */
#define RL_ERROR_MAX 512
typedef struct rl_error {
    char message[RL_ERROR_MAX];
} rl_error;

/* Formats into err->message (printf-style) when err is not NULL. */
void rl_error_set(rl_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
