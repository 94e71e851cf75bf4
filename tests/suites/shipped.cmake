rl_add_suite(shipped test_shipped.c)
