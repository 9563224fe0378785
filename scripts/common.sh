# Shared by the scripts: where to build, how to configure, whether a GPU is here.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${GHTIER_BUILD_DIR:-$root/build}"
jobs="${GHTIER_JOBS:-$(nproc)}"
export PATH="$PATH:/usr/local/cuda/bin"

configure_and_build() { # [cmake arguments...] [-- build-tool arguments...]
  local generator=() cmake_args=() tool_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do cmake_args+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift && tool_args=("$@")
  command -v ninja >/dev/null && generator=(-G Ninja)
  # ccache, where installed, makes rebuilds and parallel worktrees cheap; it changes no build output.
  if command -v ccache >/dev/null && [ -z "${GHTIER_NO_CCACHE:-}" ]; then
    cmake_args=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
                -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache "${cmake_args[@]}")
  fi
  # Dependencies that scripts/fetch-deps unpacked here (for machines without internet, e.g. the GPU one).
  if [ -d "$root/.deps/root/usr" ]; then
    cmake_args=(-DCMAKE_PREFIX_PATH="$root/.deps/root/usr" "${cmake_args[@]}")
  fi
  if [ -f "$build_dir/CMakeCache.txt" ]; then generator=(); fi
  cmake -S "$root" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cmake_args[@]}"
  cmake --build "$build_dir" -j "$jobs" -- "${tool_args[@]}"
}

# Configures one of the separate clang builds (the fuzz build, the TSan build: only the host code, no CUDA
# compiler) in DIR: clang-14 (or clang), Ninja for a new folder, ccache where installed, the unpacked .deps.
configure_clang_build() { # DIR [cmake arguments...]
  local dir="$1" clangxx clangc generator=() launcher=() prefix=()
  shift
  clangxx="$(command -v clang++-14 || command -v clang++ || true)"
  clangc="$(command -v clang-14 || command -v clang || true)"
  if [ -z "$clangxx" ] || [ -z "$clangc" ]; then
    echo "$(basename "$0"): clang is not installed (scripts/setup installs clang-14 and libclang-rt-14-dev)" >&2
    return 1
  fi
  if command -v ninja >/dev/null && [ ! -f "$dir/CMakeCache.txt" ]; then generator=(-G Ninja); fi
  if command -v ccache >/dev/null && [ -z "${GHTIER_NO_CCACHE:-}" ]; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  fi
  if [ -d "$root/.deps/root/usr" ]; then prefix=(-DCMAKE_PREFIX_PATH="$root/.deps/root/usr"); fi
  cmake -S "$root" -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_COMPILER="$clangxx" \
    -DCMAKE_C_COMPILER="$clangc" -DGHTIER_BUILD_BENCHMARKS=OFF -DGHTIER_BUILD_EXAMPLES=OFF \
    "${launcher[@]}" "${prefix[@]}" "$@" >/dev/null
}

gpu_present() {
  command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1
}
