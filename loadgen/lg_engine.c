/*
 * lg_engine.c: worker threads, each driving one libcurl multi handle.
 *
 * A worker's loop, until its sending phase is over and nothing is in
 * flight:
 *   1. send every request whose intended time has come, while an easy
 *      handle is free (requests that find none wait and send later);
 *   2. let libcurl start the new transfers, then wait in epoll until a
 *      socket is ready, libcurl's timer expires, the next request is due
 *      (when a handle is free to send it) or 50 ms pass.  The 50 ms bound
 *      makes a stop request and the deadline noticed.  The ready sockets
 *      then go to libcurl (lg_evloop.c, libcurl's multi socket interface);
 *   3. collect finished transfers into the worker's own statistics and
 *      free their handles.
 * epoll_wait takes whole milliseconds, too coarse for 20,000 requests a
 * second, so the next intended time is an absolute CLOCK_MONOTONIC timerfd
 * in the same epoll set: the worker wakes when the request is due, to the
 * nanosecond the kernel allows, without spinning.
 *
 * The main thread only starts and joins the workers and prints progress
 * from counters the workers publish with relaxed atomic stores.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lg_engine.h"
#include "lg_evloop.h"
#include "lg_status.h"
#include "rl_limiter.h"

#define LG_POLL_MAX_MS 50
#define LG_BODY_HEAD 160 /* bytes of a response body kept for 429 details */

typedef struct lg_worker lg_worker;

/* One connection: an easy handle and the buffers of its current request,
 * which must live until the transfer ends. */
typedef struct lg_slot {
    CURL *easy;
    lg_worker *worker;
    lg_buf url;
    CURLU *curlu;    /* url, parsed; handed to libcurl (CURLOPT_CURLU) */
    lg_buf curlu_url; /* the text curlu holds, to skip re-parsing it */
    lg_buf body;
    struct curl_slist *own_headers; /* headers with placeholders, else NULL */
    int64_t intended_ns;            /* absolute CLOCK_MONOTONIC */
    int64_t sent_ns;
    int64_t index; /* schedule index, or request number */
    char head[LG_BODY_HEAD];
    size_t head_len;
    int request_started; /* a connection was ready to carry the request */
} lg_slot;

struct lg_worker {
    const lg_config *cfg;
    int id;
    pthread_t thread;
    CURLM *multi;
    lg_slot *slots;
    int nslots;
    int *free_slots; /* stack of indices into slots */
    int nfree;
    lg_stats stats;
    struct curl_slist *headers[RL_MAX_ROLES]; /* constant headers by role */

    int64_t *mine; /* SCHEDULE: this worker's entry indices, in order */
    int64_t nmine;
    int64_t next;   /* next position in mine, or next request number */
    int sending_done;
    int64_t send_end_ns; /* when the sending phase ended */
    int64_t last_send_ns;
    uint64_t rng;
    char hotkey[RL_CLIENT_MAX + 32];
    lg_evloop loop; /* epoll set, schedule timer; freed after multi */

    _Atomic uint64_t pub_sent, pub_done, pub_errors;
    _Atomic int finished;
    _Atomic int abort; /* set when the run could not start every thread */
};

int64_t lg_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t lg_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Checks the port of "HOST[:PORT]" (host up to the first '/', an IPv6
 * address in brackets): when present it must be 1 to 65535. */
static int check_port(const char *url, const char *host, rl_error *err)
{
    size_t hostlen = strcspn(host, "/");
    const char *end = host + hostlen;
    const char *at = memchr(host, '@', hostlen); /* after user:password@ */
    if (at != NULL) {
        hostlen -= (size_t)(at + 1 - host);
        host = at + 1;
    }
    const char *colon = NULL;
    const char *bracket = host[0] == '[' ? memchr(host, ']', hostlen) : NULL;

    if (host[0] == '[' && bracket == NULL) {
        rl_error_set(err, "invalid target '%s': an IPv6 address needs a closing ']'", url);
        return LG_ERR_INVALID;
    }
    for (const char *c = bracket != NULL ? bracket : host; c < end; c++)
        if (*c == ':')
            colon = c;
    if (colon == NULL)
        return 0;

    long port = 0;
    const char *c = colon + 1;
    for (; c < end && *c >= '0' && *c <= '9' && port <= 65535; c++)
        port = port * 10 + (*c - '0');
    if (c != end || colon + 1 == end || port < 1 || port > 65535) {
        rl_error_set(err, "invalid port '%.*s' in target '%s': use a number from 1 to 65535",
                     (int)(end - colon - 1), colon + 1, url);
        return LG_ERR_INVALID;
    }
    return 0;
}

