/*
 * test_limits.c: the limit parsers (rl_limits.c) called directly, and
 * `ratelab limits` run as a process with files, task definitions and a
 * modified environment.
 *
 * The suite removes every limit variable from its own environment first,
 * so a developer's shell cannot change what "default" means here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "rl_limits.h"
#include "tst_support.h"

extern char **environ;

static const char *dir; /* this run's temporary directory */

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* Captured warnings of the logged parsers, one per line. */
static char warnings[8192];

static void capture_sink(void *user, rl_log_level level, const char *line)
{
    (void)user;
    (void)level;
    size_t used = strlen(warnings);
    snprintf(warnings + used, sizeof(warnings) - used, "%s\n", line);
}

static const rl_logger capture_logger = {capture_sink, NULL, RL_LOG_DEBUG};

static int apply_text(rl_limits *l, const char *text, const char *name,
                      const char *container, rl_error *err)
{
    warnings[0] = '\0';
    return rl_limits_apply_file_logged(l, text, strlen(text), name, container,
                                       &capture_logger, err);
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; p != NULL && *p != '\0'; p++)
        n += *p == '\n';
    return n;
}

static char *write_tmp(const char *name, const char *text)
{
    char *path = tst_write_file(dir, name, text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    return path;
}

/* Runs `env ASSIGNMENT ratelab ARGS...` (ASSIGNMENT may be NULL). */
static void run_with_env(tst_output *out, const char *assignment,
                         const char *const *args)
{
    char *argv[32];
    int n = 0;

    argv[n++] = "/usr/bin/env";
    if (assignment != NULL)
        argv[n++] = (char *)assignment;
    argv[n++] = (char *)RATELAB_BIN;
    for (int i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    CU_ASSERT_EQUAL_FATAL(tst_run(argv, NULL, 30, out), 0);
}

/* Asserts a bad-input exit: status 2, nothing on stdout, exactly one line
 * on stderr containing each of the given fragments. */
static void assert_one_error(const tst_output *out, const char *const *fragments)
{
    CU_ASSERT_EQUAL(out->status, 2);
    CU_ASSERT_STRING_EQUAL(out->out, "");
    CU_ASSERT_EQUAL(count_lines(out->err), 1);
    for (int i = 0; fragments[i] != NULL; i++) {
        if (!tst_contains(out->err, fragments[i]))
            fprintf(stderr, "missing '%s' in: %s", fragments[i], out->err);
        CU_ASSERT_TRUE(tst_contains(out->err, fragments[i]));
    }
}

/* ------------------------------------------------------------------------ */
/* Values                                                                    */
/* ------------------------------------------------------------------------ */

static void test_value_valid(void)
{
    static const struct {
        const char *text;
        int64_t value;
    } cases[] = {{"0", 0}, {"7", 7}, {"20", 20}, {"500", 500},
                 {"1000000", 1000000}, {"9007199254740992", 9007199254740992LL}};
    rl_error err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t v = -1;
        CU_ASSERT_EQUAL(rl_limit_parse_value(cases[i].text, &v, "X", &err), RL_OK);
        CU_ASSERT_EQUAL(v, cases[i].value);
    }
}

static void test_value_invalid(void)
{
    static const struct {
        const char *text;
        const char *quoted; /* as the message shows it */
        const char *reason;
    } cases[] = {
        {"50k", "'50k'", "is not a whole number"},
        {"", "''", "is empty"},
        {"-1", "'-1'", "is negative"},
        {"1e3", "'1e3'", "is in exponent notation"},
        {"2E+5", "'2E+5'", "is in exponent notation"},
        {" 500 ", "' 500 '", "contains whitespace"},
        {"500\r", "'500\\r'", "contains whitespace"},
        {"+5", "'+5'", "has a sign"},
        {"0x10", "'0x10'", "is hexadecimal"},
        {"007", "'007'", "has a leading zero: expected digits only, from 0 to "
                         "9007199254740992, with no leading zero: write 7"},
        {"00", "'00'", "with no leading zero: write 0"},
        {"9007199254740993", "'9007199254740993'", "is larger than 9007199254740992"},
        {"99999999999999999999", "'99999999999999999999'", "is larger than"},
        {"1.5", "'1.5'", "has a decimal point"},
        {"500.0", "'500.0'", "has a decimal point"},
        {"1_000", "'1_000'", "is not a whole number"},
        {"five", "'five'", "is not a whole number"},
    };
    rl_error err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t v = 12345;
        err.message[0] = '\0';
        CU_ASSERT_EQUAL(rl_limit_parse_value(cases[i].text, &v, "f.env:3: V", &err),
                        RL_ERR_INVALID);
        CU_ASSERT_EQUAL(v, 12345); /* untouched on error */
        CU_ASSERT_TRUE(tst_contains(err.message, "f.env:3: V="));
        CU_ASSERT_TRUE(tst_contains(err.message, cases[i].quoted));
        CU_ASSERT_TRUE(tst_contains(err.message, cases[i].reason));
        CU_ASSERT_TRUE(tst_contains(err.message,
                                    "expected digits only, from 0 to 9007199254740992"));
        if (!tst_contains(err.message, cases[i].reason))
            fprintf(stderr, "case %zu: missing '%s' in: %s\n", i, cases[i].reason,
                    err.message);
    }
}

