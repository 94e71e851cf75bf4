/*
 * srv_deadline.c: the whole-request deadline (--request-timeout).
 *
 * libmicrohttpd 0.9.75's connection timeout counts only silence: a client
 * that sends one byte every few seconds keeps its connection for as long
 * as it likes, and at the connection cap it keeps a slot from everyone
 * else.  So every open connection is tracked here with the time by which
 * its current request must have arrived whole (headers and body), and a
 * watchdog thread closes the connections that miss it.
 *
 * What always holds:
 *   - a connection's deadline is armed when it opens and again when a
 *     request on it has completed (the next request of a keep-alive
 *     connection), and disarmed when a request's last byte has arrived.
 *     So a keep-alive connection that sends no whole request within the
 *     timeout after its previous reply is closed as well.
 *   - the watchdog only calls shutdown(2) on a socket, never close(2).
 *     libmicrohttpd then reads end-of-file and closes the connection
 *     through its normal path, calling every completion callback.
 *   - the socket is still open whenever the watchdog touches it:
 *     libmicrohttpd reports MHD_CONNECTION_NOTIFY_CLOSED, which removes
 *     the entry under the list's mutex, before it closes the socket
 *     (daemon.c in 0.9.75 and in later versions).
 *
 * The sweep walks every tracked connection every SRV_DEADLINE_SWEEP_US
 * under the mutex: O(connections) four times a second, which the default
 * cap of 1024 connections keeps cheap.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "srv_internal.h"

/* How often the watchdog looks for expired deadlines: a connection is
 * closed at most this long after its deadline. */
#define SRV_DEADLINE_SWEEP_US (250LL * 1000LL)

struct srv_conn_track {
    srv_conn_track *prev, *next;
    int fd;
    _Atomic int64_t deadline_mono_us; /* 0: disarmed */
};

struct srv_deadlines {
    pthread_mutex_t lock; /* guards the list, stopping and the log state */
    pthread_cond_t wake;  /* signalled to stop the watchdog */
    srv_conn_track head;  /* sentinel of a circular list */
    int stopping;
    int running;
    pthread_t thread;
    int64_t timeout_us;
    const rl_logger *logger;
    atomic_uint_fast64_t closed;
    int64_t log_at_mono_us;  /* when the last "closed" line was written */
    uint64_t closed_logged;  /* closes counted in lines written so far */
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

int srv_deadlines_create(int64_t timeout_us, const rl_logger *logger,
                         srv_deadlines **out)
{
    pthread_condattr_t attr;
    srv_deadlines *d = calloc(1, sizeof(*d));

    *out = NULL;
    if (d == NULL)
        return SRV_ERR_NOMEM;
    d->head.prev = d->head.next = &d->head;
    d->timeout_us = timeout_us;
    d->logger = logger;
    pthread_mutex_init(&d->lock, NULL);
    /* A monotonic wait, so a change of the wall clock cannot stall it. */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&d->wake, &attr);
    pthread_condattr_destroy(&attr);
    *out = d;
    return SRV_OK;
}

/* Shuts down the sockets whose deadline has passed; returns how many.
 * Called with d->lock held. */
static uint64_t close_expired(srv_deadlines *d, int64_t now_us)
{
    uint64_t closed = 0;

    for (srv_conn_track *t = d->head.next; t != &d->head; t = t->next) {
        int64_t deadline = atomic_load(&t->deadline_mono_us);
        if (deadline == 0 || deadline > now_us)
            continue;
        /* Disarm first: one shutdown per miss, even if libmicrohttpd has
         * not closed the connection by the next sweep. */
        if (!atomic_compare_exchange_strong(&t->deadline_mono_us, &deadline, 0))
            continue;
        if (shutdown(t->fd, SHUT_RDWR) == 0 || errno == ENOTCONN)
            closed++;
    }
    return closed;
}

/* Logs the closes at most once per SRV_STORE_LOG_US, with counts, so a
 * flood of slow clients does not flood the log.  Called with d->lock held. */
static void log_closed(srv_deadlines *d, int64_t now_us)
{
    uint64_t total = atomic_load(&d->closed);

    if (total == d->closed_logged || now_us - d->log_at_mono_us < SRV_STORE_LOG_US)
        return;
    rl_log(d->logger, RL_LOG_WARN,
           "serve: closed %llu connection(s) that sent no complete request within "
           "%llds (--request-timeout); %llu since start",
           (unsigned long long)(total - d->closed_logged),
           (long long)(d->timeout_us / 1000000LL), (unsigned long long)total);
    d->closed_logged = total;
    d->log_at_mono_us = now_us;
}

static void *watchdog_run(void *arg)
{
    srv_deadlines *d = arg;

    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        int64_t now_us = mono_us();
        atomic_fetch_add(&d->closed, close_expired(d, now_us));
        log_closed(d, now_us);

        int64_t wake_us = now_us + SRV_DEADLINE_SWEEP_US;
        struct timespec until = {(time_t)(wake_us / 1000000LL),
                                 (long)(wake_us % 1000000LL) * 1000L};
        pthread_cond_timedwait(&d->wake, &d->lock, &until);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

int srv_deadlines_start(srv_deadlines *d)
{
    if (pthread_create(&d->thread, NULL, watchdog_run, d) != 0)
        return SRV_ERR_NOMEM;
    d->running = 1;
    return SRV_OK;
}

void srv_deadlines_stop(srv_deadlines *d)
{
    if (d == NULL || !d->running)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = 1;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    d->running = 0;

    /* The last closes since the previous line, so none goes unreported. */
    pthread_mutex_lock(&d->lock);
    d->log_at_mono_us = 0;
    log_closed(d, mono_us());
    pthread_mutex_unlock(&d->lock);
}

void srv_deadlines_destroy(srv_deadlines *d)
{
    if (d == NULL)
        return;
    srv_deadlines_stop(d);
    /* libmicrohttpd has closed every connection by now, but free any
     * entry it did not report rather than leak it. */
    while (d->head.next != &d->head) {
        srv_conn_track *t = d->head.next;
        d->head.next = t->next;
        free(t);
    }
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

uint64_t srv_deadlines_closed(const srv_deadlines *d)
{
    return d != NULL ? atomic_load(&((srv_deadlines *)d)->closed) : 0;
}

srv_conn_track *srv_deadlines_add(srv_deadlines *d, int fd)
{
    srv_conn_track *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->fd = fd;
    atomic_store(&t->deadline_mono_us, mono_us() + d->timeout_us);

    pthread_mutex_lock(&d->lock);
    t->prev = d->head.prev;
    t->next = &d->head;
    d->head.prev->next = t;
    d->head.prev = t;
    pthread_mutex_unlock(&d->lock);
    return t;
}

void srv_deadlines_remove(srv_deadlines *d, srv_conn_track *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&d->lock);
    t->prev->next = t->next;
    t->next->prev = t->prev;
    pthread_mutex_unlock(&d->lock);
    free(t);
}

void srv_deadlines_arm(srv_deadlines *d, srv_conn_track *t)
{
    if (t != NULL)
        atomic_store(&t->deadline_mono_us, mono_us() + d->timeout_us);
}

void srv_conn_track_disarm(srv_conn_track *t)
{
    if (t != NULL)
        atomic_store(&t->deadline_mono_us, 0);
}
