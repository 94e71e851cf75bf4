/*
 * tst_serve.c: `ratelab serve` processes and a libcurl client for tests.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "tst_serve.h"
#include "tst_support.h"

#define START_ATTEMPTS 3
#define START_TIMEOUT_MS 10000
#define REQUEST_TIMEOUT_MS 10000L

static long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int port_accepts(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    if (fd < 0)
        return 0;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* Waits until the server accepts connections (0) or exits (-1). */
static int wait_ready(tst_serve *s)
{
    long deadline = monotonic_ms() + START_TIMEOUT_MS;
    int wstatus;

    while (monotonic_ms() < deadline) {
        if (waitpid(s->pid, &wstatus, WNOHANG) == s->pid) {
            s->pid = -1;
            return -1;
        }
        if (port_accepts(s->port))
            return 0;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

int tst_serve_start_argv(tst_serve *s, char *const args[])
{
    const char *dir = tst_tmpdir();
    char listen[32];
    char *argv[64];
    int n;

    memset(s, 0, sizeof(*s));
    s->pid = -1;
    if (dir == NULL)
        return -1;
    snprintf(s->log_path, sizeof(s->log_path), "%s/serve.log", dir);

    for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
        s->port = tst_free_port();
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->port);
        n = 0;
        argv[n++] = (char *)RATELAB_BIN;
        argv[n++] = "serve";
        argv[n++] = "--listen";
        argv[n++] = listen;
        for (int i = 0; args[i] != NULL && n < 63; i++)
            argv[n++] = args[i];
        argv[n] = NULL;

        s->pid = tst_spawn(argv, s->log_path);
        if (s->pid > 0 && wait_ready(s) == 0) {
            snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
            return 0;
        }
        if (s->pid > 0)
            tst_stop(s->pid, SIGKILL, 1000);
        s->pid = -1;
    }

    char *log = tst_serve_log(s);
    fprintf(stderr, "ratelab serve did not start; its log:\n%s\n", log);
    free(log);
    return -1;
}

int tst_serve_start(tst_serve *s, const char *arg, ...)
{
    char *args[60];
    int n = 0;
    va_list ap;

    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < 59; a = va_arg(ap, const char *))
        args[n++] = (char *)a;
    va_end(ap);
    args[n] = NULL;
    return tst_serve_start_argv(s, args);
}

int tst_serve_stop(tst_serve *s, int sig)
{
    int status;

    if (s->pid <= 0)
        return -1;
    status = tst_stop(s->pid, sig, 10000);
    s->pid = -1;
    return status;
}

char *tst_serve_log(const tst_serve *s)
{
    FILE *f = fopen(s->log_path, "rb");
    char *buf = NULL;
    size_t len = 0;

    if (f != NULL) {
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        if (size >= 0 && (buf = malloc((size_t)size + 1)) != NULL)
            len = fread(buf, 1, (size_t)size, f);
        fclose(f);
    }
    if (buf == NULL)
        return strdup("");
    buf[len] = '\0';
    return buf;
}

/* ---- HTTP client ---- */

void tst_http_init(void)
{
    static int done;
    if (!done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        done = 1;
    }
}

typedef struct growing {
    char *data;
    size_t len;
} growing;

static size_t append(char *ptr, size_t size, size_t nmemb, void *user)
{
    growing *g = user;
    size_t n = size * nmemb;
    char *bigger = realloc(g->data, g->len + n + 1);

    if (bigger == NULL)
        return 0;
    memcpy(bigger + g->len, ptr, n);
    g->len += n;
    bigger[g->len] = '\0';
    g->data = bigger;
    return n;
}

int tst_http_send(tst_http_reply *out, const char *method, const char *url,
                  const char *body, size_t body_len, const char *const *extra_headers)
{
    growing b = {NULL, 0}, h = {NULL, 0};
    struct curl_slist *list = NULL;
    CURL *c = curl_easy_init();
    CURLcode rc = CURLE_FAILED_INIT;

    memset(out, 0, sizeof(*out));
    if (c != NULL) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, append);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
        list = curl_slist_append(list, "Content-Type: application/json");
        list = curl_slist_append(list, "Expect:");
        for (size_t i = 0; extra_headers != NULL && extra_headers[i] != NULL; i++)
            list = curl_slist_append(list, extra_headers[i]);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
        if (body != NULL) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        } else if (strcmp(method, "HEAD") == 0) {
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        }
        rc = curl_easy_perform(c);
        if (rc == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        curl_easy_cleanup(c);
    }
    curl_slist_free_all(list);

    out->body = b.data != NULL ? b.data : strdup("");
    out->headers = h.data != NULL ? h.data : strdup("");
    if (rc != CURLE_OK) {
        free(out->body);
        out->body = strdup(curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

int tst_http(tst_http_reply *out, const char *method, const char *url, const char *body)
{
    return tst_http_send(out, method, url, body, body != NULL ? strlen(body) : 0, NULL);
}

const char *tst_http_header(const tst_http_reply *r, const char *name, char *buf,
                            size_t len)
{
    size_t name_len = strlen(name);

    for (const char *line = r->headers; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t line_len = end != NULL ? (size_t)(end - line) : strlen(line);
        if (line_len > name_len && strncasecmp(line, name, name_len) == 0 &&
            line[name_len] == ':') {
            const char *v = line + name_len + 1;
            while (*v == ' ')
                v++;
            size_t n = (size_t)(line + line_len - v);
            while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == ' '))
                n--;
            snprintf(buf, len, "%.*s", (int)n, v);
            return buf;
        }
        line = end != NULL ? end + 1 : NULL;
    }
    return NULL;
}

void tst_http_reply_free(tst_http_reply *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}