static void test_value_null_and_long(void)
{
    rl_error err;
    int64_t v;
    char long_text[300];

    CU_ASSERT_EQUAL(rl_limit_parse_value(NULL, &v, "V", &err), RL_ERR_INVALID);
    CU_ASSERT_TRUE(tst_contains(err.message, "V has no value"));

    /* A long value is cut in the message, not allowed to crowd out the
     * rest of the sentence. */
    memset(long_text, '9', sizeof(long_text) - 2);
    long_text[0] = 'x';
    long_text[sizeof(long_text) - 2] = '\0';
    CU_ASSERT_EQUAL(rl_limit_parse_value(long_text, &v, "V", &err), RL_ERR_INVALID);
    CU_ASSERT_TRUE(tst_contains(err.message, "...'"));
    CU_ASSERT_TRUE(tst_contains(err.message, "expected digits only"));
}

/* ------------------------------------------------------------------------ */
/* Limit set and variables                                                   */
/* ------------------------------------------------------------------------ */

static void test_defaults(void)
{
    rl_limits l;
    rl_limits_init_defaults(&l);

    CU_ASSERT_EQUAL(l.nroles, 2);
    CU_ASSERT_EQUAL(rl_limits_role_index(&l, "miner"), 0);
    CU_ASSERT_EQUAL(rl_limits_role_index(&l, "validator"), 1);
    CU_ASSERT_EQUAL(rl_limits_role_index(&l, "auditor"), -1);
    CU_ASSERT_EQUAL(l.roles[0].per_client.value, 20);
    CU_ASSERT_EQUAL(l.roles[1].per_client.value, 10000);
    CU_ASSERT_EQUAL(l.total.value, 200000);
    CU_ASSERT_EQUAL(l.total.source, RL_SOURCE_DEFAULT);
    CU_ASSERT_STRING_EQUAL(l.roles[0].per_client.origin, "default");
    CU_ASSERT_STRING_EQUAL(rl_source_name(RL_SOURCE_FILE), "file");
}

static void test_set_variable(void)
{
    rl_limits l;
    rl_error err;
    rl_limits_init_defaults(&l);

    CU_ASSERT_EQUAL(rl_limits_set_variable(&l, "DAILY_LIMIT_PER_AUDITOR", "5",
                                           RL_SOURCE_OPTION, "--limit", &err), 1);
    int i = rl_limits_role_index(&l, "auditor");
    CU_ASSERT_EQUAL_FATAL(i, 2);
    CU_ASSERT_EQUAL(l.roles[i].per_client.value, 5);
    CU_ASSERT_EQUAL(l.roles[i].per_client.source, RL_SOURCE_OPTION);
    CU_ASSERT_STRING_EQUAL(l.roles[i].per_client.origin, "--limit");

    CU_ASSERT_EQUAL(rl_limits_set_variable(&l, "TOTAL_DAILY_LIMIT", "9", RL_SOURCE_FILE,
                                           "a.env:1", &err), 1);
    CU_ASSERT_EQUAL(l.total.value, 9);

    /* Not limits: other names, and limit names in the wrong case. */
    CU_ASSERT_EQUAL(rl_limits_set_variable(&l, "PATH", "50k", RL_SOURCE_FILE, "x", &err), 0);
    CU_ASSERT_EQUAL(rl_limits_set_variable(&l, "daily_limit_per_miner", "5",
                                           RL_SOURCE_FILE, "x", &err), 0);
    CU_ASSERT_EQUAL(rl_limits_set_variable(&l, "DAILY_LIMIT_PER_Miner", "5",
                                           RL_SOURCE_FILE, "x", &err), 0);
    CU_ASSERT_EQUAL(l.roles[0].per_client.value, 20);

    CU_ASSERT_EQUAL(rl_limits_set_variable(&l, "DAILY_LIMIT_PER_", "5", RL_SOURCE_FILE,
                                           "a.env:2", &err), RL_ERR_INVALID);
    CU_ASSERT_TRUE(tst_contains(err.message, "a.env:2: DAILY_LIMIT_PER_ names no role"));
    CU_ASSERT_EQUAL(rl_limits_set_variable(&l, "DAILY_LIMIT_PER_MINER", "50k",
                                           RL_SOURCE_FILE, "a.env:3", &err),
                    RL_ERR_INVALID);
    CU_ASSERT_TRUE(tst_contains(err.message, "a.env:3: DAILY_LIMIT_PER_MINER='50k'"));
}

static void test_set_variable_role_bounds(void)
{
    rl_limits l;
    rl_error err;
    char name[64];
    rl_limits_init_defaults(&l);

    for (int i = 0; l.nroles < RL_MAX_ROLES; i++) {
        snprintf(name, sizeof(name), "DAILY_LIMIT_PER_R%d", i);
        CU_ASSERT_EQUAL_FATAL(rl_limits_set_variable(&l, name, "1", RL_SOURCE_FILE,
                                                     "a.env:1", &err), 1);
    }
    CU_ASSERT_EQUAL(rl_limits_set_variable(&l, "DAILY_LIMIT_PER_ONE_TOO_MANY", "1",
                                           RL_SOURCE_FILE, "a.env:9", &err),
                    RL_ERR_RANGE);
    CU_ASSERT_TRUE(tst_contains(err.message, "at most 8 roles"));

    CU_ASSERT_EQUAL(rl_limits_set_variable(&l,
                                           "DAILY_LIMIT_PER_"
                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH",
                                           "1", RL_SOURCE_FILE, "a.env:10", &err),
                    RL_ERR_INVALID);
    CU_ASSERT_TRUE(tst_contains(err.message, "longer than 31 characters"));
}

