/*
 * hostile_server.h: misbehaving HTTP servers on 127.0.0.1 for the hostile
 * suites, each run by one thread with a poll loop.
 *
 * A server waits for the first bytes of each request, then plays its
 * script on that connection: nothing (stall), an RST, garbage, a valid
 * response one byte a second, a response cut short, or a 1 MiB header
 * line.  It serves at most HOSTILE_MAX_CONNS connections at once (more wait
 * in the listen backlog) and stops, closing everything, when
 * hostile_server_stop() is called.  Every loop is bounded by that stop
 * flag and by poll timeouts of HOSTILE_TICK_MS.
 */
#ifndef HOSTILE_SERVER_H
#define HOSTILE_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#define HOSTILE_MAX_CONNS 128
#define HOSTILE_TICK_MS 50
#define HOSTILE_HUGE_HEADER_BYTES (1024 * 1024)

typedef enum hostile_kind {
    HOSTILE_OK = 0,     /* a valid 200 response: the control case */
    HOSTILE_STALL,      /* reads the request, never replies */
    HOSTILE_RESET,      /* reads the request, closes with an RST */
    HOSTILE_GARBAGE,    /* replies with bytes that are not HTTP, closes */
    HOSTILE_TRICKLE,    /* a valid response, one byte a second */
    HOSTILE_CUT,        /* headers announce 100 body bytes, 10 arrive, close */
    HOSTILE_HUGE_HEADER /* a 1 MiB header line, then a valid end */
} hostile_kind;

/* Returns "ok", "stall", "reset", ... ; never NULL. */
const char *hostile_kind_name(hostile_kind kind);

typedef struct hostile_server {
    hostile_kind kind;
    int listen_fd;
    int port;
    pthread_t thread;
    atomic_int stop;
    atomic_int accepted; /* connections accepted so far */
} hostile_server;

/* Listens on 127.0.0.1 on a port the kernel picks and starts the thread.
 * Returns 0, or -1 with errno set. */
int hostile_server_start(hostile_server *s, hostile_kind kind);

/* Stops the thread, closes every connection and the listener. */
void hostile_server_stop(hostile_server *s);

#endif
