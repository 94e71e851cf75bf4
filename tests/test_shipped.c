/*
 * test_shipped.c: every shipped scenario folder runs through the binary
 * with its expectations met, and the gate scenarios pass or fail
 * `ratelab check` as scenarios/gate/README.md promises.
 */
#include <stdio.h>

#include "tst_support.h"

static void run_folder_expect(const char *folder, int expected_status)
{
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", folder, NULL), 0);
    if (out.status != expected_status)
        fprintf(stderr, "\nratelab sim %s: status %d\n%s%s", folder, out.status,
                out.out, out.err);
    CU_ASSERT_EQUAL(out.status, expected_status);
    tst_output_free(&out);
}

static void test_top_folder_meets_expectations(void)
{
    run_folder_expect("scenarios/", 0);
}

static void test_realism_folder_meets_expectations(void)
{
    run_folder_expect("scenarios/realism/", 0);
}

static void test_gate_folder_meets_expectations(void)
{
    run_folder_expect("scenarios/gate/", 0);
}

static void test_gate_holds_under_mainnet(void)
{
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "check", "--env",
                                      "scenarios/deploy/mainnet.env",
                                      "scenarios/gate/", NULL),
                          0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT(tst_contains(out.out, "2 of 2 scenarios hold, 0 break"));
    tst_output_free(&out);
}

static void test_gate_breaks_under_low_limit(void)
{
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "check", "--env",
                                      "scenarios/deploy/too-low-example.env",
                                      "scenarios/gate/", NULL),
                          0);
    CU_ASSERT_EQUAL(out.status, 1);
    CU_ASSERT(tst_contains(out.out, "FAILED  mainnet-miners"));
    CU_ASSERT(tst_contains(out.out, "needs miner >= 18"));
    tst_output_free(&out);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"top folder meets expectations", test_top_folder_meets_expectations},
        {"realism folder meets expectations", test_realism_folder_meets_expectations},
        {"gate folder meets expectations", test_gate_folder_meets_expectations},
        {"gate holds under mainnet", test_gate_holds_under_mainnet},
        {"gate breaks under low limit", test_gate_breaks_under_low_limit},
        CU_TEST_INFO_NULL,
    };
    return tst_main("shipped", NULL, NULL, tests);
}