static void test_role_name_rule(void)
{
    static const struct {
        const char *name;
        int valid;
    } cases[] = {
        {"miner", 1}, {"validator", 1}, {"x", 1}, {"role_2", 1},
        {"abcdefghijklmnopqrstuvwxyzabcde", 1}, /* 31 bytes */
        {"", 0}, {"1x", 0}, {"_x", 0}, {"Miner", 0}, {"mi-ner", 0}, {"mi.ner", 0},
        {"m\xc3\xa9", 0}, {"abcdefghijklmnopqrstuvwxyzabcdef", 0}, /* 32 bytes */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CU_ASSERT_EQUAL(rl_limits_role_name_valid(cases[i].name), cases[i].valid);
}

/* A variable's role follows the scenario rule: DAILY_LIMIT_PER_1X would make a
 * role '1x' that no scenario could name. */
static void test_set_variable_role_rule(void)
{
    rl_limits l;
    rl_error err;
    rl_limits_init_defaults(&l);

    CU_ASSERT_EQUAL(rl_limits_set_variable(&l, "DAILY_LIMIT_PER_1X", "5", RL_SOURCE_FILE,
                                           "a.env:4", &err),
                    RL_ERR_INVALID);
    CU_ASSERT_TRUE(tst_contains(err.message, "a.env:4: DAILY_LIMIT_PER_1X"));
    CU_ASSERT_TRUE(tst_contains(err.message, "must start with a letter"));
    CU_ASSERT_EQUAL(rl_limits_set_variable(&l, "DAILY_LIMIT_PER__X", "5", RL_SOURCE_FILE,
                                           "a.env:5", &err),
                    RL_ERR_INVALID);
    CU_ASSERT_EQUAL(l.nroles, 2);
    CU_ASSERT_EQUAL(rl_limits_add_role(&l, "1x"), RL_ERR_INVALID);
    CU_ASSERT_EQUAL(rl_limits_add_role(&l, "Auditor"), RL_ERR_INVALID);
    CU_ASSERT_EQUAL(l.nroles, 2);

    /* Digits after the first letter are fine. */
    CU_ASSERT_EQUAL(rl_limits_set_variable(&l, "DAILY_LIMIT_PER_X1", "5", RL_SOURCE_FILE,
                                           "a.env:6", &err), 1);
    CU_ASSERT_TRUE(rl_limits_role_index(&l, "x1") >= 0);

    /* Through the command, as bad input. */
    char *env = tst_write_file(tst_tmpdir(), "role.env", "DAILY_LIMIT_PER_1X=5\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    tst_output out;
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", "--env", env, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT_STRING_EQUAL(out.out, "");
    CU_ASSERT_TRUE(tst_contains(out.err, "DAILY_LIMIT_PER_1X"));
    tst_output_free(&out);
    free(env);
}

/* ------------------------------------------------------------------------ */
/* Dotenv                                                                    */
/* ------------------------------------------------------------------------ */

static void test_dotenv_syntax_accepted(void)
{
    const char *text = "# testnet limits\r\n"                      /* 1 */
                       "\r\n"                                      /* 2 */
                       "export DAILY_LIMIT_PER_MINER=500\r\n"      /* 3 */
                       "DAILY_LIMIT_PER_VALIDATOR = '50000'\r\n"   /* 4 */
                       "  TOTAL_DAILY_LIMIT=\"1000000\"  # note\r\n" /* 5 */
                       "DAILY_LIMIT_PER_AUDITOR=7 # inline\n"       /* 6 */
                       "OTHER='it\\'s \"fine\"' # quoted\n"          /* 7 */
                       "CERT=\"line one\n"                          /* 8 */
                       "line two\"\n"                               /* 9 */
                       "DAILY_LIMIT_PER_OBSERVER=3";                /* 10 */
    rl_limits l;
    rl_error err;
    rl_limits_init_defaults(&l);

    CU_ASSERT_EQUAL_FATAL(apply_text(&l, text, "t.env", NULL, &err), RL_OK);
    CU_ASSERT_EQUAL(l.roles[0].per_client.value, 500);
    CU_ASSERT_STRING_EQUAL(l.roles[0].per_client.origin, "t.env:3");
    CU_ASSERT_EQUAL(l.roles[0].per_client.source, RL_SOURCE_FILE);
    CU_ASSERT_EQUAL(l.roles[1].per_client.value, 50000);
    CU_ASSERT_STRING_EQUAL(l.roles[1].per_client.origin, "t.env:4");
    CU_ASSERT_EQUAL(l.total.value, 1000000);
    CU_ASSERT_STRING_EQUAL(l.total.origin, "t.env:5");

    int auditor = rl_limits_role_index(&l, "auditor");
    CU_ASSERT_EQUAL_FATAL(auditor, 2);
    CU_ASSERT_EQUAL(l.roles[auditor].per_client.value, 7);
    int observer = rl_limits_role_index(&l, "observer");
    CU_ASSERT_EQUAL_FATAL(observer, 3);
    CU_ASSERT_STRING_EQUAL(l.roles[observer].per_client.origin, "t.env:10");
    CU_ASSERT_STRING_EQUAL(warnings, "");
}

static void test_dotenv_errors(void)
{
    static const struct {
        const char *text;
        const char *fragments[4];
    } cases[] = {
        {"A=1\nDAILY_LIMIT_PER_MINER=5\nDAILY_LIMIT_PER_MINER=6\n",
         {"d.env:3: DAILY_LIMIT_PER_MINER='6' sets the limit again",
          "first set at d.env:2", NULL}},
        {"DAILY_LIMIT_PER_MINER: 500\n", {"d.env:1:", "without '='", NULL}},
        {"\n\nDAILY_LIMIT_PER_MINER\n", {"d.env:3:", "without '='", NULL}},
        {"= 5\n", {"d.env:1:", "does not start with a variable name", NULL}},
        {"X=\"open\nY=1\n", {"d.env:1:", "never closed", NULL}},
        {"DAILY_LIMIT_PER_MINER=\"500\" extra\n",
         {"d.env:1:", "text after the closing quote", NULL}},
        {"DAILY_LIMIT_PER_MINER=500#1\n",
         {"d.env:1: DAILY_LIMIT_PER_MINER='500#1'", "is not a whole number", NULL}},
        {"DAILY_LIMIT_PER_MINER=\" 500 \"\n",
         {"d.env:1: DAILY_LIMIT_PER_MINER=' 500 '", "contains whitespace", NULL}},
        {"DAILY_LIMIT_PER_MINER=500 600\n", {"'500 600'", "contains whitespace", NULL}},
        {"DAILY_LIMIT_PER_MINER=\n", {"d.env:1: DAILY_LIMIT_PER_MINER=''", "is empty", NULL}},
    };
    rl_error err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rl_limits l, before;
        rl_limits_init_defaults(&l);
        before = l;
        err.message[0] = '\0';
        CU_ASSERT_EQUAL(apply_text(&l, cases[i].text, "d.env", NULL, &err),
                        RL_ERR_INVALID);
        for (int k = 0; cases[i].fragments[k] != NULL; k++) {
            if (!tst_contains(err.message, cases[i].fragments[k]))
                fprintf(stderr, "case %zu: missing '%s' in: %s\n", i,
                        cases[i].fragments[k], err.message);
            CU_ASSERT_TRUE(tst_contains(err.message, cases[i].fragments[k]));
        }
        /* A failed file changes nothing, even limits set before the error. */
        CU_ASSERT_EQUAL(memcmp(&l, &before, sizeof(l)), 0);
    }
}

static void test_dotenv_nul_byte(void)
{
    rl_limits l;
    rl_error err;
    rl_limits_init_defaults(&l);

    CU_ASSERT_EQUAL(rl_limits_apply_dotenv(&l, "A=1\0B=2\n", 8, "n.env", &err),
                    RL_ERR_INVALID);
    CU_ASSERT_TRUE(tst_contains(err.message, "n.env: contains a NUL byte at offset 3"));
}

static void test_dotenv_warnings(void)
{
    rl_limits l;
    rl_error err;
    rl_limits_init_defaults(&l);

    CU_ASSERT_EQUAL(apply_text(&l, "daily_limit_per_miner=5\n", "w.env", NULL, &err),
                    RL_OK);
    CU_ASSERT_EQUAL(l.roles[0].per_client.value, 20);
    CU_ASSERT_TRUE(tst_contains(warnings, "w.env:1: daily_limit_per_miner is ignored"));
    CU_ASSERT_TRUE(tst_contains(warnings, "did you mean DAILY_LIMIT_PER_MINER?"));
    CU_ASSERT_TRUE(tst_contains(warnings, "w.env: sets no limit variable"));
}

/* ------------------------------------------------------------------------ */
/* Environment                                                               */
/* ------------------------------------------------------------------------ */

static void test_environment(void)
{
    char *good[] = {"PATH=/bin", "DAILY_LIMIT_PER_MINER=7", "NOEQUALS",
                    "TOTAL_DAILY_LIMIT=99", NULL};
    char *bad[] = {"DAILY_LIMIT_PER_VALIDATOR=1", "DAILY_LIMIT_PER_MINER=50k", NULL};
    char *twice[] = {"DAILY_LIMIT_PER_MINER=1", "DAILY_LIMIT_PER_MINER=2", NULL};
    rl_limits l, before;
    rl_error err;
    rl_limits_init_defaults(&l);

    CU_ASSERT_EQUAL(rl_limits_apply_environment(&l, good, &err), RL_OK);
    CU_ASSERT_EQUAL(l.roles[0].per_client.value, 7);
    CU_ASSERT_EQUAL(l.roles[0].per_client.source, RL_SOURCE_ENVIRONMENT);
    CU_ASSERT_STRING_EQUAL(l.roles[0].per_client.origin, "environment");
    CU_ASSERT_EQUAL(l.total.value, 99);

    before = l;
    CU_ASSERT_EQUAL(rl_limits_apply_environment(&l, bad, &err), RL_ERR_INVALID);
    CU_ASSERT_TRUE(tst_contains(err.message, "environment: DAILY_LIMIT_PER_MINER='50k'"));
    CU_ASSERT_EQUAL(memcmp(&l, &before, sizeof(l)), 0);

    CU_ASSERT_EQUAL(rl_limits_apply_environment(&l, twice, &err), RL_ERR_INVALID);
    CU_ASSERT_TRUE(tst_contains(err.message, "sets the limit again"));
}

/* ------------------------------------------------------------------------ */
/* Task definitions                                                          */
/* ------------------------------------------------------------------------ */

static const char two_containers[] =
    "{\"family\": \"credentials\", \"containerDefinitions\": [\n"
    "  {\"name\": \"api\", \"environment\": [\n"
    "    {\"name\": \"LOG_LEVEL\", \"value\": \"info\"},\n"
    "    {\"name\": \"DAILY_LIMIT_PER_MINER\", \"value\": \"100\"}],\n"
    "   \"secrets\": [{\"name\": \"TOTAL_DAILY_LIMIT\", \"valueFrom\": \"arn:x\"}]},\n"
    "  {\"name\": \"worker\", \"environment\": [\n"
    "    {\"name\": \"DAILY_LIMIT_PER_MINER\", \"value\": \"5\"},\n"
    "    {\"name\": \"DAILY_LIMIT_PER_VALIDATOR\", \"value\": \"60\"}]}]}\n";

static void test_taskdef_container_choice(void)
{
    rl_limits l;
    rl_error err;
    rl_limits_init_defaults(&l);

    CU_ASSERT_EQUAL(apply_text(&l, two_containers, "t.json", NULL, &err), RL_ERR_INVALID);
    CU_ASSERT_TRUE(tst_contains(err.message, "t.json: 2 containers set limit variables "
                                             "(api, worker)"));
    CU_ASSERT_TRUE(tst_contains(err.message, "--container NAME"));

    CU_ASSERT_EQUAL(apply_text(&l, two_containers, "t.json", "nope", &err), RL_ERR_INVALID);
    CU_ASSERT_TRUE(tst_contains(err.message, "no container is named 'nope' "
                                             "(containers: api, worker)"));

    CU_ASSERT_EQUAL_FATAL(apply_text(&l, two_containers, "t.json", "worker", &err), RL_OK);
    CU_ASSERT_EQUAL(l.roles[0].per_client.value, 5);
    CU_ASSERT_STRING_EQUAL(l.roles[0].per_client.origin,
                           "t.json: containerDefinitions[1].environment[0]");
    CU_ASSERT_EQUAL(l.roles[1].per_client.value, 60);
    CU_ASSERT_STRING_EQUAL(warnings, "");

    rl_limits_init_defaults(&l);
    CU_ASSERT_EQUAL_FATAL(apply_text(&l, two_containers, "t.json", "api", &err), RL_OK);
    CU_ASSERT_EQUAL(l.roles[0].per_client.value, 100);
    CU_ASSERT_STRING_EQUAL(l.roles[0].per_client.origin,
                           "t.json: containerDefinitions[0].environment[1]");
    CU_ASSERT_EQUAL(l.total.value, 200000);
    CU_ASSERT_TRUE(tst_contains(warnings, "t.json: containerDefinitions[0].secrets[0]: "
                                          "TOTAL_DAILY_LIMIT comes from a secret"));
    CU_ASSERT_TRUE(tst_contains(warnings, "comes from default"));
}

static void test_taskdef_single_and_wrapped(void)
{
    const char *wrapped =
        "{\"taskDefinition\": {\"containerDefinitions\": [\n"
        "  {\"name\": \"log-router\"},\n"
        "  {\"name\": \"api\", \"environment\": [\n"
        "    {\"name\": \"TOTAL_DAILY_LIMIT\", \"value\": \"1000000\"}]}]}}";
    rl_limits l;
    rl_error err;
    rl_limits_init_defaults(&l);

    /* One container sets limits, the sidecar none: no --container needed. */
    CU_ASSERT_EQUAL_FATAL(apply_text(&l, wrapped, "d.json", NULL, &err), RL_OK);
    CU_ASSERT_EQUAL(l.total.value, 1000000);
    CU_ASSERT_STRING_EQUAL(l.total.origin,
                           "d.json: taskDefinition.containerDefinitions[1].environment[0]");

    rl_limits_init_defaults(&l);
    CU_ASSERT_EQUAL(apply_text(&l, wrapped, "d.json", "log-router", &err), RL_OK);
    CU_ASSERT_EQUAL(l.total.value, 200000);
    CU_ASSERT_TRUE(tst_contains(warnings, "container 'log-router' sets no limit variable"));
}

static void test_taskdef_errors(void)
{
    static const struct {
        const char *text;
        const char *fragments[3];
    } cases[] = {
        {"{\"containerDefinitions\": [{\"name\": \"a\", \"environment\": ["
         "{\"name\": \"DAILY_LIMIT_PER_MINER\", \"value\": 500}]}]}",
         {"j.json: containerDefinitions[0].environment[0]: DAILY_LIMIT_PER_MINER=500 "
          "is a number, not a string",
          "write \"500\"", NULL}},
        {"{\"containerDefinitions\": [{\"name\": \"a\", \"environment\": ["
         "{\"name\": \"A\", \"value\": \"1\"},"
         "{\"name\": \"DAILY_LIMIT_PER_MINER\", \"value\": \"50k\"}]}]}",
         {"j.json: containerDefinitions[0].environment[1]: DAILY_LIMIT_PER_MINER='50k'",
          "expected digits only", NULL}},
        {"{\"containerDefinitions\": [{\"name\": \"a\", \"environment\": ["
         "{\"name\": \"TOTAL_DAILY_LIMIT\", \"value\": \"1\"},"
         "{\"name\": \"TOTAL_DAILY_LIMIT\", \"value\": \"2\"}]}]}",
         {"environment[1]: TOTAL_DAILY_LIMIT='2' sets the limit again",
          "first set at j.json: containerDefinitions[0].environment[0]", NULL}},
        {"{\"containerDefinitions\": [{\"name\": \"a\", \"environment\": ["
         "{\"name\": \"TOTAL_DAILY_LIMIT\"}]}]}",
         {"environment[0]: TOTAL_DAILY_LIMIT has no value", NULL}},
        {"{\"containerDefinitions\": [{\"name\": \"a\", \"environment\": [\"X=1\"]}]}",
         {"j.json: containerDefinitions[0].environment[0] is a string: expected an object",
          NULL}},
        {"{\"containerDefinitions\": [{\"name\": \"a\", \"environment\": {}}]}",
         {"j.json: containerDefinitions[0].environment is an object: expected an array",
          NULL}},
        {"{\"containerDefinitions\": [{\"name\": \"a\"}, {\"name\": \"b\", "
         "\"secrets\": [{\"valueFrom\": \"arn:x\"}]}]}",
         {"j.json: containerDefinitions[1].secrets[0] is an object without a string "
          "\"name\"",
          NULL}},
        {"{\"containerDefinitions\": [\"api\"]}",
         {"j.json: containerDefinitions[0] is a string: expected an object", NULL}},
        {"{\"containerDefinitions\": 3}", {"no \"containerDefinitions\" array", NULL}},
        {"{\"family\": \"x\"}", {"no \"containerDefinitions\" array", NULL}},
        {"{\"containerDefinitions\": [\n  {\"name\": \"a\",}]}",
         {"j.json:2:", "invalid JSON", NULL}},
        {"{\"a\": 1, \"a\": 2}", {"j.json:1:", "duplicate object key", NULL}},
    };
    rl_error err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rl_limits l, before;
        rl_limits_init_defaults(&l);
        before = l;
        err.message[0] = '\0';
        CU_ASSERT_EQUAL(apply_text(&l, cases[i].text, "j.json", NULL, &err),
                        RL_ERR_INVALID);
        for (int k = 0; cases[i].fragments[k] != NULL; k++) {
            if (!tst_contains(err.message, cases[i].fragments[k]))
                fprintf(stderr, "case %zu: missing '%s' in: %s\n", i,
                        cases[i].fragments[k], err.message);
            CU_ASSERT_TRUE(tst_contains(err.message, cases[i].fragments[k]));
        }
        CU_ASSERT_EQUAL(memcmp(&l, &before, sizeof(l)), 0);
    }
}

