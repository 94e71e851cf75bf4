/*
 * srv_config.c: configuration defaults, listen addresses, the validator
 * list, status and result names, and the shutdown summary.
 *
 * Nothing here does I/O: the validator list arrives as text, read by the
 * caller, so messages can name the file the text came from.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "srv_internal.h"

const char *srv_strerror(int status)
{
    switch (status) {
    case SRV_OK:
        return "success";
    case SRV_ERR_NOMEM:
        return "out of memory";
    case SRV_ERR_INVALID:
        return "invalid server configuration";
    case SRV_ERR_LISTEN:
        return "cannot listen";
    case SRV_ERR_STORE:
        return "cannot create the store";
    default:
        return "unknown error";
    }
}

const char *srv_result_name(srv_result r)
{
    static const char *const names[SRV_RESULT_COUNT] = {
        "allowed",     "global",       "client",    "timestamp",   "missing-field",
        "signature",   "not-validator", "invalid-body", "too-large", "not-found",
        "bad-method",  "info",         "unavailable", "internal",
    };
    return (unsigned)r < SRV_RESULT_COUNT ? names[r] : "unknown";
}

void srv_config_init(srv_config *cfg)
{
    struct sockaddr_in *in = (struct sockaddr_in *)&cfg->listen_addr;

    memset(cfg, 0, sizeof(*cfg));
    in->sin_family = AF_INET;
    in->sin_port = htons(8000);
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cfg->window = rl_window_utc_day();
    cfg->policy = RL_POLICY_DEPLOYED;
    cfg->fail_open = 0;
    cfg->threads = 1;
    cfg->max_connections = 1024;
    cfg->max_connections_per_ip = 512;
    cfg->connection_timeout_s = 30;
    cfg->request_timeout_s = 10;
    cfg->store_name = "memory";
}

int srv_format_addr(const struct sockaddr_storage *addr, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";

    if (addr->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        return snprintf(buf, len, "[%s]:%u", host, (unsigned)ntohs(a->sin6_port));
    }
    const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    return snprintf(buf, len, "%s:%u", host, (unsigned)ntohs(a->sin_port));
}

int srv_addr_is_loopback(const struct sockaddr_storage *addr)
{
    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (addr->ss_family != AF_INET6)
        return 0;
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(a6))
        return 1;
    return IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127;
}

/* Parses a port of 0..65535 with nothing around it. */
static int parse_port(const char *text, uint16_t *out)
{
    char *end;
    long v;

    if (!isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0 || v > 65535)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

int srv_parse_listen(const char *text, struct sockaddr_storage *out, rl_error *err)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon, *port_text;
    size_t host_len;
    uint16_t port;

    memset(out, 0, sizeof(*out));
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            goto bad;
        host_len = (size_t)(close - text - 1);
        port_text = close + 2;
        if (host_len == 0 || host_len >= sizeof(host))
            goto bad;
        memcpy(host, text + 1, host_len);
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL || strchr(text, ':') != colon)
            goto bad;
        host_len = (size_t)(colon - text);
        port_text = colon + 1;
        if (host_len == 0 || host_len >= sizeof(host))
            goto bad;
        memcpy(host, text, host_len);
    }
    host[host_len] = '\0';
    if (parse_port(port_text, &port) < 0)
        goto bad;
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");

    struct sockaddr_in *in4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    if (text[0] != '[' && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        return 0;
    }
    if (text[0] == '[' && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        return 0;
    }

bad:
    rl_error_set(err,
                 "invalid listen address '%s': expected ADDR:PORT with a numeric "
                 "address, e.g. 127.0.0.1:8000 or [::1]:8000",
                 text);
    return RL_ERR_INVALID;
}

/* ---- validator list ---- */

struct srv_validators {
    char **hotkeys; /* sorted, unique */
    size_t n;
};

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Checks one hotkey of the list; 0 when it fits the request bounds. */
static int hotkey_ok(const char *s, size_t n)
{
    if (n == 0 || n > SRV_KEY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

/* Adds one trimmed line; returns 0, 1 to skip it, -1 bad, -2 no memory. */
static int add_line(srv_validators *v, size_t *cap, const char *line, size_t n)
{
    while (n > 0 && isspace((unsigned char)*line)) {
        line++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)line[n - 1]))
        n--;
    if (n == 0 || line[0] == '#')
        return 1;
    if (!hotkey_ok(line, n))
        return -1;
    if (v->n == *cap) {
        size_t bigger_cap = *cap == 0 ? 64 : *cap * 2;
        char **bigger = realloc(v->hotkeys, bigger_cap * sizeof(*bigger));
        if (bigger == NULL)
            return -2;
        v->hotkeys = bigger;
        *cap = bigger_cap;
    }
    v->hotkeys[v->n] = strndup(line, n);
    if (v->hotkeys[v->n] == NULL)
        return -2;
    v->n++;
    return 0;
}

