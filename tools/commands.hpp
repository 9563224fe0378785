// The `ghtier` subcommands that touch the device: each returns an ExitStatus (tools/exit_status.hpp).
#pragma once

#include <ostream>

#include "cli_options.hpp"
#include "info_report.hpp"

namespace ghtier::tools {

/// The CUDA versions of this process: built-with, runtime and driver (0 where CUDA cannot say).
[[nodiscard]] CudaVersions query_cuda_versions() noexcept;

/// `ghtier info`: the report on `out` (text or JSON); notes and errors on `err`.
/// Throws ghtier::Error for a --link file that cannot be read, a failed calibration or --save.
int run_info(const InfoOptions& options, std::ostream& out, std::ostream& err);

/// `ghtier bench`: progress lines and the summary table on `out`; errors on `err`.
int run_bench(const BenchCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ghtier::tools
