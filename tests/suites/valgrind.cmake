# The ratelab binary under valgrind's memcheck (label "valgrind").  Skipped
# when valgrind is missing or the build is sanitized.
find_program(RATELAB_VALGRIND valgrind)
if(RATELAB_VALGRIND AND NOT RATELAB_SANITIZE)
  rl_add_suite(valgrind test_valgrind.c)
  target_compile_definitions(test_valgrind PRIVATE VALGRIND_BIN="${RATELAB_VALGRIND}")
  set_tests_properties(valgrind PROPERTIES LABELS valgrind)
elseif(NOT RATELAB_VALGRIND)
  message(STATUS "valgrind not found: the valgrind suite is not built")
endif()
