rl_add_suite(redis_store test_redis_store.c PkgConfig::JANSSON Threads::Threads)
