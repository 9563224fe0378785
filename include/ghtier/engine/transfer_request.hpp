// Transfer requests: what a caller hands to the TransferEngine (a copy, a prefetch, or a batch of small
// copies), with its priority, what it must wait for, and what to run once it is done.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "ghtier/memory/memory_mode.hpp"

namespace ghtier {

/// Urgent requests (a prefetch that compute is about to wait for) go before background ones (an offload).
/// Within one priority, requests start in the order they were submitted.
enum class TransferPriority {
  urgent,      ///< dispatched at once, on the copy streams of greatest CUDA priority
  background,  ///< dispatched a few chunks at a time, so that an urgent request overtakes it within a chunk
};

[[nodiscard]] GHTIER_API std::string_view to_string(TransferPriority priority) noexcept;

/// How a request ended (or that it has not yet). Passed to on_complete and returned by CompletionToken.
enum class TransferStatus {
  pending,    ///< queued or moving
  completed,  ///< every byte arrived
  failed,     ///< a CUDA call failed: CompletionToken::error() says which
  cancelled,  ///< the engine shut down before the request started; no byte was moved
  captured,   ///< recorded into a CUDA graph being captured: it runs each time the graph is launched
};

[[nodiscard]] GHTIER_API std::string_view to_string(TransferStatus status) noexcept;

/// Runs exactly once per request, on the engine's callback thread, after the request has ended (completed,
/// failed or cancelled), e.g. to return the source buffer to its pool. Callbacks run one at a time, so one
/// must not wait for a request that has a callback (its own included) or call synchronize(). It may destroy
/// the engine (the destructor then does not wait for the callback thread). An exception it throws is caught
/// and logged.
using TransferCallback = std::function<void(TransferStatus)>;

/// The largest byte count one request (a copy, a prefetch, a batch's items together) or one host
/// registration may name: 2^48 bytes (256 TiB), the user address space of a 4-level page table on x86-64 and
/// aarch64, and more memory than any one machine holds. Larger sizes are refused with
/// Error(invalid_argument) before any work starts, whether or not ghtier allocated the memory.
inline constexpr std::size_t max_transfer_bytes = std::size_t{1} << 48;

/// What a request waits for before it moves a byte.
struct GHTIER_API TransferDependencies {
  /// The request starts after these events complete, as recorded when submit() is called (a snapshot: the
  /// caller may record them again, or destroy them, right after submit returns).
  std::vector<cudaEvent_t> events;
  /// The request starts after the work enqueued on these streams before submit() (also a snapshot).
  /// If one of them is capturing a CUDA graph, the request is captured into that graph instead of queued
  /// (pinned <-> device copies, batches and prefetches only; see docs/engine.md).
  std::vector<cudaStream_t> streams;
};

/// Copies `bytes` from `src` to `dst`; each may be device, pinned/registered host, managed or pageable
/// memory. The engine picks the mechanism for the platform (copy engine, staging ring, host threads).
struct GHTIER_API CopyRequest {
  void* dst = nullptr;
  const void* src = nullptr;
  std::size_t bytes = 0;
  TransferPriority priority = TransferPriority::background;
  TransferDependencies wait_on{};
  TransferCallback on_complete{};
};

/// Where a prefetch moves pages.
enum class PrefetchTarget {
  device,  ///< the engine's GPU
  host,    ///< CPU memory (host_numa_node, or wherever the OS chooses when it is -1)
};

/// Advice applied (cudaMemAdvise, synchronously, at submit) before the prefetch is queued.
struct GHTIER_API PrefetchAdvice {
  bool prefer_target = false;       ///< SetPreferredLocation to the prefetch target
  bool accessed_by_device = false;  ///< SetAccessedBy the engine's GPU (keeps a mapping, no faults)
  std::optional<bool> read_mostly;  ///< Set/UnsetReadMostly
};

/// Migrates the pages of a managed (or, on ATS/HMM platforms, system) range without changing its pointer.
struct GHTIER_API PrefetchRequest {
  const void* ptr = nullptr;
  std::size_t bytes = 0;
  PrefetchTarget target = PrefetchTarget::device;
  int host_numa_node = -1;  ///< for PrefetchTarget::host: a NUMA node, or -1 for the OS's choice
  PrefetchAdvice advice{};
  TransferPriority priority = TransferPriority::urgent;
  TransferDependencies wait_on{};
  TransferCallback on_complete{};
};

/// One copy of a batch.
struct GHTIER_API BatchCopyItem {
  void* dst = nullptr;
  const void* src = nullptr;
  std::size_t bytes = 0;
};

/// Many small copies (KV blocks, scattered pages) as one request: grouped into few cudaMemcpyBatchAsync
/// calls (or a loop of cudaMemcpyAsync where the batch call is refused). Items may complete in any order;
/// their destinations must not overlap.
struct GHTIER_API BatchCopyRequest {
  std::vector<BatchCopyItem> items;
  /// The memory mode of every source (destination), when the caller knows it (e.g. a KV pool in pinned
  /// memory): saves a pointer query per item, which matters for thousands of items. A wrong hint is the
  /// caller's error: CUDA may refuse the copy, and with BatchMechanism::sm_kernel the kernel may fault.
  std::optional<MemoryMode> src_mode;
  std::optional<MemoryMode> dst_mode;
  TransferPriority priority = TransferPriority::background;
  TransferDependencies wait_on{};
  TransferCallback on_complete{};
};

}  // namespace ghtier
