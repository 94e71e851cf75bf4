rl_add_suite(sim test_sim.c rlsim rlreports)