int lg_target_normalize(const char *url, char *buf, size_t len, rl_error *err)
{
    size_t n = strlen(url);
    const char *host = strncmp(url, "http://", 7) == 0    ? url + 7
                       : strncmp(url, "https://", 8) == 0 ? url + 8
                                                          : NULL;
    if (host == NULL || *host == '\0' || *host == '/' || strchr(url, ' ') != NULL ||
        strchr(url, '?') != NULL || strchr(url, '#') != NULL) {
        rl_error_set(err, "invalid target '%s': use http://HOST[:PORT][/PREFIX] or "
                          "https://..., e.g. http://127.0.0.1:8000",
                     url);
        return LG_ERR_INVALID;
    }
    if (check_port(url, host, err) < 0)
        return LG_ERR_INVALID;
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (n >= len) {
        rl_error_set(err, "invalid target '%s': longer than %zu bytes", url, len - 1);
        return LG_ERR_INVALID;
    }
    memcpy(buf, url, n);
    buf[n] = '\0';
    return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    lg_slot *slot = user;
    size_t n = size * nmemb;
    size_t room = sizeof(slot->head) - 1 - slot->head_len;
    size_t take = n < room ? n : room;
    memcpy(slot->head + slot->head_len, data, take);
    slot->head_len += take;
    slot->head[slot->head_len] = '\0';
    return n;
}

/* libcurl calls this once a connection, new or reused, is ready and the
 * request is about to be written to it (libcurl 7.80 and later). */
static int on_prereq(void *user, char *primary_ip, char *local_ip, int primary_port,
                     int local_port)
{
    lg_slot *slot = user;
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    slot->request_started = 1;
    return CURL_PREREQFUNC_OK;
}

/* ---- setup ------------------------------------------------------------ */

/* Builds a header list from a template's headers; with vars NULL only
 * constant headers are allowed.  Returns NULL when out of memory. */
static struct curl_slist *build_headers(const lg_template *t, const lg_vars *vars,
                                        lg_buf *scratch)
{
    /* An empty "Expect:" stops libcurl from waiting for 100-continue. */
    struct curl_slist *list = curl_slist_append(NULL, "Expect:");
    for (int i = 0; list != NULL && i < t->nheaders; i++) {
        scratch->len = 0;
        if (lg_text_expand(&t->headers[i], vars, scratch) < 0) {
            curl_slist_free_all(list);
            return NULL;
        }
        struct curl_slist *grown = curl_slist_append(list, scratch->data);
        if (grown == NULL) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = grown;
    }
    return list;
}

static int headers_vary(const lg_template *t)
{
    for (int i = 0; i < t->nheaders; i++)
        if (t->headers[i].has_vars)
            return 1;
    return 0;
}

static int slot_setup(lg_slot *slot, lg_worker *w)
{
    const lg_config *cfg = w->cfg;
    CURL *e = curl_easy_init();
    if (e == NULL)
        return LG_ERR_CURL;
    slot->easy = e;
    slot->worker = w;
    lg_evloop_attach(&w->loop, e);

    curl_easy_setopt(e, CURLOPT_PRIVATE, slot);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, slot);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, slot);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "ratelab-load");
    /* Only the target is contacted: no proxy from the environment and no
     * redirects (libcurl does not follow them unless asked). */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    if (cfg->http2) {
        int tls = strncmp(cfg->target, "https:", 6) == 0;
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                         tls ? (long)CURL_HTTP_VERSION_2TLS
                             : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
        curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    }
    return 0;
}

