// NodeBudget over a POSIX shared-memory segment: a header (magic, version, limit, a robust process-shared mutex)
// and one slot per process. The creator fills the header and publishes the magic last, so an opener never
// uses a half-made segment; an opener that finds another magic or version refuses it rather than guess.
#include "core/memory/node_budget.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "core/support/log.hpp"
#include "core/support/log_nothrow.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {

constexpr std::uint64_t segment_magic = 0x7465'6764'7562'7467ULL;  // "gtbudget" in little-endian bytes
constexpr std::uint32_t segment_version = 1;
constexpr auto creator_wait = std::chrono::seconds(2);

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void require_valid_name(std::string_view name, std::string_view what) {
  if (!valid_name(name)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: node budget name \"{}\" must be 1..200 characters of A-Z a-z 0-9 . _ -", what, name));
  }
}

[[noreturn]] void throw_errno(std::string_view what, int error) {
  throw_error(ErrorCode::io_error, fmt::format("{}: {}", what, std::strerror(error)));
}

}  // namespace

struct NodeBudget::Segment {
  struct Slot {
    std::int64_t pid;  // 0: free
    std::uint64_t start_time;
    std::uint64_t bytes;
  };
  std::uint64_t magic;    // offset 0, written last by the creator
  std::uint32_t version;  // offset 8
  std::uint32_t slot_count;
  std::uint64_t limit;
  pthread_mutex_t mutex;  // robust, process-shared
  Slot slots[max_processes];
};

// Locks the segment's mutex; recovers it when its holder died (EOWNERDEAD): every update under it is a single
// word, so the slots stay meaningful and the dead holder's own slot is reclaimed like any dead process's.
class NodeBudget::Lock {
 public:
  explicit Lock(Segment& segment) : mutex_(&segment.mutex) {
    const int status = pthread_mutex_lock(mutex_);
    if (status == EOWNERDEAD) {
      log(LogLevel::warn, "node budget: a process died holding the lock; recovered");
      pthread_mutex_consistent(mutex_);
    } else if (status != 0) {
      throw_error(ErrorCode::internal,
                  fmt::format("node budget: the segment's lock is unusable: {}", std::strerror(status)));
    }
  }
  ~Lock() { pthread_mutex_unlock(mutex_); }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

 private:
  pthread_mutex_t* mutex_;
};

NodeBudgetSpec parse_node_budget_spec(std::string_view text, std::string_view what) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{} = \"{}\": expected NAME:BYTES (e.g. train:256G)", what, text));
  }
  NodeBudgetSpec spec;
  spec.name = std::string(text.substr(0, colon));
  require_valid_name(spec.name, what);
  std::string_view size = text.substr(colon + 1);
  unsigned shift = 0;
  if (!size.empty()) {
    switch (size.back()) {
      case 'K':
      case 'k': shift = 10; break;
      case 'M':
      case 'm': shift = 20; break;
      case 'G':
      case 'g': shift = 30; break;
      case 'T':
      case 't': shift = 40; break;
      default: break;
    }
    if (shift != 0) size.remove_suffix(1);
  }
  std::uint64_t value = 0;
  bool ok = !size.empty() && size.size() <= 19;
  for (char c : size) {
    if (c < '0' || c > '9') ok = false;
    if (ok) value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (!ok || value == 0 || (shift != 0 && value > (~std::uint64_t{0} >> shift))) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{} = \"{}\": the size \"{}\" must be a positive whole number of bytes, optionally with "
                            "K, M, G or T",
                            what, text, text.substr(colon + 1)));
  }
  spec.bytes = static_cast<std::size_t>(value << shift);
  return spec;
}

std::optional<NodeBudgetSpec> node_budget_from_environment() {
  const char* text = std::getenv("GHTIER_NODE_BUDGET");
  if (text == nullptr || *text == '\0') return std::nullopt;
  return parse_node_budget_spec(text, "GHTIER_NODE_BUDGET");
}

std::optional<std::uint64_t> process_start_time(pid_t pid) noexcept {
  try {
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    const std::string stat = text.str();
    // Field 2 (the command) is in parentheses and may hold spaces or ')': fields 3.. follow the last ')'.
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(stat.substr(close + 1));
    std::string field;
    for (int i = 3; i <= 22; ++i) {
      if (!(fields >> field)) return std::nullopt;
      if (i == 3 && (field == "Z" || field == "X")) return std::nullopt;  // exited, not yet reaped: gone
    }
    return std::stoull(field);
  } catch (...) {
    return std::nullopt;
  }
}

std::string NodeBudget::segment_name(std::string_view name) {
  require_valid_name(name, "NodeBudget");
  return fmt::format("/ghtier-node-budget.{}", name);
}

bool NodeBudget::remove(std::string_view name) { return shm_unlink(segment_name(name).c_str()) == 0; }

