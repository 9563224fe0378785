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

gpu_present() {
  command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1
}
