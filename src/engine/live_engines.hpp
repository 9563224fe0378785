// LiveEngines: the transfer engines alive in this process, so that exit() stops them while CUDA still works.
// A process may exit with an engine alive and copies in flight (a leaked engine, one in a static object,
// Python's ctypes handles at interpreter exit); its watcher, dispatcher and copy threads would then run into
// CUDA's teardown (libcudart's finaliser unmaps pinned memory and destroys the context). An atexit handler,
// installed when the first engine starts (after CUDA is initialised, so it runs before CUDA's finalisers),
// stops every live engine first: queued work is cancelled, started work finishes, threads end.
#pragma once

#include <cstdint>
#include <functional>

namespace ghtier::detail {

/// Registers `stop_for_exit` (it must stop the engine's threads and never throw); returns an id for
/// remove_live_engine. Installs the atexit handler on first use. Throws std::bad_alloc.
[[nodiscard]] std::uint64_t add_live_engine(std::function<void()> stop_for_exit);
/// Unregisters; blocks while the exit handler is stopping that engine.
void remove_live_engine(std::uint64_t id) noexcept;
/// True once the process has started to exit (the handler ran).
[[nodiscard]] bool process_exiting() noexcept;

}  // namespace ghtier::detail
