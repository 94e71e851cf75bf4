/*
 * test_regressions.c: inputs that the fuzz harnesses in tests/fuzz found
 * to crash ratelab or break a promise of a parser, each kept as a test so
 * the fix stays.  A case names the harness and what went wrong; the fix is
 * in the owning module's file.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "rl_time.h"
#include "tst_support.h"

/* fuzz_time: a zone offset moved a time past 9999-12-31T23:59:59Z, which
 * then formatted as year 10000 and did not parse back. */
static void test_iso8601_offset_past_year_9999(void)
{
    static const char *const out_of_range[] = {
        "9999-12-31T23:59:59-00:59",
        "9999-12-31T23:00:00-01:00",
        "0001-01-01T00:00:00+00:01",
        "0001-01-01T13:59:59.999999+14:00",
    };
    for (size_t i = 0; i < sizeof(out_of_range) / sizeof(out_of_range[0]); i++) {
        int64_t t_us = 42;
        rl_error err = {""};
        CU_ASSERT_EQUAL(rl_time_parse_iso8601(out_of_range[i], &t_us, &err), RL_ERR_RANGE);
        CU_ASSERT_EQUAL(t_us, 42);
        CU_ASSERT(tst_contains(err.message, out_of_range[i]));
        CU_ASSERT(tst_contains(err.message, "0001 to 9999"));
    }
}

static void test_iso8601_offset_at_range_edges(void)
{
    char text[RL_ISO8601_MAX];
    int64_t t_us = 0, again = 0;
    rl_error err = {""};

    CU_ASSERT_EQUAL(rl_time_parse_iso8601("9999-12-31T22:59:59.999999-01:00", &t_us, &err),
                    RL_OK);
    rl_time_format_iso8601(t_us, text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, "9999-12-31T23:59:59.999999Z");
    CU_ASSERT_EQUAL(rl_time_parse_iso8601(text, &again, &err), RL_OK);
    CU_ASSERT_EQUAL(again, t_us);

    CU_ASSERT_EQUAL(rl_time_parse_iso8601("0001-01-01T14:00:00+14:00", &t_us, &err), RL_OK);
    rl_time_format_iso8601(t_us, text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, "0001-01-01T00:00:00Z");
}

/*
 * Sends one HTTP/1.1 request with Connection: close to 127.0.0.1:port and
 * reads the response into buf (NUL-terminated) until the server closes,
 * for at most 10 s.  Returns the bytes read, or -1 when it could not send.
 */
static int http_exchange(int port, const char *request, char *buf, size_t len)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {10, 0};
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        send(fd, request, strlen(request), MSG_NOSIGNAL) != (ssize_t)strlen(request)) {
        close(fd);
        return -1;
    }
    while (got < len - 1) {
        ssize_t n = recv(fd, buf + got, len - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    close(fd);
    return (int)got;
}

/* fuzz_server_body: an expiry far in the future (3.5e14 s) overflowed
 * int64 when the success body converted it to microseconds.  It now gets
 * 200 with the expiry capped at the last second of year 9999. */
static void test_serve_huge_expiry_capped(void)
{
    static const char body[] = "{\"coldkey\":\"c\",\"hotkey\":\"regression-h\","
                               "\"signature\":\"sig\",\"expiry\":346323471379200.5932}";
    char listen[64], request[512], response[4096];
    int port = tst_free_port();

    CU_ASSERT_FATAL(port > 0);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    char *argv[] = {(char *)RATELAB_BIN, "serve", "--listen", listen, NULL};
    pid_t pid = tst_spawn(argv, NULL);
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_FATAL(tst_wait_port(port, 10000) == 0);

    snprintf(request, sizeof(request),
             "POST /get-folder-access HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Connection: close\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    CU_ASSERT(http_exchange(port, request, response, sizeof(response)) > 0);
    CU_ASSERT(strncmp(response, "HTTP/1.1 200", 12) == 0);
    CU_ASSERT(tst_contains(response, "\"expiry\":\"9999-12-31T23:59:59Z\""));

    /* The server is still up and stops cleanly. */
    CU_ASSERT_EQUAL(tst_stop(pid, SIGTERM, 10000), 0);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"iso8601 offset past year 9999", test_iso8601_offset_past_year_9999},
        {"iso8601 offset at range edges", test_iso8601_offset_at_range_edges},
        {"serve huge expiry capped", test_serve_huge_expiry_capped},
        CU_TEST_INFO_NULL,
    };
    return tst_main("regressions", NULL, NULL, tests);
}