/* ------------------------------------------------------------------------ */
/* `ratelab limits`                                                          */
/* ------------------------------------------------------------------------ */

static void test_cli_defaults(void)
{
    tst_output out;
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", NULL), 0);

    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT_TRUE(tst_contains(out.out, "miner        20       default\n"));
    CU_ASSERT_TRUE(tst_contains(out.out, "validator    10000    default\n"));
    CU_ASSERT_TRUE(tst_contains(out.out, "total        200000   default\n"));
    CU_ASSERT_STRING_EQUAL(out.err, "");
    tst_output_free(&out);
}

static void test_cli_help(void)
{
    tst_output out;
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "help", "limits", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT_TRUE(tst_contains(out.out, "Usage: ratelab limits"));
    CU_ASSERT_TRUE(tst_contains(out.out, "--container NAME"));
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", "--help", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT_TRUE(tst_contains(out.out, "Usage: ratelab limits"));
    tst_output_free(&out);
}

static void test_cli_shipped_testnet(void)
{
    const char *path = RATELAB_SOURCE_DIR "/scenarios/deploy/testnet.env";
    tst_output out;
    char line[512];

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", "--env", path, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    snprintf(line, sizeof(line), "miner        500      %s:", path);
    CU_ASSERT_TRUE(tst_contains(out.out, line));
    snprintf(line, sizeof(line), "validator    50000    %s:", path);
    CU_ASSERT_TRUE(tst_contains(out.out, line));
    snprintf(line, sizeof(line), "total        1000000  %s:", path);
    CU_ASSERT_TRUE(tst_contains(out.out, line));
    tst_output_free(&out);
}

