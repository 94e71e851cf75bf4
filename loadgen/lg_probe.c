/*
 * lg_probe.c: the sequential probe (see lg_probe.h), on one libcurl easy
 * handle so every request reuses one keep-alive connection.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "lg_engine.h"
#include "lg_probe.h"
#include "lg_stats.h"
#include "lg_status.h"
#include "rl_time.h"
#include "rl_window.h"

#define PROBE_BODY_MAX 65536

/* The response to one request: the headers of interest and the body. */
typedef struct probe_answer {
    char url[1024]; /* the request's URL, for messages */
    lg_buf body;
    int64_t limit;     /* X-RateLimit-Limit, or -1 */
    int64_t remaining; /* X-RateLimit-Remaining, or -1 */
} probe_answer;

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    probe_answer *a = user;
    size_t n = size * nmemb;
    if (a->body.len + n <= PROBE_BODY_MAX && lg_buf_append(&a->body, data, n) < 0)
        return 0;
    return n;
}

/* Reads "Name: 123" into *out when the header line is `name`. */
static void header_number(const char *line, size_t len, const char *name, int64_t *out)
{
    size_t nlen = strlen(name);
    if (len <= nlen + 1 || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
        return;
    const char *p = line + nlen + 1;
    while (p < line + len && *p == ' ')
        p++;
    if (p < line + len && isdigit((unsigned char)*p))
        *out = strtoll(p, NULL, 10);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
    probe_answer *a = user;
    size_t n = size * nmemb;
    header_number(data, n, "X-RateLimit-Limit", &a->limit);
    header_number(data, n, "X-RateLimit-Remaining", &a->remaining);
    return n;
}

static CURL *probe_handle(const lg_probe_config *cfg, probe_answer *a)
{
    CURL *e = curl_easy_init();
    if (e == NULL)
        return NULL;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "ratelab-probe");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, a);
    if (cfg->http2) {
        int tls = strncmp(cfg->target, "https:", 6) == 0;
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                         tls ? (long)CURL_HTTP_VERSION_2TLS
                             : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    }
    return e;
}

static int64_t json_int_at(json_t *obj, const char *a, const char *b)
{
    json_t *v = json_object_get(json_object_get(obj, a), b);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

void lg_probe_rate_limits(const lg_probe_config *cfg, lg_rate_limits_info *info)
{
    probe_answer a = {.limit = -1, .remaining = -1};
    char url[1024], key[64];
    *info = (lg_rate_limits_info){0, -1, -1, -1, -1};

    CURL *e = probe_handle(cfg, &a);
    if (e == NULL)
        return;
    snprintf(url, sizeof(url), "%s/rate-limits", cfg->target);
    curl_easy_setopt(e, CURLOPT_URL, url);
    long code = 0;
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(e);

    json_t *doc = code == 200 && a.body.data != NULL
                      ? json_loadb(a.body.data, a.body.len, 0, NULL)
                      : NULL;
    lg_buf_free(&a.body);
    if (doc == NULL)
        return;
    snprintf(key, sizeof(key), "daily_limit_per_%s", cfg->role);
    info->role_limit = json_int_at(doc, "rate_limits", key);
    info->total_limit = json_int_at(doc, "rate_limits", "total_daily_limit");
    info->global_requests = json_int_at(doc, "current_usage", "global_requests_today");
    info->global_remaining = json_int_at(doc, "current_usage", "global_remaining");
    info->ok = info->role_limit >= 0 || info->total_limit >= 0;
    json_decref(doc);
}

/* Sends request `seq` and fills *code (0 on a transport error, whose kind
 * goes to *kind).  Returns 0, or LG_ERR_NOMEM. */
static int probe_send(CURL *e, const lg_probe_config *cfg, uint64_t seq, uint64_t *rng,
                      probe_answer *a, long *code, int *kind)
{
    lg_vars vars = {.hotkey = cfg->hotkey, .coldkey = cfg->coldkey, .role = cfg->role,
                    .seq = seq, .timestamp_s = lg_real_ns() / 1000000000LL,
                    .auth_ok = 1, .rng = rng};
    lg_buf url = {0}, body = {0}, line = {0};
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    int rc = headers == NULL ? LG_ERR_NOMEM : 0;

    if (rc == 0 && (lg_buf_append(&url, cfg->target, strlen(cfg->target)) < 0 ||
                    lg_text_expand(&cfg->tpl->path, &vars, &url) < 0 ||
                    (cfg->tpl->has_body && lg_text_expand(&cfg->tpl->body, &vars, &body) < 0)))
        rc = LG_ERR_NOMEM;
    for (int i = 0; rc == 0 && i < cfg->tpl->nheaders; i++) {
        line.len = 0;
        struct curl_slist *grown = NULL;
        if (lg_text_expand(&cfg->tpl->headers[i], &vars, &line) == 0)
            grown = curl_slist_append(headers, line.data);
        if (grown == NULL)
            rc = LG_ERR_NOMEM;
        else
            headers = grown;
    }
    if (rc == 0) {
        a->body.len = 0;
        a->limit = a->remaining = -1;
        snprintf(a->url, sizeof(a->url), "%s", url.data);
        curl_easy_setopt(e, CURLOPT_URL, url.data);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
                         strcmp(cfg->tpl->method, "POST") && strcmp(cfg->tpl->method, "GET")
                             ? cfg->tpl->method
                             : NULL);
        if (cfg->tpl->has_body) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)body.len);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data);
        }
        CURLcode cc = curl_easy_perform(e);
        *code = 0;
        if (cc == CURLE_OK)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, code);
        else
            *kind = lg_error_kind_of_curl(cc);
    }
    curl_slist_free_all(headers);
    lg_buf_free(&url);
    lg_buf_free(&body);
    lg_buf_free(&line);
    return rc;
}

