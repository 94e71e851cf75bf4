# Limit parsers (core/rl_limits.c) and `ratelab limits`.
rl_add_suite(limits test_limits.c PkgConfig::JANSSON)
