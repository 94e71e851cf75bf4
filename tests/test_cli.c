/*
 * test_cli.c: the `ratelab` command's dispatch: help, version, unknown
 * commands and the RATELAB_LOG check that runs before every command.
 */
#include <stdlib.h>

#include "tst_support.h"

static void test_help_lists_commands(void)
{
    tst_output out;
    const char *names[] = {"sim", "check", "sweep", "limits", "serve", "load",
                           "probe", "merge", "store-bench"};

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "help", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        CU_ASSERT(tst_contains(out.out, names[i]));
    tst_output_free(&out);
}

static void test_no_arguments_is_usage_error(void)
{
    tst_output out;
    char *args[] = {NULL};

    CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(&out, args), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "Usage: ratelab COMMAND"));
    tst_output_free(&out);
}

static void test_unknown_command_is_usage_error(void)
{
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "simulate", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "unknown command 'simulate'"));
    tst_output_free(&out);
}

static void test_help_unknown_command(void)
{
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "help", "nope", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "unknown command 'nope'"));
    tst_output_free(&out);
}

static void test_version_prints_version(void)
{
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "version", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT(tst_contains(out.out, "ratelab "));
    tst_output_free(&out);
}

static void test_invalid_log_level_rejected(void)
{
    tst_output out;
    char *argv[] = {"/usr/bin/env", "RATELAB_LOG=verbose", (char *)RATELAB_BIN,
                    "limits", NULL};

    CU_ASSERT_EQUAL_FATAL(tst_run(argv, NULL, 60, &out), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "invalid RATELAB_LOG='verbose'"));
    CU_ASSERT_EQUAL(out.out[0], '\0');
    tst_output_free(&out);
}

static void test_valid_log_level_accepted(void)
{
    tst_output out;
    char *argv[] = {"/usr/bin/env", "RATELAB_LOG=debug", (char *)RATELAB_BIN,
                    "limits", NULL};

    CU_ASSERT_EQUAL_FATAL(tst_run(argv, NULL, 60, &out), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT(tst_contains(out.out, "miner"));
    tst_output_free(&out);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"help lists commands", test_help_lists_commands},
        {"no arguments is usage error", test_no_arguments_is_usage_error},
        {"unknown command is usage error", test_unknown_command_is_usage_error},
        {"help unknown command", test_help_unknown_command},
        {"version prints version", test_version_prints_version},
        {"invalid log level rejected", test_invalid_log_level_rejected},
        {"valid log level accepted", test_valid_log_level_accepted},
        CU_TEST_INFO_NULL,
    };
    return tst_main("cli", NULL, NULL, tests);
}
