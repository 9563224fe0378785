// The fuzz build compiles no device code (tests/fuzz/CMakeLists.txt). The linker drops what only a kernel
// launch reaches, except the SM batch copy, which the transfer engine's batch path can reach from code that
// stays linked. Nothing a harness calls gets there (offline runtimes make no engine); if one ever does, this
// definition turns it into a crash that libFuzzer reports, never a silent no-op.
#include <cstdio>
#include <cstdlib>

#include "engine/batch_copy_kernel.hpp"

namespace ghtier::detail {

void launch_sm_batch_copy(const SmBatchItems& /*items*/, int /*blocks*/, cudaStream_t /*stream*/) {
  std::fprintf(stderr, "fuzz build: launch_sm_batch_copy reached, but the fuzz build has no device code\n");
  std::abort();
}

}  // namespace ghtier::detail
