# cmake -P script: configures tests/install/subdirectory (a project that add_subdirectory()s ghtier's
# source tree) with GoogleTest and Google Benchmark made unfindable, builds its consumer, and runs it.
# Fails with the failing step's output.
file(REMOVE_RECURSE ${WORK_DIR})

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

set(launchers)
foreach(lang C CXX CUDA)
  if(${lang}_LAUNCHER)
    list(APPEND launchers -DCMAKE_${lang}_COMPILER_LAUNCHER=${${lang}_LAUNCHER})
  endif()
endforeach()
run_step("configure embedding project" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR} -G ${GENERATOR}
  -DGHTIER_SOURCE_DIR=${GHTIER_SOURCE_DIR} -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_CUDA_COMPILER=${CUDA_COMPILER}
  -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON ${launchers})
run_step("build embedding project" ${CMAKE_COMMAND} --build ${WORK_DIR} --target consumer)
run_step("run consumer" ${WORK_DIR}/consumer)
if(NOT step_output MATCHES "coherent-c2c" OR NOT step_output MATCHES "caught ghtier::Error")
  message(FATAL_ERROR "consumer printed something unexpected: ${step_output}")
endif()
message(STATUS "add_subdirectory consumer test passed")