static int worker_setup(lg_worker *w, const lg_config *cfg, int id, int nslots)
{
    w->cfg = cfg;
    w->id = id;
    w->nslots = nslots;
    /* RATE and MAX: worker w sends request numbers w, w + T, w + 2T, ...,
     * so the workers together send each number once. */
    w->next = cfg->mode == LG_MODE_SCHEDULE ? 0 : id;
    w->rng = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)(id + 1) * 0xD1B54A32D192ED03ULL) ^
             (uint64_t)lg_real_ns();
    if (w->rng == 0)
        w->rng = 1;
    if (lg_stats_init(&w->stats) < 0)
        return LG_ERR_NOMEM;
    w->stats.series =
        lg_series_create(cfg->duration_ns, lg_series_bucket_ns(cfg->duration_ns));
    if (w->stats.series == NULL)
        return LG_ERR_NOMEM;

    w->multi = curl_multi_init();
    w->slots = calloc((size_t)nslots, sizeof(*w->slots));
    w->free_slots = calloc((size_t)nslots, sizeof(*w->free_slots));
    if (w->multi == NULL || w->slots == NULL || w->free_slots == NULL)
        return w->multi == NULL ? LG_ERR_CURL : LG_ERR_NOMEM;
    int rc = lg_evloop_init(&w->loop, w->multi);
    if (rc < 0)
        return rc;
    curl_multi_setopt(w->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)nslots);
    curl_multi_setopt(w->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)nslots);
    curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, (long)nslots);

    for (int i = 0; i < nslots; i++) {
        rc = slot_setup(&w->slots[i], w);
        if (rc < 0)
            return rc;
        w->free_slots[w->nfree++] = nslots - 1 - i;
    }

    lg_buf scratch = {0};
    for (int r = 0; r < cfg->nroles; r++) {
        /* Roles no request uses have no template. */
        if (cfg->templates[r] == NULL || headers_vary(cfg->templates[r]))
            continue;
        w->headers[r] = build_headers(cfg->templates[r], NULL, &scratch);
        if (w->headers[r] == NULL) {
            lg_buf_free(&scratch);
            return LG_ERR_NOMEM;
        }
    }
    lg_buf_free(&scratch);
    return 0;
}

/* Collects the indices of the schedule entries this worker sends. */
static int worker_take_schedule(lg_worker *w)
{
    const lg_config *cfg = w->cfg;
    int64_t n = 0;
    for (int64_t i = 0; i < cfg->nschedule; i++)
        if (cfg->schedule[i].client_number % cfg->threads == w->id)
            n++;
    w->mine = malloc((size_t)(n > 0 ? n : 1) * sizeof(*w->mine));
    if (w->mine == NULL)
        return LG_ERR_NOMEM;
    for (int64_t i = 0; i < cfg->nschedule; i++)
        if (cfg->schedule[i].client_number % cfg->threads == w->id)
            w->mine[w->nmine++] = i;
    return 0;
}

static void worker_teardown(lg_worker *w)
{
    for (int i = 0; w->slots != NULL && i < w->nslots; i++) {
        lg_slot *s = &w->slots[i];
        if (s->easy != NULL) {
            if (w->multi != NULL)
                curl_multi_remove_handle(w->multi, s->easy);
            curl_easy_cleanup(s->easy);
        }
        lg_buf_free(&s->url);
        lg_buf_free(&s->curlu_url);
        curl_url_cleanup(s->curlu);
        lg_buf_free(&s->body);
        curl_slist_free_all(s->own_headers);
    }
    for (int r = 0; r < RL_MAX_ROLES; r++)
        curl_slist_free_all(w->headers[r]);
    if (w->multi != NULL)
        curl_multi_cleanup(w->multi);
    lg_evloop_free(&w->loop);
    free(w->slots);
    free(w->free_slots);
    free(w->mine);
    lg_stats_free(&w->stats);
}

/* ---- sending ---------------------------------------------------------- */

typedef struct lg_send {
    int64_t index; /* schedule index or request number (the {seq}) */
    int role;
    const char *hotkey;
    int auth_ok;
    int64_t intended_ns;
} lg_send;

static void set_method(CURL *e, const lg_template *t, const lg_buf *body)
{
    int post = strcmp(t->method, "POST") == 0;
    int get = strcmp(t->method, "GET") == 0;

    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (post || get) ? NULL : t->method);
    if (t->has_body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)body->len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->data);
    } else if (get) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, t->method);
    }
}

/* Hands the slot's URL to its easy handle as a parsed CURLU, parsing it
 * only when it differs from the last one.  With CURLOPT_URL, libcurl 7.88
 * parses and re-assembles the URL on every transfer: about 11,000 of the
 * 67,000 instructions of a GET to nginx under callgrind, ten times the
 * engine's own work.  Returns 0, or -1 when the URL is invalid or memory
 * ran out (the easy handle then has no URL). */
