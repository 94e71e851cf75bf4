/*
 * lg_evloop.c: epoll and timerfd glue for libcurl's multi socket interface
 * (see lg_evloop.h for why).
 *
 * State per descriptor, in fd_state[fd]:
 *   LG_FD_WANT_IN/OUT  what libcurl asked for last (none after
 *                      CURL_POLL_REMOVE)
 *   LG_FD_REG_IN/OUT   what the descriptor is registered for in epoll
 *   LG_FD_REGISTERED   whether it is in the epoll set at all
 * What always holds: a descriptor libcurl wants is registered for exactly
 * what it wants.  A registered descriptor libcurl does not want is removed
 * on its next event.  libcurl closes sockets through on_close, which
 * clears their state (the kernel drops a closed descriptor from the epoll
 * set), so a reused descriptor number starts unregistered.  Should a state
 * still be stale, EPOLL_CTL_MOD is retried as EPOLL_CTL_ADD and the reverse.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lg_engine.h"
#include "lg_evloop.h"
#include "lg_status.h"

#define LG_FD_WANT_IN 0x01
#define LG_FD_WANT_OUT 0x02
#define LG_FD_REG_IN 0x04
#define LG_FD_REG_OUT 0x08
#define LG_FD_REGISTERED 0x10
#define LG_EVENTS_MAX 64 /* epoll events taken per wake-up */

/* Grows fd_state to cover fd.  Returns 0 or -1 when out of memory. */
static int reserve_fd(lg_evloop *loop, int fd)
{
    if (fd < loop->fd_state_len)
        return 0;
    int len = loop->fd_state_len > 0 ? loop->fd_state_len : 64;
    while (len <= fd)
        len *= 2;
    unsigned char *grown = realloc(loop->fd_state, (size_t)len);
    if (grown == NULL)
        return -1;
    memset(grown + loop->fd_state_len, 0, (size_t)(len - loop->fd_state_len));
    loop->fd_state = grown;
    loop->fd_state_len = len;
    return 0;
}

/* Registers fd for exactly the wanted events; returns epoll_ctl's result. */
static int register_fd(lg_evloop *loop, int fd, unsigned char want)
{
    unsigned char st = loop->fd_state[fd];
    struct epoll_event ev = {.data.fd = fd};
    ev.events = ((want & LG_FD_WANT_IN) ? EPOLLIN : 0u) |
                ((want & LG_FD_WANT_OUT) ? EPOLLOUT : 0u);

    int op = (st & LG_FD_REGISTERED) ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    int rc = epoll_ctl(loop->epoll_fd, op, fd, &ev);
    if (rc < 0 && op == EPOLL_CTL_MOD && errno == ENOENT)
        rc = epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    else if (rc < 0 && op == EPOLL_CTL_ADD && errno == EEXIST)
        rc = epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, fd, &ev);
    if (rc < 0)
        return rc;
    loop->fd_state[fd] = (unsigned char)(want | (want << 2) | LG_FD_REGISTERED);
    return 0;
}

/* CURLMOPT_SOCKETFUNCTION: libcurl reports what it wants of a socket. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *user, void *socketp)
{
    lg_evloop *loop = user;
    (void)easy;
    (void)socketp;
    /* On -1, libcurl (7.85 and later) aborts every transfer of the multi
     * handle, so each ends with an error instead of stalling. */
    if (reserve_fd(loop, fd) < 0)
        return -1;

    unsigned char want = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        want |= LG_FD_WANT_IN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        want |= LG_FD_WANT_OUT;

    unsigned char st = loop->fd_state[fd];
    unsigned char registered_for = (st >> 2) & (LG_FD_WANT_IN | LG_FD_WANT_OUT);
    if (want == 0 || ((st & LG_FD_REGISTERED) && registered_for == want)) {
        /* Nothing to change in epoll: an unwanted socket is removed lazily. */
        loop->fd_state[fd] =
            (unsigned char)((st & ~(LG_FD_WANT_IN | LG_FD_WANT_OUT)) | want);
        return 0;
    }
    return register_fd(loop, fd, want) < 0 ? -1 : 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 deletes libcurl's timer, otherwise it expires
 * in timeout_ms (0: at once). */
static int on_timer(CURLM *multi, long timeout_ms, void *user)
{
    lg_evloop *loop = user;
    (void)multi;
    loop->curl_due_ns =
        timeout_ms < 0 ? -1 : lg_mono_ns() + (int64_t)timeout_ms * 1000000LL;
    return 0;
}

/* CURLOPT_CLOSESOCKETFUNCTION: clears the descriptor's state, then closes
 * it. */
