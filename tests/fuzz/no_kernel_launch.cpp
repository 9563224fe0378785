// The fuzz build compiles no device code (tests/fuzz/CMakeLists.txt), nor does the TSan build, which links
// this file too (tests/tsan/CMakeLists.txt). The linker drops what only a kernel launch reaches, except the
// SM batch copy, which the transfer engine's batch path can reach from code that stays linked. Nothing a
// harness or TSan test calls gets there (offline runtimes make no engine, the engine tests make none on a
// device); if one ever does, this definition turns it into a crash that fails the run, never a silent no-op.
#include <cstdio>
#include <cstdlib>

#include "engine/batch_copy_kernel.hpp"

namespace ghtier::detail {

void launch_sm_batch_copy(const SmBatchItems& /*items*/, int /*blocks*/, cudaStream_t /*stream*/) {
  std::fprintf(stderr, "fuzz or TSan build: launch_sm_batch_copy reached, but this build has no device code\n");
  std::abort();
}

}  // namespace ghtier::detail
