# End-to-end tests of `ratelab serve`: real server processes on loopback,
# a private redis-server, HTTP through libcurl.
rl_add_suite(server test_server.c rltestserve PkgConfig::JANSSON Threads::Threads)
