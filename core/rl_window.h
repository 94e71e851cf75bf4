/*
 * rl_window.h: the counting windows of a limit.
 *
 * A window maps a time to a window id; counters belong to one window and
 * reset when the next one starts.  Kinds:
 *
 *   utc-day      calendar day in UTC: what the deployed service uses
 *   utc+HH:MM    calendar day at a fixed UTC offset (a server whose local
 *   utc-HH:MM    clock is not on UTC): the day starts at local midnight
 *   DURATION     fixed-length windows aligned on the Unix epoch, e.g. "60s"
 *                for tests that compress a day into a minute
 *
 * For calendar windows the id is the local day number (days since
 * 1970-01-01) and the label is the local date "YYYY-MM-DD", as in the
 * deployed service's Redis keys.  For fixed windows the id is
 * floor(t / length) and the label is that id in decimal.
 *
 * Example: 2025-01-01T01:40:00Z is in utc-day window 20089 ("2025-01-01"),
 * which started at 2025-01-01T00:00:00Z and resets at 2025-01-02T00:00:00Z.
 * At utc-05:00 the same instant is in window 20088 ("2024-12-31"), which
 * resets at 2025-01-01T05:00:00Z.
 */
#ifndef RL_WINDOW_H
#define RL_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "rl_status.h"

typedef enum rl_window_kind {
    RL_WINDOW_CALENDAR_DAY = 0,
    RL_WINDOW_FIXED = 1
} rl_window_kind;

typedef struct rl_window {
    rl_window_kind kind;
    int32_t utc_offset_s; /* calendar days: local time = UTC + offset */
    int64_t length_us;    /* fixed windows: > 0 */
} rl_window;

/* The deployed default: a calendar day in UTC. */
rl_window rl_window_utc_day(void);

/* Parses "utc-day", "utc+05:30", "utc-08:00" (offsets up to 14:00) or a
 * positive duration ("60s", "1h").  Errors name the text. */
int rl_window_parse(const char *text, rl_window *out, rl_error *err);

/* Writes the canonical text form ("utc-day", "utc+05:30"; a fixed window in
 * the duration format, so a 60 s window is "1m"). */
int rl_window_format(const rl_window *w, char *buf, size_t len);

int64_t rl_window_id(const rl_window *w, int64_t t_us);
int64_t rl_window_start_us(const rl_window *w, int64_t id);
/* The end of window id, which is the start of id + 1: the reset time. */
int64_t rl_window_reset_us(const rl_window *w, int64_t id);
int64_t rl_window_length_us(const rl_window *w, int64_t id);

/* Writes the window's key label ("2025-01-01" or "28928160"). */
int rl_window_label(const rl_window *w, int64_t id, char *buf, size_t len);
#define RL_WINDOW_LABEL_MAX 24

#endif
