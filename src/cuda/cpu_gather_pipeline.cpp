// CpuGatherPipeline: each thread owns two pinned chunks and takes every threads-th chunk of the output in
// turn; it waits for the copy that last read a chunk (its event), gathers rows into it, and queues the chunk's
// copy on the caller's stream. Destinations are disjoint, so the copies may be queued in any order.
#include "ghtier/kernels/cpu_gather_pipeline.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/memory/gpu_access.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/log.hpp"
#include "core/support/nvtx_range.hpp"
#include "cuda/index_fault.hpp"
#include "cuda/index_fault_merge_kernels.hpp"
#include "cuda/indexed_rows_arguments.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {

constexpr std::size_t max_chunk_bytes = std::size_t{1} << 30;
constexpr unsigned max_threads = 1024;

struct Staging {
  unsigned char* data = nullptr;  // pinned
  std::size_t bytes = 0;
  cudaEvent_t copied = nullptr;  // recorded after the copy that reads `data`
};

// One call's work, shared by the threads.
struct Job {
  const unsigned char* table = nullptr;
  std::size_t row_bytes = 0;
  std::size_t num_rows = 0;
  const void* indices = nullptr;
  bool wide_indices = true;  // int64 (else int32)
  std::size_t count = 0;
  unsigned char* out = nullptr;
  cudaStream_t stream = nullptr;
  std::size_t chunk_rows = 0;
  std::size_t chunks = 0;
};

// Out-of-range indices one thread met: how many, and the first (lowest position).
struct Faults {
  std::uint64_t count = 0;
  std::size_t first_position = std::numeric_limits<std::size_t>::max();
  long long first_value = 0;
};

}  // namespace

struct CpuGatherPipeline::State {
  unsigned thread_count = 1;
  std::size_t chunk_bytes = 0;
  int device = 0;                // the device current at construction: its events, its copies
  std::vector<Staging> staging;  // 2 per thread
  std::mutex call_mutex;         // one gather at a time
  std::mutex copy_mutex;         // a copy and its event record go together
  std::mutex mutex;              // guards what follows
  std::condition_variable start;
  std::condition_variable done;
  Job job;
  std::uint64_t generation = 0;
  unsigned pending = 0;
  bool stopping = false;
  std::vector<Faults> faults;  // per thread, for the current job
  std::exception_ptr error;    // the first failure of a thread
  std::vector<std::thread> workers;
  // Keys copied from device memory (pinned, grown as needed).
  unsigned char* host_keys = nullptr;
  std::size_t host_keys_bytes = 0;

  void run_chunks(unsigned id) {
    Faults& f = faults[id];
    f = Faults{};
    const Job& j = job;
    GHTIER_CUDA_CHECK(cudaSetDevice(device));  // the current device is per thread
    std::size_t turn = 0;
    for (std::size_t k = id; k < j.chunks; k += thread_count, ++turn) {
      Staging& s = staging[2 * id + (turn & 1)];
      GHTIER_CUDA_CHECK(cudaEventSynchronize(s.copied));
      const std::size_t first = k * j.chunk_rows;
      const std::size_t rows = std::min(j.chunk_rows, j.count - first);
      for (std::size_t i = 0; i < rows; ++i) {
        const std::size_t position = first + i;
        const long long key = j.wide_indices ? static_cast<const std::int64_t*>(j.indices)[position]
                                             : static_cast<const std::int32_t*>(j.indices)[position];
        unsigned char* dst = s.data + i * j.row_bytes;
        if (key < 0 || static_cast<unsigned long long>(key) >= j.num_rows) {
          std::memset(dst, 0, j.row_bytes);
          if (f.count++ == 0) {
            f.first_position = position;
            f.first_value = key;
          }
          continue;
        }
        std::memcpy(dst, j.table + static_cast<std::size_t>(key) * j.row_bytes, j.row_bytes);
      }
      std::lock_guard lock(copy_mutex);
      GHTIER_CUDA_CHECK(
          cudaMemcpyAsync(j.out + first * j.row_bytes, s.data, rows * j.row_bytes, cudaMemcpyDefault, j.stream));
      GHTIER_CUDA_CHECK(cudaEventRecord(s.copied, j.stream));
    }
  }

