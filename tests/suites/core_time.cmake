rl_add_suite(core_time test_core_time.c)