static int set_url(lg_slot *slot)
{
    if (slot->curlu != NULL && slot->curlu_url.len == slot->url.len &&
        memcmp(slot->curlu_url.data, slot->url.data, slot->url.len) == 0)
        return 0;

    if (slot->curlu == NULL) {
        slot->curlu = curl_url();
        if (slot->curlu == NULL)
            return -1;
    }
    slot->curlu_url.len = 0;
    if (curl_url_set(slot->curlu, CURLUPART_URL, slot->url.data,
                     CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        lg_buf_append(&slot->curlu_url, slot->url.data, slot->url.len) < 0) {
        slot->curlu_url.len = 0;
        curl_easy_setopt(slot->easy, CURLOPT_CURLU, NULL);
        curl_url_cleanup(slot->curlu);
        slot->curlu = NULL;
        return -1;
    }
    curl_easy_setopt(slot->easy, CURLOPT_CURLU, slot->curlu);
    return 0;
}

/* Expands the template into the slot's buffers and hands the request to
 * the multi handle.  Returns 0, or LG_ERR_NOMEM (the request is then
 * counted as an "other" error by the caller). */
static int send_request(lg_worker *w, lg_slot *slot, const lg_send *req)
{
    const lg_config *cfg = w->cfg;
    const lg_template *t = cfg->templates[req->role];
    lg_vars vars = {
        .hotkey = req->hotkey,
        .coldkey = cfg->coldkey,
        .role = cfg->roles[req->role],
        .seq = (uint64_t)req->index,
        .timestamp_s = lg_real_ns() / 1000000000LL,
        .auth_ok = req->auth_ok,
        .rng = &w->rng,
    };

    slot->url.len = 0;
    slot->body.len = 0;
    if (lg_buf_append(&slot->url, cfg->target, strlen(cfg->target)) < 0 ||
        lg_text_expand(&t->path, &vars, &slot->url) < 0)
        return LG_ERR_NOMEM;
    if (t->has_body && lg_text_expand(&t->body, &vars, &slot->body) < 0)
        return LG_ERR_NOMEM;

    struct curl_slist *headers = w->headers[req->role];
    if (headers == NULL) {
        curl_slist_free_all(slot->own_headers);
        lg_buf scratch = {0};
        slot->own_headers = build_headers(t, &vars, &scratch);
        lg_buf_free(&scratch);
        if (slot->own_headers == NULL)
            return LG_ERR_NOMEM;
        headers = slot->own_headers;
    }

    CURL *e = slot->easy;
    if (set_url(slot) < 0)
        return LG_ERR_INVALID;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    set_method(e, t, &slot->body);
    slot->head_len = 0;
    slot->request_started = 0;
    slot->head[0] = '\0';
    slot->index = req->index;
    slot->intended_ns = req->intended_ns;
    slot->sent_ns = lg_mono_ns();
    if (curl_multi_add_handle(w->multi, e) != CURLM_OK)
        return LG_ERR_CURL;
    return 0;
}

static void record_send(lg_worker *w, const lg_slot *slot)
{
    const lg_config *cfg = w->cfg;
    w->stats.sent++;
    if (cfg->mode != LG_MODE_MAX && slot->sent_ns - slot->intended_ns > LG_LATE_NS)
        w->stats.late++;
    w->last_send_ns = slot->sent_ns;
    if (cfg->mode == LG_MODE_SCHEDULE) {
        lg_outcome *o = &cfg->outcomes[slot->index];
        o->sent = 1;
        o->sent_ns = slot->sent_ns - cfg->start_ns;
    }
    atomic_store_explicit(&w->pub_sent, w->stats.sent, memory_order_relaxed);
}

/* Takes a free slot and sends one request; a request that cannot be built
 * is counted as an error of kind "other" and the slot stays free. */
static void dispatch(lg_worker *w, const lg_send *req)
{
    lg_slot *slot = &w->slots[w->free_slots[w->nfree - 1]];
    if (send_request(w, slot, req) < 0) {
        w->stats.errors[LG_ERROR_OTHER]++;
        if (w->cfg->mode == LG_MODE_SCHEDULE)
            w->cfg->outcomes[req->index].error = LG_ERROR_OTHER;
        return;
    }
    w->nfree--;
    record_send(w, slot);
}

static const char *rate_hotkey(lg_worker *w, int64_t k)
{
    const lg_config *cfg = w->cfg;
    if (cfg->clients <= 1)
        return cfg->hotkey;
    snprintf(w->hotkey, sizeof(w->hotkey), "%s-%lld", cfg->hotkey,
             (long long)(k % cfg->clients));
    return w->hotkey;
}

/* Returns the absolute intended time of the worker's next request, or
 * INT64_MAX when it has none left within max_requests or the schedule. */
static int64_t next_intended(lg_worker *w, int64_t now)
{
    const lg_config *cfg = w->cfg;

    if (cfg->mode == LG_MODE_SCHEDULE) {
        if (w->next >= w->nmine)
            return INT64_MAX;
        return cfg->start_ns + cfg->schedule[w->mine[w->next]].offset_ns;
    }
    if (w->next >= cfg->max_requests)
        return INT64_MAX;
    if (cfg->mode == LG_MODE_MAX)
        return now;
    return cfg->start_ns + lg_rate_offset_ns(&cfg->rate, w->next);
}

/* Sends every due request while a slot is free; returns the intended time
 * of the next request not yet sent (INT64_MAX: none left; at or after the
 * deadline: none left in this run's duration). */
static int64_t send_due(lg_worker *w, int64_t now)
{
    const lg_config *cfg = w->cfg;
    int64_t deadline = cfg->start_ns + cfg->duration_ns;
    for (;;) {
        int64_t t = next_intended(w, now);
        if (t >= deadline || t > now || w->nfree == 0)
            return t;

        lg_send req = {.intended_ns = t};
        if (cfg->mode == LG_MODE_SCHEDULE) {
            const lg_sched_entry *e = &cfg->schedule[w->mine[w->next]];
            req.index = w->mine[w->next];
            req.role = e->role;
            req.hotkey = e->client;
            req.auth_ok = e->auth_ok;
            w->next++;
        } else {
            req.index = w->next;
            req.hotkey = rate_hotkey(w, w->next);
            req.auth_ok = 1;
            w->next += cfg->threads;
        }
        dispatch(w, &req);
    }
}

/* ---- completions ------------------------------------------------------ */

static void finish_transfer(lg_worker *w, CURL *easy, CURLcode result, int64_t now)
{
    const lg_config *cfg = w->cfg;
    lg_slot *slot = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&slot);
    lg_outcome *o = cfg->mode == LG_MODE_SCHEDULE ? &cfg->outcomes[slot->index] : NULL;

    if (result == CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        w->stats.responses++;
        w->stats.status[code > 0 && code < LG_STATUS_CODES ? code : 0]++;
        lg_hist_record(w->stats.latency, (now - slot->intended_ns) / 1000);
        lg_hist_record(w->stats.service, (now - slot->sent_ns) / 1000);
        lg_series_record(w->stats.series, slot->intended_ns - cfg->start_ns, (int)code,
                         (now - slot->intended_ns) / 1000);
        if (o != NULL) {
            o->status = (int)code;
            o->global_limit = code == 429 && strstr(slot->head, "Global") != NULL;
        }
    } else {
        lg_error_kind kind = lg_error_kind_of_curl(result);
        lg_series_record(w->stats.series, slot->intended_ns - cfg->start_ns, 0, 0);
        /* A request written to a reused connection that then died, with no
         * byte of response, is retried by libcurl on a new connection; when
         * the server is gone that connect fails and the transfer ends in
         * CURLE_COULDNT_CONNECT.  The request did reach the server, so it
         * counts as a reset: "refused" means nothing was ever sent. */
        if (kind == LG_ERROR_REFUSED && slot->request_started)
            kind = LG_ERROR_RESET;
        w->stats.errors[kind]++;
        if (o != NULL)
            o->error = kind;
    }

    curl_multi_remove_handle(w->multi, easy);
    w->free_slots[w->nfree++] = (int)(slot - w->slots);
    atomic_store_explicit(&w->pub_done, w->stats.responses + lg_stats_error_total(&w->stats),
                          memory_order_relaxed);
    atomic_store_explicit(&w->pub_errors, lg_stats_error_total(&w->stats),
                          memory_order_relaxed);
}