static void test_cli_shipped_taskdef(void)
{
    const char *path = RATELAB_SOURCE_DIR "/scenarios/deploy/mainnet-taskdef.json";
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", "--env", path, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT_TRUE(tst_contains(out.out, "miner        100      "));
    CU_ASSERT_TRUE(tst_contains(out.out, "containerDefinitions[0].environment["));
    tst_output_free(&out);
}

/* Every bad value through the binary: exit 2 and one message naming the
 * file, the line, the variable and the value. */
static void test_cli_bad_values(void)
{
    static const char *const values[] = {
        "50k", "", "-1", "1e3", "\" 500 \"", "+5", "0x10", "007",
        "9007199254740993", "1.5",
    };
    static const char *const shown[] = {
        "'50k'", "''", "'-1'", "'1e3'", "' 500 '", "'+5'", "'0x10'", "'007'",
        "'9007199254740993'", "'1.5'",
    };
    char text[256], where[512];

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        snprintf(text, sizeof(text), "# deployed\n\nDAILY_LIMIT_PER_MINER=%s\n", values[i]);
        char *path = write_tmp("bad.env", text);
        tst_output out;
        CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", "--env", path, NULL), 0);

        snprintf(where, sizeof(where), "%s:3: DAILY_LIMIT_PER_MINER=%s", path, shown[i]);
        const char *fragments[] = {where, "expected digits only", NULL};
        assert_one_error(&out, fragments);
        tst_output_free(&out);
        free(path);
    }
}