  void work(unsigned id) {
    std::uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock lock(mutex);
        start.wait(lock, [&] { return stopping || generation != seen; });
        if (stopping) return;
        seen = generation;
      }
      try {
        run_chunks(id);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!error) error = std::current_exception();
      }
      std::lock_guard lock(mutex);
      if (--pending == 0) done.notify_one();
    }
  }

  void stop() noexcept {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    start.notify_all();
    for (std::thread& t : workers) t.join();
    workers.clear();
  }

  ~State() {
    stop();
    for (Staging& s : staging) {
      if (s.copied != nullptr) {
        GHTIER_CUDA_CHECK_NOTHROW(cudaEventSynchronize(s.copied));
        GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(s.copied));
      }
      if (s.data != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaFreeHost(s.data));
    }
    if (host_keys != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaFreeHost(host_keys));
  }

  // Every chunk at least `bytes` (one row wider than chunk_bytes); waits for their copies before regrowing.
  void ensure_chunk_bytes(std::size_t bytes) {
    for (Staging& s : staging) {
      if (s.bytes >= bytes) continue;
      GHTIER_CUDA_CHECK(cudaEventSynchronize(s.copied));
      if (s.data != nullptr) GHTIER_CUDA_CHECK(cudaFreeHost(s.data));
      s.data = nullptr;
      s.bytes = 0;
      void* p = nullptr;
      GHTIER_CUDA_CHECK(cudaHostAlloc(&p, bytes, cudaHostAllocDefault));
      s.data = static_cast<unsigned char*>(p);
      s.bytes = bytes;
    }
  }

  const void* keys_on_host(const void* indices, std::size_t bytes, cudaStream_t stream) {
    const detail::PointerKind kind = detail::classify_pointer(indices);
    if (kind == detail::PointerKind::pinned_host || kind == detail::PointerKind::pageable) {
      GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
      return indices;
    }
    if (host_keys_bytes < bytes) {
      if (host_keys != nullptr) GHTIER_CUDA_CHECK(cudaFreeHost(host_keys));
      host_keys = nullptr;
      host_keys_bytes = 0;
      void* p = nullptr;
      GHTIER_CUDA_CHECK(cudaHostAlloc(&p, bytes, cudaHostAllocDefault));
      host_keys = static_cast<unsigned char*>(p);
      host_keys_bytes = bytes;
    }
    GHTIER_CUDA_CHECK(cudaMemcpyAsync(host_keys, indices, bytes, cudaMemcpyDefault, stream));
    GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
    return host_keys;
  }
};

