/*
 * srv_body.c: request body validation with FastAPI's 422 error shape.
 *
 * The deployed service declares its bodies as pydantic (v1) models and
 * FastAPI rejects a body that does not fit with 422 and a list of
 * {"loc", "msg", "type"} objects, one per offending field, in the model's
 * field order.  This file reproduces that list for the cases a client
 * meets: invalid JSON (loc ["body", <byte offset>], type
 * "value_error.jsondecode", with jansson's message text), a body that is not an object, a missing or
 * null required field, a field of the wrong type.  It adds bounds of its
 * own that pydantic's models do not have: hotkeys, coldkeys and
 * miner_hotkey are 1..SRV_KEY_MAX characters from [A-Za-z0-9._-], and a
 * signature is at most SRV_SIGNATURE_MAX bytes, reported with pydantic's
 * constrained-string messages.
 *
 * Coercions follow pydantic v1.  An int field takes a JSON integer, a real
 * (truncated toward zero) or a string of decimal digits.  A str field takes
 * a string or a JSON integer (written in decimal).  Unknown fields are
 * ignored.  Nothing here allocates besides the JSON values.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "srv_internal.h"

#define KEY_PATTERN "^[A-Za-z0-9._-]+$"

/* Appends {"loc": ["body", field?], "msg", "type", "ctx"?}; ctx is stolen. */
static int add_error(json_t *errors, const char *field, const char *msg,
                     const char *type, json_t *ctx)
{
    json_t *loc = json_pack("[s]", "body");
    json_t *e = json_object();
    int rc = -1;

    if (loc != NULL && e != NULL && (field == NULL || json_array_append_new(loc, json_string(field)) == 0) &&
        json_object_set(e, "loc", loc) == 0 &&
        json_object_set_new(e, "msg", json_string(msg)) == 0 &&
        json_object_set_new(e, "type", json_string(type)) == 0 &&
        (ctx == NULL || json_object_set(e, "ctx", ctx) == 0))
        rc = json_array_append(errors, e);
    json_decref(loc);
    json_decref(e);
    json_decref(ctx);
    return rc;
}

static int key_chars_ok(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return 0;
    }
    return 1;
}

/* Checks a constrained string's length and characters; 0 when it fits. */
static int check_bounds(json_t *errors, const char *field, const char *value,
                        size_t max_len, int key_charset)
{
    size_t n = strlen(value);

    if (key_charset && n == 0)
        return add_error(errors, field, "ensure this value has at least 1 characters",
                         "value_error.any_str.min_length",
                         json_pack("{s:i}", "limit_value", 1)) < 0 ? -1 : 1;
    if (n > max_len) {
        char msg[96];
        snprintf(msg, sizeof(msg), "ensure this value has at most %zu characters", max_len);
        return add_error(errors, field, msg, "value_error.any_str.max_length",
                         json_pack("{s:I}", "limit_value", (json_int_t)max_len)) < 0 ? -1 : 1;
    }
    if (key_charset && !key_chars_ok(value))
        return add_error(errors, field, "string does not match regex \"" KEY_PATTERN "\"",
                         "value_error.str.regex",
                         json_pack("{s:s}", "pattern", KEY_PATTERN)) < 0 ? -1 : 1;
    return 0;
}

/*
 * Reads a str field into dst (dst_len > max_len).  `required`: absent or
 * null is an error; otherwise both leave dst empty.  Returns 0, 1 when an
 * error was added, -1 when out of memory.
 */
static int read_str(json_t *obj, json_t *errors, const char *field, int required,
                    size_t max_len, int key_charset, char *dst, size_t dst_len)
{
    json_t *v = json_object_get(obj, field);
    char text[32];
    const char *s;

    dst[0] = '\0';
    if (v == NULL || json_is_null(v)) {
        if (!required)
            return 0;
        if (v == NULL)
            return add_error(errors, field, "field required", "value_error.missing", NULL) < 0 ? -1 : 1;
        return add_error(errors, field, "none is not an allowed value",
                         "type_error.none.not_allowed", NULL) < 0 ? -1 : 1;
    }
    if (json_is_string(v)) {
        s = json_string_value(v);
        if (strlen(s) != json_string_length(v))
            return add_error(errors, field, "str type expected", "type_error.str", NULL) < 0 ? -1 : 1;
    } else if (json_is_integer(v)) {
        snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = text;
    } else {
        return add_error(errors, field, "str type expected", "type_error.str", NULL) < 0 ? -1 : 1;
    }

    /* An optional field that is present and empty stays empty: the caller
     * decides (miner_hotkey "" is the deployed service's 400). */
    if (!required && *s == '\0')
        return 0;
    int rc = check_bounds(errors, field, s, max_len, key_charset);
    if (rc == 0)
        snprintf(dst, dst_len, "%s", s);
    return rc;
}

/* Parses a string as a Python int() would: optional spaces and sign,
 * decimal digits (underscores between digits are not accepted here). */
static int parse_int_text(const char *s, int64_t *out)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    if (*s == '\0')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || !isdigit((unsigned char)end[-1]))
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* Reads an int field.  *present is 0 when absent or null (allowed for every
 * int field of the deployed models).  Returns like read_str. */
