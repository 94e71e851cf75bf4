/*
 * lg_stats.c: counters, error kinds and result merging (see lg_stats.h).
 */
#include <string.h>

#include <curl/curl.h>

#include "lg_stats.h"
#include "lg_status.h"

const char *lg_error_kind_name(int kind)
{
    static const char *const names[LG_ERROR_KINDS] = {
        "refused", "timeout", "reset", "dns", "tls", "other",
    };
    return kind >= 0 && kind < LG_ERROR_KINDS ? names[kind] : "other";
}

lg_error_kind lg_error_kind_of_curl(int curl_code)
{
    switch ((CURLcode)curl_code) {
    case CURLE_COULDNT_CONNECT:
        return LG_ERROR_REFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return LG_ERROR_TIMEOUT;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return LG_ERROR_RESET;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return LG_ERROR_DNS;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return LG_ERROR_TLS;
    default:
        return LG_ERROR_OTHER;
    }
}

int lg_stats_init(lg_stats *s)
{
    memset(s, 0, sizeof(*s));
    s->latency = lg_hist_create();
    s->service = lg_hist_create();
    if (s->latency == NULL || s->service == NULL) {
        lg_stats_free(s);
        return LG_ERR_NOMEM;
    }
    return 0;
}

void lg_stats_free(lg_stats *s)
{
    if (s == NULL)
        return;
    lg_hist_destroy(s->latency);
    lg_hist_destroy(s->service);
    lg_series_destroy(s->series);
    s->latency = NULL;
    s->service = NULL;
    s->series = NULL;
}

void lg_stats_add(lg_stats *dst, const lg_stats *src)
{
    dst->sent += src->sent;
    dst->responses += src->responses;
    dst->unfinished += src->unfinished;
    dst->late += src->late;
    dst->not_sent += src->not_sent;
    dst->cpu_wait_us += src->cpu_wait_us;
    for (int i = 0; i < LG_ERROR_KINDS; i++)
        dst->errors[i] += src->errors[i];
    for (int i = 0; i < LG_STATUS_CODES; i++)
        dst->status[i] += src->status[i];
    lg_hist_add(dst->latency, src->latency);
    lg_hist_add(dst->service, src->service);
    if (dst->series != NULL && (src->series == NULL ||
                                lg_series_add(dst->series, src->series) < 0)) {
        lg_series_destroy(dst->series);
        dst->series = NULL;
    }
}

uint64_t lg_stats_error_total(const lg_stats *s)
{
    uint64_t n = 0;
    for (int i = 0; i < LG_ERROR_KINDS; i++)
        n += s->errors[i];
    return n;
}

int lg_result_init(lg_result *r)
{
    memset(r, 0, sizeof(*r));
    r->runs = 1;
    return lg_stats_init(&r->stats);
}

void lg_result_free(lg_result *r)
{
    if (r != NULL)
        lg_stats_free(&r->stats);
}

void lg_result_set_rates(lg_result *r)
{
    if (r->send_seconds <= 0)
        return;
    r->requests_per_second = (double)r->stats.responses / r->send_seconds;
    r->achieved_rate = (double)r->stats.sent / r->send_seconds;
}

void lg_result_merge(lg_result *dst, const lg_result *src)
{
    /* Merged runs ran at the same time on different machines: their rates
     * add, and the sending phase is the longest one. */
    lg_stats_add(&dst->stats, &src->stats);
    dst->requests_per_second += src->requests_per_second;
    dst->achieved_rate += src->achieved_rate;
    dst->target_rate += src->target_rate;
    if (src->send_seconds > dst->send_seconds)
        dst->send_seconds = src->send_seconds;
    if (src->elapsed_seconds > dst->elapsed_seconds)
        dst->elapsed_seconds = src->elapsed_seconds;
    dst->connections += src->connections;
    dst->threads += src->threads;
    dst->interrupted |= src->interrupted;
    dst->runs += src->runs;
    if (strcmp(dst->rate, src->rate) != 0)
        dst->rate[0] = '\0';
    strcpy(dst->mode, "merged");
}