static void collect_finished(lg_worker *w)
{
    CURLMsg *msg;
    int left;
    int64_t now = lg_mono_ns();
    while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
        if (msg->msg == CURLMSG_DONE)
            finish_transfer(w, msg->easy_handle, msg->data.result, now);
    }
}

/* Counts the requests that were due before the sending phase ended but
 * never left, because every connection was busy or the run was stopped. */
static void count_not_sent(lg_worker *w)
{
    const lg_config *cfg = w->cfg;
    if (cfg->mode == LG_MODE_SCHEDULE) {
        w->stats.not_sent += (uint64_t)(w->nmine - w->next);
        return;
    }
    if (cfg->mode == LG_MODE_MAX)
        return;
    while (w->next < cfg->max_requests &&
           cfg->start_ns + lg_rate_offset_ns(&cfg->rate, w->next) < w->send_end_ns) {
        w->stats.not_sent++;
        w->next += cfg->threads;
    }
}

/* ---- the worker loop -------------------------------------------------- */

/* Returns the calling thread's run queue wait so far in microseconds: the
 * second field of /proc/thread-self/schedstat (Linux 3.17 and later, with
 * CONFIG_SCHED_INFO), or 0 when it cannot be read. */
static uint64_t thread_cpu_wait_us(void)
{
    unsigned long long run_ns = 0, wait_ns = 0;
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu %llu", &run_ns, &wait_ns) != 2)
        wait_ns = 0;
    fclose(f);
    return (uint64_t)(wait_ns / 1000);
}

