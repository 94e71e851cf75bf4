/*
 * lg_template.c: template parsing and per-request expansion (lg_template.h).
 *
 * A text is split into segments once, when the template is loaded, so
 * expanding it per request is a walk over the segments with no parsing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "lg_status.h"
#include "lg_template.h"
#include "rl_limiter.h"

static const char *const var_names[LG_VAR_COUNT] = {
    "hotkey", "coldkey", "role", "timestamp", "seq", "uuid", "signature",
};

/* ---- buffers ---------------------------------------------------------- */

int lg_buf_reserve(lg_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap == 0 ? 256 : b->cap;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *bigger = realloc(b->data, cap);
    if (bigger == NULL)
        return LG_ERR_NOMEM;
    b->data = bigger;
    b->cap = cap;
    return 0;
}

int lg_buf_append(lg_buf *b, const char *s, size_t len)
{
    if (lg_buf_reserve(b, len) < 0)
        return LG_ERR_NOMEM;
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

void lg_buf_free(lg_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* ---- compiling texts -------------------------------------------------- */

static int var_lookup(const char *name, size_t len)
{
    for (int i = 0; i < LG_VAR_COUNT; i++)
        if (strlen(var_names[i]) == len && memcmp(var_names[i], name, len) == 0)
            return i;
    return -1;
}

/* Length of a placeholder name at s ("{name}" with name in [a-z_]+), or 0
 * when s does not start one. */
static size_t placeholder_len(const char *s)
{
    if (s[0] != '{')
        return 0;
    size_t i = 1;
    while ((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_')
        i++;
    return (i > 1 && s[i] == '}') ? i - 1 : 0;
}

static int push_segment(lg_text *t, int var, size_t off, size_t len)
{
    lg_segment *segs = realloc(t->segs, (size_t)(t->nsegs + 1) * sizeof(*segs));
    if (segs == NULL)
        return LG_ERR_NOMEM;
    t->segs = segs;
    t->segs[t->nsegs++] = (lg_segment){var, off, len};
    if (var >= 0)
        t->has_vars = 1;
    return 0;
}

/* Splits text into segments; takes ownership of `text` (freed on error). */
static int text_compile(lg_text *t, char *text, const char *where, rl_error *err)
{
    memset(t, 0, sizeof(*t));
    t->text = text;

    int rc = LG_ERR_INVALID;
    size_t lit_start = 0, i = 0;
    while (text[i] != '\0') {
        size_t name_len = placeholder_len(text + i);
        if (name_len == 0) {
            i++;
            continue;
        }
        int var = var_lookup(text + i + 1, name_len);
        if (var < 0) {
            rl_error_set(err, "%s: unknown placeholder {%.*s}; known ones are {hotkey}, "
                              "{coldkey}, {role}, {timestamp}, {seq}, {uuid} and "
                              "{signature}",
                         where, (int)name_len, text + i + 1);
            goto fail;
        }
        if (i > lit_start && push_segment(t, -1, lit_start, i - lit_start) < 0)
            goto nomem;
        if (push_segment(t, var, 0, 0) < 0)
            goto nomem;
        i += name_len + 2;
        lit_start = i;
    }
    if (i > lit_start && push_segment(t, -1, lit_start, i - lit_start) < 0)
        goto nomem;
    return 0;

nomem:
    rl_error_set(err, "%s: out of memory", where);
    rc = LG_ERR_NOMEM;
fail:
    free(t->segs);
    free(t->text);
    memset(t, 0, sizeof(*t));
    return rc;
}

static int text_compile_copy(lg_text *t, const char *src, const char *where,
                             rl_error *err)
{
    char *copy = strdup(src);
    if (copy == NULL) {
        rl_error_set(err, "%s: out of memory", where);
        return LG_ERR_NOMEM;
    }
    return text_compile(t, copy, where, err);
}

static void text_free(lg_text *t)
{
    free(t->text);
    free(t->segs);
    memset(t, 0, sizeof(*t));
}

/* ---- expansion -------------------------------------------------------- */

static uint64_t xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

static int append_uuid(lg_buf *out, uint64_t *rng)
{
    uint64_t hi = xorshift64(rng), lo = xorshift64(rng);
    /* Version 4 (random) in the high nibble of byte 6, variant 10xx. */
    hi = (hi & ~0xF000ULL) | 0x4000ULL;
    lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
    char s[40];
    int n = snprintf(s, sizeof(s), "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64
                                   "-%012" PRIx64,
                     hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF, lo >> 48,
                     (uint64_t)(lo & 0xFFFFFFFFFFFFULL));
    return lg_buf_append(out, s, (size_t)n);
}

static int append_var(lg_buf *out, int var, const lg_vars *v)
{
    char num[64];
    int n;

    switch (var) {
    case LG_VAR_HOTKEY:
        return lg_buf_append(out, v->hotkey, strlen(v->hotkey));
    case LG_VAR_COLDKEY:
        if (v->coldkey != NULL)
            return lg_buf_append(out, v->coldkey, strlen(v->coldkey));
        if (lg_buf_append(out, v->hotkey, strlen(v->hotkey)) < 0)
            return LG_ERR_NOMEM;
        return lg_buf_append(out, "-cold", 5);
    case LG_VAR_ROLE:
        return lg_buf_append(out, v->role, strlen(v->role));
    case LG_VAR_TIMESTAMP:
        n = snprintf(num, sizeof(num), "%" PRId64, v->timestamp_s);
        return lg_buf_append(out, num, (size_t)n);
    case LG_VAR_SEQ:
        n = snprintf(num, sizeof(num), "%" PRIu64, v->seq);
        return lg_buf_append(out, num, (size_t)n);
    case LG_VAR_UUID:
        return append_uuid(out, v->rng);
    case LG_VAR_SIGNATURE:
        n = snprintf(num, sizeof(num), "%s-%" PRIu64, v->auth_ok ? "sig" : "bad", v->seq);
        return lg_buf_append(out, num, (size_t)n);
    default:
        return LG_ERR_INVALID;
    }
}

int lg_text_expand(const lg_text *text, const lg_vars *vars, lg_buf *out)
{
    for (int i = 0; i < text->nsegs; i++) {
        const lg_segment *s = &text->segs[i];
        int rc = s->var < 0 ? lg_buf_append(out, text->text + s->off, s->len)
                            : append_var(out, s->var, vars);
        if (rc < 0)
            return rc;
    }
    if (out->data == NULL)
        return lg_buf_append(out, "", 0);
    return 0;
}

/* ---- templates -------------------------------------------------------- */

static int set_method(lg_template *t, const char *method, const char *where,
                      rl_error *err)
{
    size_t len = strlen(method);
    int ok = len > 0 && len < sizeof(t->method);
    for (size_t i = 0; ok && i < len; i++)
        ok = method[i] >= 'A' && method[i] <= 'Z';
    if (!ok) {
        rl_error_set(err, "%s: invalid method '%s': use an upper-case HTTP method "
                          "such as POST or GET",
                     where, method);
        return LG_ERR_INVALID;
    }
    memcpy(t->method, method, len + 1);
    return 0;
}

static int add_header(lg_template *t, const char *line, const char *where,
                      rl_error *err)
{
    lg_text *h = realloc(t->headers, (size_t)(t->nheaders + 1) * sizeof(*h));
    if (h == NULL) {
        rl_error_set(err, "%s: out of memory", where);
        return LG_ERR_NOMEM;
    }
    t->headers = h;
    int rc = text_compile_copy(&t->headers[t->nheaders], line, where, err);
    if (rc == 0)
        t->nheaders++;
    return rc;
}

/* Removes the quotes around "{timestamp}" and "{seq}" in a dumped JSON
 * body, so those placeholders expand to JSON numbers.  Works in place. */
static void unquote_numeric_placeholders(char *s)
{
    static const char *const quoted[] = {"\"{timestamp}\"", "\"{seq}\""};
    for (size_t q = 0; q < 2; q++) {
        size_t qlen = strlen(quoted[q]);
        char *hit;
        while ((hit = strstr(s, quoted[q])) != NULL) {
            memmove(hit, hit + 1, qlen - 2);
            memmove(hit + qlen - 2, hit + qlen, strlen(hit + qlen) + 1);
        }
    }
}

int lg_template_default(lg_template *t, const char *role, rl_error *err)
{
    static const char miner_body[] = "{\"coldkey\":\"{coldkey}\",\"hotkey\":\"{hotkey}\","
                                     "\"timestamp\":{timestamp},\"signature\":\"{signature}\"}";
    static const char validator_body[] = "{\"hotkey\":\"{hotkey}\",\"signature\":"
                                         "\"{signature}\",\"timestamp\":{timestamp}}";
    int miner = strcmp(role, "miner") == 0;
    if (!miner && strcmp(role, "validator") != 0) {
        rl_error_set(err, "role '%s' has no built-in request template: give one with "
                          "--template FILE",
                     role);
        return LG_ERR_INVALID;
    }

    memset(t, 0, sizeof(*t));
    strcpy(t->method, "POST");
    t->has_body = 1;
    const char *path = miner ? "/get-folder-access" : "/get-validator-access";
    int rc = text_compile_copy(&t->path, path, "built-in template", err);
    if (rc == 0)
        rc = text_compile_copy(&t->body, miner ? miner_body : validator_body,
                               "built-in template", err);
    if (rc == 0)
        rc = add_header(t, "Content-Type: application/json", "built-in template", err);
    if (rc < 0)
        lg_template_free(t);
    return rc;
}

static int parse_headers(lg_template *t, json_t *headers, const char *where,
                         rl_error *err)
{
    const char *name;
    json_t *value;
    json_object_foreach(headers, name, value)
    {
        if (!json_is_string(value) || name[0] == '\0' || strchr(name, ':') != NULL) {
            rl_error_set(err, "%s: header '%s' must be a name without ':' and a string "
                              "value",
                         where, name);
            return LG_ERR_INVALID;
        }
        char line[1024];
        int n = snprintf(line, sizeof(line), "%s: %s", name, json_string_value(value));
        if (n < 0 || (size_t)n >= sizeof(line)) {
            rl_error_set(err, "%s: header '%s' is longer than 1 KiB", where, name);
            return LG_ERR_INVALID;
        }
        int rc = add_header(t, line, where, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int parse_body(lg_template *t, json_t *body, const char *where, rl_error *err)
{
    char *text;
    if (json_is_string(body)) {
        text = strdup(json_string_value(body));
    } else {
        text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        if (text != NULL)
            unquote_numeric_placeholders(text);
    }
    if (text == NULL) {
        rl_error_set(err, "%s: out of memory", where);
        return LG_ERR_NOMEM;
    }
    t->has_body = 1;
    int rc = text_compile(&t->body, text, where, err);
    if (rc == 0 && !json_is_string(body)) {
        int has_type = 0;
        for (int i = 0; i < t->nheaders; i++)
            has_type |= strncasecmp(t->headers[i].text, "content-type:", 13) == 0;
        if (!has_type)
            rc = add_header(t, "Content-Type: application/json", where, err);
    }
    return rc;
}

/* Fills t from a parsed template object. */
static int template_from_json(lg_template *t, json_t *obj, const char *where,
                              rl_error *err)
{
    json_t *method = json_object_get(obj, "method");
    json_t *path = json_object_get(obj, "path");
    json_t *headers = json_object_get(obj, "headers");
    json_t *body = json_object_get(obj, "body");
    const char *key;
    json_t *value;

    memset(t, 0, sizeof(*t));
    json_object_foreach(obj, key, value)
    {
        if (strcmp(key, "method") && strcmp(key, "path") && strcmp(key, "headers") &&
            strcmp(key, "body")) {
            rl_error_set(err, "%s: unknown key '%s'; a template has \"method\", "
                              "\"path\", \"headers\" and \"body\"",
                         where, key);
            return LG_ERR_INVALID;
        }
    }
    if (!json_is_string(path) || json_string_value(path)[0] != '/') {
        rl_error_set(err, "%s: \"path\" must be a string starting with '/', such as "
                          "\"/get-folder-access\"",
                     where);
        return LG_ERR_INVALID;
    }
    if (method != NULL && !json_is_string(method)) {
        rl_error_set(err, "%s: \"method\" must be a string such as \"POST\"", where);
        return LG_ERR_INVALID;
    }
    if (headers != NULL && !json_is_object(headers)) {
        rl_error_set(err, "%s: \"headers\" must be an object of name: value strings",
                     where);
        return LG_ERR_INVALID;
    }

    int rc = set_method(t, method != NULL ? json_string_value(method)
                           : body != NULL ? "POST"
                                          : "GET",
                        where, err);
    if (rc == 0)
        rc = text_compile_copy(&t->path, json_string_value(path), where, err);
    if (rc == 0 && headers != NULL)
        rc = parse_headers(t, headers, where, err);
    if (rc == 0 && body != NULL && !json_is_null(body))
        rc = parse_body(t, body, where, err);
    if (rc < 0)
        lg_template_free(t);
    return rc;
}

int lg_template_parse(lg_template *t, const char *json, size_t len, const char *where,
                      rl_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (root == NULL || !json_is_object(root)) {
        if (root == NULL)
            rl_error_set(err, "%s:%d: invalid JSON: %s", where, jerr.line, jerr.text);
        else
            rl_error_set(err, "%s: a template must be a JSON object", where);
        json_decref(root);
        return LG_ERR_INVALID;
    }
    int rc = template_from_json(t, root, where, err);
    json_decref(root);
    return rc;
}

void lg_template_free(lg_template *t)
{
    if (t == NULL)
        return;
    text_free(&t->path);
    text_free(&t->body);
    for (int i = 0; i < t->nheaders; i++)
        text_free(&t->headers[i]);
    free(t->headers);
    memset(t, 0, sizeof(*t));
}

/* ---- template sets ---------------------------------------------------- */

static int set_add_from_json(lg_template_set *set, const char *name, json_t *obj,
                             const char *where, rl_error *err)
{
    if (set->n >= RL_MAX_ROLES + 1 || strlen(name) >= RL_ROLE_NAME_MAX) {
        rl_error_set(err, "%s: too many roles or role name '%s' too long", where, name);
        return LG_ERR_INVALID;
    }
    if (!json_is_object(obj)) {
        rl_error_set(err, "%s: the template for role '%s' must be a JSON object",
                     where, name);
        return LG_ERR_INVALID;
    }
    int rc = template_from_json(&set->templates[set->n], obj, where, err);
    if (rc == 0)
        strcpy(set->names[set->n++], name);
    return rc;
}

int lg_template_set_load(lg_template_set *set, const char *json, size_t len,
                         const char *filename, rl_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    int rc = 0;

    if (root == NULL) {
        rl_error_set(err, "%s:%d: invalid JSON: %s", filename, jerr.line, jerr.text);
        return LG_ERR_INVALID;
    }
    if (!json_is_object(root)) {
        rl_error_set(err, "%s: a template file must be a JSON object", filename);
        rc = LG_ERR_INVALID;
    } else if (json_object_get(root, "path") != NULL) {
        rc = set_add_from_json(set, "*", root, filename, err);
    } else {
        const char *role;
        json_t *obj;
        json_object_foreach(root, role, obj)
        {
            if (rc == 0)
                rc = set_add_from_json(set, role, obj, filename, err);
        }
        if (rc == 0 && set->n == 0) {
            rl_error_set(err, "%s: no template: give {\"path\": ...} or a map of role "
                              "names to templates",
                         filename);
            rc = LG_ERR_INVALID;
        }
    }
    json_decref(root);
    return rc;
}

const lg_template *lg_template_set_find(lg_template_set *set, const char *role,
                                        rl_error *err)
{
    for (int i = 0; i < set->n; i++)
        if (strcmp(set->names[i], role) == 0 || strcmp(set->names[i], "*") == 0)
            return &set->templates[i];

    if (set->n >= RL_MAX_ROLES + 1 || strlen(role) >= RL_ROLE_NAME_MAX) {
        rl_error_set(err, "too many roles for the request templates");
        return NULL;
    }
    if (lg_template_default(&set->templates[set->n], role, err) < 0)
        return NULL;
    strcpy(set->names[set->n], role);
    return &set->templates[set->n++];
}

void lg_template_set_free(lg_template_set *set)
{
    if (set == NULL)
        return;
    for (int i = 0; i < set->n; i++)
        lg_template_free(&set->templates[i]);
    set->n = 0;
}

int lg_check_client_id(const char *id, const char *what, rl_error *err)
{
    size_t len = strlen(id);
    int ok = len >= 1 && len <= RL_CLIENT_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = id[i] > ' ' && id[i] < 0x7f && id[i] != '"' && id[i] != '\\';
    if (!ok) {
        rl_error_set(err, "invalid %s '%s': use 1 to %d printable ASCII characters "
                          "without spaces, quotes or backslashes",
                     what, id, RL_CLIENT_MAX);
        return LG_ERR_INVALID;
    }
    return 0;
}
