// The runtime handle that the kernels' C API tests pass to the allocating kernel calls: the GPU's (current
// device) where there is one, else an offline one (argument errors are reported before any GPU work).
#pragma once

#include <gtest/gtest.h>

#include "ghtier/ghtier.h"

namespace ghtier::test {

inline ghtier_runtime_t* test_runtime() {
  struct Holder {
    ghtier_runtime_t* rt = nullptr;
    Holder() {
      ghtier_runtime_options_t options{};
      options.struct_size = sizeof(options);
      options.device = -1;
      if (ghtier_runtime_create(&options, &rt) != GHTIER_SUCCESS) {
        options.device = 0;
        options.assumed_profile = "x86-h100-pcie";
        EXPECT_EQ(ghtier_runtime_create(&options, &rt), GHTIER_SUCCESS) << ghtier_error_message();
      }
    }
    ~Holder() { (void)ghtier_runtime_destroy(rt); }
  };
  static Holder holder;
  return holder.rt;
}

}  // namespace ghtier::test