/* Records a 429: which limit, and the limit its detail names. */
static void note_429(lg_probe_result *res, const probe_answer *a)
{
    const char *text = a->body.data != NULL ? a->body.data : "";
    const char *detail = strstr(text, "Daily limit of ");
    long long n;
    res->got_429 = 1;
    res->global_429 = strstr(text, "Global request limit") != NULL;
    if (detail != NULL && sscanf(detail, "Daily limit of %lld", &n) == 1)
        res->detail_limit = n;
}

static void note_admitted(lg_probe_result *res, const probe_answer *a, long code)
{
    if (code >= 200 && code < 300)
        res->status_2xx++;
    else if (code == 400)
        res->status_400++;
    else if (code == 401)
        res->status_401++;
    else
        res->status_other++;
    if (res->admitted == 0 && a->limit >= 0 && a->remaining >= 0) {
        res->has_headers = 1;
        res->header_limit = a->limit;
        /* remaining is counted after this request was added. */
        res->prior_usage = a->limit - a->remaining - 1;
    }
    res->admitted++;
    if (a->remaining >= 0)
        res->remaining = a->remaining;
}

/* Works out the enforced limit once the probe has stopped. */
static void conclude(const lg_probe_config *cfg, lg_probe_result *res)
{
    if (!res->has_headers)
        res->prior_usage = cfg->hotkey_is_fresh ? 0 : -1;
    /* A fresh hotkey rejected at once is a limit of 0, not a spent quota:
     * its prior usage is known to be 0. */
    if (res->got_429 && !res->global_429 && res->prior_usage >= 0)
        res->enforced = res->prior_usage + res->admitted;
    if (res->got_429 && !res->global_429)
        res->remaining = 0;
}

int lg_probe_run(const lg_probe_config *cfg, lg_probe_result *res, rl_error *err)
{
    probe_answer a = {.limit = -1, .remaining = -1};
    uint64_t rng = (uint64_t)lg_real_ns() | 1;
    memset(res, 0, sizeof(*res));
    res->detail_limit = res->header_limit = res->prior_usage = -1;
    res->enforced = res->remaining = -1;
    res->error = -1;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rl_error_set(err, "libcurl could not be initialised");
        return LG_ERR_CURL;
    }
    lg_probe_rate_limits(cfg, &res->before);
    CURL *e = probe_handle(cfg, &a);
    int rc = e == NULL ? LG_ERR_CURL : 0;

    for (int64_t seq = 0; rc == 0 && seq < cfg->max_requests; seq++) {
        if (cfg->stop != NULL && *cfg->stop) {
            res->interrupted = 1;
            break;
        }
        long code = 0;
        int kind = LG_ERROR_OTHER;
        rc = probe_send(e, cfg, (uint64_t)seq, &rng, &a, &code, &kind);
        if (rc < 0)
            break;
        if (code == 0) {
            res->error = kind;
            break;
        }
        res->sent++;
        if (code == 429) {
            note_429(res, &a);
            break;
        }
        snprintf(res->url, sizeof(res->url), "%s", a.url);
        if (code >= 500) {
            res->server_error = (int)code;
            break;
        }
        if ((code >= 300 && code < 400) || code == 403 || code == 404 || code == 405) {
            res->wrong_target = (int)code;
            break;
        }
        note_admitted(res, &a, code);
    }
    curl_easy_cleanup(e);
    lg_buf_free(&a.body);
    if (rc == 0) {
        conclude(cfg, res);
        lg_probe_rate_limits(cfg, &res->after);
    } else {
        rl_error_set(err, "the probe could not run: %s", lg_strerror(rc));
    }
    curl_global_cleanup();
    return rc;
}

/* Reads ratelab.window from a GET /rate-limits body into out. */
static void parse_server_window(const lg_buf *body, lg_server_window *out)
{
    json_t *doc = body->data != NULL ? json_loadb(body->data, body->len, 0, NULL) : NULL;
    const char *text = json_string_value(json_object_get(json_object_get(doc, "ratelab"),
                                                         "window"));
    rl_window w;
    rl_error err;
    if (text != NULL && rl_window_parse(text, &w, &err) == 0) {
        out->has_window = 1;
        snprintf(out->window, sizeof(out->window), "%s", text);
        out->window_us = w.kind == RL_WINDOW_FIXED ? w.length_us : RL_US_PER_DAY;
    }
    json_decref(doc);
}

int lg_server_window_fetch(const char *target, int64_t timeout_ms, lg_server_window *out,
                           rl_error *err)
{
    lg_probe_config cfg = {.target = target, .timeout_ms = timeout_ms};
    probe_answer a = {.limit = -1, .remaining = -1};
    char url[1024];

    memset(out, 0, sizeof(*out));
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rl_error_set(err, "libcurl could not be initialised");
        return LG_ERR_CURL;
    }
    CURL *e = probe_handle(&cfg, &a);
    CURLcode cc = CURLE_FAILED_INIT;
    if (e != NULL) {
        snprintf(url, sizeof(url), "%s/rate-limits", target);
        curl_easy_setopt(e, CURLOPT_URL, url);
        cc = curl_easy_perform(e);
        if (cc == CURLE_OK)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out->status);
        curl_easy_cleanup(e);
    }
    if (cc == CURLE_OK && out->status == 200)
        parse_server_window(&a.body, out);
    lg_buf_free(&a.body);
    curl_global_cleanup();
    if (cc != CURLE_OK) {
        rl_error_set(err, "cannot reach %s/rate-limits: %s; is `ratelab serve` running at "
                          "%s?",
                     target, curl_easy_strerror(cc), target);
        return LG_ERR_INVALID;
    }
    return 0;
}
