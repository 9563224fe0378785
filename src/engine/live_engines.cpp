// LiveEngines: a registry that never dies, and one atexit handler.
#include "engine/live_engines.hpp"

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>

#include "core/support/log_nothrow.hpp"

namespace ghtier::detail {

namespace {

struct Registry {
  std::mutex mutex;  // held while stopping: an engine is never destroyed mid-stop
  std::map<std::uint64_t, std::function<void()>> engines;
  std::uint64_t next = 1;
  bool handler_installed = false;
};

std::atomic<bool> exiting{false};

// Never destroyed: engines in static objects unregister during static destruction.
Registry& registry() {
  static auto* r = new Registry;
  return *r;
}

void stop_live_engines() noexcept {
  exiting.store(true, std::memory_order_release);
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (auto& [id, stop] : r.engines) {
    try {
      stop();
    } catch (...) {
      log_nothrow(LogLevel::error, "exit: stopping a transfer engine failed");
    }
  }
}

}  // namespace

std::uint64_t add_live_engine(std::function<void()> stop_for_exit) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (!r.handler_installed) {
    if (std::atexit(stop_live_engines) != 0) {
      log(LogLevel::warn, "TransferEngine: could not install the exit handler; exit with copies in flight may crash");
    }
    r.handler_installed = true;
  }
  const std::uint64_t id = r.next++;
  r.engines.emplace(id, std::move(stop_for_exit));
  return id;
}

void remove_live_engine(std::uint64_t id) noexcept {
  try {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    r.engines.erase(id);
  } catch (...) {
    log_nothrow(LogLevel::error, "TransferEngine: could not unregister from the exit handler");
  }
}

bool process_exiting() noexcept { return exiting.load(std::memory_order_acquire); }

}  // namespace ghtier::detail
