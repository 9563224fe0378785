# CPU tests again, built against ghtier_fuzz_library (AddressSanitizer + UndefinedBehaviorSanitizer, leak
# checks on): the decision code that takes untrusted input or keeps state across calls. One executable per
# area (each file is the same one the normal build runs); `ctest -L sanitized` in the fuzz build runs them.
# The rest of the CPU tests under the sanitizers: scripts/sanitize (by hand: building everything twice does
# not fit CI's time).
find_package(GTest REQUIRED)
set(tests ${PROJECT_SOURCE_DIR}/tests)
function(ghtier_sanitized_test area)
  cmake_parse_arguments(T "" "GTEST_FILTER" "" ${ARGN})
  set(files ${T_UNPARSED_ARGUMENTS})
  list(TRANSFORM files PREPEND ${tests}/)
  set(name sanitized_${area}_test)
  add_executable(${name} ${files})
  target_include_directories(${name} PRIVATE ${tests})
  target_link_libraries(${name} PRIVATE ghtier_fuzz_library GTest::gtest GTest::gtest_main)
  if(T_GTEST_FILTER)
    add_test(NAME ${name} COMMAND ${name} --gtest_filter=${T_GTEST_FILTER})
  else()
    add_test(NAME ${name} COMMAND ${name})
  endif()
  set_tests_properties(${name} PROPERTIES LABELS sanitized TIMEOUT 600
    ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1;UBSAN_OPTIONS=print_stacktrace=1")
endfunction()

ghtier_sanitized_test(policy policy/tier_policy_test.cpp policy/tier_policy_table_test.cpp)
ghtier_sanitized_test(planners workloads/activation_planner_test.cpp workloads/weight_planner_test.cpp
  workloads/weight_slot_schedule_test.cpp workloads/kv_resume_planner_test.cpp)
ghtier_sanitized_test(kv_ledger workloads/kv_block_ledger_test.cpp workloads/kv_prefix_ledger_test.cpp
  workloads/kv_block_hash_test.cpp)
ghtier_sanitized_test(c_api_offline capi/c_api_args_test.cpp capi/c_api_holder_test.cpp
  workloads/activation_c_api_test.cpp workloads/weight_c_api_test.cpp workloads/kv_c_api_test.cpp)
ghtier_sanitized_test(engine_planning engine/chunk_planner_test.cpp engine/copy_validation_test.cpp
  engine/transfer_queue_test.cpp engine/staging_ring_test.cpp engine/batch_builder_test.cpp)
ghtier_sanitized_test(core core/json_object_test.cpp core/fault_injector_test.cpp
  memory/range_allocator_test.cpp memory/budget_adaptor_test.cpp)
ghtier_sanitized_test(tools tools/cli_options_test.cpp tools/plan_common_flags_test.cpp tools/plan_kv_cache_test.cpp)
ghtier_sanitized_test(torch_allocator capi/torch_block_cache_test.cpp capi/torch_allocator_test.cpp)
# Several GPUs in one host (issue 15): CPU lists, and the node budget's shared segment with forked processes.
ghtier_sanitized_test(multi_gpu core/cpu_list_test.cpp memory/node_budget_test.cpp)