namespace {

template <class Index>
void pipeline_gather(CpuGatherPipeline::State& s, const void* table, std::size_t row_bytes, std::size_t num_rows,
                     const Index* indices, std::size_t count, void* out, cudaStream_t stream, IndexCheck* check) {
  const detail::IndexedRows args{"cpu_gather_pipeline", table, row_bytes, num_rows, indices,
                                 sizeof(Index),         count, out,       false};
  detail::validate_indexed_rows(args);
  if (count == 0) return;
  if (detail::classify_pointer(table) == detail::PointerKind::device) {
    throw_error(ErrorCode::unsupported,
                fmt::format("cpu_gather_pipeline: the table {} is device memory, which the CPU threads cannot read "
                            "(gather it with ghtier::gather)",
                            table));
  }
  int device = 0;
  GHTIER_CUDA_CHECK(cudaGetDevice(&device));
  if (device != s.device) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("cpu_gather_pipeline: the current device is {}, the pipeline was made for device {}",
                            device, s.device));
  }
  detail::NvtxRange range("ghtier::cpu_gather_pipeline", count * row_bytes);
  std::lock_guard call(s.call_mutex);
  s.ensure_chunk_bytes(std::max(s.chunk_bytes, row_bytes));
  const void* host_indices = s.keys_on_host(indices, count * sizeof(Index), stream);
  Job& j = s.job;
  j.table = static_cast<const unsigned char*>(table);
  j.row_bytes = row_bytes;
  j.num_rows = num_rows;
  j.indices = host_indices;
  j.wide_indices = sizeof(Index) == 8;
  j.count = count;
  j.out = static_cast<unsigned char*>(out);
  j.stream = stream;
  j.chunk_rows = std::max<std::size_t>(1, s.chunk_bytes / row_bytes);
  j.chunks = (count + j.chunk_rows - 1) / j.chunk_rows;
  {
    std::unique_lock lock(s.mutex);
    s.error = nullptr;
    s.pending = s.thread_count;
    ++s.generation;
    s.start.notify_all();
    s.done.wait(lock, [&] { return s.pending == 0; });
    if (s.error) std::rethrow_exception(s.error);
  }
  detail::IndexFault fault;
  for (const Faults& f : s.faults) {
    fault.count += f.count;
    if (f.count != 0 && (fault.position_plus_one == 0 || f.first_position + 1 < fault.position_plus_one)) {
      fault.position_plus_one = f.first_position + 1;
      fault.value = f.first_value;
    }
  }
  log(LogLevel::debug, "cpu_gather_pipeline: {} rows of {} B in {} chunks over {} threads", count, row_bytes, j.chunks,
      s.thread_count);
  if (fault.count == 0) return;
  fault.rows = num_rows;
  if (check != nullptr) {
    auto* record = static_cast<detail::IndexFault*>(check->device_record());
    if (record == nullptr) throw_error(ErrorCode::invalid_argument, "moved-from IndexCheck passed as check");
    detail::launch_merge_index_fault(record, fault, stream);
    return;
  }
  throw_error(ErrorCode::invalid_argument, detail::describe_index_fault(fault, "cpu_gather_pipeline"));
}

}  // namespace

CpuGatherPipeline::CpuGatherPipeline() : CpuGatherPipeline(Options{}) {}

CpuGatherPipeline::CpuGatherPipeline(Options options) : state_(std::make_unique<State>()) {
  if (options.chunk_bytes == 0 || options.chunk_bytes > max_chunk_bytes) {
    throw_error(ErrorCode::invalid_argument, fmt::format("CpuGatherPipeline: chunk_bytes {} is outside [1, {}]",
                                                         options.chunk_bytes, max_chunk_bytes));
  }
  if (options.threads > max_threads) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("CpuGatherPipeline: {} threads is more than {}", options.threads, max_threads));
  }
  State& s = *state_;
  s.thread_count = options.threads != 0 ? options.threads : std::clamp(std::thread::hardware_concurrency(), 1u, 16u);
  s.chunk_bytes = options.chunk_bytes;
  GHTIER_CUDA_CHECK(cudaGetDevice(&s.device));
  s.faults.resize(s.thread_count);
  s.staging.resize(2 * static_cast<std::size_t>(s.thread_count));
  // On a failure below, ~State (run by unique_ptr) frees what was made and joins what was started.
  for (Staging& st : s.staging) GHTIER_CUDA_CHECK(cudaEventCreateWithFlags(&st.copied, cudaEventDisableTiming));
  s.ensure_chunk_bytes(s.chunk_bytes);
  s.workers.reserve(s.thread_count);
  for (unsigned id = 0; id < s.thread_count; ++id) s.workers.emplace_back([&s, id] { s.work(id); });
}

CpuGatherPipeline::~CpuGatherPipeline() = default;

void CpuGatherPipeline::gather(const void* table, std::size_t row_bytes, std::size_t num_rows,
                               const std::int64_t* indices, std::size_t count, void* out, cudaStream_t stream,
                               IndexCheck* check) {
  pipeline_gather(*state_, table, row_bytes, num_rows, indices, count, out, stream, check);
}

void CpuGatherPipeline::gather(const void* table, std::size_t row_bytes, std::size_t num_rows,
                               const std::int32_t* indices, std::size_t count, void* out, cudaStream_t stream,
                               IndexCheck* check) {
  pipeline_gather(*state_, table, row_bytes, num_rows, indices, count, out, stream, check);
}

unsigned CpuGatherPipeline::threads() const noexcept { return state_->thread_count; }
std::size_t CpuGatherPipeline::chunk_bytes() const noexcept { return state_->chunk_bytes; }

}  // namespace ghtier