NodeBudget::NodeBudget(const NodeBudgetSpec& spec) : name_(spec.name) {
  // The layout of version 1, which node_budget_test writes into to fake a reused pid: slot i of 24 bytes
  // (pid, start time, bytes) at 24 + sizeof(pthread_mutex_t) + 24 * i.
  static_assert(offsetof(Segment, mutex) == 24);
  static_assert(offsetof(Segment, slots) == 24 + sizeof(pthread_mutex_t));
  static_assert(sizeof(Segment::Slot) == 24);
  const std::string shm = segment_name(spec.name);
  if (spec.bytes == 0) throw_error(ErrorCode::invalid_argument, fmt::format("node budget {}: 0 bytes", spec.name));
  const std::size_t size = sizeof(Segment);
  bool created = false;
  int fd = shm_open(shm.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd >= 0) {
    created = true;
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
      const int error = errno;
      close(fd);
      shm_unlink(shm.c_str());
      throw_errno(fmt::format("node budget {}: ftruncate of {} to {} bytes", spec.name, shm, size), error);
    }
  } else if (errno == EEXIST) {
    fd = shm_open(shm.c_str(), O_RDWR, 0);
    if (fd < 0) throw_errno(fmt::format("node budget {}: shm_open of {}", spec.name, shm), errno);
    // The creator sizes it right after creating it: wait a little for that.
    const auto until = std::chrono::steady_clock::now() + creator_wait;
    struct stat st {};
    for (;;) {
      if (fstat(fd, &st) != 0) {
        const int error = errno;
        close(fd);
        throw_errno(fmt::format("node budget {}: fstat of {}", spec.name, shm), error);
      }
      if (st.st_size != 0 || std::chrono::steady_clock::now() > until) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (static_cast<std::size_t>(st.st_size) != size) {
      close(fd);
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("node budget {}: /dev/shm{} is {} bytes, not the {} of a ghtier node budget of version "
                              "{} (another program's, or another ghtier version's: remove it when no process uses it)",
                              spec.name, shm, st.st_size, size, segment_version));
    }
  } else {
    throw_errno(fmt::format("node budget {}: shm_open of {}", spec.name, shm), errno);
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int map_error = errno;
  close(fd);
  if (p == MAP_FAILED) throw_errno(fmt::format("node budget {}: mmap of {}", spec.name, shm), map_error);
  segment_ = static_cast<Segment*>(p);
  std::atomic_ref<std::uint64_t> magic(segment_->magic);
  try {
    if (created) {
      // Fresh pages are zero: every slot is free.
      segment_->version = segment_version;
      segment_->slot_count = static_cast<std::uint32_t>(max_processes);
      segment_->limit = spec.bytes;
      pthread_mutexattr_t attributes;
      pthread_mutexattr_init(&attributes);
      pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
      pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
      const int status = pthread_mutex_init(&segment_->mutex, &attributes);
      pthread_mutexattr_destroy(&attributes);
      if (status != 0) {
        shm_unlink(shm.c_str());
        throw_errno(fmt::format("node budget {}: pthread_mutex_init", spec.name), status);
      }
      magic.store(segment_magic, std::memory_order_release);
      log(LogLevel::info, "node budget {}: created /dev/shm{} with a limit of {} bytes", spec.name, shm, spec.bytes);
    } else {
      const auto until = std::chrono::steady_clock::now() + creator_wait;
      while (magic.load(std::memory_order_acquire) == 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      const std::uint64_t found = magic.load(std::memory_order_acquire);
      if (found != segment_magic) {
        throw_error(ErrorCode::invalid_argument,
                    found == 0 ? fmt::format("node budget {}: /dev/shm{} was never finished by its creator (it died?): "
                                             "remove it when no process uses it",
                                             spec.name, shm)
                               : fmt::format("node budget {}: /dev/shm{} is not a ghtier node budget (magic {:#x}, "
                                             "expected {:#x}): another program's, or corrupt",
                                             spec.name, shm, found, segment_magic));
      }
      if (segment_->version != segment_version || segment_->slot_count != max_processes) {
        throw_error(
            ErrorCode::invalid_argument,
            fmt::format("node budget {}: /dev/shm{} is of version {} with {} slots; this ghtier reads version "
                        "{} with {}",
                        spec.name, shm, segment_->version, segment_->slot_count, segment_version, max_processes));
      }
      if (segment_->limit != spec.bytes) {
        log(LogLevel::warn, "node budget {}: the segment's limit of {} bytes holds (this process asked for {})",
            spec.name, segment_->limit, spec.bytes);
      }
    }
  } catch (...) {
    munmap(segment_, size);
    segment_ = nullptr;
    throw;
  }
}

NodeBudget::~NodeBudget() {
  if (segment_ != nullptr) munmap(segment_, sizeof(Segment));
}

std::size_t NodeBudget::limit() const noexcept { return static_cast<std::size_t>(segment_->limit); }

std::size_t NodeBudget::used() const {
  Lock lock(*segment_);
  std::uint64_t total = 0;
  for (const Segment::Slot& s : segment_->slots) total += s.pid != 0 ? s.bytes : 0;
  return static_cast<std::size_t>(total);
}

namespace {

// This process's identity. The start time is read once per pid (a forked child reads its own).
struct Identity {
  std::int64_t pid;
  std::uint64_t start_time;
};

Identity this_process() {
  static std::atomic<std::int64_t> cached_pid{0};
  static std::atomic<std::uint64_t> cached_start{0};
  const std::int64_t pid = getpid();
  if (cached_pid.load(std::memory_order_acquire) == pid) return {pid, cached_start.load(std::memory_order_relaxed)};
  const std::uint64_t start = process_start_time(static_cast<pid_t>(pid)).value_or(0);
  cached_start.store(start, std::memory_order_relaxed);
  cached_pid.store(pid, std::memory_order_release);
  return {pid, start};
}

}  // namespace

std::size_t NodeBudget::held_by_this_process() const {
  const Identity me = this_process();
  Lock lock(*segment_);
  for (const Segment::Slot& s : segment_->slots) {
    if (s.pid == me.pid && s.start_time == me.start_time) return static_cast<std::size_t>(s.bytes);
  }
  return 0;
}

void NodeBudget::reserve(std::size_t bytes) {
  if (bytes == 0) return;
  const Identity me = this_process();
  Lock lock(*segment_);
  Segment::Slot* mine = nullptr;
  Segment::Slot* free_slot = nullptr;
  // Reclaims slots whose process is gone: `thorough` also compares start times (a reused pid), which reads
  // /proc per slot, so it runs only when the cheap pass leaves too little.
  auto reclaim_and_total = [&](bool thorough) {
    std::uint64_t total = 0;
    for (Segment::Slot& s : segment_->slots) {
      if (s.pid == 0) {
        if (free_slot == nullptr) free_slot = &s;
        continue;
      }
      const bool me_here = s.pid == me.pid && s.start_time == me.start_time;
      bool dead = false;
      if (!me_here) {
        dead = kill(static_cast<pid_t>(s.pid), 0) != 0 && errno == ESRCH;
        if (!dead && thorough) dead = process_start_time(static_cast<pid_t>(s.pid)) != s.start_time;
      }
      if (dead) {
        log_nothrow(LogLevel::info, "node budget {}: reclaimed {} bytes of process {}, which is gone", name_, s.bytes,
                    s.pid);
        s = Segment::Slot{0, 0, 0};
        if (free_slot == nullptr) free_slot = &s;
        continue;
      }
      if (me_here) mine = &s;
      total += s.bytes;
    }
    return total;
  };
  std::uint64_t total = reclaim_and_total(false);
  const std::uint64_t limit = segment_->limit;
  const bool fits = total <= limit && bytes <= limit - total;
  if (!fits || (mine == nullptr && free_slot == nullptr)) {
    mine = nullptr;
    free_slot = nullptr;
    total = reclaim_and_total(true);
  }
  if (total > limit || bytes > limit - total) {
    throw OutOfBudgetError(
        fmt::format("node budget {} exceeded: requested {} bytes, {} of the node's limit of {} "
                    "bytes held by this node's processes ({} by this one)",
                    name_, bytes, total, limit, mine != nullptr ? mine->bytes : 0));
  }
  if (mine == nullptr) {
    if (free_slot == nullptr) {
      throw OutOfBudgetError(
          fmt::format("node budget {}: all {} process slots are held by live processes", name_, max_processes));
    }
    *free_slot = Segment::Slot{me.pid, me.start_time, 0};
    mine = free_slot;
  }
  mine->bytes += bytes;
}

void NodeBudget::release(std::size_t bytes) noexcept {
  if (bytes == 0) return;
  try {
    const Identity me = this_process();
    Lock lock(*segment_);
    for (Segment::Slot& s : segment_->slots) {
      if (s.pid == me.pid && s.start_time == me.start_time) {
        if (bytes > s.bytes) {
          log_nothrow(LogLevel::error, "node budget {}: {} bytes released but this process holds only {}", name_, bytes,
                      s.bytes);
        }
        s.bytes = bytes > s.bytes ? 0 : s.bytes - bytes;
        return;
      }
    }
    log_nothrow(LogLevel::error, "node budget {}: {} bytes released but this process holds none", name_, bytes);
  } catch (const std::exception& e) {
    log_nothrow(LogLevel::error, "node budget {}: release of {} bytes failed: {}", name_, bytes, e.what());
  }
}

}  // namespace ghtier::detail
