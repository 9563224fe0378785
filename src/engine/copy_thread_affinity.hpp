// Where the engine's persistent CPU copy threads run: on the CPUs of the NUMA node closest to the engine's GPU,
// where its pinned staging slots live, so that the copies into and out of them stay on one socket. Decided by a
// pure function (tested on the CPU); applied by each thread to itself when it starts.
#pragma once

#include <string>
#include <vector>

#include "ghtier/platform/platform.hpp"

namespace ghtier::detail {

struct CopyThreadAffinity {
  std::vector<int> cpus;  ///< the CPUs the threads run on, ascending; empty: leave them where the OS puts them
  std::string note;       ///< what was decided and why, for the log
};

/// `enabled` false, `node` -1 (unknown), a node without CPUs, or no CPU of the node among `allowed` (this
/// process's affinity, e.g. a container's or taskset's) -> no CPUs, with a note that says which. Otherwise the
/// node's CPUs that the process may use.
[[nodiscard]] CopyThreadAffinity choose_copy_thread_cpus(bool enabled, int node, const std::vector<int>& node_cpus,
                                                         const std::vector<int>& allowed);

/// choose_copy_thread_cpus for the GPU of `platform` on this host: its node (cudaDevAttrHostNumaId, through
/// choose_numa_node) and the node's CPUs from sysfs, against sched_getaffinity. GHTIER_COPY_THREAD_AFFINITY=0
/// (or off) in the environment turns it off as `enabled` false does. Never throws: a sysfs that cannot be read
/// gives no CPUs, with the reason in the note.
[[nodiscard]] CopyThreadAffinity copy_thread_affinity_for(const Platform& platform, bool enabled) noexcept;

/// Restricts the calling thread to `cpus` (pthread_setaffinity_np). Returns "" on success, else the reason;
/// never throws. An empty list changes nothing.
[[nodiscard]] std::string pin_this_thread(const std::vector<int>& cpus) noexcept;

}  // namespace ghtier::detail
