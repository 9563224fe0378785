# Warnings as errors for host code, whether g++ sees it directly or through nvcc.
function(ghtier_set_warnings target)
  set(host_flags -Wall -Wextra)
  if(GHTIER_WERROR)
    list(APPEND host_flags -Werror)
  endif()
  list(JOIN host_flags "," host_flags_csv)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${host_flags}>
    $<$<COMPILE_LANGUAGE:C>:${host_flags}>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=${host_flags_csv}>)
endfunction()
