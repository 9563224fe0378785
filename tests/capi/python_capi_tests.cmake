# Tests of the C API the Python package needs: the PyTorch allocator slots (ghtier_torch.h) and the platform report
# (ghtier_platform_report.h). Included by this folder's CMakeLists.txt.
ghtier_add_test(torch_allocator_test SOURCES torch_allocator_test.cpp)
ghtier_add_test(torch_block_cache_test SOURCES torch_block_cache_test.cpp)
ghtier_add_test(torch_allocator_gpu_test SOURCES torch_allocator_gpu_test.cpp GPU)

# The header as strict C11, the entry points with PyTorch's signatures.
add_executable(torch_header_test torch_header_test.c)
set_target_properties(torch_header_test PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_link_libraries(torch_header_test PRIVATE ghtier::ghtier)
ghtier_set_warnings(torch_header_test)
target_compile_options(torch_header_test PRIVATE -pedantic)
add_test(NAME torch_header_test COMMAND torch_header_test)

# The platform report's C functions (include/ghtier/ghtier_platform_report.h), for `python -m ghtier info`.
ghtier_add_test(platform_report_test SOURCES platform_report_test.cpp)