static int on_close(void *user, curl_socket_t fd)
{
    lg_evloop *loop = user;
    if (fd >= 0 && fd < loop->fd_state_len)
        loop->fd_state[fd] = 0;
    return close(fd);
}

void lg_evloop_attach(lg_evloop *loop, CURL *easy)
{
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, on_close);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, loop);
}

int lg_evloop_init(lg_evloop *loop, CURLM *multi)
{
    memset(loop, 0, sizeof(*loop));
    loop->multi = multi;
    loop->curl_due_ns = -1;
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    loop->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (loop->epoll_fd < 0 || loop->timer_fd < 0)
        return LG_ERR_THREAD;

    struct epoll_event ev = {.events = EPOLLIN, .data.fd = loop->timer_fd};
    if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->timer_fd, &ev) < 0)
        return LG_ERR_THREAD;
    if (reserve_fd(loop, loop->timer_fd) < 0)
        return LG_ERR_NOMEM;

    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, loop);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, loop);
    return 0;
}

void lg_evloop_free(lg_evloop *loop)
{
    if (loop->epoll_fd > 0)
        close(loop->epoll_fd);
    if (loop->timer_fd > 0)
        close(loop->timer_fd);
    free(loop->fd_state);
    loop->epoll_fd = -1;
    loop->timer_fd = -1;
    loop->fd_state = NULL;
    loop->fd_state_len = 0;
}

void lg_evloop_set_alarm(lg_evloop *loop, int64_t at_ns)
{
    if (at_ns == loop->alarm_ns)
        return;
    struct itimerspec its = {{0, 0}, {at_ns / 1000000000LL, at_ns % 1000000000LL}};
    timerfd_settime(loop->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
    loop->alarm_ns = at_ns;
}

/* Runs libcurl's timer when it has expired.  The callback may set a new
 * one during the call, so the old one is cleared first. */
static void drive_timer(lg_evloop *loop)
{
    if (loop->curl_due_ns < 0 || lg_mono_ns() < loop->curl_due_ns)
        return;
    loop->curl_due_ns = -1;
    curl_multi_socket_action(loop->multi, CURL_SOCKET_TIMEOUT, 0, &loop->running);
}

/* Milliseconds from now until wake_ns, rounded up, for epoll_wait. */
static int wait_ms(int64_t wake_ns)
{
    int64_t left_ns = wake_ns - lg_mono_ns();
    if (left_ns <= 0)
        return 0;
    int64_t ms = (left_ns + 999999) / 1000000;
    return ms > 1000 ? 1000 : (int)ms;
}

/* Hands one ready descriptor to libcurl, or drops an unwanted one. */
static void dispatch_event(lg_evloop *loop, const struct epoll_event *ev)
{
    int fd = ev->data.fd;
    if (fd == loop->timer_fd) {
        uint64_t expirations;
        if (read(fd, &expirations, sizeof(expirations)) < 0) {
            /* EAGAIN: the expiry was consumed already; nothing to do. */
        }
        loop->alarm_ns = 0;
        return;
    }
    if (fd >= loop->fd_state_len ||
        (loop->fd_state[fd] & (LG_FD_WANT_IN | LG_FD_WANT_OUT)) == 0) {
        epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
        if (fd < loop->fd_state_len)
            loop->fd_state[fd] = 0;
        return;
    }

    int bits = 0;
    if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
        bits |= CURL_CSELECT_IN;
    if (ev->events & EPOLLOUT)
        bits |= CURL_CSELECT_OUT;
    if (ev->events & EPOLLERR)
        bits |= CURL_CSELECT_ERR;
    curl_multi_socket_action(loop->multi, fd, bits, &loop->running);
}

void lg_evloop_run_once(lg_evloop *loop, int64_t until_ns, int in_flight)
{
    drive_timer(loop);

    /* A transfer started just now may have finished already (a fast server
     * on loopback): then only the sockets that are ready now are taken, so
     * that the caller collects it without sleeping. */
    int64_t wake = until_ns;
    if (loop->curl_due_ns >= 0 && loop->curl_due_ns < wake)
        wake = loop->curl_due_ns;
    if (loop->running < in_flight)
        wake = 0;
    struct epoll_event events[LG_EVENTS_MAX];
    int n = epoll_wait(loop->epoll_fd, events, LG_EVENTS_MAX, wait_ms(wake));

    /* libcurl may close and reopen descriptors while handling one event.
     * A later event of this batch for a closed descriptor is dropped, and
     * one for a reused number at worst makes libcurl read into EAGAIN. */
    for (int i = 0; i < n; i++)
        dispatch_event(loop, &events[i]);
    drive_timer(loop);
}
