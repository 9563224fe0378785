// Link-profile files: what `ghtier info --calibrate --save` writes and `--link FILE` (the info and plan
// commands, the runtime) reads back through link_model_from_json. Any text: a LinkModel whose figures are all
// positive and finite, or a ghtier::Error; an accepted model survives to_json and back unchanged.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "ghtier/platform/link_model.hpp"

namespace {

bool same(const ghtier::LinkModel& a, const ghtier::LinkModel& b) {
  return a.h2d_gbps == b.h2d_gbps && a.d2h_gbps == b.d2h_gbps && a.bidirectional_gbps == b.bidirectional_gbps &&
         a.sm_read_gbps == b.sm_read_gbps && a.sm_write_gbps == b.sm_write_gbps &&
         a.pageable_h2d_gbps == b.pageable_h2d_gbps && a.pageable_d2h_gbps == b.pageable_d2h_gbps &&
         a.hbm_gbps == b.hbm_gbps && a.latency_us == b.latency_us && a.source == b.source;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ghtier;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  LinkModel link;
  if (!fuzz::returns_or_refuses([&] { link = link_model_from_json(text); })) return 0;
  for (double v : {link.h2d_gbps, link.d2h_gbps, link.bidirectional_gbps, link.sm_read_gbps, link.sm_write_gbps,
                   link.pageable_h2d_gbps, link.pageable_d2h_gbps, link.hbm_gbps, link.latency_us}) {
    fuzz::check(std::isfinite(v) && v > 0, "an accepted link model has a figure that is not positive and finite");
  }
  // The saved form reads back as the same model (what --save then --link relies on).
  const std::string saved = to_json(link);
  LinkModel again;
  fuzz::check(fuzz::returns_or_refuses([&] { again = link_model_from_json(saved); }),
              "to_json of an accepted link model is refused when read back");
  fuzz::check(same(link, again), "a link model changed through to_json and back");
  (void)link.copy_seconds(size, size % 2 == 0);
  return 0;
}