static void test_cli_duplicate_key(void)
{
    char *path = write_tmp("dup.env", "DAILY_LIMIT_PER_MINER=100\n"
                                      "TOTAL_DAILY_LIMIT=5\n"
                                      "DAILY_LIMIT_PER_MINER=200\n");
    char where[512];
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", "--env", path, NULL), 0);
    snprintf(where, sizeof(where), "%s:3: DAILY_LIMIT_PER_MINER='200'", path);
    const char *fragments[] = {where, "sets the limit again", ":1)", NULL};
    assert_one_error(&out, fragments);
    tst_output_free(&out);
    free(path);
}

static void test_cli_taskdef_errors(void)
{
    char *numeric = write_tmp("num.json",
                              "{\"containerDefinitions\": [{\"name\": \"api\", "
                              "\"environment\": [{\"name\": \"A\", \"value\": \"x\"},"
                              "{\"name\": \"B\", \"value\": \"y\"},"
                              "{\"name\": \"C\", \"value\": \"z\"},"
                              "{\"name\": \"DAILY_LIMIT_PER_MINER\", \"value\": 500}]}]}");
    char *bad = write_tmp("bad.json",
                          "{\"containerDefinitions\": [{\"name\": \"api\", "
                          "\"environment\": [{\"name\": \"TOTAL_DAILY_LIMIT\", "
                          "\"value\": \"1e6\"}]}]}");
    char where[512];
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", "--env", numeric, NULL), 0);
    snprintf(where, sizeof(where),
             "%s: containerDefinitions[0].environment[3]: DAILY_LIMIT_PER_MINER=500",
             numeric);
    const char *f1[] = {where, "not a string", NULL};
    assert_one_error(&out, f1);
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", "--env", bad, NULL), 0);
    snprintf(where, sizeof(where),
             "%s: containerDefinitions[0].environment[0]: TOTAL_DAILY_LIMIT='1e6'", bad);
    const char *f2[] = {where, "expected digits only", NULL};
    assert_one_error(&out, f2);
    tst_output_free(&out);
    free(numeric);
    free(bad);
}

