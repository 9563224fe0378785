# Shared by the scripts: where to build, how to configure, whether a GPU is here.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${GHTIER_BUILD_DIR:-$root/build}"
jobs="${GHTIER_JOBS:-$(nproc)}"
export PATH="$PATH:/usr/local/cuda/bin"

configure_and_build() { # extra cmake arguments...
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  if [ -f "$build_dir/CMakeCache.txt" ]; then generator=(); fi
  cmake -S "$root" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
  cmake --build "$build_dir" -j "$jobs"
}

gpu_present() {
  command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1
}
