# Dependencies are found, never vendored: scripts/setup installs Debian's packages where they are missing.
find_package(CUDAToolkit REQUIRED)
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

