/*
 * tst_serve.h: helpers for suites that run real `ratelab serve` processes
 * and talk HTTP to them: start one on a free 127.0.0.1 port, stop it with a
 * signal and read its log, and a small libcurl (easy API) client.
 *
 * Every server started here listens on 127.0.0.1 only, and every request
 * has a 10 s timeout, so a hung server fails a test instead of hanging it.
 */
#ifndef TST_SERVE_H
#define TST_SERVE_H

#include <stddef.h>
#include <sys/types.h>

typedef struct tst_serve {
    pid_t pid;         /* -1 when not running */
    int port;
    char url[64];      /* "http://127.0.0.1:PORT" without a trailing slash */
    char log_path[256]; /* the server's stdout and stderr */
} tst_serve;

/*
 * Starts `ratelab serve --listen 127.0.0.1:PORT ARGS...` (arguments
 * NULL-terminated) and waits until it accepts connections.  Tries up to
 * three free ports when the process exits early.  Returns 0, or -1 after
 * printing the server's log to stderr.  The environment is inherited.
 */
int tst_serve_start(tst_serve *s, const char *arg, ...) __attribute__((sentinel));
int tst_serve_start_argv(tst_serve *s, char *const args[]);

/* Sends sig (SIGTERM, SIGINT) and waits up to 10 s.  Returns the exit
 * status as tst_output.status does; -1 when it had to be killed. */
int tst_serve_stop(tst_serve *s, int sig);

/* Returns the server's log so far (caller frees); "" when unreadable. */
char *tst_serve_log(const tst_serve *s);

/* Calls curl_global_init once; call it before starting client threads. */
void tst_http_init(void);

typedef struct tst_http_reply {
    long status;    /* HTTP status, or 0 when the request failed */
    char *body;     /* NUL-terminated, never NULL after tst_http() */
    char *headers;  /* raw response header lines, NUL-terminated */
} tst_http_reply;

/*
 * Sends one request.  body may be NULL (no body); extra_headers is a
 * NULL-terminated list of "Name: value" lines, or NULL.  Returns 0, or -1
 * when no HTTP reply arrived (status 0, message in body).
 */
int tst_http_send(tst_http_reply *out, const char *method, const char *url,
                  const char *body, size_t body_len, const char *const *extra_headers);

/* tst_http_send with a NUL-terminated body (or NULL) and no extra headers. */
int tst_http(tst_http_reply *out, const char *method, const char *url, const char *body);

/* Copies a response header's value (case-insensitive name) into buf and
 * returns buf, or NULL when absent. */
const char *tst_http_header(const tst_http_reply *r, const char *name, char *buf,
                            size_t len);

void tst_http_reply_free(tst_http_reply *r);

#endif
