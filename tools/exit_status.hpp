// The exit statuses of the `ghtier` command, in one place so that scripts, tests and docs agree.
#pragma once

namespace ghtier::tools {

/// What `ghtier` returns to the shell (documented in `ghtier --help` and docs/contributing.md).
enum ExitStatus : int {
  exit_ok = 0,            ///< the command did what was asked
  exit_usage = 1,         ///< bad arguments: unknown command or flag, missing or malformed value
  exit_no_device = 2,     ///< the command needs a CUDA device and none is visible (or --device N does not exist)
  exit_failure = 3,       ///< a ghtier or CUDA error while running (a file that cannot be read, a failed call)
  exit_bench_failed = 4,  ///< `ghtier bench` ran, but one or more benchmark cases reported an error
};

}  // namespace ghtier::tools
