# Every fuzz harness (tests/fuzz) over its seed corpus, without libFuzzer:
# the seeds include each input a fuzzer found, so CI keeps them fixed, and
# the sanitized build checks them under ASan and UBSan.
set(RL_FUZZ_DIR ${PROJECT_SOURCE_DIR}/tests/fuzz)
function(rl_add_fuzz_replay target)
  add_executable(fuzz_replay_${target} ${RL_FUZZ_DIR}/fuzz_${target}.c ${RL_FUZZ_DIR}/replay_main.c)
  target_include_directories(fuzz_replay_${target} PRIVATE ${RL_FUZZ_DIR})
  target_link_libraries(fuzz_replay_${target} PRIVATE ${ARGN})
  add_test(NAME fuzz_corpus_${target}
    COMMAND fuzz_replay_${target} ${RL_FUZZ_DIR}/corpus/${target})
  # The scenario harness resolves `env = deploy/...` from here.
  set_tests_properties(fuzz_corpus_${target} PROPERTIES TIMEOUT 300
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/scenarios)
endfunction()

rl_add_fuzz_replay(duration rlcore)
rl_add_fuzz_replay(time rlcore)
rl_add_fuzz_replay(window rlcore)
rl_add_fuzz_replay(dotenv rlcore)
rl_add_fuzz_replay(taskdef rlcore)
rl_add_fuzz_replay(scenario rlsim rlcore)
rl_add_fuzz_replay(server_body rlserver rlcore)
rl_add_fuzz_replay(trace rlsim rlcore)
