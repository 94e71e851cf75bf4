/*
 * lg_status.c: descriptions of the load generator's status codes.
 */
#include "lg_status.h"

const char *lg_strerror(int status)
{
    switch (status) {
    case LG_OK:
        return "success";
    case LG_ERR_NOMEM:
        return "out of memory";
    case LG_ERR_INVALID:
        return "invalid input";
    case LG_ERR_CURL:
        return "libcurl could not be initialised";
    case LG_ERR_THREAD:
        return "a worker thread could not be started";
    case LG_ERR_LAYOUT:
        return "histogram bucket layouts differ";
    default:
        return "unknown error";
    }
}
