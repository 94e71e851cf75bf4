/*
 * rl_limits.c: the limits in force, and the strict parsers that set them
 * from the environment, dotenv files and container task definitions.
 *
 * Part of the core: no file I/O (callers pass text and a file name for
 * messages), no clock, no global state.  Warnings go to an rl_logger that
 * the caller passes.  An error fills an rl_error with one sentence naming
 * the source (file and line, JSON path, or "environment"), the variable,
 * the value and what was expected.
 *
 * What always holds:
 *  - a limit is either set from a valid value or the call fails: no value is
 *    skipped, clamped or replaced by a default;
 *  - every limit records where it came from ("default", "environment",
 *    "FILE:LINE", "FILE: containerDefinitions[i].environment[j]");
 *  - one source (one file, one environment block, one container) sets each
 *    limit variable at most once, otherwise the call fails;
 *  - a call that fails leaves the limit set as it was.
 *
 * Dotenv choices, where loaders disagree: spaces around '=' are accepted
 * (KEY = 500), although `docker run --env-file` rejects them.  In an
 * unquoted value '#' starts a comment only after a space or tab, as in
 * Docker Compose's env files ("500 # note" is 500, "500#1" is invalid).
 * Quoted values keep their spaces, so KEY=" 500 " is rejected.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rl_limits.h"

#define ROLE_PREFIX "DAILY_LIMIT_PER_"
#define ROLE_PREFIX_LEN (sizeof(ROLE_PREFIX) - 1)
#define TOTAL_VARIABLE "TOTAL_DAILY_LIMIT"
#define VALUE_SHOWN_MAX 48 /* maximum bytes of a value quoted in a message */
#define VARIABLE_NAME_MAX 128 /* longer names cannot be limit variables */
#define EXPECTED_TEXT "expected digits only, from 0 to 9007199254740992"

/* ------------------------------------------------------------------------ */
/* The limit set                                                             */
/* ------------------------------------------------------------------------ */

static void set_limit_value(rl_limit_value *v, int64_t value, rl_source source,
                            const char *origin)
{
    v->value = value;
    v->source = source;
    snprintf(v->origin, sizeof(v->origin), "%s", origin);
}

void rl_limits_init_defaults(rl_limits *l)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->roles[0].name, sizeof(l->roles[0].name), "miner");
    set_limit_value(&l->roles[0].per_client, 20, RL_SOURCE_DEFAULT, "default");
    snprintf(l->roles[1].name, sizeof(l->roles[1].name), "validator");
    set_limit_value(&l->roles[1].per_client, 10000, RL_SOURCE_DEFAULT, "default");
    l->nroles = 2;
    set_limit_value(&l->total, 200000, RL_SOURCE_DEFAULT, "default");
}

int rl_limits_role_index(const rl_limits *l, const char *name)
{
    for (int i = 0; i < l->nroles; i++) {
        if (strcmp(l->roles[i].name, name) == 0)
            return i;
    }
    return -1;
}

