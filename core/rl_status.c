/*
 * rl_status.c: descriptions of status codes, and the error-sentence setter.
 */
#include <stdarg.h>
#include <stdio.h>

#include "rl_status.h"

const char *rl_strerror(int status)
{
    switch (status) {
    case RL_OK:
        return "success";
    case RL_ERR_NOMEM:
        return "out of memory";
    case RL_ERR_INVALID:
        return "invalid input";
    case RL_ERR_RANGE:
        return "value out of range";
    case RL_ERR_STORE:
        return "store unavailable";
    case RL_ERR_TIMEOUT:
        return "store timed out";
    case RL_ERR_STALE_WINDOW:
        return "request is older than the counter's current window";
    default:
        return "unknown error";
    }
}

void rl_error_set(rl_error *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}
