/*
 * rl_log.c: level check, formatting and hand-off to the logger's sink.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rl_log.h"

void rl_log(const rl_logger *lg, rl_log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    /* Check before formatting: debug lines on hot paths cost nothing when
     * they are off. */
    if (lg == NULL || lg->sink == NULL || level > lg->max_level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    lg->sink(lg->user, level, line);
}

static const char *const level_names[] = {"error", "warn", "info", "debug"};

const char *rl_log_level_name(rl_log_level level)
{
    if ((int)level < 0 || (int)level > RL_LOG_DEBUG)
        return "unknown";
    return level_names[level];
}

int rl_log_level_parse(const char *text)
{
    for (int i = 0; i <= RL_LOG_DEBUG; i++) {
        if (strcmp(text, level_names[i]) == 0)
            return i;
    }
    return -1;
}
