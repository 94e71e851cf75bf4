/*
 * test_hostile_serve.c: `ratelab serve` under idle and slow clients.
 *
 * Idle clients connect and send nothing; slowloris clients send a request
 * one byte a second and never finish it, and some reconnect when the
 * server closes them.  While they hold their connections, a normal client
 * must still get its response, because the server's connection cap
 * (--max-connections), per-address cap (--max-connections-per-ip), idle
 * timeout (--connection-timeout) and whole-request deadline
 * (--request-timeout) keep slots free.  Every client here talks to
 * 127.0.0.1 or 127.0.0.2, every wait has a deadline, and a slowloris
 * thread stops after SLOW_MAX_TICKS seconds at most.  The time bounds are
 * the server's timeouts plus margins of many seconds, so a loaded machine
 * does not fail them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tst_support.h"

#define IDLE_CLIENTS 500
#define SLOW_CLIENTS 50
#define SLOW_CLIENTS_MAX 64
#define SLOW_MAX_TICKS 120      /* the slowloris thread's bound, in seconds */
#define SLOW_MAX_RECONNECTS 20  /* per slowloris client */
#define REQUEST_DEADLINE_MS 10000 /* one normal request, connect to reply */
#define RECOVERY_DEADLINE_MS 30000

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Opens a TCP connection from the loopback address `source` (host byte
 * order, e.g. 127.0.0.2) to 127.0.0.1:port; returns the fd or -1. */
static int connect_from(int port, uint32_t source)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct sockaddr_in src = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    /* SO_SNDTIMEO bounds connect() and send() on Linux: a full listen
     * backlog must not block the test. */
    struct timeval tv = {5, 0};

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    src.sin_addr.s_addr = htonl(source);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
        connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int connect_local(int port)
{
    return connect_from(port, INADDR_LOOPBACK);
}

/*
 * Sends one complete request and reads until the server closes the
 * connection or deadline_ms passes.  Returns the HTTP status, or -1 when
 * there was no status line in time.
 */
static int http_request(int port, const char *method, const char *path, const char *body,
                        int deadline_ms)
{
    char req[1024], resp[4096];
    size_t got = 0;
    int status = -1;
    long deadline = now_ms() + deadline_ms;
    int fd = connect_local(port);

    if (fd < 0)
        return -1;
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, strlen(body), body);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        goto out;
    while (got < sizeof(resp) - 1 && now_ms() < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t r = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    resp[got] = '\0';
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
out:
    close(fd);
    return status;
}

/* Retries a GET until it returns 200 or deadline_ms passes; returns the
 * last status. */
static int get_until_ok(int port, const char *path, int deadline_ms)
{
    long deadline = now_ms() + deadline_ms;
    int status = -1;

    while (now_ms() < deadline) {
        status = http_request(port, "GET", path, "", REQUEST_DEADLINE_MS);
        if (status == 200)
            break;
        sleep_ms(250);
    }
    return status;
}

/* Raises the open-file limit to its hard maximum for the many sockets. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

typedef struct serve_proc {
    pid_t pid;
    int port;
    char log_path[512];
} serve_proc;

/* Starts `ratelab serve` on a free port with the extra options given
 * (NULL-terminated, at most 12). */
static int serve_start(serve_proc *sp, const char *arg, ...)
{
    char listen[64];
    char *argv[20] = {(char *)RATELAB_BIN, "serve", "--listen", listen};
    int n = 4;
    va_list ap;

    sp->port = tst_free_port();
    if (sp->port < 0)
        return -1;
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", sp->port);
    snprintf(sp->log_path, sizeof(sp->log_path), "%s/serve.log", tst_tmpdir());
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < 16; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    sp->pid = tst_spawn(argv, sp->log_path);
    if (sp->pid < 0)
        return -1;
    if (tst_wait_port(sp->port, 10000) != 0) {
        tst_stop(sp->pid, SIGKILL, 1000);
        return -1;
    }
    return 0;
}