srv_validators *srv_validators_parse(const char *text, size_t len,
                                     const char *filename, rl_error *err)
{
    srv_validators *v = calloc(1, sizeof(*v));
    size_t cap = 0, line_no = 0, start = 0;

    if (v == NULL)
        goto nomem;
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        int rc = add_line(v, &cap, text + start, end - start);
        line_no++;
        if (rc == -2)
            goto nomem;
        if (rc == -1) {
            rl_error_set(err,
                         "%s:%zu: invalid validator hotkey '%.*s': expected 1 to %d "
                         "characters from A-Z, a-z, 0-9, '.', '_' and '-', one per line",
                         filename, line_no, (int)(end - start > 64 ? 64 : end - start),
                         text + start, SRV_KEY_MAX);
            srv_validators_destroy(v);
            return NULL;
        }
        start = end + 1;
    }
    if (v->n > 1)
        qsort(v->hotkeys, v->n, sizeof(*v->hotkeys), compare_strings);
    return v;

nomem:
    rl_error_set(err, "out of memory reading the validator list %s", filename);
    srv_validators_destroy(v);
    return NULL;
}

void srv_validators_destroy(srv_validators *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n; i++)
        free(v->hotkeys[i]);
    free(v->hotkeys);
    free(v);
}

size_t srv_validators_count(const srv_validators *v)
{
    return v != NULL ? v->n : 0;
}

int srv_is_validator(const srv_validators *v, const char *hotkey)
{
    if (v == NULL)
        return hotkey[0] != 'N';
    return bsearch(&hotkey, v->hotkeys, v->n, sizeof(*v->hotkeys), compare_strings) != NULL;
}

int srv_stats_format(const srv_stats *st, char *buf, size_t len)
{
    const uint64_t *r = st->by_result;
    uint64_t rejected = r[SRV_RESULT_GLOBAL] + r[SRV_RESULT_CLIENT] +
                        r[SRV_RESULT_TIMESTAMP] + r[SRV_RESULT_MISSING_FIELD] +
                        r[SRV_RESULT_SIGNATURE] + r[SRV_RESULT_NOT_VALIDATOR] +
                        r[SRV_RESULT_INVALID_BODY] + r[SRV_RESULT_TOO_LARGE] +
                        r[SRV_RESULT_NOT_FOUND] + r[SRV_RESULT_BAD_METHOD];

    return snprintf(
        buf, len,
        "%llu requests: %llu allowed, %llu other (rate-limits, healthcheck), %llu rejected "
        "(global %llu, client %llu, "
        "timestamp %llu, signature %llu, not-validator %llu, missing-field %llu, "
        "invalid-body %llu, too-large %llu, not-found %llu, bad-method %llu), errors: "
        "%llu unavailable, %llu internal, %llu store errors; %llu connections closed "
        "at the request timeout",
        (unsigned long long)st->requests, (unsigned long long)r[SRV_RESULT_ALLOWED],
        (unsigned long long)r[SRV_RESULT_INFO], (unsigned long long)rejected,
        (unsigned long long)r[SRV_RESULT_GLOBAL], (unsigned long long)r[SRV_RESULT_CLIENT],
        (unsigned long long)r[SRV_RESULT_TIMESTAMP], (unsigned long long)r[SRV_RESULT_SIGNATURE],
        (unsigned long long)r[SRV_RESULT_NOT_VALIDATOR],
        (unsigned long long)r[SRV_RESULT_MISSING_FIELD],
        (unsigned long long)r[SRV_RESULT_INVALID_BODY],
        (unsigned long long)r[SRV_RESULT_TOO_LARGE], (unsigned long long)r[SRV_RESULT_NOT_FOUND],
        (unsigned long long)r[SRV_RESULT_BAD_METHOD],
        (unsigned long long)r[SRV_RESULT_UNAVAILABLE],
        (unsigned long long)r[SRV_RESULT_INTERNAL], (unsigned long long)st->store_errors,
        (unsigned long long)st->request_timeouts);
}
