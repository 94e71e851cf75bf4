# Realism models: restarts, retries, attackers, replicas, clock offsets,
# alternative algorithms and trace replay (sim/sim_realism.h).
rl_add_suite(realism test_realism.c rlsim rlreports)
