/*
 * test_loadgen.c: `ratelab load`, `probe` and `merge` end to end, against
 * `ratelab serve` and small mock servers, all on 127.0.0.1.
 *
 * The mocks run in threads of this process: a "silent" one that accepts
 * connections and never answers, and a "limit" one that answers 200 to the
 * first N requests and 429 after, without X-RateLimit headers and without
 * GET /rate-limits, like a bare deployment.
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "lg_hist.h"
#include "lg_json.h"
#include "lg_stats.h"
#include "tst_support.h"

/* ---- mock servers ----------------------------------------------------- */

/* MOCK_FIXED answers every request with the status in `limit` and counts
 * the POSTs. */
enum { MOCK_SILENT = 0, MOCK_LIMIT = 1, MOCK_FIXED = 2 };
#define MOCK_MAX_FDS 256

typedef struct mock {
    int kind;
    int limit;
    int port;
    int listen_fd;
    pthread_t thread;
    atomic_int stop;
    atomic_int requests;
    int fds[MOCK_MAX_FDS]; /* accepted connections (silent mock) */
    int nfds;
} mock;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads one HTTP request (headers and Content-Length body); 0 at EOF. */
static int read_request(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    for (;;) {
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end != NULL) {
            const char *cl = strstr(buf, "Content-Length:");
            size_t body = cl != NULL && cl < end ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
            size_t need = (size_t)(end + 4 - buf) + body;
            if (len >= need)
                return 1;
        }
        if (len + 1 >= cap)
            return 0;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            return 0;
        len += (size_t)n;
    }
}

static void *limit_connection(void *arg)
{
    void **pair = arg;
    mock *m = pair[0];
    int fd = (int)(intptr_t)pair[1];
    free(pair);
    char buf[8192], reply[512];
    while (read_request(fd, buf, sizeof(buf))) {
        const char *body;
        int status;
        if (m->kind == MOCK_FIXED) {
            if (strncmp(buf, "POST ", 5) == 0)
                atomic_fetch_add(&m->requests, 1);
            status = m->limit;
            body = "{\"detail\":\"fixed\"}";
        } else if (strncmp(buf, "POST ", 5) != 0) {
            status = 404;
            body = "{\"detail\":\"Not Found\"}";
        } else if (atomic_fetch_add(&m->requests, 1) < m->limit) {
            status = 200;
            body = "{\"ok\":true}";
        } else {
            static char detail[64];
            snprintf(detail, sizeof(detail), "{\"detail\":\"Daily limit of %d exceeded.\"}",
                     m->limit);
            status = 429;
            body = detail;
        }
        int n = snprintf(reply, sizeof(reply),
                         "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n\r\n%s",
                         status, strlen(body), body);
        if (send(fd, reply, (size_t)n, MSG_NOSIGNAL) != n)
            break;
    }
    close(fd);
    return NULL;
}

static void mock_accept(mock *m, int fd)
{
    if (m->kind == MOCK_SILENT) {
        if (m->nfds < MOCK_MAX_FDS)
            m->fds[m->nfds++] = fd;
        else
            close(fd);
        return;
    }
    void **pair = malloc(2 * sizeof(void *));
    pthread_t t;
    if (pair == NULL) {
        close(fd);
        return;
    }
    pair[0] = m;
    pair[1] = (void *)(intptr_t)fd;
    if (pthread_create(&t, NULL, limit_connection, pair) != 0) {
        free(pair);
        close(fd);
        return;
    }
    pthread_detach(t);
}

