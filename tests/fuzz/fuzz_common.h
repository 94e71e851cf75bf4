/*
 * fuzz_common.h: what the libFuzzer harnesses share.
 *
 * Each harness copies libFuzzer's bytes into a buffer of exactly the input's
 * size (fuzz_copy) or with one NUL after it (fuzz_cstring), so
 * AddressSanitizer catches a parser that reads past the length it was given.
 * Besides crashes, the harnesses abort on broken promises of the parsers:
 * a failure without an error message, or a value that does not survive a
 * format-and-parse round trip.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_status.h"

/* Returns a malloc'd copy of the input without a terminator (caller frees);
 * NULL when out of memory.  A zero-size input gets a one-byte buffer. */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
    char *buf = malloc(size > 0 ? size : 1);
    if (buf != NULL && size > 0)
        memcpy(buf, data, size);
    return buf;
}

/* Returns a malloc'd NUL-terminated copy (caller frees), or NULL when the
 * input contains a NUL byte (C-string parsers never see one) or memory is
 * short. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    if (memchr(data, '\0', size) != NULL)
        return NULL;
    char *buf = malloc(size + 1);
    if (buf != NULL) {
        memcpy(buf, data, size);
        buf[size] = '\0';
    }
    return buf;
}

/* Aborts with a message: libFuzzer saves the input as a crash. */
#define FUZZ_CHECK(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz check failed: %s: ", #cond);                 \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* A failed parse must explain itself in one message. */
#define FUZZ_CHECK_ERROR(rc, err)                                              \
    FUZZ_CHECK((rc) == 0 || (err).message[0] != '\0',                          \
               "status %d without an error message", (rc))

#endif
