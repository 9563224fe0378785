# The runtime C API's tests (included by this folder's CMakeLists.txt).
ghtier_add_test(c_api_args_test SOURCES c_api_args_test.cpp)
# capi::Holder, the template behind the object handles (teardown order, calls in flight, bad handles).
ghtier_add_test(c_api_holder_test SOURCES c_api_holder_test.cpp)
ghtier_add_test(c_api_gpu_test SOURCES c_api_gpu_test.cpp c_api_test_kernels.cu GPU)

# The C example of docs/c_api.md, compiled as strict C11: offline placement through the C API (no GPU).
add_executable(c_api_offline_test c_api_offline_test.c)
set_target_properties(c_api_offline_test PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_link_libraries(c_api_offline_test PRIVATE ghtier::ghtier)
ghtier_set_warnings(c_api_offline_test)
target_compile_options(c_api_offline_test PRIVATE -pedantic)
add_test(NAME c_api_offline_test COMMAND c_api_offline_test)

# The C API's contracts (NULL stream, handles, policy, struct_size, version macros, log sink, overlap checks).
ghtier_add_test(c_api_contract_test SOURCES c_api_contract_test.cpp)
target_compile_definitions(c_api_contract_test PRIVATE GHTIER_EXPECTED_VERSION_MAJOR=${PROJECT_VERSION_MAJOR}
  GHTIER_EXPECTED_VERSION_MINOR=${PROJECT_VERSION_MINOR} GHTIER_EXPECTED_VERSION_PATCH=${PROJECT_VERSION_PATCH})
