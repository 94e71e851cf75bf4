/*
 * test_valgrind.c: the ratelab binary under valgrind's memcheck on the
 * shipped scenarios and limit files, and on bad input, whose error paths
 * free memory too.
 *
 * valgrind runs with --leak-check=full --error-exitcode=3, so an invalid
 * read or write, a use of uninitialised memory or a definite or possible
 * leak makes it exit 3, a status ratelab itself never uses.  The suite is
 * registered only when valgrind is installed and the build is not
 * sanitized (valgrind cannot run AddressSanitizer binaries).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tst_support.h"

/* memcheck slows ratelab down 10 to 50 times; the slowest case here,
 * `sim scenarios/`, took 1 to 20 s under it on a 2-core machine. */
#define VALGRIND_LIMIT_S 300

/* Runs ratelab under valgrind and checks the exit status it reports. */
static void check_clean(int expected_status, const char *const *args)
{
    char *argv[32];
    int n = 0;
    tst_output out;

    argv[n++] = (char *)VALGRIND_BIN;
    argv[n++] = "--quiet";
    argv[n++] = "--leak-check=full";
    argv[n++] = "--error-exitcode=3";
    argv[n++] = (char *)RATELAB_BIN;
    for (int i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;

    CU_ASSERT_FATAL(tst_run(argv, NULL, VALGRIND_LIMIT_S, &out) == 0);
    if (out.status != expected_status) {
        fprintf(stderr, "\nratelab");
        for (int i = 0; args[i] != NULL; i++)
            fprintf(stderr, " %s", args[i]);
        fprintf(stderr, ": status %d, expected %d; stderr:\n%s\n", out.status,
                expected_status, out.err);
    }
    CU_ASSERT_EQUAL(out.status, expected_status);
    tst_output_free(&out);
}

static void test_valgrind_sim_shipped_scenarios(void)
{
    const char *args[] = {"sim", "scenarios/", NULL};
    check_clean(0, args);
}

static void test_valgrind_sim_bad_scenario(void)
{
    char *path = tst_write_file(tst_tmpdir(), "bad.ini",
                                "[scenario]\ndays = two\n[population m]\ninterval = 5m\n");
    const char *args[] = {"sim", path, NULL};
    check_clean(2, args);
    free(path);
}

static void test_valgrind_limits_shipped_files(void)
{
    const char *defaults[] = {"limits", NULL};
    const char *dotenv[] = {"limits", "--env", "scenarios/deploy/testnet.env", NULL};
    const char *both[] = {"limits", "--env", "scenarios/deploy/testnet.env", "--env",
                          "scenarios/deploy/mainnet-taskdef.json", "--json", NULL};
    check_clean(0, defaults);
    check_clean(0, dotenv);
    check_clean(0, both);
}

static void test_valgrind_limits_bad_files(void)
{
    const char *dir = tst_tmpdir();
    char *dotenv = tst_write_file(dir, "bad.env", "DAILY_LIMIT_PER_MINER=-5\n");
    char *taskdef = tst_write_file(dir, "bad.json", "{\"containerDefinitions\": [1,");
    const char *bad_dotenv[] = {"limits", "--env", dotenv, NULL};
    const char *bad_taskdef[] = {"limits", "--env", taskdef, NULL};
    const char *missing[] = {"limits", "--env", "scenarios/deploy/no-such-file.env", NULL};

    check_clean(2, bad_dotenv);
    check_clean(2, bad_taskdef);
    check_clean(2, missing);
    free(dotenv);
    free(taskdef);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"valgrind sim shipped scenarios", test_valgrind_sim_shipped_scenarios},
        {"valgrind sim bad scenario", test_valgrind_sim_bad_scenario},
        {"valgrind limits shipped files", test_valgrind_limits_shipped_files},
        {"valgrind limits bad files", test_valgrind_limits_bad_files},
        CU_TEST_INFO_NULL,
    };
    return tst_main("valgrind", NULL, NULL, tests);
}
