rl_add_suite(core_limiter test_core_limiter.c)