/* Opens up to n idle connections into fds (-1 where connect failed);
 * returns how many opened. */
static int open_idle(int port, int *fds, int n)
{
    int opened = 0;
    for (int i = 0; i < n; i++) {
        fds[i] = connect_local(port);
        opened += fds[i] >= 0;
    }
    return opened;
}

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* ---- slowloris clients: one byte a second each, never a whole request ---- */

typedef struct slowloris {
    int port;
    int n;              /* clients, at most SLOW_CLIENTS_MAX */
    uint32_t source;    /* their loopback address, host byte order */
    int reconnect;      /* 1: reconnect when the server closes one */
    int fds[SLOW_CLIENTS_MAX];
    int sent[SLOW_CLIENTS_MAX];       /* bytes sent on the current connection */
    int reconnects[SLOW_CLIENTS_MAX];
    atomic_int stop;
    atomic_int bytes_sent;
    atomic_int closed_by_server; /* connections the server closed */
    pthread_t thread;
} slowloris;

/* Returns 1 when the server has closed fd (end-of-file or reset). */
static int closed_by_server(int fd)
{
    char c;
    ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Returns byte i of an endless request: a request line and headers, then
 * one header value that never ends. */
static char slow_byte(int i)
{
    static const char script[] = "POST /get-folder-access HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                 "Content-Type: application/json\r\nX-Slow: ";
    return i < (int)sizeof(script) - 1 ? script[i] : 'a';
}

/* Sends client i its next byte; reconnects it first when the server has
 * closed it and reconnecting is on. */
static void slow_tick(slowloris *sl, int i)
{
    if (sl->fds[i] >= 0 && closed_by_server(sl->fds[i])) {
        atomic_fetch_add(&sl->closed_by_server, 1);
        close(sl->fds[i]);
        sl->fds[i] = -1;
        if (!sl->reconnect || sl->reconnects[i] >= SLOW_MAX_RECONNECTS)
            return;
        sl->reconnects[i]++;
        sl->fds[i] = connect_from(sl->port, sl->source);
        sl->sent[i] = 0;
    }
    if (sl->fds[i] >= 0 && send(sl->fds[i], &(char){slow_byte(sl->sent[i])}, 1,
                                MSG_NOSIGNAL) == 1) {
        sl->sent[i]++;
        atomic_fetch_add(&sl->bytes_sent, 1);
    }
}

static void *slowloris_run(void *arg)
{
    slowloris *sl = arg;

    for (int tick = 0; tick < SLOW_MAX_TICKS && !atomic_load(&sl->stop); tick++) {
        for (int i = 0; i < sl->n; i++)
            slow_tick(sl, i);
        for (int w = 0; w < 10 && !atomic_load(&sl->stop); w++)
            sleep_ms(100);
    }
    return NULL;
}

/* Connects n slowloris clients from `source` and starts their thread. */
static int slowloris_start(slowloris *sl, int port, int n, uint32_t source, int reconnect)
{
    memset(sl, 0, sizeof(*sl));
    sl->port = port;
    sl->n = n < SLOW_CLIENTS_MAX ? n : SLOW_CLIENTS_MAX;
    sl->source = source;
    sl->reconnect = reconnect;
    for (int i = 0; i < sl->n; i++)
        sl->fds[i] = connect_from(port, source);
    return pthread_create(&sl->thread, NULL, slowloris_run, sl);
}

static void slowloris_stop(slowloris *sl)
{
    atomic_store(&sl->stop, 1);
    pthread_join(sl->thread, NULL);
    close_all(sl->fds, sl->n);
}

/* ---- tests ---- */

static void test_serve_idle_and_slowloris_clients(void)
{
    static int idle[IDLE_CLIENTS];
    const char *body = "{\"coldkey\":\"c1\",\"hotkey\":\"hostile-h1\",\"signature\":\"sig\"}";
    serve_proc sp;
    slowloris sl;

    raise_fd_limit();
    /* All 550 clients share 127.0.0.1, so the per-address cap is raised to
     * the connection cap; this case is about the cap and the timeouts. */
    CU_ASSERT_FATAL(serve_start(&sp, "--max-connections", "1024", "--max-connections-per-ip",
                                "1024", "--connection-timeout", "30s", NULL) == 0);
    CU_ASSERT_EQUAL(open_idle(sp.port, idle, IDLE_CLIENTS), IDLE_CLIENTS);
    CU_ASSERT_FATAL(slowloris_start(&sl, sp.port, SLOW_CLIENTS, INADDR_LOOPBACK, 0) == 0);
    sleep_ms(2000);

    /* Normal clients, spread over a few seconds of slowloris traffic. */
    for (int round = 0; round < 3; round++) {
        CU_ASSERT_EQUAL(http_request(sp.port, "GET", "/healthcheck", "", REQUEST_DEADLINE_MS),
                        200);
        CU_ASSERT_EQUAL(http_request(sp.port, "GET", "/rate-limits", "", REQUEST_DEADLINE_MS),
                        200);
        CU_ASSERT_EQUAL(http_request(sp.port, "POST", "/get-folder-access", body,
                                     REQUEST_DEADLINE_MS),
                        200);
        sleep_ms(1000);
    }
    CU_ASSERT(atomic_load(&sl.bytes_sent) >= SLOW_CLIENTS * 3);

    slowloris_stop(&sl);
    close_all(idle, IDLE_CLIENTS);
    CU_ASSERT_EQUAL(tst_stop(sp.pid, SIGTERM, 10000), 0);
}

/* Counts the connections the server has closed (EOF or reset). */
static int count_closed_by_server(const int *fds, int n)
{
    int closed = 0;
    for (int i = 0; i < n; i++)
        closed += fds[i] < 0 || closed_by_server(fds[i]);
    return closed;
}

static void test_serve_cap_and_idle_timeout(void)
{
    static int idle[200];
    const int n = (int)(sizeof(idle) / sizeof(idle[0]));
    serve_proc sp;

    raise_fd_limit();
    CU_ASSERT_FATAL(serve_start(&sp, "--max-connections", "50", "--max-connections-per-ip", "50",
                                "--connection-timeout", "2s", NULL) == 0);
    open_idle(sp.port, idle, n);

    /* 200 idle clients against a cap of 50: libmicrohttpd 0.9.75 leaves
     * those over the cap unaccepted and closes each accepted one after 2 s
     * of silence, so within a few timeouts a new client is served. */
    CU_ASSERT_EQUAL(get_until_ok(sp.port, "/healthcheck", RECOVERY_DEADLINE_MS), 200);

    long deadline = now_ms() + RECOVERY_DEADLINE_MS;
    int closed = 0;
    while ((closed = count_closed_by_server(idle, n)) < n && now_ms() < deadline)
        sleep_ms(250);
    CU_ASSERT_EQUAL(closed, n);

    close_all(idle, n);
    CU_ASSERT_EQUAL(tst_stop(sp.pid, SIGTERM, 10000), 0);
}

/* Reads the server's log (caller frees); "" when unreadable. */
static char *read_log(const serve_proc *sp)
{
    FILE *f = fopen(sp->log_path, "r");
    char *text = calloc(1, 65536);
    size_t n = 0;

    if (text == NULL)
        return NULL;
    if (f != NULL) {
        n = fread(text, 1, 65535, f);
        fclose(f);
    }
    text[n] = '\0';
    return text;
}

/* Returns the number the shutdown summary gives for connections closed at
 * the request timeout, or -1 when the summary has no such count. */
static long summary_request_timeouts(const char *log)
{
    const char *p = log != NULL ? strstr(log, " connections closed at the request timeout")
                                : NULL;
    if (p == NULL)
        return -1;
    while (p > log && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return strtol(p, NULL, 10);
}

/* Trickling clients that reconnect whenever they are closed fill every
 * slot of a 20-connection server.  Each of their requests is closed at the
 * 3 s request timeout, so a normal client waiting in the listen backlog
 * gets a slot within a few seconds.  Without the request timeout they
 * would keep every slot for the whole SLOW_MAX_TICKS. */
static void test_request_timeout_frees_slots(void)
{
    const int timeout_s = 3, margin_ms = 15000;
    serve_proc sp;
    slowloris sl;

    raise_fd_limit();
    CU_ASSERT_FATAL(serve_start(&sp, "--max-connections", "20", "--max-connections-per-ip", "20",
                                "--connection-timeout", "5s", "--request-timeout", "3s",
                                NULL) == 0);
    CU_ASSERT_FATAL(slowloris_start(&sl, sp.port, 30, INADDR_LOOPBACK, 1) == 0);
    sleep_ms(1500);

    for (int round = 0; round < 3; round++) {
        long started = now_ms();
        int status = http_request(sp.port, "GET", "/healthcheck", "", timeout_s * 1000 + margin_ms);
        if (status != 200)
            fprintf(stderr, "round %d: status %d after %ld ms\n", round, status,
                    now_ms() - started);
        CU_ASSERT_EQUAL(status, 200);
        sleep_ms(2000); /* let the reconnected clients fill the slots again */
    }
    /* The trickling clients were closed by the server, not by themselves;
     * each notices at its next byte, a second later at most. */
    long deadline = now_ms() + margin_ms;
    while (atomic_load(&sl.closed_by_server) < 20 && now_ms() < deadline)
        sleep_ms(250);
    CU_ASSERT(atomic_load(&sl.closed_by_server) >= 20);
    slowloris_stop(&sl);
    CU_ASSERT_EQUAL(tst_stop(sp.pid, SIGTERM, 10000), 0);

    char *log = read_log(&sp);
    CU_ASSERT_TRUE(tst_contains(log, "sent no complete request within 3s"));
    CU_ASSERT(summary_request_timeouts(log) >= 20);
    free(log);
}

/* 40 trickling clients from 127.0.0.2 against a 30-connection server with
 * 10 connections per address: 10 keep their slots (the timeouts are 60 s),
 * the other 30 are closed at once, and a client from 127.0.0.1 is served. */
static void test_per_ip_cap_leaves_slots(void)
{
    const uint32_t other_address = 0x7f000002u; /* 127.0.0.2 */
    serve_proc sp;
    slowloris sl;

    raise_fd_limit();
    CU_ASSERT_FATAL(serve_start(&sp, "--max-connections", "30", "--max-connections-per-ip", "10",
                                "--connection-timeout", "60s", "--request-timeout", "60s",
                                NULL) == 0);
    CU_ASSERT_FATAL(slowloris_start(&sl, sp.port, 40, other_address, 0) == 0);
    sleep_ms(1500);

    CU_ASSERT_EQUAL(http_request(sp.port, "GET", "/healthcheck", "", REQUEST_DEADLINE_MS), 200);
    long deadline = now_ms() + REQUEST_DEADLINE_MS;
    while (atomic_load(&sl.closed_by_server) < 30 && now_ms() < deadline)
        sleep_ms(250);
    CU_ASSERT_EQUAL(atomic_load(&sl.closed_by_server), 30);

    slowloris_stop(&sl);
    CU_ASSERT_EQUAL(tst_stop(sp.pid, SIGTERM, 10000), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    CU_TestInfo tests[] = {
        {"serve idle and slowloris clients", test_serve_idle_and_slowloris_clients},
        {"serve cap and idle timeout", test_serve_cap_and_idle_timeout},
        {"request timeout frees slots", test_request_timeout_frees_slots},
        {"per-ip cap leaves slots", test_per_ip_cap_leaves_slots},
        CU_TEST_INFO_NULL,
    };
    return tst_main("hostile_serve", NULL, NULL, tests);
}
