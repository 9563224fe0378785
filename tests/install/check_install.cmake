# cmake -P script: install, then configure/build/run the consumer (find_package), then compile a C file with
# the flags pkg-config gives. Fails with the failing step's output.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

run_step("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
run_step("configure consumer" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G ${GENERATOR}
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
run_step("build consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run_step("run consumer" ${WORK_DIR}/build/consumer)
if(NOT step_output MATCHES "coherent-c2c")
  message(FATAL_ERROR "consumer printed an unexpected platform: ${step_output}")
endif()

find_program(PKG_CONFIG pkg-config)
if(PKG_CONFIG)
  file(GLOB pc_dirs ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
  set(ENV{PKG_CONFIG_PATH} "${pc_dirs}")
  run_step("pkg-config" ${PKG_CONFIG} --cflags --libs ghtier)
  string(STRIP "${step_output}" flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run_step("compile C consumer with pkg-config flags" ${C_COMPILER} -std=c11 ${SOURCE_DIR}/consumer.c ${flags}
    -o ${WORK_DIR}/c_consumer)
  file(GLOB libdir ${prefix}/lib*)
  set(ENV{LD_LIBRARY_PATH} "${libdir}")
  run_step("run C consumer" ${WORK_DIR}/c_consumer)
endif()
message(STATUS "install consumer test passed")
