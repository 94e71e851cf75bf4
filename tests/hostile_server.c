/*
 * hostile_server.c: the misbehaving servers of hostile_server.h.
 *
 * One thread polls the listener and every open connection.  A connection
 * has an output script: bytes to send, how fast (all at once, or one byte
 * per second), and what to do after the last byte (close, RST, or keep the
 * connection open).  The script starts when the first request bytes
 * arrive.  Request bytes are read and discarded all along, so a client
 * that sends a body is never blocked.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <fcntl.h>

#include "hostile_server.h"

typedef enum end_action { END_KEEP = 0, END_CLOSE, END_RESET } end_action;

typedef struct conn {
    int fd;
    int started;   /* the request's first bytes arrived */
    char *out;     /* script bytes, malloc'd */
    size_t out_len;
    size_t out_pos;
    int trickle;   /* 1: one byte per second */
    long next_ms;  /* trickle: when the next byte is due */
    end_action end;
} conn;

static const char ok_response[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                  "Content-Length: 2\r\nConnection: close\r\n\r\n{}";

const char *hostile_kind_name(hostile_kind kind)
{
    static const char *const names[] = {"ok",      "stall", "reset",      "garbage",
                                        "trickle", "cut",   "huge-header"};
    if ((unsigned)kind < sizeof(names) / sizeof(names[0]))
        return names[kind];
    return "unknown";
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Builds a 1 MiB header line between a status line and a valid end. */
static char *huge_header_response(size_t *len)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nX-Huge: ";
    static const char tail[] = "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    size_t n = sizeof(head) - 1 + HOSTILE_HUGE_HEADER_BYTES + sizeof(tail) - 1;
    char *buf = malloc(n);

    if (buf == NULL)
        return NULL;
    memcpy(buf, head, sizeof(head) - 1);
    memset(buf + sizeof(head) - 1, 'a', HOSTILE_HUGE_HEADER_BYTES);
    memcpy(buf + n - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
    *len = n;
    return buf;
}

/* Fills the connection's script for the server's kind; -1 when out of
 * memory. */
static int set_script(conn *c, hostile_kind kind)
{
    static const char garbage[] = "\x16\x03\x01 NOT HTTP \xff\xfe\r\n\r\n\x00\x01 garbage";
    static const char cut[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              "Content-Length: 100\r\n\r\n{\"partial\"";
    const char *text = NULL;
    size_t len = 0;

    c->end = END_CLOSE;
    switch (kind) {
    case HOSTILE_OK:
        text = ok_response, len = sizeof(ok_response) - 1;
        break;
    case HOSTILE_STALL:
        c->end = END_KEEP;
        break;
    case HOSTILE_RESET:
        c->end = END_RESET;
        break;
    case HOSTILE_GARBAGE:
        text = garbage, len = sizeof(garbage) - 1;
        break;
    case HOSTILE_TRICKLE:
        text = ok_response, len = sizeof(ok_response) - 1;
        c->trickle = 1;
        c->next_ms = now_ms();
        break;
    case HOSTILE_CUT:
        text = cut, len = sizeof(cut) - 1;
        break;
    case HOSTILE_HUGE_HEADER:
        c->out = huge_header_response(&c->out_len);
        return c->out != NULL ? 0 : -1;
    }
    if (len > 0) {
        c->out = malloc(len);
        if (c->out == NULL)
            return -1;
        memcpy(c->out, text, len);
        c->out_len = len;
    }
    return 0;
}

static void conn_close(conn *c)
{
    if (c->fd < 0)
        return;
    if (c->end == END_RESET) {
        /* SO_LINGER with a zero timeout makes close() send an RST. */
        struct linger lin = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
    }
    close(c->fd);
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

/* Reads and discards what the client sent; returns -1 when it closed. */
static int drain_input(conn *c, hostile_kind kind)
{
    char buf[4096];

    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0)
            return -1;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        if (!c->started) {
            c->started = 1;
            if (set_script(c, kind) < 0)
                return -1;
        }
    }
    return 0;
}

/* Sends what is due; returns -1 when the connection is done with. */
static int play_script(conn *c)
{
    if (!c->started)
        return 0;
    while (c->out_pos < c->out_len) {
        size_t want = c->out_len - c->out_pos;
        if (c->trickle) {
            if (now_ms() < c->next_ms)
                return 0;
            want = 1;
            c->next_ms += 1000;
        }
        ssize_t n = send(c->fd, c->out + c->out_pos, want, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        c->out_pos += (size_t)n;
    }
    return c->end == END_KEEP ? 0 : -1;
}

static void accept_new(hostile_server *s, conn *conns)
{
    for (int i = 0; i < HOSTILE_MAX_CONNS; i++) {
        if (conns[i].fd >= 0)
            continue;
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            return;
        conns[i].fd = fd;
        atomic_fetch_add(&s->accepted, 1);
    }
}

static void *serve(void *arg)
{
    hostile_server *s = arg;
    conn conns[HOSTILE_MAX_CONNS];
    struct pollfd pfd[HOSTILE_MAX_CONNS + 1];

    memset(conns, 0, sizeof(conns));
    for (int i = 0; i < HOSTILE_MAX_CONNS; i++)
        conns[i].fd = -1;

    while (!atomic_load(&s->stop)) {
        int n = 0;
        pfd[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
        for (int i = 0; i < HOSTILE_MAX_CONNS; i++) {
            if (conns[i].fd < 0)
                continue;
            short events = POLLIN;
            if (conns[i].started && !conns[i].trickle && conns[i].out_pos < conns[i].out_len)
                events |= POLLOUT;
            pfd[n++] = (struct pollfd){.fd = conns[i].fd, .events = events};
        }
        poll(pfd, (nfds_t)n, HOSTILE_TICK_MS);

        accept_new(s, conns);
        for (int i = 0; i < HOSTILE_MAX_CONNS; i++) {
            if (conns[i].fd < 0)
                continue;
            if (drain_input(&conns[i], s->kind) < 0 || play_script(&conns[i]) < 0)
                conn_close(&conns[i]);
        }
    }
    for (int i = 0; i < HOSTILE_MAX_CONNS; i++) {
        conns[i].end = END_CLOSE;
        conn_close(&conns[i]);
    }
    return NULL;
}

int hostile_server_start(hostile_server *s, hostile_kind kind)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    int one = 1;

    memset(s, 0, sizeof(*s));
    s->kind = kind;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s->listen_fd < 0)
        return -1;
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(s->listen_fd, 64) < 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&addr, &len) < 0)
        goto fail;
    s->port = ntohs(addr.sin_port);
    if (pthread_create(&s->thread, NULL, serve, s) != 0)
        goto fail;
    return 0;

fail:
    close(s->listen_fd);
    s->listen_fd = -1;
    return -1;
}

void hostile_server_stop(hostile_server *s)
{
    if (s->listen_fd < 0)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    s->listen_fd = -1;
}