static void test_cli_taskdef_containers(void)
{
    char *path = write_tmp("two.json", two_containers);
    tst_output out;

    /* Ambiguous without --container. */
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", "--env", path, NULL), 0);
    const char *f1[] = {path, "2 containers set limit variables", "--container", NULL};
    assert_one_error(&out, f1);
    tst_output_free(&out);

    /* Chosen: the worker's values, each with its JSON path. */
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", "--env", path, "--container",
                                      "worker", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT_TRUE(tst_contains(out.out, "miner        5        "));
    CU_ASSERT_TRUE(tst_contains(out.out, "containerDefinitions[1].environment[0]\n"));
    CU_ASSERT_TRUE(tst_contains(out.out, "validator    60       "));
    tst_output_free(&out);

    /* The api container keeps its total in a secret: warned, exit 0. */
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", "--env", path, "--container",
                                      "api", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT_TRUE(tst_contains(out.out, "miner        100      "));
    CU_ASSERT_TRUE(tst_contains(out.err, "warn:"));
    CU_ASSERT_TRUE(tst_contains(out.err, "secrets[0]: TOTAL_DAILY_LIMIT comes from a secret"));
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", "--env", path, "--container",
                                      "nope", NULL), 0);
    const char *f2[] = {path, "no container is named 'nope'", NULL};
    assert_one_error(&out, f2);
    tst_output_free(&out);
    free(path);
}

static void test_cli_environment(void)
{
    static const char *const args[] = {"limits", NULL};
    tst_output out;

    run_with_env(&out, "DAILY_LIMIT_PER_MINER=7", args);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT_TRUE(tst_contains(out.out, "miner        7        environment\n"));
    CU_ASSERT_TRUE(tst_contains(out.out, "validator    10000    default\n"));
    tst_output_free(&out);

    run_with_env(&out, "DAILY_LIMIT_PER_MINER=50k", args);
    const char *f1[] = {"environment: DAILY_LIMIT_PER_MINER='50k'", "expected digits only",
                        NULL};
    assert_one_error(&out, f1);
    tst_output_free(&out);

    run_with_env(&out, "TOTAL_DAILY_LIMIT= 500 ", args);
    const char *f2[] = {"environment: TOTAL_DAILY_LIMIT=' 500 '", "contains whitespace",
                        NULL};
    assert_one_error(&out, f2);
    tst_output_free(&out);

    run_with_env(&out, "daily_limit_per_miner=7", args);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT_TRUE(tst_contains(out.out, "miner        20       default\n"));
    CU_ASSERT_TRUE(tst_contains(out.err, "did you mean DAILY_LIMIT_PER_MINER?"));
    tst_output_free(&out);
}

/* A file overrides the environment; a later file overrides an earlier one;
 * what a file does not set keeps its earlier source. */
static void test_cli_precedence(void)
{
    char *first = write_tmp("first.env", "DAILY_LIMIT_PER_MINER=500\n"
                                         "DAILY_LIMIT_PER_VALIDATOR=50000\n");
    char *second = write_tmp("second.env", "# main network\nDAILY_LIMIT_PER_MINER=100\n");
    char line[512];
    tst_output out;

    const char *args[] = {"limits", "--env", first, "--env", second, NULL};
    run_with_env(&out, "DAILY_LIMIT_PER_MINER=7", args);
    CU_ASSERT_EQUAL(out.status, 0);
    snprintf(line, sizeof(line), "miner        100      %s:2\n", second);
    CU_ASSERT_TRUE(tst_contains(out.out, line));
    snprintf(line, sizeof(line), "validator    50000    %s:2\n", first);
    CU_ASSERT_TRUE(tst_contains(out.out, line));
    CU_ASSERT_TRUE(tst_contains(out.out, "total        200000   default\n"));
    tst_output_free(&out);

    const char *one[] = {"limits", "--env", second, NULL};
    run_with_env(&out, "TOTAL_DAILY_LIMIT=42", one);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT_TRUE(tst_contains(out.out, "total        42       environment\n"));
    tst_output_free(&out);
    free(first);
    free(second);
}

