# Dependencies are found, never vendored: scripts/setup installs Debian's packages where they are missing.
find_package(CUDAToolkit REQUIRED)
# CCCL (libcu++, cuda::mr) comes with the toolkit; CUDA 13 keeps it in include/cccl, which nvcc adds by itself
# and host compilers need for ghtier/memory/cuda_memory_resource.hpp.
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

# RAPIDS RMM, optional: where it is found, ghtier::rmm carries the header-only adaptors both ways
# (ghtier/memory/rmm_device_resource_adaptor.hpp, ghtier/memory/rmm_backed_resource.hpp) and their test is built.
option(GHTIER_WITH_RMM "Build the RMM adaptors' target and tests where RMM 25.x (tested: 25.12) is found" ON)
if(GHTIER_WITH_RMM AND CMAKE_VERSION VERSION_LESS 3.30.4)
  # RMM's own package file stops the configuration with an error below CMake 3.30.4, QUIET or not, so
  # it is not even looked for.
  message(STATUS "ghtier: the RMM adaptors need CMake 3.30.4 or newer (RMM's package does): not built")
elseif(GHTIER_WITH_RMM)
  find_package(rmm QUIET)
  if(rmm_FOUND AND rmm_VERSION VERSION_GREATER_EQUAL 26)
    message(STATUS "ghtier: RMM ${rmm_VERSION} has no device_memory_resource (removed in 26.x): adaptors not built")
  elseif(rmm_FOUND)
    message(STATUS "ghtier: RMM ${rmm_VERSION} found: building ghtier::rmm and its tests")
    add_library(ghtier_rmm INTERFACE)
    add_library(ghtier::rmm ALIAS ghtier_rmm)
    target_link_libraries(ghtier_rmm INTERFACE ghtier::ghtier rmm::rmm)
  else()
    message(STATUS "ghtier: RMM not found: its adaptors are not built (-Drmm_ROOT=... to point at one)")
  endif()
endif()
