# Inputs found by the fuzz harnesses (tests/fuzz), kept as tests.
rl_add_suite(regressions test_regressions.c rlsim)