/* Runs libcurl and sleeps until a socket is ready, libcurl's timer
 * expires, the next request is due (when a slot is free to send it) or
 * LG_POLL_MAX_MS pass. */
static void wait_for_work(lg_worker *w, int64_t now, int64_t next, int64_t deadline)
{
    int64_t until = now + (int64_t)LG_POLL_MAX_MS * 1000000LL;
    if (!w->sending_done) {
        if (next != INT64_MAX && w->nfree > 0 && next < until)
            lg_evloop_set_alarm(&w->loop, next);
        if (deadline < until)
            until = deadline;
    }
    lg_evloop_run_once(&w->loop, until, w->nslots - w->nfree);
}

/* Returns when the sending phase ends (absolute CLOCK_MONOTONIC): the
 * deadline, or for RATE, once max_requests ends it first, the intended
 * time of request max_requests, one interval after the last one.  A RATE
 * worker waits for it even with nothing left to send, so the phase lasts
 * what the schedule says: 1 request at 0.5/s takes 2 s, and the run's
 * elapsed time is never below its sending phase. */
static int64_t send_phase_end_ns(const lg_config *cfg)
{
    int64_t deadline = cfg->start_ns + cfg->duration_ns;
    if (cfg->mode != LG_MODE_RATE)
        return deadline;
    long double count_ns = (long double)cfg->max_requests * 1e9L /
                           (long double)lg_rate_per_second(&cfg->rate);
    if (count_ns >= (long double)cfg->duration_ns)
        return deadline;
    return cfg->start_ns + lg_rate_offset_ns(&cfg->rate, cfg->max_requests);
}

static void end_sending(lg_worker *w, int64_t at_ns)
{
    w->sending_done = 1;
    w->send_end_ns = at_ns;
    count_not_sent(w);
}

static void *worker_main(void *arg)
{
    lg_worker *w = arg;
    const lg_config *cfg = w->cfg;
    int64_t deadline = cfg->start_ns + cfg->duration_ns;
    int64_t phase_end = send_phase_end_ns(cfg);
    /* A transfer ends within its own timeout; this is a backstop. */
    int64_t drain_ns = cfg->timeout_ms * 1000000LL + 1000000000LL;
    uint64_t cpu_wait_start_us = thread_cpu_wait_us();

    for (;;) {
        int64_t now = lg_mono_ns();
        int stopping = (cfg->stop != NULL && *cfg->stop) ||
                       atomic_load_explicit(&w->abort, memory_order_relaxed);
        int64_t next = INT64_MAX;

        if (!w->sending_done && !stopping) {
            next = send_due(w, now);
            if (now >= phase_end)
                end_sending(w, phase_end);
            else if (cfg->mode != LG_MODE_RATE && (next == INT64_MAX || next >= deadline))
                end_sending(w, now); /* nothing left to send: the run may end */
        }
        int in_flight = w->nslots - w->nfree;
        if (stopping || (w->sending_done && now - w->send_end_ns > drain_ns)) {
            if (!w->sending_done)
                end_sending(w, now);
            w->stats.unfinished += (uint64_t)in_flight;
            break;
        }
        if (w->sending_done && in_flight == 0)
            break;

        wait_for_work(w, now, next, phase_end);
        collect_finished(w);
    }
    uint64_t cpu_wait_end_us = thread_cpu_wait_us();
    if (cpu_wait_end_us > cpu_wait_start_us)
        w->stats.cpu_wait_us = cpu_wait_end_us - cpu_wait_start_us;
    atomic_store_explicit(&w->finished, 1, memory_order_release);
    return NULL;
}

