rl_add_suite(scenario test_scenario.c rlsim)
