# Report writers, time series, --out and gnuplot, `ratelab check`; and the
# capacity sweeps (sim/sim_sweep.c, `ratelab sweep`).
rl_add_suite(reports test_reports.c rlreports rlsim PkgConfig::JANSSON)
rl_add_suite(sweep test_sweep.c rlreports rlsim PkgConfig::JANSSON)