static void test_cli_json(void)
{
    char *path = write_tmp("net.env", "DAILY_LIMIT_PER_MINER=500\n"
                                      "DAILY_LIMIT_PER_AUDITOR=3\n");
    char origin[512];
    tst_output out;
    json_error_t jerr;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", "--json", "--env", path, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    json_t *doc = json_loads(out.out, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);

    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "schema_version")), 1);
    json_t *roles = json_object_get(json_object_get(doc, "limits"), "roles");
    CU_ASSERT_EQUAL(json_object_size(roles), 3);

    json_t *miner = json_object_get(roles, "miner");
    snprintf(origin, sizeof(origin), "%s:1", path);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(miner, "per_client")), 500);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(miner, "source")), "file");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(miner, "origin")), origin);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(miner, "variable")),
                           "DAILY_LIMIT_PER_MINER");

    json_t *auditor = json_object_get(roles, "auditor");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(auditor, "per_client")), 3);

    json_t *validator = json_object_get(roles, "validator");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(validator, "per_client")), 10000);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(validator, "source")),
                           "default");

    json_t *total = json_object_get(json_object_get(doc, "limits"), "total");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(total, "per_window")), 200000);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(total, "origin")), "default");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(total, "variable")),
                           "TOTAL_DAILY_LIMIT");
    json_decref(doc);
    tst_output_free(&out);
    free(path);
}

static void test_cli_usage_errors(void)
{
    static const struct {
        const char *args[6];
        const char *fragment;
    } cases[] = {
        {{"limits", "--bogus", NULL}, "unknown option '--bogus'"},
        {{"limits", "-x", NULL}, "unknown option '-x'"},
        {{"limits", "--env", NULL}, "option '--env' needs a value"},
        {{"limits", "--env", "", NULL}, "--env needs a file name"},
        {{"limits", "extra.env", NULL}, "unexpected argument 'extra.env'"},
        {{"limits", "--container", "a", "--container", "b", NULL}, "--container given twice"},
        {{"limits", "--container", "a", "--container", "b", NULL}, "'a' and 'b'"},
        {{"limits", "--container", "api", NULL}, "--container needs a task definition"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tst_output out;
        CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(&out, (char *const *)cases[i].args), 0);
        CU_ASSERT_EQUAL(out.status, 2);
        CU_ASSERT_STRING_EQUAL(out.out, "");
        CU_ASSERT_TRUE(tst_contains(out.err, cases[i].fragment));
        CU_ASSERT_TRUE(tst_contains(out.err, "Try 'ratelab help limits'."));
        tst_output_free(&out);
    }
}

static void test_cli_container_without_taskdef(void)
{
    char *path = write_tmp("plain.env", "DAILY_LIMIT_PER_MINER=5\n");
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", "--env", path, "--container",
                                      "api", NULL), 0);
    const char *fragments[] = {"--container api", "no --env file is a task definition",
                               NULL};
    assert_one_error(&out, fragments);
    tst_output_free(&out);
    free(path);
}

static void test_cli_missing_file(void)
{
    tst_output out;
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "limits", "--env", "/nonexistent/x.env", NULL),
                          0);
    const char *fragments[] = {"/nonexistent/x.env", "No such file", NULL};
    assert_one_error(&out, fragments);
    tst_output_free(&out);
}

/* ------------------------------------------------------------------------ */

/* Removes limit variables (in any case) from this process's environment so
 * the binary sees only what each test passes. */
static int suite_init(void)
{
    char name[256];
    int again = 1;

    while (again) {
        again = 0;
        for (char **e = environ; *e != NULL; e++) {
            size_t n = strcspn(*e, "=");
            if (n >= sizeof(name))
                continue;
            memcpy(name, *e, n);
            name[n] = '\0';
            if (strncasecmp(name, "DAILY_LIMIT_PER_", 16) == 0 ||
                strcasecmp(name, "TOTAL_DAILY_LIMIT") == 0) {
                unsetenv(name);
                again = 1; /* environ changed under us: start over */
                break;
            }
        }
    }
    dir = tst_tmpdir();
    return dir == NULL;
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"value valid", test_value_valid},
        {"value invalid table", test_value_invalid},
        {"value null and long", test_value_null_and_long},
        {"defaults", test_defaults},
        {"set variable", test_set_variable},
        {"set variable role bounds", test_set_variable_role_bounds},
        {"role name rule", test_role_name_rule},
        {"set variable role rule", test_set_variable_role_rule},
        {"dotenv syntax accepted", test_dotenv_syntax_accepted},
        {"dotenv errors leave limits", test_dotenv_errors},
        {"dotenv NUL byte", test_dotenv_nul_byte},
        {"dotenv warnings", test_dotenv_warnings},
        {"environment block", test_environment},
        {"taskdef container choice", test_taskdef_container_choice},
        {"taskdef single and wrapped", test_taskdef_single_and_wrapped},
        {"taskdef errors", test_taskdef_errors},
        {"cli defaults", test_cli_defaults},
        {"cli help", test_cli_help},
        {"cli shipped testnet.env", test_cli_shipped_testnet},
        {"cli shipped task definition", test_cli_shipped_taskdef},
        {"cli bad values", test_cli_bad_values},
        {"cli duplicate key", test_cli_duplicate_key},
        {"cli taskdef errors", test_cli_taskdef_errors},
        {"cli taskdef containers", test_cli_taskdef_containers},
        {"cli environment", test_cli_environment},
        {"cli precedence", test_cli_precedence},
        {"cli json", test_cli_json},
        {"cli usage errors", test_cli_usage_errors},
        {"cli container without taskdef", test_cli_container_without_taskdef},
        {"cli missing file", test_cli_missing_file},
        CU_TEST_INFO_NULL,
    };
    return tst_main("limits", suite_init, NULL, tests);
}
