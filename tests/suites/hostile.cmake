# Misbehaving peers: `ratelab load` against hostile servers, and
# `ratelab serve` under idle and slow clients.  Every server is on 127.0.0.1.
rl_add_suite(hostile_load test_hostile_load.c PkgConfig::JANSSON Threads::Threads)
target_sources(test_hostile_load PRIVATE hostile_server.c)
rl_add_suite(hostile_serve test_hostile_serve.c Threads::Threads)