/* ---- the run ---------------------------------------------------------- */

static int check_config(const lg_config *cfg, rl_error *err)
{
    if (cfg->threads < 1 || cfg->connections < cfg->threads) {
        rl_error_set(err, "need at least one thread and at least one connection per "
                          "thread (got %d connections, %d threads)",
                     cfg->connections, cfg->threads);
        return LG_ERR_INVALID;
    }
    if (cfg->duration_ns <= 0 || cfg->timeout_ms <= 0 || cfg->max_requests < 0) {
        rl_error_set(err, "the duration and the timeout must be positive");
        return LG_ERR_INVALID;
    }
    if (cfg->timeout_ms > LG_MAX_TIMEOUT_MS) {
        rl_error_set(err, "the timeout of %lld ms is out of range: the maximum is %lld ms",
                     (long long)cfg->timeout_ms, LG_MAX_TIMEOUT_MS);
        return LG_ERR_INVALID;
    }
    if (cfg->nroles < 1 || (cfg->mode != LG_MODE_SCHEDULE && cfg->hotkey == NULL)) {
        rl_error_set(err, "no request template or hotkey configured");
        return LG_ERR_INVALID;
    }
    if (cfg->mode == LG_MODE_SCHEDULE && cfg->outcomes == NULL && cfg->nschedule > 0) {
        rl_error_set(err, "a schedule needs an outcome array");
        return LG_ERR_INVALID;
    }
    return 0;
}

static void print_progress(lg_worker *workers, int n, const lg_config *cfg, int final)
{
    uint64_t sent = 0, done = 0, errors = 0;
    for (int i = 0; i < n; i++) {
        sent += atomic_load_explicit(&workers[i].pub_sent, memory_order_relaxed);
        done += atomic_load_explicit(&workers[i].pub_done, memory_order_relaxed);
        errors += atomic_load_explicit(&workers[i].pub_errors, memory_order_relaxed);
    }
    double elapsed = (double)(lg_mono_ns() - cfg->start_ns) / 1e9;
    double remaining = (double)cfg->duration_ns / 1e9 - elapsed;
    if (elapsed < 0)
        elapsed = 0;
    /* A terminal gets one line redrawn in place; a log gets whole lines. */
    int terminal = cfg->progress == LG_PROGRESS_TERMINAL;
    fprintf(stderr,
            "%ssent %llu  done %llu  in flight %llu  rate %.0f/s  errors %llu  "
            "elapsed %.0fs  remaining %.0fs%s%s",
            terminal ? "\r" : "ratelab load: progress: ", (unsigned long long)sent,
            (unsigned long long)done, (unsigned long long)(sent - done),
            elapsed > 0 ? (double)done / elapsed : 0.0, (unsigned long long)errors, elapsed,
            remaining > 0 ? remaining : 0.0, terminal ? " \033[K" : "",
            final || !terminal ? "\n" : "");
}

/* Waits for the workers, printing progress when asked: every second on a
 * terminal, every LG_PROGRESS_LOG_S seconds into a log. */
static void wait_workers(lg_worker *workers, int n, const lg_config *cfg)
{
    int terminal = cfg->progress == LG_PROGRESS_TERMINAL;
    int64_t every_ns = (terminal ? 1 : LG_PROGRESS_LOG_S) * 1000000000LL;
    /* A log's first line comes after one interval: short runs add none. */
    int64_t last_print = terminal ? 0 : lg_mono_ns();
    for (;;) {
        int finished = 0;
        for (int i = 0; i < n; i++)
            finished += atomic_load_explicit(&workers[i].finished, memory_order_acquire);
        if (finished == n)
            break;
        int64_t now = lg_mono_ns();
        if (cfg->progress && now - last_print >= every_ns) {
            print_progress(workers, n, cfg, 0);
            last_print = now;
        }
        struct timespec ts = {0, 50000000L};
        nanosleep(&ts, NULL);
    }
    if (terminal)
        print_progress(workers, n, cfg, 1);
}

