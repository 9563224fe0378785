# cmake -P script: the dynamic symbol table of libghtier.so holds the public API and nothing else.
# Allowed: C symbols ghtier_*; C++ symbols of namespace ghtier (with their typeinfo, vtables and thunks)
# outside ghtier::detail and ghtier::internal. Anything else (fmt, std instantiations, internals) fails, as
# does a missing SONAME libghtier.so.<ABI version> or a missing piece of the public API.
execute_process(COMMAND ${NM} -D --defined-only -C ${LIBRARY} RESULT_VARIABLE rc OUTPUT_VARIABLE table
  ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed (${rc}): ${err}")
endif()
string(REPLACE "\n" ";" lines "${table}")
set(bad)
set(count 0)
foreach(line ${lines})
  # "<address> <type> <name>"; absolute symbols (type A: version nodes) are not code or data.
  if(NOT line MATCHES "^[0-9a-fA-F]+ ([A-Za-z]) (.*)$")
    continue()
  endif()
  set(type ${CMAKE_MATCH_1})
  set(name "${CMAKE_MATCH_2}")
  if(type STREQUAL "A")
    continue()
  endif()
  math(EXPR count "${count} + 1")
  string(REGEX REPLACE "^(typeinfo name for|typeinfo for|vtable for|non-virtual thunk to|virtual thunk to) " ""
    qualified "${name}")
  if(qualified MATCHES "^ghtier_[A-Za-z0-9_]+$")
    continue()
  endif()
  # The symbol's own namespace is what leads its qualified name (return types are not part of nm -C's text
  # for functions, but template arguments and parameters may name other namespaces: that is allowed).
  if(qualified MATCHES "^ghtier::" AND NOT qualified MATCHES "^ghtier::(detail|internal)::")
    continue()
  endif()
  list(APPEND bad "${line}")
endforeach()
if(bad)
  list(LENGTH bad n)
  list(JOIN bad "\n  " shown)
  message(FATAL_ERROR "${LIBRARY} exports ${n} symbol(s) outside the public API:\n  ${shown}")
endif()
foreach(required "ghtier_version" "ghtier_error_message" "ghtier::classify(" "typeinfo for ghtier::Error"
                 "ghtier::Runtime::" "ghtier::TransferEngine::")
  string(FIND "${table}" "${required}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${LIBRARY} does not export ${required}")
  endif()
endforeach()

execute_process(COMMAND ${OBJDUMP} -p ${LIBRARY} OUTPUT_VARIABLE headers RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT headers MATCHES "SONAME +libghtier\\.so\\.${ABI_VERSION}\n")
  message(FATAL_ERROR "${LIBRARY}: SONAME is not libghtier.so.${ABI_VERSION}:\n${headers}")
endif()
message(STATUS "exports: ${count} public symbols, SONAME libghtier.so.${ABI_VERSION}")