int rl_limits_role_name_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n >= RL_ROLE_NAME_MAX || name[0] < 'a' || name[0] > 'z')
        return 0;
    for (size_t i = 1; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

int rl_limits_add_role(rl_limits *l, const char *name)
{
    int i = rl_limits_role_index(l, name);
    if (i >= 0)
        return i;
    if (!rl_limits_role_name_valid(name))
        return RL_ERR_INVALID;
    if (l->nroles >= RL_MAX_ROLES)
        return RL_ERR_RANGE;

    i = l->nroles++;
    memset(&l->roles[i], 0, sizeof(l->roles[i]));
    snprintf(l->roles[i].name, sizeof(l->roles[i].name), "%s", name);
    set_limit_value(&l->roles[i].per_client, 0, RL_SOURCE_DEFAULT, "default");
    return i;
}

const char *rl_source_name(rl_source s)
{
    switch (s) {
    case RL_SOURCE_DEFAULT:
        return "default";
    case RL_SOURCE_ENVIRONMENT:
        return "environment";
    case RL_SOURCE_FILE:
        return "file";
    case RL_SOURCE_SCENARIO:
        return "scenario";
    case RL_SOURCE_OPTION:
        return "option";
    }
    return "unknown";
}

/* ------------------------------------------------------------------------ */
/* Values                                                                    */
/* ------------------------------------------------------------------------ */

/* Copies text into buf for a message: control bytes escaped (\r, \n, \t,
 * \xNN) so a stray CR is visible, and long values cut with "...". */
static void quote_for_message(const char *text, char *buf, size_t size)
{
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        char piece[8];
        if (*p == '\r')
            snprintf(piece, sizeof(piece), "\\r");
        else if (*p == '\n')
            snprintf(piece, sizeof(piece), "\\n");
        else if (*p == '\t')
            snprintf(piece, sizeof(piece), "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            snprintf(piece, sizeof(piece), "\\x%02x", *p);
        else
            snprintf(piece, sizeof(piece), "%c", *p);

        size_t n = strlen(piece);
        if (o + n >= VALUE_SHOWN_MAX || o + n + 4 > size) {
            snprintf(buf + o, size - o, "...");
            return;
        }
        memcpy(buf + o, piece, n);
        o += n;
    }
    buf[o] = '\0';
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* Recognises "1e3", "2E+5", "1.5e-2": digits, an optional fraction, then an
 * exponent. */
static int is_exponent_form(const char *s)
{
    size_t mantissa = strspn(s, "0123456789.");
    if (mantissa == 0 || (s[mantissa] != 'e' && s[mantissa] != 'E'))
        return 0;
    const char *exp = s + mantissa + 1;
    if (*exp == '+' || *exp == '-')
        exp++;
    return all_digits(exp, strlen(exp));
}

/* Returns NULL and sets *out when text is a valid limit, or the reason it
 * is not, worded to follow "VARIABLE='text' ". */
static const char *value_problem(const char *text, int64_t *out)
{
    size_t n = strlen(text);

    if (n == 0)
        return "is empty";
    for (size_t i = 0; i < n; i++) {
        if (isspace((unsigned char)text[i]))
            return "contains whitespace";
    }
    if (text[0] == '-')
        return "is negative";
    if (text[0] == '+')
        return "has a sign";
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        return "is hexadecimal";
    if (is_exponent_form(text))
        return "is in exponent notation";
    if (!all_digits(text, n))
        return strchr(text, '.') != NULL && all_digits(text, strcspn(text, "."))
                   ? "has a decimal point"
                   : "is not a whole number";

    /* Leading zeros are rejected because shell arithmetic reads 010 as
     * octal 8 ($((010)) in bash). */
    if (n > 1 && text[0] == '0')
        return "has a leading zero";

    /* 2^53 has 16 digits, so 16 digits cannot overflow int64_t. */
    if (n > 16)
        return "is larger than 9007199254740992";
    int64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (text[i] - '0');
    if (v > RL_LIMIT_VALUE_MAX)
        return "is larger than 9007199254740992";
    *out = v;
    return NULL;
}

int rl_limit_parse_value(const char *text, int64_t *out, const char *what,
                         rl_error *err)
{
    char shown[VALUE_SHOWN_MAX + 8];
    int64_t v = 0;

    if (what == NULL)
        what = "value";
    if (text == NULL) {
        rl_error_set(err, "%s has no value: " EXPECTED_TEXT, what);
        return RL_ERR_INVALID;
    }

    const char *problem = value_problem(text, &v);
    if (problem != NULL) {
        char hint[VALUE_SHOWN_MAX + 32] = "";
        quote_for_message(text, shown, sizeof(shown));

        /* For 007, say what to write instead. */
        if (strcmp(problem, "has a leading zero") == 0) {
            const char *digits = text + strspn(text, "0");
            snprintf(hint, sizeof(hint), ", with no leading zero: write %s",
                     digits[0] != '\0' ? digits : "0");
        }
        rl_error_set(err, "%s='%s' %s: " EXPECTED_TEXT "%s", what, shown, problem,
                     hint);
        return RL_ERR_INVALID;
    }
    *out = v;
    return RL_OK;
}

/* ------------------------------------------------------------------------ */
/* Variables                                                                 */
/* ------------------------------------------------------------------------ */

enum { VARIABLE_OTHER = 0, VARIABLE_ROLE = 1, VARIABLE_TOTAL = 2 };

static int is_upper_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Classifies a variable name exactly as the deployed service reads it:
 * names are case-sensitive.  Returns VARIABLE_*, or RL_ERR_INVALID (with a
 * message) for DAILY_LIMIT_PER_ with no role or a role that is too long. */
static int classify_variable(const char *name, const char *origin, char *role,
                             rl_error *err)
{
    if (strcmp(name, TOTAL_VARIABLE) == 0)
        return VARIABLE_TOTAL;
    if (strncmp(name, ROLE_PREFIX, ROLE_PREFIX_LEN) != 0)
        return VARIABLE_OTHER;

    const char *suffix = name + ROLE_PREFIX_LEN;
    for (const char *p = suffix; *p != '\0'; p++) {
        if (!is_upper_name_char(*p))
            return VARIABLE_OTHER;
    }
    if (suffix[0] == '\0') {
        rl_error_set(err, "%s: " ROLE_PREFIX " names no role: expected "
                          ROLE_PREFIX "<ROLE>, e.g. DAILY_LIMIT_PER_MINER",
                     origin);
        return RL_ERR_INVALID;
    }
    if (strlen(suffix) >= RL_ROLE_NAME_MAX) {
        rl_error_set(err, "%s: %s names a role longer than %d characters: "
                          "use a shorter role name",
                     origin, name, RL_ROLE_NAME_MAX - 1);
        return RL_ERR_INVALID;
    }
    for (size_t i = 0; suffix[i] != '\0'; i++)
        role[i] = (char)tolower((unsigned char)suffix[i]);
    role[strlen(suffix)] = '\0';
    /* The characters and the length are checked above, so only the first
     * character can break the rule that scenario roles follow. */
    if (!rl_limits_role_name_valid(role)) {
        rl_error_set(err, "%s: %s names role '%s', but a role name must start "
                          "with a letter (then letters, digits or '_'), as in "
                          "DAILY_LIMIT_PER_MINER: rename the variable",
                     origin, name, role);
        return RL_ERR_INVALID;
    }
    return VARIABLE_ROLE;
}

int rl_limits_set_variable(rl_limits *l, const char *variable, const char *value,
                           rl_source source, const char *origin, rl_error *err)
{
    char role[RL_ROLE_NAME_MAX];
    char what[RL_ORIGIN_MAX + VARIABLE_NAME_MAX + 4];
    int64_t v;

    if (origin == NULL)
        origin = rl_source_name(source);
    int kind = classify_variable(variable, origin, role, err);
    if (kind <= 0)
        return kind;

    snprintf(what, sizeof(what), "%s: %s", origin, variable);
    int rc = rl_limit_parse_value(value, &v, what, err);
    if (rc < 0)
        return rc;

    if (kind == VARIABLE_TOTAL) {
        set_limit_value(&l->total, v, source, origin);
        return 1;
    }
    int i = rl_limits_add_role(l, role);
    if (i < 0) {
        rl_error_set(err, "%s: %s would add a role, but at most %d roles are "
                          "supported: remove a role",
                     origin, variable, RL_MAX_ROLES);
        return i;
    }
    set_limit_value(&l->roles[i].per_client, v, source, origin);
    return 1;
}

/* True when name becomes a limit variable once upper-cased, so that
 * daily_limit_per_miner gets a warning rather than silence. */
static int is_limit_name_ignoring_case(const char *name, char *upper, size_t size)
{
    size_t n = strlen(name);
    if (n >= size)
        return 0;
    for (size_t i = 0; i <= n; i++)
        upper[i] = (char)toupper((unsigned char)name[i]);
    if (strcmp(upper, name) == 0)
        return 0;
    if (strcmp(upper, TOTAL_VARIABLE) == 0)
        return 1;
    if (strncmp(upper, ROLE_PREFIX, ROLE_PREFIX_LEN) != 0 || n == ROLE_PREFIX_LEN)
        return 0;
    for (const char *p = upper + ROLE_PREFIX_LEN; *p != '\0'; p++) {
        if (!is_upper_name_char(*p))
            return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* One source: duplicate detection and warnings                              */
/* ------------------------------------------------------------------------ */

/* The limit variables one source (a file, a container, the environment) has
 * set so far, to reject a second assignment.  A source can set at most
 * RL_MAX_ROLES roles plus the total before rl_limits_set_variable fails. */
typedef struct source_state {
    const rl_logger *log;
    int nset;
    struct {
        char variable[VARIABLE_NAME_MAX];
        char origin[RL_ORIGIN_MAX];
    } set[RL_MAX_ROLES + 1];
} source_state;

static const char *first_origin(const source_state *st, const char *variable)
{
    for (int i = 0; i < st->nset; i++) {
        if (strcmp(st->set[i].variable, variable) == 0)
            return st->set[i].origin;
    }
    return NULL;
}

/* Applies one NAME=value assignment from a source.  Returns 1 when it set a
 * limit, 0 when the name is not a limit variable, or a negative status. */
static int apply_assignment(rl_limits *l, source_state *st, const char *name,
                            const char *value, rl_source source,
                            const char *origin, rl_error *err)
{
    char upper[VARIABLE_NAME_MAX];
    char shown[VALUE_SHOWN_MAX + 8];

    const char *first = first_origin(st, name);
    if (first != NULL) {
        quote_for_message(value != NULL ? value : "", shown, sizeof(shown));
        rl_error_set(err, "%s: %s='%s' sets the limit again (first set at %s): "
                          "a source may set each limit once, so remove one",
                     origin, name, shown, first);
        return RL_ERR_INVALID;
    }

    int rc = rl_limits_set_variable(l, name, value, source, origin, err);
    if (rc == 0 && is_limit_name_ignoring_case(name, upper, sizeof(upper)))
        rl_log(st->log, RL_LOG_WARN,
               "%s: %s is ignored because variable names are case-sensitive; "
               "did you mean %s?",
               origin, name, upper);
    if (rc != 1)
        return rc;

    if (st->nset < RL_MAX_ROLES + 1) {
        snprintf(st->set[st->nset].variable, VARIABLE_NAME_MAX, "%s", name);
        snprintf(st->set[st->nset].origin, RL_ORIGIN_MAX, "%s", origin);
        st->nset++;
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* The environment                                                           */
/* ------------------------------------------------------------------------ */

int rl_limits_apply_environment_logged(rl_limits *l, char *const *envp,
                                       const rl_logger *log, rl_error *err)
{
    source_state st;
    char name[VARIABLE_NAME_MAX];
    rl_limits work = *l;

    memset(&st, 0, sizeof(st));
    st.log = log;
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        const char *eq = strchr(envp[i], '=');
        size_t n = eq != NULL ? (size_t)(eq - envp[i]) : 0;

        if (eq == NULL)
            continue;
        /* A name cut here is still reported if it starts like a limit: its
         * role is too long. */
        if (n >= sizeof(name))
            n = sizeof(name) - 1;
        memcpy(name, envp[i], n);
        name[n] = '\0';
        int rc = apply_assignment(&work, &st, name, eq + 1, RL_SOURCE_ENVIRONMENT,
                                  "environment", err);
        if (rc < 0)
            return rc;
    }
    *l = work;
    return RL_OK;
}

int rl_limits_apply_environment(rl_limits *l, char *const *envp, rl_error *err)
{
    return rl_limits_apply_environment_logged(l, envp, NULL, err);
}

/* ------------------------------------------------------------------------ */
/* Dotenv files                                                              */
/* ------------------------------------------------------------------------ */

typedef struct dotenv_cursor {
    const char *text;
    size_t len;
    size_t pos;
    int line;             /* 1-based line of text[pos] */
    const char *filename;
    char *value;          /* scratch for the decoded value: len + 1 bytes */
} dotenv_cursor;

/* Index of the current line's end: its '\n', or the '\r' of a "\r\n", or
 * the end of the text. */
static size_t line_content_end(const dotenv_cursor *c)
{
    const char *nl = memchr(c->text + c->pos, '\n', c->len - c->pos);
    size_t end = nl != NULL ? (size_t)(nl - c->text) : c->len;
    if (end > c->pos && c->text[end - 1] == '\r')
        end--;
    return end;
}

/* Moves past the current line's newline. */
static void next_line(dotenv_cursor *c)
{
    const char *nl = memchr(c->text + c->pos, '\n', c->len - c->pos);
    c->pos = nl != NULL ? (size_t)(nl - c->text) + 1 : c->len;
    if (nl != NULL)
        c->line++;
}

static void skip_blanks(dotenv_cursor *c, size_t end)
{
    while (c->pos < end && (c->text[c->pos] == ' ' || c->text[c->pos] == '\t'))
        c->pos++;
}

/* Reports a line that is not KEY=value, quoting the line (cut) so the
 * reader recognises it. */
static int syntax_error(const dotenv_cursor *c, size_t line_start, int line,
                        const char *what, rl_error *err)
{
    char text[VALUE_SHOWN_MAX + 8];
    char shown[VALUE_SHOWN_MAX + 8];

    const char *nl = memchr(c->text + line_start, '\n', c->len - line_start);
    size_t n = nl != NULL ? (size_t)(nl - c->text) - line_start : c->len - line_start;
    if (n > VALUE_SHOWN_MAX)
        n = VALUE_SHOWN_MAX;
    memcpy(text, c->text + line_start, n);
    text[n] = '\0';
    quote_for_message(text, shown, sizeof(shown));
    rl_error_set(err, "%s:%d: %s in '%s': expected KEY=value, a '#' comment or a "
                      "blank line",
                 c->filename, line, what, shown);
    return RL_ERR_INVALID;
}

static int is_key_start(char ch)
{
    return isalpha((unsigned char)ch) || ch == '_';
}

/* Keys: letters, digits, '_', '.' and '-', not starting with a digit.  The
 * last two are accepted so that files other loaders read are not rejected;
 * they can never name a limit. */
static int is_key_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '.' || ch == '-';
}

/* Reads "export KEY" or "KEY" up to the '=' and the blanks after it.
 * Copies the key into key, cut at key_size - 1 bytes.  Returns 0 or a
 * negative status. */
static int read_key(dotenv_cursor *c, size_t line_start, char *key,
                    size_t key_size, rl_error *err)
{
    size_t end = line_content_end(c);

    if (end - c->pos > 7 && strncmp(c->text + c->pos, "export", 6) == 0 &&
        (c->text[c->pos + 6] == ' ' || c->text[c->pos + 6] == '\t')) {
        c->pos += 6;
        skip_blanks(c, end);
    }
    if (c->pos >= end || !is_key_start(c->text[c->pos]))
        return syntax_error(c, line_start, c->line,
                            "a line that does not start with a variable name", err);

    size_t start = c->pos;
    while (c->pos < end && is_key_char(c->text[c->pos]))
        c->pos++;
    size_t copied = c->pos - start < key_size ? c->pos - start : key_size - 1;
    memcpy(key, c->text + start, copied);
    key[copied] = '\0';

    skip_blanks(c, end);
    if (c->pos >= end || c->text[c->pos] != '=')
        return syntax_error(c, line_start, c->line, "a variable name without '='",
                            err);
    c->pos++;
    skip_blanks(c, end);
    return 0;
}

/* Reads a quoted value into c->value.  Inside either quote a backslash
 * escapes that quote and a backslash; other escapes are kept as written.
 * A quoted value may span lines.  After the closing quote only blanks and a
 * comment may follow. */
static int read_quoted_value(dotenv_cursor *c, size_t line_start, rl_error *err)
{
    char quote = c->text[c->pos++];
    size_t o = 0;
    int start_line = c->line;

    for (;;) {
        if (c->pos >= c->len) {
            rl_error_set(err, "%s:%d: the value opens a %s quote that is never "
                              "closed: add the closing %c",
                         c->filename, start_line,
                         quote == '"' ? "double" : "single", quote);
            return RL_ERR_INVALID;
        }
        char ch = c->text[c->pos++];
        if (ch == quote)
            break;
        if (ch == '\n')
            c->line++;
        if (ch == '\\' && c->pos < c->len &&
            (c->text[c->pos] == quote || c->text[c->pos] == '\\'))
            ch = c->text[c->pos++];
        c->value[o++] = ch;
    }
    c->value[o] = '\0';

    size_t end = line_content_end(c);
    skip_blanks(c, end);
    if (c->pos < end && c->text[c->pos] != '#')
        return syntax_error(c, line_start, start_line, "text after the closing quote",
                            err);
    return 0;
}

/* Reads an unquoted value: up to the line's end or a '#' that follows a
 * blank, without trailing blanks. */
static void read_plain_value(dotenv_cursor *c)
{
    size_t end = line_content_end(c);
    size_t stop = c->pos;

    while (stop < end) {
        if (c->text[stop] == '#' && stop > c->pos &&
            (c->text[stop - 1] == ' ' || c->text[stop - 1] == '\t'))
            break;
        stop++;
    }
    while (stop > c->pos && (c->text[stop - 1] == ' ' || c->text[stop - 1] == '\t'))
        stop--;
    memcpy(c->value, c->text + c->pos, stop - c->pos);
    c->value[stop - c->pos] = '\0';
    c->pos = end;
}

/* Parses one line (or one multi-line quoted assignment) and applies it.
 * Returns 1 when a limit was set, 0 otherwise, or a negative status. */
static int parse_dotenv_line(rl_limits *l, source_state *st, dotenv_cursor *c,
                             rl_error *err)
{
    char key[VARIABLE_NAME_MAX];
    char origin[RL_ORIGIN_MAX];
    size_t line_start = c->pos;
    int line = c->line;

    skip_blanks(c, line_content_end(c));
    if (c->pos >= line_content_end(c) || c->text[c->pos] == '#') {
        next_line(c);
        return 0;
    }

    int rc = read_key(c, line_start, key, sizeof(key), err);
    if (rc < 0)
        return rc;
    if (c->pos < c->len && (c->text[c->pos] == '"' || c->text[c->pos] == '\''))
        rc = read_quoted_value(c, line_start, err);
    else
        read_plain_value(c);
    if (rc < 0)
        return rc;
    next_line(c);

    /* read_key cuts long keys; a cut key that starts like a limit is
     * still reported, because its role is too long. */
    snprintf(origin, sizeof(origin), "%s:%d", c->filename, line);
    return apply_assignment(l, st, key, c->value, RL_SOURCE_FILE, origin, err);
}

static int apply_dotenv(rl_limits *l, const char *text, size_t len,
                        const char *filename, const rl_logger *log, rl_error *err)
{
    source_state st;
    dotenv_cursor c = {text, len, 0, 1, filename, NULL};
    int nset = 0, rc = RL_OK;

    const char *nul = memchr(text, '\0', len);
    if (nul != NULL) {
        rl_error_set(err, "%s: contains a NUL byte at offset %zu: expected a text file",
                     filename, (size_t)(nul - text));
        return RL_ERR_INVALID;
    }

    memset(&st, 0, sizeof(st));
    st.log = log;
    c.value = malloc(len + 1);
    if (c.value == NULL) {
        rl_error_set(err, "%s: out of memory while reading", filename);
        return RL_ERR_NOMEM;
    }
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        c.pos = 3; /* a UTF-8 byte order mark */

    while (c.pos < c.len) {
        rc = parse_dotenv_line(l, &st, &c, err);
        if (rc < 0)
            goto out;
        nset += rc;
    }
    rc = RL_OK;
    if (nset == 0)
        rl_log(log, RL_LOG_WARN,
               "%s: sets no limit variable (" ROLE_PREFIX "<ROLE> or "
               TOTAL_VARIABLE "), so it changes no limit",
               filename);
out:
    free(c.value);
    return rc;
}

int rl_limits_apply_dotenv(rl_limits *l, const char *text, size_t len,
                           const char *filename, rl_error *err)
{
    rl_limits work = *l;
    int rc = apply_dotenv(&work, text, len, filename, NULL, err);
    if (rc == RL_OK)
        *l = work;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Container task definitions                                                */
/* ------------------------------------------------------------------------ */

/* True when the deployed service would read `name` as a limit (names that
 * rl_limits_set_variable rejects, such as DAILY_LIMIT_PER_, count too, so
 * that their error is reported). */
static int is_limit_variable(const char *name)
{
    char role[RL_ROLE_NAME_MAX];
    return classify_variable(name, "", role, NULL) != VARIABLE_OTHER;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "an unknown JSON value";
}

/* The container definitions: at the top level, as registered, or under
 * "taskDefinition", as `aws ecs describe-task-definition` prints them.
 * *prefix receives the path prefix for messages. */
static json_t *find_container_definitions(json_t *root, const char **prefix)
{
    json_t *defs = json_object_get(root, "containerDefinitions");
    *prefix = "";
    if (defs == NULL) {
        json_t *wrapper = json_object_get(root, "taskDefinition");
        defs = json_object_get(wrapper, "containerDefinitions");
        *prefix = "taskDefinition.";
    }
    return defs;
}

static const char *container_name(const json_t *def)
{
    const char *name = json_string_value(json_object_get(def, "name"));
    return name != NULL ? name : "(unnamed)";
}

/* True when a container's environment or secrets name a limit variable. */
static int container_mentions_limits(const json_t *def)
{
    const char *lists[] = {"environment", "secrets"};

    for (size_t k = 0; k < 2; k++) {
        size_t j;
        json_t *entry;
        json_array_foreach(json_object_get(def, lists[k]), j, entry)
        {
            const char *name = json_string_value(json_object_get(entry, "name"));
            if (name != NULL && is_limit_variable(name))
                return 1;
        }
    }
    return 0;
}

/* Checks that a container's "environment" or "secrets" (`list`), when
 * present, is an array of objects with a string "name".  Every container
 * is checked, chosen or not: an entry written as "DAILY_LIMIT_PER_MINER=5"
 * would otherwise be skipped without a word. */
static int check_entry_list(const json_t *def, const char *list, size_t index,
                            const char *filename, const char *prefix, rl_error *err)
{
    const json_t *entries = json_object_get(def, list);
    size_t j;
    json_t *entry;

    if (entries == NULL)
        return RL_OK;
    if (!json_is_array(entries)) {
        rl_error_set(err, "%s: %scontainerDefinitions[%zu].%s is %s: expected an "
                          "array of {\"name\": ..., ...} objects",
                     filename, prefix, index, list, json_kind(entries));
        return RL_ERR_INVALID;
    }
    json_array_foreach(entries, j, entry)
    {
        if (json_is_object(entry) && json_is_string(json_object_get(entry, "name")))
            continue;
        rl_error_set(err, "%s: %scontainerDefinitions[%zu].%s[%zu] is %s%s: expected "
                          "an object {\"name\": ..., ...} with a string name",
                     filename, prefix, index, list, j, json_kind(entry),
                     json_is_object(entry) ? " without a string \"name\"" : "");
        return RL_ERR_INVALID;
    }
    return RL_OK;
}

/* Appends ", name" (or "name" first) to a list for messages; cut when full. */
static void append_name(char *list, size_t size, const char *name)
{
    size_t used = strlen(list);
    snprintf(list + used, size - used, "%s%s", used > 0 ? ", " : "", name);
}

/*
 * Picks the container whose environment applies: the one named `container`,
 * or, when that is NULL, the only one that mentions a limit variable.
 * Returns 1 with *chosen set, 0 when no container mentions a limit (and
 * none was named), or RL_ERR_INVALID.
 */
static int choose_container(const json_t *defs, const char *container,
                            const char *filename, const char *prefix,
                            size_t *chosen, rl_error *err)
{
    char all[256] = "", candidates[256] = "";
    size_t i, matches = 0;
    json_t *def;

    json_array_foreach(defs, i, def)
    {
        if (!json_is_object(def)) {
            rl_error_set(err, "%s: %scontainerDefinitions[%zu] is %s: expected an "
                              "object with \"name\" and \"environment\"",
                         filename, prefix, i, json_kind(def));
            return RL_ERR_INVALID;
        }
        if (check_entry_list(def, "environment", i, filename, prefix, err) < 0 ||
            check_entry_list(def, "secrets", i, filename, prefix, err) < 0)
            return RL_ERR_INVALID;
        append_name(all, sizeof(all), container_name(def));
        int match = container != NULL
                        ? strcmp(container_name(def), container) == 0
                        : container_mentions_limits(def);
        if (match) {
            append_name(candidates, sizeof(candidates), container_name(def));
            *chosen = i;
            matches++;
        }
    }

    if (container != NULL && matches == 0) {
        rl_error_set(err, "%s: no container is named '%s' (containers: %s): check "
                          "--container",
                     filename, container, all[0] != '\0' ? all : "none");
        return RL_ERR_INVALID;
    }
    if (container != NULL && matches > 1) {
        rl_error_set(err, "%s: %zu containers are named '%s': container names "
                          "must be unique",
                     filename, matches, container);
        return RL_ERR_INVALID;
    }
    if (matches > 1) {
        rl_error_set(err, "%s: %zu containers set limit variables (%s): choose "
                          "one with --container NAME",
                     filename, matches, candidates);
        return RL_ERR_INVALID;
    }
    return matches > 0;
}

/* Rejects a limit variable whose JSON value is not a string: ECS requires
 * strings, and guessing what 5e2 or true means is what this parser avoids. */
static int non_string_error(const char *origin, const char *name,
                            const json_t *value, rl_error *err)
{
    char shown[VALUE_SHOWN_MAX + 8] = "?";
    char *dumped = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);

    if (dumped != NULL)
        quote_for_message(dumped, shown, sizeof(shown));
    rl_error_set(err, "%s: %s=%s is %s, not a string: ECS requires string "
                      "values, so write \"%s\"",
                 origin, name, shown, json_kind(value), shown);
    free(dumped);
    return RL_ERR_INVALID;
}

/* Applies one environment[] entry, whose shape check_entry_list has
 * checked.  Returns 1 when it set a limit, 0 when it names another
 * variable, or a negative status. */
static int apply_environment_entry(rl_limits *l, source_state *st,
                                   const json_t *entry, const char *origin,
                                   rl_error *err)
{
    const char *name = json_string_value(json_object_get(entry, "name"));
    const json_t *value = json_object_get(entry, "value");

    if (value != NULL && !json_is_string(value))
        return is_limit_variable(name) ? non_string_error(origin, name, value, err)
                                       : 0;
    /* A missing "value" reaches the value parser as NULL ("has no value")
     * when the name is a limit; other variables are not checked. */
    return apply_assignment(l, st, name, json_string_value(value),
                            RL_SOURCE_FILE, origin, err);
}

static int apply_container_environment(rl_limits *l, source_state *st,
                                       const json_t *def, size_t index,
                                       const char *filename, const char *prefix,
                                       rl_error *err)
{
    char origin[RL_ORIGIN_MAX];
    const json_t *env = json_object_get(def, "environment");
    size_t j;
    json_t *entry;
    int nset = 0;

    json_array_foreach(env, j, entry)
    {
        snprintf(origin, sizeof(origin), "%s: %scontainerDefinitions[%zu].environment[%zu]",
                 filename, prefix, index, j);
        int rc = apply_environment_entry(l, st, entry, origin, err);
        if (rc < 0)
            return rc;
        nset += rc;
    }
    return nset;
}

/* The origin of the limit a variable sets, for warnings. */
static const char *variable_origin(const rl_limits *l, const char *name)
{
    char role[RL_ROLE_NAME_MAX];
    int kind = classify_variable(name, "", role, NULL);

    if (kind == VARIABLE_TOTAL)
        return l->total.origin;
    int i = kind == VARIABLE_ROLE ? rl_limits_role_index(l, role) : -1;
    return i >= 0 ? l->roles[i].per_client.origin : "default";
}

/* Warns about limit variables in "secrets": their values live in a secret
 * store, so the file does not show what the container will see. */
static void warn_about_secrets(const rl_limits *l, const source_state *st,
                               const json_t *def, size_t index,
                               const char *filename, const char *prefix)
{
    size_t k;
    json_t *entry;

    json_array_foreach(json_object_get(def, "secrets"), k, entry)
    {
        const char *name = json_string_value(json_object_get(entry, "name"));
        if (name == NULL || !is_limit_variable(name))
            continue;
        if (first_origin(st, name) != NULL)
            rl_log(st->log, RL_LOG_WARN,
                   "%s: %scontainerDefinitions[%zu].secrets[%zu]: %s is set in both "
                   "environment and secrets; the value shown is the environment's, "
                   "which may not be the one the container sees",
                   filename, prefix, index, k, name);
        else
            rl_log(st->log, RL_LOG_WARN,
                   "%s: %scontainerDefinitions[%zu].secrets[%zu]: %s comes from a "
                   "secret whose value is not in this file, so the limit shown "
                   "comes from %s; set %s in this command's environment to show "
                   "the real value",
                   filename, prefix, index, k, name, variable_origin(l, name), name);
    }
}

static int apply_taskdef(rl_limits *l, const char *text, size_t len,
                         const char *filename, const char *container,
                         const rl_logger *log, rl_error *err)
{
    json_error_t jerr;
    const char *prefix;
    size_t index = 0;
    int rc;

    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3; /* a UTF-8 byte order mark, which jansson rejects */
        len -= 3;
    }
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        rl_error_set(err, "%s:%d:%d: invalid JSON: %s: expected a container task "
                          "definition",
                     filename, jerr.line, jerr.column, jerr.text);
        return RL_ERR_INVALID;
    }

    /* Find the containers, then the one whose environment applies. */
    json_t *defs = find_container_definitions(root, &prefix);
    if (!json_is_array(defs)) {
        rl_error_set(err, "%s: no \"containerDefinitions\" array at the top level "
                          "or under \"taskDefinition\": expected a container "
                          "task definition",
                     filename);
        rc = RL_ERR_INVALID;
        goto out;
    }
    rc = choose_container(defs, container, filename, prefix, &index, err);
    if (rc <= 0) {
        if (rc == 0)
            rl_log(log, RL_LOG_WARN,
                   "%s: no container sets a limit variable, so it changes no limit",
                   filename);
        goto out;
    }

    /* Apply its environment; its secrets only get warnings. */
    source_state st;
    memset(&st, 0, sizeof(st));
    st.log = log;
    const json_t *def = json_array_get(defs, index);
    rc = apply_container_environment(l, &st, def, index, filename, prefix, err);
    if (rc < 0)
        goto out;
    if (rc == 0 && !container_mentions_limits(def))
        rl_log(log, RL_LOG_WARN,
               "%s: container '%s' sets no limit variable, so it changes no limit",
               filename, container_name(def));
    warn_about_secrets(l, &st, def, index, filename, prefix);
    rc = RL_OK;
out:
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Entry points: each applies all of its input or, on error, none of it      */
/* ------------------------------------------------------------------------ */

int rl_limits_apply_taskdef(rl_limits *l, const char *text, size_t len,
                            const char *filename, const char *container,
                            rl_error *err)
{
    rl_limits work = *l;
    int rc = apply_taskdef(&work, text, len, filename, container, NULL, err);
    if (rc == RL_OK)
        *l = work;
    return rc;
}

int rl_limits_text_is_taskdef(const char *text, size_t len)
{
    size_t i = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    return i < len && text[i] == '{';
}

int rl_limits_apply_file_logged(rl_limits *l, const char *text, size_t len,
                                const char *filename, const char *container,
                                const rl_logger *log, rl_error *err)
{
    rl_limits work = *l;
    int rc;

    if (rl_limits_text_is_taskdef(text, len))
        rc = apply_taskdef(&work, text, len, filename, container, log, err);
    else
        rc = apply_dotenv(&work, text, len, filename, log, err);
    if (rc == RL_OK)
        *l = work;
    return rc;
}

int rl_limits_apply_file(rl_limits *l, const char *text, size_t len,
                         const char *filename, const char *container,
                         rl_error *err)
{
    return rl_limits_apply_file_logged(l, text, len, filename, container, NULL, err);
}
