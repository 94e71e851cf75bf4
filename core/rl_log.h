/*
 * rl_log.h: a logger handle that engines and stores are given.
 *
 * The core writes nothing itself: a component that reports events (a store
 * outage, a server start-up) holds an rl_logger and calls rl_log(), which
 * checks the level before formatting and hands one line to the sink.  The
 * command-line tool installs a sink that writes to stderr; tests install one
 * that captures lines.  A logger with a NULL sink discards everything.
 */
#ifndef RL_LOG_H
#define RL_LOG_H

typedef enum rl_log_level {
    RL_LOG_ERROR = 0,
    RL_LOG_WARN = 1,
    RL_LOG_INFO = 2,
    RL_LOG_DEBUG = 3
} rl_log_level;

typedef void (*rl_log_sink)(void *user, rl_log_level level, const char *line);

typedef struct rl_logger {
    rl_log_sink sink; /* NULL: discard */
    void *user;       /* passed to the sink */
    rl_log_level max_level; /* lines above this level are dropped unformatted */
} rl_logger;

/* Formats one line (without a newline) and passes it to the sink when the
 * level is enabled.  Lines longer than 1 KiB are cut.  `lg` may be NULL. */
void rl_log(const rl_logger *lg, rl_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Returns "error", "warn", "info" or "debug". */
const char *rl_log_level_name(rl_log_level level);

/* Parses those names; -1 when unknown. */
int rl_log_level_parse(const char *text);

#endif
