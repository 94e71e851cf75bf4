/*
 * test_hostile_serve.c: `ratelab serve` under idle and slow clients.
 *
 * Idle clients connect and send nothing; slowloris clients send a request
 * one byte a second and never finish it.  While they hold their
 * connections, a normal client must still get its response, because the
 * server's connection cap (--max-connections) and idle timeout
 * (--connection-timeout) keep slots free.  Every client here
 * talks to 127.0.0.1, every wait has a deadline, and the slowloris thread
 * stops after SLOW_MAX_TICKS seconds at most.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
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
#define SLOW_MAX_TICKS 120      /* the slowloris thread's bound, in seconds */
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

/* Opens a TCP connection to 127.0.0.1:port; returns the fd or -1. */
static int connect_local(int port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    /* SO_SNDTIMEO bounds connect() and send() on Linux: a full listen
     * backlog must not block the test. */
    struct timeval tv = {5, 0};

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
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

/* Starts `ratelab serve` on a free port with the extra options given. */
static int serve_start(serve_proc *sp, const char *max_connections, const char *timeout)
{
    char listen[64];

    sp->port = tst_free_port();
    if (sp->port < 0)
        return -1;
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", sp->port);
    snprintf(sp->log_path, sizeof(sp->log_path), "%s/serve.log", tst_tmpdir());
    char *argv[] = {(char *)RATELAB_BIN, "serve", "--listen", listen, "--max-connections",
                    (char *)max_connections, "--connection-timeout", (char *)timeout,
                    NULL};
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
    int fds[SLOW_CLIENTS];
    atomic_int stop;
    atomic_int bytes_sent;
    pthread_t thread;
} slowloris;

static void *slowloris_run(void *arg)
{
    static const char script[] = "POST /get-folder-access HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                 "Content-Type: application/json\r\nX-Slow: "
                                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    slowloris *sl = arg;

    for (int tick = 0; tick < SLOW_MAX_TICKS && tick < (int)sizeof(script) - 1; tick++) {
        for (int i = 0; i < SLOW_CLIENTS; i++) {
            if (sl->fds[i] >= 0 && send(sl->fds[i], script + tick, 1, MSG_NOSIGNAL) == 1)
                atomic_fetch_add(&sl->bytes_sent, 1);
        }
        for (int w = 0; w < 10 && !atomic_load(&sl->stop); w++)
            sleep_ms(100);
        if (atomic_load(&sl->stop))
            break;
    }
    return NULL;
}

static int slowloris_start(slowloris *sl, int port)
{
    memset(sl, 0, sizeof(*sl));
    sl->port = port;
    open_idle(port, sl->fds, SLOW_CLIENTS);
    return pthread_create(&sl->thread, NULL, slowloris_run, sl);
}

static void slowloris_stop(slowloris *sl)
{
    atomic_store(&sl->stop, 1);
    pthread_join(sl->thread, NULL);
    close_all(sl->fds, SLOW_CLIENTS);
}

/* ---- tests ---- */

static void test_serve_idle_and_slowloris_clients(void)
{
    static int idle[IDLE_CLIENTS];
    const char *body = "{\"coldkey\":\"c1\",\"hotkey\":\"hostile-h1\",\"signature\":\"sig\"}";
    serve_proc sp;
    slowloris sl;

    raise_fd_limit();
    CU_ASSERT_FATAL(serve_start(&sp, "1024", "30s") == 0);
    CU_ASSERT_EQUAL(open_idle(sp.port, idle, IDLE_CLIENTS), IDLE_CLIENTS);
    CU_ASSERT_FATAL(slowloris_start(&sl, sp.port) == 0);
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
    for (int i = 0; i < n; i++) {
        char c;
        if (fds[i] < 0) {
            closed++;
            continue;
        }
        ssize_t r = recv(fds[i], &c, 1, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            closed++;
    }
    return closed;
}

static void test_serve_cap_and_idle_timeout(void)
{
    static int idle[200];
    const int n = (int)(sizeof(idle) / sizeof(idle[0]));
    serve_proc sp;

    raise_fd_limit();
    CU_ASSERT_FATAL(serve_start(&sp, "50", "2s") == 0);
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

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    CU_TestInfo tests[] = {
        {"serve idle and slowloris clients", test_serve_idle_and_slowloris_clients},
        {"serve cap and idle timeout", test_serve_cap_and_idle_timeout},
        CU_TEST_INFO_NULL,
    };
    return tst_main("hostile_serve", NULL, NULL, tests);
}
