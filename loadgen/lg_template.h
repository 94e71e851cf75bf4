/*
 * lg_template.h: request templates with placeholders.
 *
 * A template is a method, a path, headers and an optional body, each a text
 * in which {name} placeholders are replaced per request:
 *
 *   {hotkey}     the client id (a scenario's client, or --hotkey)
 *   {coldkey}    the client's coldkey ("<hotkey>-cold" unless given)
 *   {role}       the role name ("miner", "validator")
 *   {timestamp}  the current time in whole Unix seconds, read when the
 *                request is sent, so a server's freshness check passes
 *   {seq}        the request's sequence number in the run, from 0
 *   {uuid}       a random version-4 UUID
 *   {signature}  "sig-<seq>", or "bad-<seq>" for a request meant to fail
 *                authentication (the reference server rejects signatures
 *                starting with "bad")
 *
 * A template file is JSON: {"method", "path", "headers": {name: value},
 * "body"}, where body is a JSON value (sent compact) or a string (sent as
 * is).  Inside a JSON body, a string that is exactly "{timestamp}" or
 * "{seq}" becomes a JSON number.  A file may instead map role names to
 * template objects ({"miner": {...}, "validator": {...}}).
 *
 * The built-in templates reproduce the deployed API: miners POST
 * /get-folder-access {coldkey, hotkey, timestamp, signature}; validators
 * POST /get-validator-access {hotkey, signature, timestamp}.
 *
 * Ownership: a template owns its texts; lg_template_free() releases them.
 * Expanding writes into a caller's lg_buf, which grows as needed.
 */
#ifndef LG_TEMPLATE_H
#define LG_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "rl_limits.h"
#include "rl_status.h"

typedef enum lg_var {
    LG_VAR_HOTKEY = 0,
    LG_VAR_COLDKEY,
    LG_VAR_ROLE,
    LG_VAR_TIMESTAMP,
    LG_VAR_SEQ,
    LG_VAR_UUID,
    LG_VAR_SIGNATURE,
    LG_VAR_COUNT
} lg_var;

/* A growable byte buffer, always NUL-terminated once written. */
typedef struct lg_buf {
    char *data; /* owned */
    size_t len;
    size_t cap;
} lg_buf;

int lg_buf_reserve(lg_buf *b, size_t extra);
int lg_buf_append(lg_buf *b, const char *s, size_t len);
void lg_buf_free(lg_buf *b);

/* One piece of a text: a literal run or a placeholder. */
typedef struct lg_segment {
    int var;     /* an lg_var, or -1 for a literal */
    size_t off;  /* literal: offset into the text */
    size_t len;
} lg_segment;

typedef struct lg_text {
    char *text;         /* owned, the template's original text */
    lg_segment *segs;   /* owned */
    int nsegs;
    int has_vars;       /* 0: the text is constant */
} lg_text;

typedef struct lg_template {
    char method[16];
    lg_text path;
    lg_text body;
    int has_body;
    lg_text *headers; /* owned, "Name: value" each */
    int nheaders;
} lg_template;

/* The values of one request's placeholders. */
typedef struct lg_vars {
    const char *hotkey;
    const char *coldkey; /* NULL: "<hotkey>-cold" */
    const char *role;
    uint64_t seq;
    int64_t timestamp_s;
    int auth_ok;      /* 0: {signature} is "bad-<seq>" */
    uint64_t *rng;    /* xorshift state for {uuid}; must not be 0 */
} lg_vars;

/* Fills the built-in template of "miner" or "validator".  Other roles are
 * LG_ERR_INVALID with a message asking for --template. */
int lg_template_default(lg_template *t, const char *role, rl_error *err);

/* Parses one template object from JSON text; `where` names it in errors. */
int lg_template_parse(lg_template *t, const char *json, size_t len,
                      const char *where, rl_error *err);

void lg_template_free(lg_template *t);

/* Expands a text for one request, appending to out. */
int lg_text_expand(const lg_text *text, const lg_vars *vars, lg_buf *out);

/* Templates by role: from a file, falling back to the built-in ones. */
typedef struct lg_template_set {
    char names[RL_MAX_ROLES + 1][RL_ROLE_NAME_MAX]; /* "*" matches any role */
    lg_template templates[RL_MAX_ROLES + 1];
    int n;
} lg_template_set;

/* Loads a template file's text (one template, or a map of role names to
 * templates) into an empty set. */
int lg_template_set_load(lg_template_set *set, const char *json, size_t len,
                         const char *filename, rl_error *err);

/* Finds the template for a role: the file's entry for it, the file's
 * single template, or the built-in one (added to the set on first use).
 * Returns NULL with err filled when the role has none. */
const lg_template *lg_template_set_find(lg_template_set *set, const char *role,
                                        rl_error *err);

void lg_template_set_free(lg_template_set *set);

/* Checks that a client id can go into a JSON string and a URL unescaped:
 * 1..256 printable ASCII characters without '"', '\\' or spaces. */
int lg_check_client_id(const char *id, const char *what, rl_error *err);

#endif