static void fill_result(lg_result *out, lg_worker *workers, int n, const lg_config *cfg)
{
    int64_t send_end = 0;
    for (int i = 0; i < n; i++) {
        lg_stats_add(&out->stats, &workers[i].stats);
        if (workers[i].send_end_ns > send_end)
            send_end = workers[i].send_end_ns;
    }
    double send_s = (double)(send_end - cfg->start_ns) / 1e9;
    double elapsed_s = (double)(lg_mono_ns() - cfg->start_ns) / 1e9;
    /* A run stopped while it waited for its start (a replay waiting for a
     * window boundary) ends before it began: both times are then 0. */
    out->send_seconds = send_s > 0 ? send_s : 0;
    out->elapsed_seconds = elapsed_s > out->send_seconds ? elapsed_s : out->send_seconds;
    out->connections = cfg->connections;
    out->threads = cfg->threads;
    out->interrupted = cfg->stop != NULL && *cfg->stop;
    snprintf(out->target, sizeof(out->target), "%s", cfg->target);
    snprintf(out->mode, sizeof(out->mode), "%s",
             cfg->mode == LG_MODE_RATE  ? "rate"
             : cfg->mode == LG_MODE_MAX ? "max"
                                        : "replay");
    if (cfg->mode != LG_MODE_SCHEDULE)
        lg_rate_format(&cfg->rate, out->rate, sizeof(out->rate));
    out->target_rate = cfg->mode == LG_MODE_RATE ? lg_rate_per_second(&cfg->rate) : 0;
    lg_result_set_rates(out);
}

static int start_workers(lg_worker *workers, lg_config *run, rl_error *err)
{
    for (int i = 0; i < run->threads; i++) {
        int slots = run->connections / run->threads +
                    (i < run->connections % run->threads ? 1 : 0);
        int rc = worker_setup(&workers[i], run, i, slots);
        if (rc == 0 && run->mode == LG_MODE_SCHEDULE)
            rc = worker_take_schedule(&workers[i]);
        if (rc < 0) {
            rl_error_set(err, "cannot set up worker %d: %s", i, lg_strerror(rc));
            return rc;
        }
    }
    /* Give the threads a moment to start before the first intended time. */
    if (run->start_ns == 0)
        run->start_ns = lg_mono_ns() + 20000000LL;
    for (int i = 0; i < run->threads; i++) {
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            rl_error_set(err, "cannot start worker thread %d", i);
            /* Stop the started ones: they see the flag on their next poll. */
            for (int j = 0; j < i; j++)
                atomic_store(&workers[j].abort, 1);
            for (int j = 0; j < i; j++)
                pthread_join(workers[j].thread, NULL);
            return LG_ERR_THREAD;
        }
    }
    return 0;
}

int lg_run(const lg_config *cfg, lg_result *out, rl_error *err)
{
    int rc = check_config(cfg, err);
    if (rc < 0)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rl_error_set(err, "libcurl could not be initialised");
        return LG_ERR_CURL;
    }

    memset(out, 0, sizeof(*out));
    lg_config run = *cfg;
    lg_worker *workers = calloc((size_t)run.threads, sizeof(*workers));
    rc = workers == NULL ? LG_ERR_NOMEM : lg_result_init(out);
    if (rc < 0) {
        rl_error_set(err, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < run.nschedule; i++)
        run.outcomes[i] = (lg_outcome){.error = -1};

    out->stats.series =
        lg_series_create(run.duration_ns, lg_series_bucket_ns(run.duration_ns));
    if (out->stats.series == NULL) {
        rl_error_set(err, "out of memory");
        rc = LG_ERR_NOMEM;
        goto done;
    }
    rc = start_workers(workers, &run, err);
    if (rc < 0)
        goto done;
    /* The plots' clock: the wall-clock time of the monotonic start. */
    out->stats.series->start_unix_us = (lg_real_ns() - (lg_mono_ns() - run.start_ns)) / 1000;
    wait_workers(workers, run.threads, &run);
    for (int i = 0; i < run.threads; i++)
        pthread_join(workers[i].thread, NULL);
    fill_result(out, workers, run.threads, &run);

done:
    if (rc < 0)
        lg_result_free(out);
    for (int i = 0; workers != NULL && i < run.threads; i++)
        worker_teardown(&workers[i]);
    free(workers);
    curl_global_cleanup();
    return rc;
}
