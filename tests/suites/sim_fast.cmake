rl_add_suite(sim_fast test_sim_fast.c rlsim)
