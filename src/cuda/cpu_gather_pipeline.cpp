// CpuGatherPipeline: the output is cut into chunks of chunk_rows rows, and each chunk into pieces of at most
// 64 KiB. The threads take pieces in output order from one counter and gather each into the ring slot of its
// chunk; the calling thread opens chunks (a slot is free once the copy that last read it is done), and queues
// one copy per full chunk. Why this shape (the first version reached 11-17 GB/s where the CPU gathered 35-72
// and the link moved 55, H200 over PCIe Gen5, 2026-12-03): there every thread queued its own 512 KiB copies
// and waited on its own events, so the copies were small (about 10 us of DMA each, the same as the API calls
// that queued them, made by 16 threads contending for the driver), and a thread waiting for its chunk's
// copy stopped gathering. Here only one thread talks to CUDA, copies are 2 MiB, and no gathering thread waits
// while a free slot exists.
#include "ghtier/kernels/cpu_gather_pipeline.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/memory/gpu_access.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/log.hpp"
#include "core/support/nvtx_range.hpp"
#include "cuda/cpu_gather_pipeline_layout.hpp"
#include "cuda/index_fault.hpp"
#include "cuda/index_fault_merge_kernels.hpp"
#include "cuda/indexed_rows_arguments.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {

constexpr std::size_t max_chunk_bytes = std::size_t{1} << 30;
constexpr unsigned max_threads = 1024;
constexpr unsigned min_chunks = 2;
constexpr unsigned max_chunks = 64;
// The unit a thread takes: small enough that 16 threads share a 2 MiB chunk, large enough that the shared
// counter is touched rarely.
constexpr std::size_t piece_bytes = std::size_t{64} << 10;
// How often the calling thread, waiting for a chunk to fill, looks whether a copy has freed a slot.
constexpr auto slot_poll = std::chrono::microseconds(50);

using Clock = std::chrono::steady_clock;