static void *mock_main(void *arg)
{
    mock *m = arg;
    while (!atomic_load(&m->stop)) {
        struct pollfd p = {m->listen_fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(m->listen_fd, NULL, NULL);
        if (fd >= 0)
            mock_accept(m, fd);
    }
    return NULL;
}

static int mock_start(mock *m, int kind, int limit)
{
    memset(m, 0, sizeof(*m));
    m->kind = kind;
    m->limit = limit;
    m->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    if (m->listen_fd < 0 || bind(m->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(m->listen_fd, 64) != 0 ||
        getsockname(m->listen_fd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    m->port = ntohs(a.sin_port);
    return pthread_create(&m->thread, NULL, mock_main, m) == 0 ? 0 : -1;
}

static void mock_stop(mock *m)
{
    atomic_store(&m->stop, 1);
    pthread_join(m->thread, NULL);
    for (int i = 0; i < m->nfds; i++)
        close(m->fds[i]);
    close(m->listen_fd);
}

/* ---- ratelab serve ---------------------------------------------------- */

typedef struct served {
    pid_t pid;
    int port;
    char url[64];
} served;

/* Starts `ratelab serve` with DAILY_LIMIT_PER_MINER set in its environment,
 * the given window and, when log_path is not NULL, an access log there;
 * returns 0 once it accepts connections. */
static int serve_start_logged(served *s, const char *miner_limit, const char *window,
                              const char *log_path)
{
    char listen_arg[64], log_arg[600];
    s->port = tst_free_port();
    snprintf(listen_arg, sizeof(listen_arg), "127.0.0.1:%d", s->port);
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
    snprintf(log_arg, sizeof(log_arg), "--access-log=%s", log_path != NULL ? log_path : "");
    char *argv[] = {RATELAB_BIN, "serve", "--listen", listen_arg, "--window",
                    (char *)window, log_path != NULL ? log_arg : NULL, NULL};
    setenv("DAILY_LIMIT_PER_MINER", miner_limit, 1);
    s->pid = tst_spawn(argv, NULL);
    unsetenv("DAILY_LIMIT_PER_MINER");
    if (s->pid < 0 || tst_wait_port(s->port, 5000) != 0)
        return -1;
    return 0;
}

static int serve_start(served *s, const char *miner_limit, const char *window)
{
    return serve_start_logged(s, miner_limit, window, NULL);
}

static void serve_stop(served *s)
{
    tst_stop(s->pid, SIGTERM, 5000);
}

static json_t *parse_json(const char *text)
{
    return text != NULL ? json_loads(text, 0, NULL) : NULL;
}

static json_int_t json_int_path(json_t *doc, const char *a, const char *b)
{
    json_t *v = json_object_get(doc, a);
    if (b != NULL)
        v = json_object_get(v, b);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static double json_real_of(json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);
    return json_is_number(v) ? json_number_value(v) : -1.0;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (; text != NULL && *text; text++)
        n += *text == '\n';
    return n;
}

/* ---- rate mode -------------------------------------------------------- */

/* Counts the lines of a `ratelab serve` access log
 * ("TIME CLIENT METHOD PATH STATUS HOTKEY LATENCY") that are POSTs, and
 * the distinct hotkeys among them (at most 4096 are told apart). */
static void access_log_counts(const char *path, int *posts, int *hotkeys)
{
    enum { MAX_KEYS = 4096 };
    static char keys[MAX_KEYS][64];
    char line[1024], method[16], hotkey[64];
    int nkeys = 0;
    *posts = 0;
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "%*s %*s %15s %*s %*s %63s", method, hotkey) != 2 ||
            strcmp(method, "POST") != 0)
            continue;
        (*posts)++;
        int seen = 0;
        for (int i = 0; i < nkeys && !seen; i++)
            seen = strcmp(keys[i], hotkey) == 0;
        if (!seen && nkeys < MAX_KEYS)
            snprintf(keys[nkeys++], sizeof(keys[0]), "%s", hotkey);
    }
    if (f != NULL)
        fclose(f);
    *hotkeys = nkeys;
}

static void test_rate_threads_send_distinct_requests(void)
{
    served s;
    tst_output out;
    int posts = 0, hotkeys = 0;
    char log[512];
    snprintf(log, sizeof(log), "%s/access.log", tst_tmpdir());
    CU_ASSERT_FATAL(serve_start_logged(&s, "100000", "utc-day", log) == 0);

    /* 200/s for 2 s is requests 0 .. 399; over 100 clients each hotkey
     * gets 4, whichever of the 4 threads sends them. */
    CU_ASSERT_EQUAL(tst_ratelab(&out, "load", "--target", s.url, "--rate", "200",
                                "--duration", "2s", "--connections", "8", "--threads", "4",
                                "--clients", "100", "--hotkey", "thr", "--json", NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 0);
    json_t *doc = parse_json(out.out);
    CU_ASSERT_EQUAL(json_int_path(doc, "requests", NULL), 400);
    CU_ASSERT_EQUAL(json_int_path(doc, "status", "200"), 400);
    json_decref(doc);
    tst_output_free(&out);
    serve_stop(&s);

    access_log_counts(log, &posts, &hotkeys);
    CU_ASSERT_EQUAL(posts, 400);
    CU_ASSERT_EQUAL(hotkeys, 100);
}

static void test_rate_threads_spend_every_quota(void)
{
    served s;
    tst_output out;
    /* 10 clients with 2 requests each per window: 20 admitted in all when
     * both threads spread their requests over every client. */
    CU_ASSERT_FATAL(serve_start(&s, "2", "utc-day") == 0);
    CU_ASSERT_EQUAL(tst_ratelab(&out, "load", "--target", s.url, "--rate", "100",
                                "--duration", "1s", "--connections", "4", "--threads", "2",
                                "--clients", "10", "--hotkey", "quota", "--json", NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 0);
    json_t *doc = parse_json(out.out);
    CU_ASSERT_EQUAL(json_int_path(doc, "requests", NULL), 100);
    CU_ASSERT_EQUAL(json_int_path(doc, "status", "200"), 20);
    CU_ASSERT_EQUAL(json_int_path(doc, "status", "429"), 80);
    json_decref(doc);
    tst_output_free(&out);
    serve_stop(&s);
}

static void test_rate_elapsed_covers_send_phase(void)
{
    mock m;
    tst_output out;
    char url[64];
    CU_ASSERT_FATAL(mock_start(&m, MOCK_LIMIT, 1000000) == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", m.port);

    /* One request at 0.5/s: the duration bounds the sending phase. */
    CU_ASSERT_EQUAL(tst_ratelab(&out, "load", "--target", url, "--rate", "0.5",
                                "--duration", "1s", "--json", NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 0);
    json_t *doc = parse_json(out.out);
    CU_ASSERT_EQUAL(json_int_path(doc, "requests", NULL), 1);
    CU_ASSERT(json_real_of(doc, "send_seconds") > 0.99);
    CU_ASSERT(json_real_of(doc, "elapsed_seconds") >= json_real_of(doc, "send_seconds"));
    json_decref(doc);
    tst_output_free(&out);

    /* Two requests at 2/s: --max-requests bounds it at 2 intervals. */
    CU_ASSERT_EQUAL(tst_ratelab(&out, "load", "--target", url, "--rate", "2",
                                "--requests", "2", "--threads", "2", "--connections", "2",
                                NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT(tst_contains(out.out, "in 1.00 s"));
    CU_ASSERT(tst_contains(out.out, "target of 2.0/s (100.00 %)"));
    tst_output_free(&out);
    mock_stop(&m);
}

/* ---- probe ------------------------------------------------------------ */

static void test_probe_finds_500_on_serve(void)
{
    served s;
    tst_output out;
    CU_ASSERT_FATAL(serve_start(&s, "500", "utc-day") == 0);

    CU_ASSERT_EQUAL(tst_ratelab(&out, "probe", "--target", s.url, "--json", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    json_t *doc = parse_json(out.out);
    CU_ASSERT_EQUAL(json_int_path(doc, "enforced", NULL), 500);
    CU_ASSERT_EQUAL(json_int_path(doc, "admitted", NULL), 500);
    CU_ASSERT_EQUAL(json_int_path(doc, "header_limit", NULL), 500);
    CU_ASSERT_EQUAL(json_int_path(doc, "detail_limit", NULL), 500);
    CU_ASSERT_EQUAL(json_int_path(doc, "rate_limits_before", "role_limit"), 500);
    CU_ASSERT_EQUAL(json_int_path(doc, "remaining", NULL), 0);
    json_decref(doc);
    tst_output_free(&out);

    /* The "did the deploy take?" failure: one line, expected vs enforced. */
    CU_ASSERT_EQUAL(tst_ratelab(&out, "probe", "--target", s.url, "--expect-limit", "20",
                                NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 1);
    CU_ASSERT(tst_contains(out.err, "expected 20 (--expect-limit), but the endpoint "
                                    "enforces 500"));
    CU_ASSERT(tst_contains(out.out, "MISMATCH"));
    tst_output_free(&out);

    /* The expected limit read from a deployment file, as `ratelab limits`. */
    char *env = tst_write_file(tst_tmpdir(), "deploy.env", "DAILY_LIMIT_PER_MINER=500\n");
    CU_ASSERT_EQUAL(tst_ratelab(&out, "probe", "--target", s.url, "--env", env, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT(tst_contains(out.out, "deploy.env"));
    tst_output_free(&out);
    free(env);
    serve_stop(&s);
}

static void test_probe_limit_zero(void)
{
    served s;
    tst_output out;
    CU_ASSERT_FATAL(serve_start(&s, "0", "utc-day") == 0);

    CU_ASSERT_EQUAL(tst_ratelab(&out, "probe", "--target", s.url, "--expect-limit", "0",
                                NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT(tst_contains(out.out, "enforced    0 requests per window"));
    CU_ASSERT(tst_contains(out.out, "ok          --expect-limit: 0"));
    CU_ASSERT(!tst_contains(out.err, "no quota left"));
    tst_output_free(&out);
    serve_stop(&s);
}

static void test_probe_wrong_target_exits_2(void)
{
    static const int statuses[] = {404, 403, 405, 301, 307};
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        mock m;
        tst_output out;
        char url[64], needle[160];
        CU_ASSERT_FATAL(mock_start(&m, MOCK_FIXED, statuses[i]) == 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", m.port);

        CU_ASSERT_EQUAL(tst_ratelab(&out, "probe", "--target", url, "--max", "50", NULL), 0);
        CU_ASSERT_EQUAL(out.status, 2);
        snprintf(needle, sizeof(needle), "%s/get-folder-access answered %d", url,
                 statuses[i]);
        CU_ASSERT(tst_contains(out.err, needle));
        CU_ASSERT(tst_contains(out.err, "is probably wrong"));
        CU_ASSERT_EQUAL(atomic_load(&m.requests), 1);
        tst_output_free(&out);
        mock_stop(&m);
    }
}

static void test_probe_wording(void)
{
    served s;
    tst_output out;
    CU_ASSERT_FATAL(serve_start(&s, "5", "60s") == 0);
    char *env = tst_write_file(tst_tmpdir(), "mainnet.env", "DAILY_LIMIT_PER_MINER=100\n");

    CU_ASSERT_EQUAL(tst_ratelab(&out, "probe", "--target", s.url, "--env", env, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 1);
    /* A 60 s window is not a day. */
    CU_ASSERT(tst_contains(out.out, "left of 200000 this window"));
    CU_ASSERT(!tst_contains(out.out, "today"));
    /* The source is named once, without a doubled "expected". */
    CU_ASSERT(tst_contains(out.err, "expected 100 ("));
    CU_ASSERT(tst_contains(out.err, "mainnet.env:1), but the endpoint enforces 5"));
    CU_ASSERT(!tst_contains(out.err, "(expected ("));
    tst_output_free(&out);
    free(env);
    serve_stop(&s);
}

static void test_probe_mock_without_headers(void)
{
    mock m;
    tst_output out;
    char url[64];
    CU_ASSERT_FATAL(mock_start(&m, MOCK_LIMIT, 37) == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", m.port);

    /* A fresh hotkey has no earlier usage, so 37 admitted means 37. */
    CU_ASSERT_EQUAL(tst_ratelab(&out, "probe", "--target", url, "--expect-limit", "37",
                                NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT(tst_contains(out.out, "enforced    37"));
    CU_ASSERT(tst_contains(out.out, "GET /rate-limits did not answer"));
    tst_output_free(&out);

    /* A named hotkey's earlier usage is unknown without headers. */
    CU_ASSERT_EQUAL(tst_ratelab(&out, "probe", "--target", url, "--hotkey", "miner-1",
                                NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 1);
    CU_ASSERT(tst_contains(out.err, "no quota left"));
    tst_output_free(&out);
    mock_stop(&m);
}

static void test_probe_bounded_by_max(void)
{
    mock m;
    tst_output out;
    char url[64];
    CU_ASSERT_FATAL(mock_start(&m, MOCK_LIMIT, 1000000) == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", m.port);
    CU_ASSERT_EQUAL(tst_ratelab(&out, "probe", "--target", url, "--max", "25", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 1);
    CU_ASSERT(tst_contains(out.err, "no 429 within 25 requests"));
    CU_ASSERT_EQUAL(atomic_load(&m.requests), 25);
    tst_output_free(&out);
    mock_stop(&m);
}

/* ---- replay ----------------------------------------------------------- */

/* Three miners at a 5-minute cadence for one day: 864 requests, 20 of each
 * client's 288 admitted under miner = 20.  They start together at
 * midnight, so the day's last requests (23:55) leave 5 simulated minutes
 * (35 ms at speed 8640) before the window ends. */
static const char replay_scenario[] = "[scenario]\n"
                                      "start = 2025-01-01T00:00:00Z\n"
                                      "days = 1\n"
                                      "[limits]\n"
                                      "miner = 20\n"
                                      "[population miners]\n"
                                      "count = 3\n"
                                      "cadence = fixed-rate\n"
                                      "interval = 5m\n"
                                      "start = together\n";

static void test_replay_conforms_on_serve(void)
{
    served s;
    tst_output out;
    CU_ASSERT_FATAL(serve_start(&s, "20", "10s") == 0);
    char *ini = tst_write_file(tst_tmpdir(), "five-minute.ini", replay_scenario);

    /* One day in 10 s: speed 86400 / 10 = 8640. */
    CU_ASSERT_EQUAL(tst_ratelab(&out, "load", ini, "--target", s.url, "--speed", "8640",
                                "--json", NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 0);
    json_t *doc = parse_json(out.out);
    json_t *conf = json_object_get(doc, "conformance");
    CU_ASSERT_EQUAL(json_int_path(conf, "requests", NULL), 864);
    CU_ASSERT_EQUAL(json_int_path(conf, "matched", NULL), 864);
    CU_ASSERT_EQUAL(json_int_path(conf, "mismatches", NULL), 0);
    CU_ASSERT_EQUAL(json_int_path(doc, "status", "200"), 60);
    CU_ASSERT_EQUAL(json_int_path(doc, "status", "429"), 804);
    json_t *rows = json_object_get(conf, "per_window");
    CU_ASSERT_EQUAL(json_array_size(rows), 3);
    CU_ASSERT_EQUAL(json_int_path(json_array_get(rows, 0), "observed_admitted", NULL), 20);
    CU_ASSERT_EQUAL(json_int_path(json_array_get(rows, 0), "observed_rejected", NULL), 268);
    json_decref(doc);
    tst_output_free(&out);
    free(ini);
    serve_stop(&s);
}

static void test_replay_mismatch_exits_1(void)
{
    served s;
    tst_output out;
    /* The server enforces 25 where the scenario predicts 20. */
    CU_ASSERT_FATAL(serve_start(&s, "25", "10s") == 0);
    char *ini = tst_write_file(tst_tmpdir(), "five-minute.ini", replay_scenario);

    CU_ASSERT_EQUAL(tst_ratelab(&out, "load", ini, "--target", s.url, "--speed", "8640",
                                NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 1);
    CU_ASSERT(tst_contains(out.out, "15 mismatches"));
    CU_ASSERT(tst_contains(out.out, "DOES NOT CONFORM"));
    CU_ASSERT(tst_contains(out.out, "rejected_client"));
    CU_ASSERT(tst_contains(out.out, "miners-0"));
    CU_ASSERT(tst_contains(out.err, "15 of 864 requests differ"));
    tst_output_free(&out);
    free(ini);
    serve_stop(&s);
}

static void test_replay_checks_server_window(void)
{
    served s;
    tst_output out;
    CU_ASSERT_FATAL(serve_start(&s, "20", "60s") == 0);
    char *ini = tst_write_file(tst_tmpdir(), "five-minute.ini", replay_scenario);

    /* Speed 8640 needs a 10 s window; this server's is a minute. */
    CU_ASSERT_EQUAL(tst_ratelab(&out, "load", ini, "--target", s.url, "--speed", "8640",
                                NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "the server's window is 1m"));
    CU_ASSERT(tst_contains(out.err, "use --speed 1440"));
    CU_ASSERT(tst_contains(out.err, "--window 10s"));
    CU_ASSERT(!tst_contains(out.err, "waiting"));
    tst_output_free(&out);
    free(ini);
    serve_stop(&s);
}

static void test_replay_unreachable_exits_2(void)
{
    tst_output out;
    char url[64];
    char *ini = tst_write_file(tst_tmpdir(), "five-minute.ini", replay_scenario);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", tst_free_port());

    CU_ASSERT_EQUAL(tst_ratelab(&out, "load", ini, "--target", url, "--speed", "8640",
                                NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "is `ratelab serve` running at"));
    CU_ASSERT(tst_contains(out.err, url));
    CU_ASSERT(!tst_contains(out.err, "waiting"));
    tst_output_free(&out);
    free(ini);
}

static void test_replay_without_window_warns(void)
{
    mock m;
    tst_output out;
    char url[64];
    CU_ASSERT_FATAL(mock_start(&m, MOCK_LIMIT, 1000000) == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", m.port);
    char *ini = tst_write_file(tst_tmpdir(), "five-minute.ini", replay_scenario);

    /* Speed 86400 plays the day in 1 s; the mock has no GET /rate-limits. */
    CU_ASSERT_EQUAL(tst_ratelab(&out, "load", ini, "--target", url, "--speed", "86400",
                                NULL),
                    0);
    CU_ASSERT(tst_contains(out.err, "reports no window"));
    CU_ASSERT(tst_contains(out.err, "the server's window must be 1s"));
    CU_ASSERT_EQUAL(atomic_load(&m.requests), 864);
    tst_output_free(&out);
    free(ini);
    mock_stop(&m);
}

static void test_replay_interrupted_reports_so(void)
{
    served s;
    CU_ASSERT_FATAL(serve_start(&s, "20", "10s") == 0);
    const char *dir = tst_tmpdir();
    char *ini = tst_write_file(dir, "five-minute.ini", replay_scenario);
    char result[512], log[512];
    snprintf(result, sizeof(result), "%s/replay.json", dir);
    snprintf(log, sizeof(log), "%s/replay.log", dir);
    char *argv[] = {RATELAB_BIN, "load", ini, "--target", s.url, "--speed", "8640",
                    "--out", result, NULL};

    /* Stopped either while it waits for the boundary or during the day. */
    pid_t load = tst_spawn(argv, log);
    CU_ASSERT_FATAL(load > 0);
    sleep_ms(3000);
    CU_ASSERT_EQUAL(tst_stop(load, SIGTERM, 10000), 1);

    json_t *doc = json_load_file(result, 0, NULL);
    CU_ASSERT_FATAL(doc != NULL);
    json_t *conf = json_object_get(doc, "conformance");
    CU_ASSERT_TRUE(json_is_true(json_object_get(doc, "interrupted")));
    CU_ASSERT_TRUE(json_is_true(json_object_get(conf, "interrupted")));
    CU_ASSERT_TRUE(json_is_false(json_object_get(conf, "conforms")));
    CU_ASSERT_EQUAL(json_int_path(conf, "mismatches", NULL), 0);
    CU_ASSERT(json_int_path(conf, "not_run", NULL) > 0);
    CU_ASSERT(json_real_of(doc, "send_seconds") >= 0);
    CU_ASSERT(json_real_of(doc, "elapsed_seconds") >= json_real_of(doc, "send_seconds"));
    json_decref(doc);

    FILE *f = fopen(log, "r");
    char buf[65536] = "";
    size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    buf[n] = '\0';
    if (f != NULL)
        fclose(f);
    CU_ASSERT(tst_contains(buf, "conformance INTERRUPTED"));
    CU_ASSERT(tst_contains(buf, "the replay was interrupted"));
    CU_ASSERT(!tst_contains(buf, "DOES NOT CONFORM"));
    CU_ASSERT(!tst_contains(buf, "(-"));
    free(ini);
    serve_stop(&s);
}

/* ---- failures --------------------------------------------------------- */

static void test_server_killed_mid_run(void)
{
    served s;
    CU_ASSERT_FATAL(serve_start(&s, "100000", "utc-day") == 0);
    const char *dir = tst_tmpdir();
    char result[512], log[512];
    snprintf(result, sizeof(result), "%s/killed.json", dir);
    snprintf(log, sizeof(log), "%s/killed.log", dir);
    char *argv[] = {RATELAB_BIN, "load", "--target", s.url, "--rate", "200/s",
                    "--duration", "3s", "--timeout", "1s", "--clients", "50",
                    "--out", result, NULL};
    pid_t load = tst_spawn(argv, log);
    CU_ASSERT_FATAL(load > 0);

    sleep_ms(1000);
    tst_stop(s.pid, SIGKILL, 5000);
    /* 3 s of sending plus at most 1 s of drain; anything near 20 s is a hang. */
    CU_ASSERT_EQUAL(tst_stop(load, 0, 20000), 0);

    json_t *doc = json_load_file(result, 0, NULL);
    CU_ASSERT_FATAL(doc != NULL);
    CU_ASSERT(json_int_path(doc, "responses", NULL) > 0);
    CU_ASSERT(json_int_path(doc, "errors", "refused") > 0);
    CU_ASSERT(json_real_of(doc, "send_seconds") <= 3.0 + 1e-6);
    CU_ASSERT(json_real_of(doc, "elapsed_seconds") < 3.0 + 1.0 + 1.5);
    CU_ASSERT_EQUAL(json_int_path(doc, "requests", NULL),
                    json_int_path(doc, "responses", NULL) +
                        json_int_path(doc, "errors_total", NULL) +
                        json_int_path(doc, "unfinished", NULL));
    json_decref(doc);
}

/* A server that answers one request with keep-alive, reads a second one
 * on the same connection and dies without answering it: the listening
 * socket is closed first, so nothing accepts connections afterwards. */
typedef struct dying_server {
    int listen_fd;
    int port;
    pthread_t thread;
} dying_server;

static void *dying_main(void *arg)
{
    dying_server *d = arg;
    char buf[8192];
    static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                "Content-Length: 2\r\n\r\n{}";
    struct pollfd p = {d->listen_fd, POLLIN, 0};
    int fd = poll(&p, 1, 10000) == 1 ? accept(d->listen_fd, NULL, NULL) : -1;
    if (fd >= 0 && read_request(fd, buf, sizeof(buf)))
        send(fd, reply, sizeof(reply) - 1, MSG_NOSIGNAL);
    if (fd >= 0)
        read_request(fd, buf, sizeof(buf));
    close(d->listen_fd);
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int dying_start(dying_server *d)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof(a);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Close-on-exec: a ratelab process started meanwhile must not keep
     * the socket open, or its connections would still be accepted. */
    d->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (d->listen_fd < 0 || bind(d->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(d->listen_fd, 8) != 0 ||
        getsockname(d->listen_fd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    d->port = ntohs(a.sin_port);
    return pthread_create(&d->thread, NULL, dying_main, d) == 0 ? 0 : -1;
}

static void test_request_to_dying_server_is_reset(void)
{
    dying_server d;
    tst_output out;
    char url[64];
    CU_ASSERT_FATAL(dying_start(&d) == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", d.port);

    /* 10 requests on one connection: the first answered, the second read
     * by the server as it died (libcurl retries it on a new connection,
     * which is refused), the other 8 refused. */
    CU_ASSERT_EQUAL(tst_ratelab(&out, "load", "--target", url, "--rate", "20",
                                "--duration", "500ms", "--connections", "1", "--timeout",
                                "2s", "--json", NULL),
                    0);
    pthread_join(d.thread, NULL);
    CU_ASSERT_EQUAL(out.status, 0);
    json_t *doc = parse_json(out.out);
    CU_ASSERT_EQUAL(json_int_path(doc, "requests", NULL), 10);
    CU_ASSERT_EQUAL(json_int_path(doc, "responses", NULL), 1);
    CU_ASSERT_EQUAL(json_int_path(doc, "errors", "reset"), 1);
    CU_ASSERT_EQUAL(json_int_path(doc, "errors", "refused"), 8);
    json_decref(doc);
    tst_output_free(&out);
}

static void test_silent_target_times_out(void)
{
    mock m;
    tst_output out;
    char url[64];
    CU_ASSERT_FATAL(mock_start(&m, MOCK_SILENT, 0) == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", m.port);

    CU_ASSERT_EQUAL(tst_ratelab(&out, "load", "--target", url, "--rate", "20/s",
                                "--duration", "2s", "--timeout", "500ms",
                                "--connections", "4", "--json", NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 0);
    json_t *doc = parse_json(out.out);
    CU_ASSERT(json_int_path(doc, "errors", "timeout") > 0);
    CU_ASSERT_EQUAL(json_int_path(doc, "responses", NULL), 0);
    /* Four connections, each busy 500 ms per request: the rest never left. */
    CU_ASSERT(json_int_path(doc, "not_sent", NULL) > 0);
    CU_ASSERT(json_real_of(doc, "elapsed_seconds") < 2.0 + 0.5 + 1.5);
    json_decref(doc);
    tst_output_free(&out);
    mock_stop(&m);
}

static void test_interrupt_still_writes_results(void)
{
    served s;
    CU_ASSERT_FATAL(serve_start(&s, "100000", "utc-day") == 0);
    char result[512];
    snprintf(result, sizeof(result), "%s/interrupted.json", tst_tmpdir());
    char *argv[] = {RATELAB_BIN, "load", "--target", s.url, "--rate", "50/s",
                    "--duration", "60s", "--out", result, NULL};
    pid_t load = tst_spawn(argv, NULL);
    CU_ASSERT_FATAL(load > 0);
    sleep_ms(1500);
    CU_ASSERT_EQUAL(tst_stop(load, SIGINT, 10000), 0);

    json_t *doc = json_load_file(result, 0, NULL);
    CU_ASSERT_FATAL(doc != NULL);
    CU_ASSERT_TRUE(json_is_true(json_object_get(doc, "interrupted")));
    CU_ASSERT(json_int_path(doc, "responses", NULL) > 0);
    CU_ASSERT(json_real_of(doc, "send_seconds") < 30.0);
    json_decref(doc);
    serve_stop(&s);
}

/* ---- merge ------------------------------------------------------------ */

static int load_result_file(const char *path, lg_result *r)
{
    rl_error err;
    json_t *doc = json_load_file(path, 0, NULL);
    int rc = doc != NULL && lg_result_init(r) == 0 ? lg_result_from_json(r, doc, path, &err)
                                                   : -1;
    json_decref(doc);
    return rc;
}

static void test_merge_equals_sum_of_runs(void)
{
    served s;
    tst_output out;
    CU_ASSERT_FATAL(serve_start(&s, "100000", "utc-day") == 0);
    const char *dir = tst_tmpdir();
    char a[512], b[512], merged[512];
    snprintf(a, sizeof(a), "%s/a.json", dir);
    snprintf(b, sizeof(b), "%s/b.json", dir);
    snprintf(merged, sizeof(merged), "%s/merged.json", dir);

    CU_ASSERT_EQUAL(tst_ratelab(&out, "load", "--target", s.url, "--rate", "200/s",
                                "--duration", "1s", "--out", a, NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 0);
    tst_output_free(&out);
    CU_ASSERT_EQUAL(tst_ratelab(&out, "load", "--target", s.url, "--rate", "max",
                                "--requests", "3000", "--connections", "4", "--threads",
                                "2", "--out", b, NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 0);
    tst_output_free(&out);
    CU_ASSERT_EQUAL(tst_ratelab(&out, "merge", a, b, "--out", merged, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT(tst_contains(out.out, "(merged)"));
    tst_output_free(&out);

    lg_result ra, rb, rm;
    CU_ASSERT_FATAL(load_result_file(a, &ra) == 0);
    CU_ASSERT_FATAL(load_result_file(b, &rb) == 0);
    CU_ASSERT_FATAL(load_result_file(merged, &rm) == 0);
    CU_ASSERT_EQUAL(rb.stats.sent, 3000);
    CU_ASSERT_EQUAL(rm.stats.sent, ra.stats.sent + rb.stats.sent);
    CU_ASSERT_EQUAL(rm.stats.status[200], ra.stats.status[200] + rb.stats.status[200]);
    CU_ASSERT_EQUAL(rm.runs, 2);
    int same = 1;
    for (int i = 0; i < LG_HIST_COUNTS; i++) {
        same &= rm.stats.latency->counts[i] ==
                ra.stats.latency->counts[i] + rb.stats.latency->counts[i];
        same &= rm.stats.service->counts[i] ==
                ra.stats.service->counts[i] + rb.stats.service->counts[i];
    }
    CU_ASSERT_TRUE(same);
    CU_ASSERT_EQUAL(rm.stats.latency->total, ra.stats.latency->total + rb.stats.latency->total);
    lg_hist_add(ra.stats.latency, rb.stats.latency);
    CU_ASSERT_EQUAL(lg_hist_percentile(rm.stats.latency, 99),
                    lg_hist_percentile(ra.stats.latency, 99));
    lg_result_free(&ra);
    lg_result_free(&rb);
    lg_result_free(&rm);
    serve_stop(&s);
}

/* Writes a small valid result (10 responses: 8 of 200, 2 of 429) with
 * `key` set to `value` (stolen; NULL: unchanged, a JSON path "a.b" reaches
 * one level down) and returns the file's path (caller frees). */
static char *write_result_with(const char *name, const char *key, json_t *value)
{
    lg_result r;
    if (lg_result_init(&r) != 0)
        return NULL;
    r.stats.sent = r.stats.responses = 10;
    r.stats.status[200] = 8;
    r.stats.status[429] = 2;
    for (int i = 0; i < 10; i++) {
        lg_hist_record(r.stats.latency, 1000 + i);
        lg_hist_record(r.stats.service, 900 + i);
    }
    r.send_seconds = r.elapsed_seconds = 1.0;
    snprintf(r.mode, sizeof(r.mode), "rate");
    json_t *doc = lg_result_to_json(&r);
    lg_result_free(&r);
    if (key != NULL) {
        const char *dot = strchr(key, '.');
        if (dot == NULL) {
            json_object_set_new(doc, key, value);
        } else {
            char outer[64];
            snprintf(outer, sizeof(outer), "%.*s", (int)(dot - key), key);
            json_object_set_new(json_object_get(doc, outer), dot + 1, value);
        }
    }
    char *text = json_dumps(doc, 0);
    char *path = tst_write_file(tst_tmpdir(), name, text);
    free(text);
    json_decref(doc);
    return path;
}

static void expect_merge_rejects(const char *key, json_t *value, const char *needle)
{
    tst_output out;
    char *good = write_result_with("good.json", NULL, NULL);
    char *bad = write_result_with("bad.json", key, value);
    CU_ASSERT_FATAL(good != NULL && bad != NULL);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "merge", good, bad, NULL), 0);
    if (out.status != 2 || !tst_contains(out.err, needle))
        fprintf(stderr, "\n%s: status %d, stderr: %s\n", key, out.status, out.err);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "bad.json"));
    CU_ASSERT(tst_contains(out.err, needle));
    CU_ASSERT_STRING_EQUAL(out.out, "");
    tst_output_free(&out);
    free(good);
    free(bad);
}

static void test_merge_rejects_nonsense(void)
{
    tst_output out;
    char *good = write_result_with("control.json", NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "merge", good, good, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    tst_output_free(&out);
    free(good);

    expect_merge_rejects("status.200", json_integer(-8), "status \"200\" is invalid");
    expect_merge_rejects("status.abc", json_integer(1), "status \"abc\" is not a status");
    expect_merge_rejects("status.2x0", json_integer(1), "status \"2x0\" is not a status");
    expect_merge_rejects("status.600", json_integer(1), "status \"600\" is not a status");
    expect_merge_rejects("status.200", json_integer(7),
                         "status counts add up to 9, but responses is 10");
    expect_merge_rejects("errors.reset", json_integer(-1), "errors \"reset\" is invalid");
    expect_merge_rejects("requests", json_integer(-5), "requests is invalid");
    expect_merge_rejects("send_seconds", json_real(-1.5), "send_seconds is invalid");
    expect_merge_rejects("runs", json_integer(0), "runs is invalid");

    json_t *neg_min = json_integer(-3);
    char *bad = write_result_with("hist.json", NULL, NULL);
    json_t *doc = json_load_file(bad, 0, NULL);
    json_object_set_new(json_object_get(json_object_get(doc, "histograms"), "latency"),
                        "min_us", neg_min);
    json_dump_file(doc, bad, 0);
    json_decref(doc);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "merge", bad, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "hist.json: histograms.latency: histogram min_us is "
                                    "invalid"));
    tst_output_free(&out);
    free(bad);
}

/* ---- time series and plots -------------------------------------------- */

static void expect_usage_error(const char *needle, char *const args[]);

static int file_exists_in(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, R_OK) == 0;
}

/* Reads a PNG's width and height from its IHDR chunk; -1 when the file
 * is missing or does not start with the PNG signature. */
static int png_size_of(const char *dir, const char *name, uint32_t *w, uint32_t *h)
{
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[24];
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    size_t n = f != NULL ? fread(head, 1, sizeof(head), f) : 0;
    if (f != NULL)
        fclose(f);
    if (n != sizeof(head) || memcmp(head, signature, 8) != 0)
        return -1;
    *w = (uint32_t)head[16] << 24 | (uint32_t)head[17] << 16 | (uint32_t)head[18] << 8 |
         head[19];
    *h = (uint32_t)head[20] << 24 | (uint32_t)head[21] << 16 | (uint32_t)head[22] << 8 |
         head[23];
    return 0;
}

static int gnuplot_available(void)
{
    return access("/usr/bin/gnuplot", X_OK) == 0 || access("/usr/local/bin/gnuplot", X_OK) == 0;
}

static void test_load_series_and_plots(void)
{
    served s;
    tst_output out;
    CU_ASSERT_FATAL(serve_start(&s, "50", "utc-day") == 0);
    const char *dir = tst_tmpdir();
    char plots[512], result[512];
    snprintf(plots, sizeof(plots), "%s/plots", dir);
    snprintf(result, sizeof(result), "%s/series.json", dir);

    /* 100/s for 3 s: 3 buckets of 1 s with 100 requests each; the hotkey's
     * 50 admitted requests all fall in the first. */
    CU_ASSERT_EQUAL(tst_ratelab(&out, "load", "--target", s.url, "--rate", "100",
                                "--duration", "3s", "--hotkey", "series", "--plot-dir",
                                plots, "--out", result, NULL),
                    0);
    CU_ASSERT_EQUAL(out.status, 0);
    tst_output_free(&out);
    serve_stop(&s);

    json_t *doc = json_load_file(result, 0, NULL);
    json_t *series = json_object_get(doc, "series");
    json_t *buckets = json_object_get(series, "buckets");
    CU_ASSERT_EQUAL(json_real_of(series, "bucket_seconds"), 1.0);
    CU_ASSERT_EQUAL(json_array_size(buckets), 3);
    CU_ASSERT_EQUAL(json_int_path(json_array_get(buckets, 0), "responses", NULL), 100);
    CU_ASSERT_EQUAL(json_int_path(json_array_get(buckets, 0), "status", "2xx"), 50);
    CU_ASSERT_EQUAL(json_int_path(json_array_get(buckets, 0), "status", "429"), 50);
    CU_ASSERT_EQUAL(json_int_path(json_array_get(buckets, 2), "status", "429"), 100);
    CU_ASSERT(json_int_path(json_array_get(buckets, 1), "p99_us", NULL) > 0);
    CU_ASSERT(json_int_path(series, "start_unix_us", NULL) > 0);
    json_decref(doc);

    CU_ASSERT(file_exists_in(plots, "load.csv"));
    CU_ASSERT(file_exists_in(plots, "load-latency.gp"));
    CU_ASSERT(file_exists_in(plots, "load-status.gp"));
    if (gnuplot_available()) {
        static const char *const pngs[] = {"load-latency.png", "load-status.png"};
        for (int i = 0; i < 2; i++) {
            uint32_t w = 0, h = 0;
            CU_ASSERT_EQUAL(png_size_of(plots, pngs[i], &w, &h), 0);
            CU_ASSERT_EQUAL(w, 1000);
            CU_ASSERT_EQUAL(h, 560);
        }
        CU_ASSERT(file_exists_in(plots, "load-status.svg"));
    }

    /* Merge adds the series bucket by bucket. */
    snprintf(plots, sizeof(plots), "%s/merged.json", dir);
    CU_ASSERT_EQUAL(tst_ratelab(&out, "merge", result, result, "--out", plots, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    tst_output_free(&out);
    doc = json_load_file(plots, 0, NULL);
    buckets = json_object_get(json_object_get(doc, "series"), "buckets");
    CU_ASSERT_EQUAL(json_array_size(buckets), 3);
    CU_ASSERT_EQUAL(json_int_path(json_array_get(buckets, 0), "status", "2xx"), 100);
    CU_ASSERT_EQUAL(json_int_path(json_array_get(buckets, 2), "responses", NULL), 200);
    json_decref(doc);
}

static void test_plot_dir_unwritable_exits_2(void)
{
    char *file = tst_write_file(tst_tmpdir(), "plain", "x\n");
    char *args[] = {"load", "--target", "http://127.0.0.1:1", "--rate", "1", "--duration",
                    "1s", "--plot-dir", file, NULL};
    expect_usage_error("is not a writable directory", args);
    free(file);
}

/* ---- bad input -------------------------------------------------------- */

static void expect_usage_error(const char *needle, char *const args[])
{
    tst_output out;
    CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(&out, args), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, needle));
    CU_ASSERT(count_lines(out.err) <= 2); /* the error and "Try 'ratelab help'" */
    CU_ASSERT_STRING_EQUAL(out.out, "");
    tst_output_free(&out);
}

static void test_unwritable_out_sends_nothing(void)
{
    mock m;
    char url[64];
    CU_ASSERT_FATAL(mock_start(&m, MOCK_LIMIT, 1000000) == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", m.port);

    char *args[] = {"load", "--target", url, "--rate", "50", "--duration", "1s",
                    "--out", "/nonexistent/x.json", NULL};
    expect_usage_error("--out: cannot write /nonexistent/x.json", args);
    CU_ASSERT_EQUAL(atomic_load(&m.requests), 0);
    mock_stop(&m);
}

static void test_bad_input_exits_2(void)
{
    char *no_target[] = {"load", "--rate", "10/s", NULL};
    expect_usage_error("--target is required", no_target);
    char *bad_rate[] = {"load", "--target", "http://127.0.0.1:1", "--rate", "fast", NULL};
    expect_usage_error("invalid rate 'fast'", bad_rate);
    char *bad_url[] = {"load", "--target", "127.0.0.1:80", "--rate", "1", NULL};
    expect_usage_error("invalid target", bad_url);
    char *bad_duration[] = {"load", "--target", "http://127.0.0.1:1", "--rate", "1",
                            "--duration", "5", NULL};
    expect_usage_error("--duration", bad_duration);
    char *big_port[] = {"load", "--target", "http://127.0.0.1:99999", "--rate", "1", NULL};
    expect_usage_error("invalid port '99999'", big_port);
    char *zero_port[] = {"load", "--target", "http://127.0.0.1:0/", "--rate", "1", NULL};
    expect_usage_error("invalid port '0'", zero_port);
    char *text_port[] = {"load", "--target", "http://[::1]:http", "--rate", "1", NULL};
    expect_usage_error("invalid port 'http'", text_port);
    char *empty_port[] = {"load", "--target", "http://localhost:/x", "--rate", "1", NULL};
    expect_usage_error("invalid port ''", empty_port);
    char *probe_port[] = {"probe", "--target", "http://127.0.0.1:99999", NULL};
    expect_usage_error("invalid port '99999'", probe_port);
    char *huge_duration[] = {"load", "--target", "http://127.0.0.1:1", "--rate", "1",
                             "--duration", "999999d", NULL};
    expect_usage_error("--duration '999999d': out of range", huge_duration);
    char *huge_timeout[] = {"load", "--target", "http://127.0.0.1:1", "--rate", "1",
                            "--timeout", "999999d", NULL};
    expect_usage_error("--timeout '999999d': out of range", huge_timeout);
    char *probe_timeout[] = {"probe", "--target", "http://127.0.0.1:1", "--timeout",
                             "999999d", NULL};
    expect_usage_error("--timeout '999999d': out of range", probe_timeout);
    char *threads[] = {"load", "--target", "http://127.0.0.1:1", "--rate", "1",
                       "--connections", "2", "--threads", "4", NULL};
    expect_usage_error("fewer than --threads", threads);
    char *replay_rate[] = {"load", "x.ini", "--target", "http://127.0.0.1:1", "--rate",
                           "1", NULL};
    expect_usage_error("exclude each other", replay_rate);
    char *no_result[] = {"merge", "/nonexistent/a.json", NULL};
    expect_usage_error("cannot read /nonexistent/a.json", no_result);
    char *probe_both[] = {"probe", "--target", "http://127.0.0.1:1", "--expect-limit",
                          "5", "--env", "x.env", NULL};
    expect_usage_error("give one of them", probe_both);

    char *not_result = tst_write_file(tst_tmpdir(), "other.json", "{\"a\": 1}\n");
    char *merge_other[] = {"merge", not_result, NULL};
    expect_usage_error("not a ratelab load result", merge_other);
    free(not_result);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"rate threads send distinct requests", test_rate_threads_send_distinct_requests},
        {"rate threads spend every quota", test_rate_threads_spend_every_quota},
        {"probe finds 500 on serve", test_probe_finds_500_on_serve},
        {"rate elapsed covers send phase", test_rate_elapsed_covers_send_phase},
        {"probe limit zero", test_probe_limit_zero},
        {"probe wrong target exits 2", test_probe_wrong_target_exits_2},
        {"probe wording", test_probe_wording},
        {"probe mock without headers", test_probe_mock_without_headers},
        {"probe bounded by --max", test_probe_bounded_by_max},
        {"replay conforms on serve", test_replay_conforms_on_serve},
        {"replay mismatch exits 1", test_replay_mismatch_exits_1},
        {"replay checks server window", test_replay_checks_server_window},
        {"replay unreachable exits 2", test_replay_unreachable_exits_2},
        {"replay without window warns", test_replay_without_window_warns},
        {"replay interrupted reports so", test_replay_interrupted_reports_so},
        {"server killed mid-run", test_server_killed_mid_run},
        {"request to dying server is reset", test_request_to_dying_server_is_reset},
        {"silent target times out", test_silent_target_times_out},
        {"interrupt still writes results", test_interrupt_still_writes_results},
        {"merge equals sum of runs", test_merge_equals_sum_of_runs},
        {"merge rejects nonsense", test_merge_rejects_nonsense},
        {"load series and plots", test_load_series_and_plots},
        {"plot dir unwritable exits 2", test_plot_dir_unwritable_exits_2},
        {"bad input exits 2", test_bad_input_exits_2},
        {"unwritable --out sends nothing", test_unwritable_out_sends_nothing},
        CU_TEST_INFO_NULL,
    };
    return tst_main("loadgen", NULL, NULL, tests);
}
