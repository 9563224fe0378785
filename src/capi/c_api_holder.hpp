// Holder: what the C API keeps behind one object handle (engine, KV cache, weight streamer, activation
// offloader, index check, row cache, hash table): the C++ object and what must outlive it, with the
// create/get/destroy of its handle in the one registry. One template, so that every handle type keeps its
// runtime alive, tears down in the same order and reports a bad or destroyed handle the same way.
#pragma once

#include <memory>
#include <utility>

#include "capi/c_api_errors.hpp"
#include "capi/c_api_handles.hpp"
#include "ghtier/engine/transfer_engine.hpp"
#include "ghtier/ghtier.h"
#include "ghtier/runtime/runtime.hpp"

namespace ghtier::capi {

/// The object behind a C handle of type `CHandle` (kind `Kind` in handles()). It keeps its runtime alive
/// (the object's memory counts in that runtime's budgets, and an engine over it looks allocations up there)
/// and may own a transfer engine of its own (the workloads'). Members go in reverse order: the object,
/// then its engine, then the runtime share. Calls in flight hold a share of the holder, so a handle destroyed
/// by another thread meanwhile takes its object down only when the last of them returns.
template <typename CHandle, typename Object, HandleKind Kind>
class Holder {
 public:
  /// A new handle for the object make(runtime) returns. Throws what make throws (nothing is registered
  /// then), and Error(out_of_memory) when the registry's ids are used up.
  template <typename Make>
  [[nodiscard]] static CHandle* create(std::shared_ptr<Runtime> runtime, Make&& make) {
    return add(std::shared_ptr<Holder>(new Holder(made_by, std::move(runtime), std::forward<Make>(make))));
  }

  /// A new handle for Object(runtime, engine, args...) over a transfer engine of its own on `runtime`'s
  /// device. Caller must ensure the runtime is not offline (gpu_runtime_of). Throws as create().
  template <typename... Args>
  [[nodiscard]] static CHandle* create_with_engine(std::shared_ptr<Runtime> runtime, Args&&... args) {
    return add(std::shared_ptr<Holder>(new Holder(own_engine, std::move(runtime), std::forward<Args>(args)...)));
  }

  /// The holder behind a live handle, shared for the call. Throws Error(invalid_argument) naming `what` for
  /// NULL, a handle of another type, or one destroyed or never made.
  [[nodiscard]] static std::shared_ptr<Holder> get(const CHandle* handle, const char* what) {
    return get_handle<Holder>(handle, Kind, what);
  }

  /// The body of ghtier_<type>_destroy, `function`: NULL is nothing to do; else the handle is removed (an
  /// error status, as get(), for one that is not live) and the object goes when the last call in flight on
  /// it returns.
  static ghtier_status_t destroy(const char* function, const CHandle* handle, const char* what) noexcept {
    return guarded(function, [&] {
      if (handle == nullptr) return;
      (void)remove_handle<Holder>(handle, Kind, what);
    });
  }

  [[nodiscard]] Object& object() noexcept { return object_; }
  [[nodiscard]] Runtime& runtime() const noexcept { return *runtime_; }

  Holder(const Holder&) = delete;
  Holder& operator=(const Holder&) = delete;

 private:
  // Which constructor: the object made by a function of the runtime, or over an engine of its own.
  struct MadeBy {};
  struct OwnEngine {};
  static constexpr MadeBy made_by{};
  static constexpr OwnEngine own_engine{};

  template <typename Make>
  Holder(MadeBy /*tag*/, std::shared_ptr<Runtime> runtime, Make&& make)
      : runtime_(std::move(runtime)), object_(std::forward<Make>(make)(*runtime_)) {}

  template <typename... Args>
  Holder(OwnEngine /*tag*/, std::shared_ptr<Runtime> runtime, Args&&... args)
      : runtime_(std::move(runtime)),
        engine_(std::make_unique<TransferEngine>(runtime_->platform(), runtime_->device(), runtime_.get())),
        object_(*runtime_, *engine_, std::forward<Args>(args)...) {}

  static CHandle* add(std::shared_ptr<Holder> holder) { return add_handle<CHandle>(Kind, std::move(holder)); }

  std::shared_ptr<Runtime> runtime_;
  std::unique_ptr<TransferEngine> engine_;  // the object's own engine (workloads); null otherwise
  Object object_;
};

}  // namespace ghtier::capi