// One core fewer than the hardware's (at most 16): the calling thread, which queues the copies and opens the
// slots, keeps a core of its own instead of waking, at every fill and slot poll, on a core that gathers. Measured
// (H200 over PCIe Gen5, 16 vCPUs, 2026-12-04, 15 against 16 threads): 19-29 GB/s against 16-27, within the
// run-to-run spread; the pipeline's bound is elsewhere (docs/kernels.md, "CPU gather pipeline").
unsigned default_threads() {
  const unsigned hardware = std::max(std::thread::hardware_concurrency(), 1u);
  return std::clamp(hardware - 1, 1u, 16u);
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct Staging {
  unsigned char* data = nullptr;  // pinned
  std::size_t bytes = 0;
  cudaEvent_t copied = nullptr;  // recorded after the copy that last read `data`
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
  detail::ChunkLayout layout;
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
  std::vector<Staging> staging;  // the ring
  std::mutex call_mutex;         // one gather at a time
  std::mutex mutex;              // guards the condition variables' predicates below
  std::condition_variable start;
  std::condition_variable progress;  // a chunk filled, a chunk opened, a thread finished, the call aborted
  Job job;
  std::uint64_t generation = 0;
  unsigned pending = 0;
  bool stopping = false;
  bool aborting = false;  // the calling thread failed: the threads stop taking pieces
  std::atomic<std::size_t> next_piece{0};
  std::atomic<std::size_t> opened{0};                  // chunks [0, opened) of the job may be written
  std::unique_ptr<std::atomic<std::size_t>[]> filled;  // per slot: pieces gathered into its current chunk
  std::vector<Faults> faults;                          // per thread, for the current job
  // Per thread, for the current job: seconds gathering, seconds waiting for a chunk to open.
  std::vector<double> gather_seconds;
  std::vector<double> open_wait_seconds;
  CpuGatherPipeline::CallStatistics current;  // the calling thread's part of the running call
  CpuGatherPipeline::CallStatistics last;     // the last finished call (under call_mutex)

  std::vector<std::thread> workers;
  // Keys copied from device memory (pinned, grown as needed).
  unsigned char* host_keys = nullptr;
  std::size_t host_keys_bytes = 0;

  std::size_t ring() const noexcept { return staging.size(); }

  void gather_piece(const Job& j, const detail::ChunkLayout::Piece& piece, Faults& f) {
    unsigned char* dst = staging[piece.chunk % ring()].data + piece.row_in_chunk * j.row_bytes;
    for (std::size_t i = 0; i < piece.rows; ++i, dst += j.row_bytes) {
      const std::size_t position = piece.first + i;
      const long long key = j.wide_indices ? static_cast<const std::int64_t*>(j.indices)[position]
                                           : static_cast<const std::int32_t*>(j.indices)[position];
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
  }

  // A thread's part of a job: pieces in output order, each once its chunk is open. No CUDA call.
  void run_pieces(unsigned id) {
    Faults& f = faults[id];
    f = Faults{};
    gather_seconds[id] = 0;
    open_wait_seconds[id] = 0;
    const Job& j = job;
    for (;;) {
      const std::size_t p = next_piece.fetch_add(1, std::memory_order_relaxed);
      if (p >= j.layout.pieces) return;
      const detail::ChunkLayout::Piece piece = j.layout.piece(p);
      if (opened.load(std::memory_order_acquire) <= piece.chunk) {
        const auto waited = Clock::now();
        std::unique_lock lock(mutex);
        progress.wait(lock, [&] { return aborting || opened.load(std::memory_order_acquire) > piece.chunk; });
        open_wait_seconds[id] += seconds_since(waited);
        if (aborting) return;
      }
      const auto started = Clock::now();
      gather_piece(j, piece, f);
      gather_seconds[id] += seconds_since(started);
      const std::size_t done = filled[piece.chunk % ring()].fetch_add(1, std::memory_order_acq_rel) + 1;
      if (done == j.layout.pieces_in(piece.chunk)) {
        { std::lock_guard lock(mutex); }  // the caller checks `filled` under the mutex: no lost wake-up
        progress.notify_all();
      }
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
      run_pieces(id);
      {
        std::lock_guard lock(mutex);
        --pending;
      }
      progress.notify_all();
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

  // Whether the copy that last read `slot` is done (never recorded: done). Throws on a CUDA error.
  bool slot_free(std::size_t slot) {
    const cudaError_t status = cudaEventQuery(staging[slot].copied);
    if (status == cudaErrorNotReady) return false;
    GHTIER_CUDA_CHECK(status);
    return true;
  }

  void open_chunk(std::size_t chunk) {
    filled[chunk % ring()].store(0, std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex);
      opened.store(chunk + 1, std::memory_order_release);
    }
    progress.notify_all();
  }

  // The calling thread's part: opens chunks as slots free up and queues each full chunk's copy, in order.
  void copy_chunks() {
    const Job& j = job;
    const detail::ChunkLayout& l = j.layout;
    std::size_t queued = 0;     // chunks whose copy is queued
    std::size_t next_open = 0;  // the next chunk to open
    auto open_free_slots = [&] {
      // A chunk's slot was last read by the copy of chunk - ring (queued, or from an earlier call).
      while (next_open < l.chunks && next_open < queued + ring() && slot_free(next_open % ring())) {
        open_chunk(next_open++);
      }
    };
    while (queued < l.chunks) {
      open_free_slots();
      if (next_open == queued) {  // the next chunk to copy waits for its slot's copy: nothing else to do
        const auto waited = Clock::now();
        GHTIER_CUDA_CHECK(cudaEventSynchronize(staging[next_open % ring()].copied));
        current.slot_wait_seconds += seconds_since(waited);
        open_chunk(next_open++);
        continue;
      }
      const std::size_t slot = queued % ring();
      const std::size_t want = l.pieces_in(queued);
      {
        const auto waited = Clock::now();
        std::unique_lock lock(mutex);
        // Wakes when the chunk is full, and every slot_poll to open slots whose copies have finished.
        while (filled[slot].load(std::memory_order_acquire) != want) {
          if (next_open < l.chunks && next_open < queued + ring()) {
            if (progress.wait_for(lock, slot_poll) == std::cv_status::timeout) break;
          } else {
            progress.wait(lock);
          }
        }
        current.fill_wait_seconds += seconds_since(waited);
      }
      if (filled[slot].load(std::memory_order_acquire) != want) continue;  // polled: open slots, wait again
      GHTIER_CUDA_CHECK(cudaMemcpyAsync(j.out + queued * l.chunk_rows * j.row_bytes, staging[slot].data,
                                        l.rows_in(queued) * j.row_bytes, cudaMemcpyDefault, j.stream));
      GHTIER_CUDA_CHECK(cudaEventRecord(staging[slot].copied, j.stream));
      ++queued;
    }
  }

  // Runs the job set in `job` on the threads, copying on this one; rethrows the first failure after every
  // thread has stopped touching the ring.
  void run_job() {
    {
      std::lock_guard lock(mutex);
      aborting = false;
      pending = thread_count;
      next_piece.store(0, std::memory_order_relaxed);
      opened.store(0, std::memory_order_relaxed);
      ++generation;
    }
    start.notify_all();
    std::exception_ptr failure;
    try {
      copy_chunks();
    } catch (...) {
      failure = std::current_exception();
    }
    std::unique_lock lock(mutex);
    if (failure) {
      aborting = true;
      progress.notify_all();
    }
    progress.wait(lock, [&] { return pending == 0; });
    if (failure) std::rethrow_exception(failure);
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
  const auto call_start = Clock::now();
  s.current = CpuGatherPipeline::CallStatistics{};
  s.ensure_chunk_bytes(std::max(s.chunk_bytes, row_bytes));
  const void* host_indices = s.keys_on_host(indices, count * sizeof(Index), stream);
  s.current.keys_seconds = seconds_since(call_start);
  Job& j = s.job;
  j.table = static_cast<const unsigned char*>(table);
  j.row_bytes = row_bytes;
  j.num_rows = num_rows;
  j.indices = host_indices;
  j.wide_indices = sizeof(Index) == 8;
  j.count = count;
  j.out = static_cast<unsigned char*>(out);
  j.stream = stream;
  j.layout = detail::ChunkLayout::make(count, row_bytes, s.chunk_bytes, piece_bytes);
  s.run_job();
  s.current.seconds = seconds_since(call_start);
  s.current.chunks = j.layout.chunks;
  s.current.threads = s.thread_count;
  for (unsigned id = 0; id < s.thread_count; ++id) {
    s.current.gather_seconds += s.gather_seconds[id];
    s.current.open_wait_seconds += s.open_wait_seconds[id];
  }
  s.last = s.current;
  detail::IndexFault fault;
  for (const Faults& f : s.faults) {
    fault.count += f.count;
    if (f.count != 0 && (fault.position_plus_one == 0 || f.first_position + 1 < fault.position_plus_one)) {
      fault.position_plus_one = f.first_position + 1;
      fault.value = f.first_value;
    }
  }
  log(LogLevel::debug, "cpu_gather_pipeline: {} rows of {} B in {} chunks of {} pieces over {} threads", count,
      row_bytes, j.layout.chunks, j.layout.pieces_per_chunk, s.thread_count);
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
  if (options.chunks < min_chunks || options.chunks > max_chunks) {
    throw_error(ErrorCode::invalid_argument, fmt::format("CpuGatherPipeline: chunks {} is outside [{}, {}]",
                                                         options.chunks, min_chunks, max_chunks));
  }
  if (options.threads > max_threads) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("CpuGatherPipeline: {} threads is more than {}", options.threads, max_threads));
  }
  State& s = *state_;
  s.thread_count = options.threads != 0 ? options.threads : default_threads();
  s.chunk_bytes = options.chunk_bytes;
  GHTIER_CUDA_CHECK(cudaGetDevice(&s.device));
  s.faults.resize(s.thread_count);
  s.gather_seconds.assign(s.thread_count, 0.0);
  s.open_wait_seconds.assign(s.thread_count, 0.0);
  s.staging.resize(options.chunks);
  s.filled = std::make_unique<std::atomic<std::size_t>[]>(options.chunks);
  // On a failure below, ~State (run by unique_ptr) frees what was made and joins what was started. Blocking
  // sync: the calling thread, waiting for a slot, sleeps instead of spinning on a core the threads gather on.
  for (Staging& st : s.staging) {
    GHTIER_CUDA_CHECK(cudaEventCreateWithFlags(&st.copied, cudaEventDisableTiming | cudaEventBlockingSync));
  }
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

CpuGatherPipeline::CallStatistics CpuGatherPipeline::last_call() const {
  std::lock_guard call(state_->call_mutex);
  return state_->last;
}

unsigned CpuGatherPipeline::threads() const noexcept { return state_->thread_count; }
std::size_t CpuGatherPipeline::chunk_bytes() const noexcept { return state_->chunk_bytes; }
unsigned CpuGatherPipeline::chunks() const noexcept { return static_cast<unsigned>(state_->staging.size()); }

}  // namespace ghtier
