# Dependencies are found, never vendored: scripts/setup installs Debian's packages where they are missing.
find_package(CUDAToolkit REQUIRED)
# CCCL (libcu++, cuda::mr) comes with the toolkit; CUDA 13 keeps it in include/cccl, which nvcc adds by itself
# and host compilers need for ghtier/cuda_memory_resource.hpp.
find_path(GHTIER_CCCL_INCLUDE_DIR cuda/memory_resource
  HINTS ${CUDAToolkit_INCLUDE_DIRS} PATH_SUFFIXES cccl NO_DEFAULT_PATH)
find_package(fmt REQUIRED)
find_package(Threads REQUIRED)
# JSON (link models, `ghtier info --json`): header-only and private to the library and the tools. Where the
# package is not installed (the GPU machine has no internet), scripts/fetch-deps unpacks Debian's package
# into .deps/root and scripts/common.sh puts it on CMAKE_PREFIX_PATH.
find_package(nlohmann_json 3.10 REQUIRED)
if(GHTIER_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(GHTIER_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()

