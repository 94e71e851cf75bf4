/*
 * lg_evloop.h: one worker's event loop, an epoll descriptor driving a
 * libcurl multi handle through its socket interface
 * (curl_multi_socket_action), plus a timerfd for the send schedule.
 *
 * Why not curl_multi_perform and curl_multi_poll: those visit every
 * transfer and poll every socket on each wake-up.  libcurl 7.88 also polls
 * a transfer's socket once more before reading it, unless
 * curl_multi_socket_action passed it that socket's events.  Here libcurl
 * reports the sockets it wants (CURLMOPT_SOCKETFUNCTION) and its timer
 * (CURLMOPT_TIMERFUNCTION), and the loop hands it only the sockets epoll
 * reports ready, with their events.
 *
 * Sockets libcurl no longer wants (an idle keep-alive connection between
 * two requests) stay registered, so a reused connection costs no
 * epoll_ctl calls.  Such a socket is removed from epoll only when an
 * event arrives on it (the server closed it) or libcurl closes it.
 * A loop must be freed after the multi handle's cleanup and its easy
 * handles', because closing their sockets calls back into it.
 *
 * Used by lg_engine.c only.  Not thread-safe: one loop per worker thread.
 */
#ifndef LG_EVLOOP_H
#define LG_EVLOOP_H

#include <stdint.h>

#include <curl/curl.h>

typedef struct lg_evloop {
    CURLM *multi; /* borrowed; must outlive the loop's use */
    int epoll_fd;
    int timer_fd;            /* absolute CLOCK_MONOTONIC alarm */
    int64_t alarm_ns;        /* the timer's expiry, 0 when disarmed */
    int64_t curl_due_ns;     /* when libcurl's timer expires, -1: never */
    unsigned char *fd_state; /* by descriptor: LG_FD_* bits, owned */
    int fd_state_len;
    int running; /* transfers libcurl reported still running */
} lg_evloop;

/* Creates the epoll and timer descriptors and installs the socket and
 * timer callbacks on multi.  Returns 0, LG_ERR_THREAD when a descriptor
 * cannot be created, or LG_ERR_NOMEM.  lg_evloop_free undoes it, also
 * after a failure. */
int lg_evloop_init(lg_evloop *loop, CURLM *multi);

/* Routes the socket closes of an easy handle through the loop, so that a
 * reused descriptor number is not taken for a registered one.  Every easy
 * handle added to the multi handle needs it. */
void lg_evloop_attach(lg_evloop *loop, CURL *easy);

/* Closes the descriptors.  Call after curl_multi_cleanup, which may still
 * report sockets to the loop.  Accepts a loop that was never set up
 * (zeroed, or with both descriptors -1). */
void lg_evloop_free(lg_evloop *loop);

/* Makes the next lg_evloop_run_once return by at_ns (absolute
 * CLOCK_MONOTONIC), to the precision of a timerfd.  Re-arming for the
 * same time costs no system call. */
void lg_evloop_set_alarm(lg_evloop *loop, int64_t at_ns);

/*
 * Lets libcurl run every expired timer (new transfers start this way),
 * waits until a socket is ready, libcurl's timer expires, the alarm fires
 * or until_ns passes (milliseconds precision), then hands the ready
 * sockets to libcurl.  Finished transfers are then in curl_multi_info_read.
 * in_flight is the number of transfers added and not yet removed: when
 * libcurl runs fewer, some have finished and the wait is skipped.
 */
void lg_evloop_run_once(lg_evloop *loop, int64_t until_ns, int in_flight);

#endif