static int read_int(json_t *obj, json_t *errors, const char *field, int null_ok,
                    int64_t *out, int *present)
{
    json_t *v = json_object_get(obj, field);

    *present = 0;
    *out = 0;
    if (v == NULL)
        return 0;
    if (json_is_null(v)) {
        if (null_ok)
            return 0;
        return add_error(errors, field, "none is not an allowed value",
                         "type_error.none.not_allowed", NULL) < 0 ? -1 : 1;
    }
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        *present = 1;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        /* 2^63 as a double; values beyond it cannot be held. */
        if (isfinite(d) && d > -9223372036854775808.0 && d < 9223372036854775808.0) {
            *out = (int64_t)d;
            *present = 1;
            return 0;
        }
    }
    if (json_is_string(v) && parse_int_text(json_string_value(v), out) == 0) {
        *present = 1;
        return 0;
    }
    return add_error(errors, field, "value is not a valid integer", "type_error.integer",
                     NULL) < 0 ? -1 : 1;
}

/*
 * Adds the invalid-JSON error as FastAPI reports Python's JSONDecodeError:
 * loc ["body", pos] with pos the 0-based offset where the offending token
 * starts.  jansson's position is the offset after that token, and its
 * message quotes the token ("... near 'tru'"), so the token's length is
 * subtracted.  The message text stays jansson's.
 */
static int add_decode_error(json_t *errors, const json_error_t *jerr, const char *body)
{
    const char *near = strstr(jerr->text, "near '");
    size_t pos = (size_t)jerr->position;

    if (near != NULL) {
        const char *token = near + 6;
        const char *close = strrchr(token, '\'');
        size_t token_len = close != NULL && close > token ? (size_t)(close - token) : 0;
        pos = token_len <= pos ? pos - token_len : 0;
    }

    /* Python counts lines and columns from 1. */
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < pos; i++)
        if (body[i] == '\n') {
            line++;
            line_start = i + 1;
        }
    json_t *ctx = json_pack("{s:s,s:I,s:I,s:I}", "msg", jerr->text, "pos", (json_int_t)pos,
                            "lineno", (json_int_t)line, "colno",
                            (json_int_t)(pos - line_start + 1));
    json_t *e = json_pack("{s:[s,I],s:s,s:s,s:o}", "loc", "body", (json_int_t)pos, "msg",
                          jerr->text, "type", "value_error.jsondecode", "ctx", ctx);
    if (e == NULL)
        return -1;
    return json_array_append_new(errors, e);
}

/* Validates the fields of a parsed object in the model's field order. */
static int read_fields(json_t *obj, srv_body_kind kind, srv_access_request *req,
                       json_t *errors)
{
    int rc = 0, has_expiry, r;

#define STEP(call)                                                             \
    do {                                                                       \
        r = (call);                                                            \
        if (r < 0)                                                             \
            return -1;                                                         \
        rc |= r;                                                               \
    } while (0)

    if (kind == SRV_BODY_MINER) {
        STEP(read_str(obj, errors, "coldkey", 1, SRV_KEY_MAX, 1, req->coldkey,
                      sizeof(req->coldkey)));
        STEP(read_str(obj, errors, "hotkey", 1, SRV_KEY_MAX, 1, req->hotkey,
                      sizeof(req->hotkey)));
        STEP(read_int(obj, errors, "timestamp", 0, &req->timestamp_s, &req->has_timestamp));
        STEP(read_str(obj, errors, "signature", 1, SRV_SIGNATURE_MAX, 0,
                      req->signature, sizeof(req->signature)));
        STEP(read_int(obj, errors, "expiry", 1, &req->expiry_s, &has_expiry));
    } else {
        STEP(read_str(obj, errors, "hotkey", 1, SRV_KEY_MAX, 1, req->hotkey,
                      sizeof(req->hotkey)));
        STEP(read_str(obj, errors, "signature", 1, SRV_SIGNATURE_MAX, 0,
                      req->signature, sizeof(req->signature)));
        STEP(read_int(obj, errors, "timestamp", 0, &req->timestamp_s, &req->has_timestamp));
        STEP(read_int(obj, errors, "expiry", 1, &req->expiry_s, &has_expiry));
        STEP(read_str(obj, errors, "miner_hotkey", 0, SRV_KEY_MAX, 1,
                      req->miner_hotkey, sizeof(req->miner_hotkey)));
    }
#undef STEP
    return rc;
}

int srv_body_parse(const char *body, size_t len, srv_body_kind kind,
                   srv_access_request *req, json_t **errors)
{
    json_error_t jerr;
    json_t *obj = NULL;
    json_t *errs = json_array();
    int rc;

    memset(req, 0, sizeof(*req));
    *errors = NULL;
    if (errs == NULL)
        return RL_ERR_NOMEM;

    /* An empty body is a missing body to FastAPI, not invalid JSON. */
    if (len == 0) {
        rc = add_error(errs, NULL, "field required", "value_error.missing", NULL);
        goto done;
    }
    obj = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
    if (obj == NULL) {
        rc = add_decode_error(errs, &jerr, body);
        goto done;
    }
    if (!json_is_object(obj)) {
        rc = add_error(errs, NULL, "value is not a valid dict", "type_error.dict", NULL);
        goto done;
    }
    rc = read_fields(obj, kind, req, errs);

done:
    json_decref(obj);
    if (rc < 0) {
        json_decref(errs);
        return RL_ERR_NOMEM;
    }
    if (json_array_size(errs) == 0) {
        json_decref(errs);
        return 0;
    }
    *errors = errs;
    return 1;
}
