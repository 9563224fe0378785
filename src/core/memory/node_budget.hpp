// NodeBudget: one host-memory budget shared by every process on a node (one process per GPU, several GPUs),
// so that their host tiers together never overcommit the host. A small POSIX shared-memory segment holds a
// slot per process (pid, start time, bytes held) under a robust process-shared mutex: a process that dies
// holding the mutex or bytes never blocks or starves the others (its bytes are reclaimed).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ghtier::detail {

/// What GHTIER_NODE_BUDGET (or RuntimeOptions::node_budget) says: the segment's name and the node's limit.
struct NodeBudgetSpec {
  std::string name;       ///< 1..200 of [A-Za-z0-9._-]; the segment is /dev/shm/ghtier-node-budget.<name>
  std::size_t bytes = 0;  ///< the limit over every process's host-tier bytes; at least 1
};

/// "name:bytes" with bytes a whole number, optionally with a binary suffix K, M, G or T (64G = 64 GiB).
/// Throws Error(invalid_argument) naming `what` and what is wrong (no colon, a bad name, a bad or zero size).
[[nodiscard]] NodeBudgetSpec parse_node_budget_spec(std::string_view text, std::string_view what);
/// parse_node_budget_spec of GHTIER_NODE_BUDGET, or nullopt when it is unset or empty.
[[nodiscard]] std::optional<NodeBudgetSpec> node_budget_from_environment();

/// The start time of process `pid` (/proc/<pid>/stat, field 22, clock ticks since boot), or nullopt when there
/// is no such process or it has exited (a zombie that its parent has not reaped yet). With the pid it names a process
/// uniquely: a reused pid has another start time.
[[nodiscard]] std::optional<std::uint64_t> process_start_time(pid_t pid) noexcept;

/// Thread-safe and process-safe. Each process holds one slot, found by its pid and start time (a forked child
/// gets its own); several NodeBudget objects of one process share it.
class NodeBudget {
 public:
  /// Most processes the segment counts at once.
  static constexpr std::size_t max_processes = 256;

  /// Opens the segment of spec.name, creating it with spec.bytes as the limit when it does not exist (a segment
  /// that exists keeps its limit: a different spec.bytes is logged). Throws Error: invalid_argument (a bad
  /// name or zero bytes; an existing segment that is not a node budget of this version: its magic, version or
  /// size differ, or its creator never finished it), io_error (shm_open, ftruncate or mmap failed).
  explicit NodeBudget(const NodeBudgetSpec& spec);
  ~NodeBudget();
  NodeBudget(const NodeBudget&) = delete;
  NodeBudget& operator=(const NodeBudget&) = delete;

  /// Counts `bytes` more for this process. Slots of processes that are gone (no such pid, or a pid now owned
  /// by a process with another start time) are reclaimed first. Throws OutOfBudgetError when the node's total
  /// would pass the limit (or every slot is taken by a live process), Error(internal) when the mutex is
  /// unrecoverable.
  void reserve(std::size_t bytes);
  /// Counts `bytes` fewer for this process (after freeing them). Never throws: a release of more than this
  /// process holds is logged and clamped.
  void release(std::size_t bytes) noexcept;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  /// The node's limit (the segment's).
  [[nodiscard]] std::size_t limit() const noexcept;
  /// Bytes held by every process with a slot (dead ones until a reserve reclaims them).
  [[nodiscard]] std::size_t used() const;
  /// Bytes this process holds.
  [[nodiscard]] std::size_t held_by_this_process() const;

  /// Removes the segment of `name` (shm_unlink): processes that have it open keep using it; the next one
  /// creates a new one. False when there was none. Throws Error(invalid_argument) for a bad name.
  static bool remove(std::string_view name);
  /// The shared-memory name of the segment of `name` (for shm_open), e.g. "/ghtier-node-budget.train".
  [[nodiscard]] static std::string segment_name(std::string_view name);

 private:
  struct Segment;
  class Lock;

  std::string name_;
  Segment* segment_ = nullptr;
};

}  // namespace ghtier::detail
