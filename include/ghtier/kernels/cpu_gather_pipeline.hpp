// CpuGatherPipeline: persistent CPU threads gather table rows into a ring of pinned staging chunks while the
// copy engine moves the chunks gathered before: the fast way to gather small rows from a large host table over PCIe,
// where GPU reads in place are bound by the GPU's address translation (about 40 M rows/s), not the link.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "ghtier/kernels/index_check.hpp"
#include "ghtier/memory/default_device_resource.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

class GHTIER_API CpuGatherPipeline {
 public:
  struct Options {
    unsigned threads = 0;  ///< gathering threads; 0: one fewer than the hardware's (the caller's core), 1-16
    /// Bytes per pinned staging chunk. Every thread gathers into the oldest open chunk (in pieces of at most
    /// 64 KiB), and each full chunk goes to the GPU in one copy: a chunk is the unit of a copy-engine transfer
    /// (at 2 MiB a copy's fixed cost is a few percent of its time) and of the tail (the last chunk's copy
    /// runs after the gathering ends). A chunk always holds at least one row.
    std::size_t chunk_bytes = std::size_t{2} << 20;
    /// Chunks in the ring (2 to 64): while the copy engine moves some, the threads fill the others.
    unsigned chunks = 8;
  };

  /// Starts the threads and allocates the pinned ring (chunks x chunk_bytes, cudaHostAlloc), for the
  /// current device: gather() must be called with that device current (Error(invalid_argument) else).
  /// Throws Error(invalid_argument) for chunk_bytes 0 or over 1 GiB, chunks outside [2, 64] or more than
  /// 1024 threads (before any CUDA call); Error(out_of_memory) / Error(cuda_error) from CUDA.
  explicit CpuGatherPipeline(Options options);
  CpuGatherPipeline();
  /// Waits for the copies still reading the chunks, stops the threads, frees the chunks.
  ~CpuGatherPipeline();
  CpuGatherPipeline(const CpuGatherPipeline&) = delete;
  CpuGatherPipeline& operator=(const CpuGatherPipeline&) = delete;

  /// out[i] = table[indices[i]], the result of ghtier::gather. Waits for `stream` first (the keys, the
  /// table and out are then settled), reads the keys on the CPU (copied from device memory into a pinned
  /// buffer of the pipeline first when they are there); the threads gather the rows into the ring's chunks in
  /// output order while the calling thread queues each full chunk's copy into out on `stream` (only the
  /// calling thread makes CUDA calls). Returns when every chunk is queued; the copies finish in the order of
  /// `stream`. One call at a time per pipeline (concurrent calls wait for each other).
  /// table: host memory the CPU reads (pinned, registered, system or managed memory); out: memory a copy
  /// engine writes (device memory, ideally). Out-of-range indices get zero rows and are reported as gather()
  /// reports them: into `check`, in the order of `stream`; without one, by throwing
  /// Error(invalid_argument) after the rows are queued.
  /// Throws Error(invalid_argument) as gather() does for bad arguments, Error(unsupported) for a table in
  /// device memory (the CPU cannot read it), Error(cuda_error) from CUDA.
  void gather(const void* table, std::size_t row_bytes, std::size_t num_rows, const std::int64_t* indices,
              std::size_t count, void* out, cudaStream_t stream, IndexCheck* check = nullptr);
  /// As above, with 32-bit indices.
  void gather(const void* table, std::size_t row_bytes, std::size_t num_rows, const std::int32_t* indices,
              std::size_t count, void* out, cudaStream_t stream, IndexCheck* check = nullptr);

  /// Where the last gather() spent its time: what a pipeline that falls short of min(CPU gather, copy) was
  /// waiting for. Times in seconds, measured on the host with a steady clock.
  struct CallStatistics {
    double seconds = 0;            ///< the call, until its last copy was queued
    double keys_seconds = 0;       ///< waiting for the stream, and copying keys in device memory to the host
    double fill_wait_seconds = 0;  ///< the calling thread waiting for the threads to fill the next chunk
    double slot_wait_seconds = 0;  ///< the calling thread waiting for a copy to free a ring slot
    double gather_seconds = 0;     ///< the threads gathering rows, summed over the threads
    double open_wait_seconds = 0;  ///< the threads waiting for a chunk to open (a free slot), summed
    std::size_t chunks = 0;        ///< chunks copied
    unsigned threads = 0;
  };
  /// The last finished gather()'s statistics (all zero before the first). Calls on one pipeline run one at a
  /// time; another thread's call may replace them as soon as it ends.
  [[nodiscard]] CallStatistics last_call() const;

  [[nodiscard]] unsigned threads() const noexcept;
  [[nodiscard]] std::size_t chunk_bytes() const noexcept;
  [[nodiscard]] unsigned chunks() const noexcept;

  struct State;  ///< (internal)

 private:
  std::unique_ptr<State> state_;
};

}  // namespace ghtier
