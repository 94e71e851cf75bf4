rl_add_suite(core_window test_core_window.c)
