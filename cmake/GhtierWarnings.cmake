# Warnings as errors for host code, whether g++ sees it directly or through nvcc.
function(ghtier_set_warnings target)
  set(host_flags -Wall -Wextra)
  if(GHTIER_WERROR)
    list(APPEND host_flags -Werror)
    # g++ 13 at -O2 reports these through inlined standard-library code where nothing is wrong (seen on
    # the GPU machine: free-nonheap-object inside std::vector's reallocation); they stay warnings.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 13)
      list(APPEND host_flags -Wno-error=free-nonheap-object -Wno-error=dangling-reference
           -Wno-error=array-bounds -Wno-error=stringop-overflow -Wno-error=maybe-uninitialized)
    endif()
  endif()
  list(JOIN host_flags "," host_flags_csv)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${host_flags}>
    $<$<COMPILE_LANGUAGE:C>:${host_flags}>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=${host_flags_csv}>)
endfunction()
