# The load generator: unit tests of histograms, rates, templates and result
# merging; end-to-end tests of load, probe and merge against `ratelab serve`
# and mock servers on loopback.
rl_add_suite(loadgen_unit test_loadgen_unit.c rlload)
rl_add_suite(loadgen test_loadgen.c rlload Threads::Threads)
