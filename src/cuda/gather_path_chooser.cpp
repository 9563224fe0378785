// choose_gather_path: a time per path from the calibration's rates and fixed costs, then the fastest one.
#include "ghtier/kernels/gather_path_chooser.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include <fmt/format.h>

#include "core/support/enum_names.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {

constexpr detail::EnumName<GatherPath> path_names[] = {{GatherPath::plain, "plain"},
                                                       {GatherPath::sorted, "sorted"},
                                                       {GatherPath::cached, "cached"},
                                                       {GatherPath::cpu_pipelined, "cpu_pipelined"}};
constexpr detail::EnumName<KeyDistributionHint> hint_names[] = {{KeyDistributionHint::unknown, "unknown"},
                                                                {KeyDistributionHint::uniform, "uniform"},
                                                                {KeyDistributionHint::skewed, "skewed"}};
constexpr detail::EnumName<TableResidency> residency_names[] = {{TableResidency::pinned_host, "pinned_host"},
                                                                {TableResidency::system, "system"},
                                                                {TableResidency::device, "device"}};

constexpr double euler_gamma = 0.5772156649;

std::string size_text(std::size_t bytes) {
  constexpr std::size_t KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024;
  if (bytes >= GiB && bytes % GiB == 0) return fmt::format("{} GiB", bytes / GiB);
  if (bytes >= MiB && bytes % MiB == 0) return fmt::format("{} MiB", bytes / MiB);
  if (bytes >= KiB && bytes % KiB == 0) return fmt::format("{} KiB", bytes / KiB);
  return fmt::format("{} B", bytes);
}

void validate_request(const GatherRequest& r) {
  auto fail = [](const std::string& why) { throw_error(ErrorCode::invalid_argument, "choose_gather_path: " + why); };
  if (r.row_bytes == 0) fail("row_bytes is 0");
  if (r.table_bytes == 0) fail("table_bytes is 0");
  if (r.table_bytes < r.row_bytes) {
    fail(fmt::format("table_bytes {} is smaller than one row of {} B", r.table_bytes, r.row_bytes));
  }
  if (r.count == 0) fail("count is 0 (an empty gather has no path to choose)");
  if (r.index_bytes != 4 && r.index_bytes != 8) fail(fmt::format("index_bytes is {}, not 4 or 8", r.index_bytes));
  if (!(r.cache_hit_rate <= 1))
    fail(fmt::format("cache_hit_rate is {}; it must be at most 1 (negative: estimate it)", r.cache_hit_rate));
  const std::size_t num_rows = r.table_bytes / r.row_bytes;
  if (r.cache_rows > num_rows) {
    fail(fmt::format("cache_rows {} is more than the table's {} rows", r.cache_rows, num_rows));
  }
}

// The expected share of requests a cache of the hottest `cached` of `rows` rows serves.
double estimated_hit_rate(const GatherRequest& r) {
  if (r.cache_hit_rate >= 0) return r.cache_hit_rate;
  const double rows = static_cast<double>(r.table_bytes / r.row_bytes);
  const double cached = static_cast<double>(r.cache_rows);
  if (r.keys != KeyDistributionHint::skewed) return cached / rows;
  // Zipf(1): the k hottest of n ranks take H(k) / H(n) of the requests, H(k) ~ ln k + gamma.
  return std::min(1.0, (std::log(cached) + euler_gamma) / (std::log(rows) + euler_gamma));
}

struct Model {
  const GatherRequest& r;
  const Platform& platform;
  const GatherCalibration& c;
  double bytes = 0;                 // requested bytes
  std::size_t table_for_reads = 0;  // the pinned-table size whose translation behaviour the GPU sees
  bool skewed = false;

  // plain's rate for these keys in place (whole call at the calibration's batch), skew gain included.
  double plain_read_gbps() const {
    const double base = c.plain.at(r.row_bytes, table_for_reads);
    if (!skewed || base >= c.link_gbps) return base;
    return std::min(c.link_gbps, base * c.skewed_plain_gain);
  }
  double sort_seconds(double keys) const { return (c.sort_fixed_us + keys * c.sort_ns_per_key * 1e-3) * 1e-6; }
  // Bytes of the distinct rows keys of `hint` are expected to hold.
  double distinct_bytes(KeyDistributionHint hint) const {
    return expected_distinct_rows(r.table_bytes / r.row_bytes, r.count, hint) * static_cast<double>(r.row_bytes);
  }
  double distinct_bytes() const { return distinct_bytes(r.keys); }
  // The in-order read of the distinct rows (sorted_gather's, or sorted keys read in place), in seconds.
  // Skewed keys' distinct rows read slower per row from large tables (the calibration's sorted_skewed: at
  // 8 GiB the read costs per page touched as much as per row, and fewer rows touch as many pages), but never
  // take longer than the more numerous distinct rows of uniform keys would.
  double sorted_read_seconds() const {
    const double uniform_s =
        distinct_bytes(KeyDistributionHint::uniform) / (c.sorted.at(r.row_bytes, table_for_reads) * 1e9);
    if (!skewed) return uniform_s;
    return std::min(uniform_s, distinct_bytes() / (c.sorted_skewed.at(r.row_bytes, table_for_reads) * 1e9));
  }
};

GatherPathEstimate unavailable(GatherPath path, std::string why) {
  GatherPathEstimate e;
  e.path = path;
  e.note = std::move(why);
  return e;
}

GatherPathEstimate timed(GatherPath path, double bytes, double seconds, std::string note) {
  GatherPathEstimate e;
  e.path = path;
  e.available = true;
  e.seconds = seconds;
  e.gbps = bytes / seconds * 1e-9;
  e.note = std::move(note);
  return e;
}

GatherPathEstimate estimate_plain(const Model& m) {
  if (m.r.residency == TableResidency::device) {
    return timed(GatherPath::plain, m.bytes, m.c.launch_us * 1e-6 + m.bytes / (m.c.device_gather_gbps * 1e9),
                 "table in device memory: rows read from HBM");
  }
  if (m.r.keys_sorted) {
    // Repeats of a row are adjacent: the GPU's L2 serves them, the link carries each distinct row once.
    return timed(GatherPath::plain, m.bytes, m.c.launch_us * 1e-6 + m.sorted_read_seconds(),
                 "keys already sorted: each distinct row read once, in address order, at sorted_gather's read rate");
  }
  const double gbps = m.plain_read_gbps();
  return timed(GatherPath::plain, m.bytes, m.c.launch_us * 1e-6 + m.bytes / (gbps * 1e9),
               fmt::format("in place at {:.1f} GB/s{}", gbps, m.skewed ? " (skewed keys)" : ""));
}

GatherPathEstimate estimate_sorted(const Model& m) {
  if (m.r.residency == TableResidency::device) {
    return unavailable(GatherPath::sorted, "table in device memory: nothing to gain from ordering reads");
  }
  if (m.r.keys_sorted) return unavailable(GatherPath::sorted, "keys already sorted: plain reads them in order");
  const double read_s = m.sorted_read_seconds();
  const double distinct = m.distinct_bytes();
  const double read = distinct / read_s * 1e-9;
  return timed(GatherPath::sorted, m.bytes, m.sort_seconds(static_cast<double>(m.r.count)) + read_s,
               fmt::format("sort of {} keys, then {:.0f}% of the requested bytes (the distinct rows) read once in "
                           "order at {:.1f} GB/s",
                           m.r.count, 100 * distinct / m.bytes, read));
}

GatherPathEstimate estimate_cached(const Model& m) {
  if (m.r.cache_rows == 0) return unavailable(GatherPath::cached, "no row cache over this table");
  if (m.r.residency == TableResidency::device) {
    return unavailable(GatherPath::cached, "table in device memory: a cache of it gains nothing");
  }
  const double hit = estimated_hit_rate(m.r);
  // The misses' rate is the cache's own, measured (back-computed from its effective and hit rates): with
  // uniform keys below plain's where plain is translation-bound (the slot-map lookup before each host read),
  // with skewed keys the Zipf tail's (about the link's rate up to 2 GiB, translation-bound beyond).
  const double miss_gbps = (m.skewed ? m.c.cache_skewed_miss : m.c.cache_miss).at(m.r.row_bytes, m.table_for_reads);
  const double seconds =
      m.c.launch_us * 1e-6 + hit * m.bytes / (m.c.cache_hit_gbps * 1e9) + (1 - hit) * m.bytes / (miss_gbps * 1e9);
  return timed(GatherPath::cached, m.bytes, seconds,
               fmt::format("{:.0f}% hits from HBM, misses in place at {:.1f} GB/s", hit * 100, miss_gbps));
}

GatherPathEstimate estimate_pipelined(const Model& m) {
  if (!m.r.pipeline_available) return unavailable(GatherPath::cpu_pipelined, "not available to this call");
  if (m.r.residency == TableResidency::device) {
    return unavailable(GatherPath::cpu_pipelined, "table in device memory: the CPU cannot read it");
  }
  const double cpu = m.c.cpu_gather.at(m.r.row_bytes, m.r.table_bytes);
  const double memory = m.c.host_memory_gbps / 3;
  const double bound = std::min({cpu, m.c.copy_gbps, memory});
  const double gbps = bound * m.c.pipeline_efficiency;
  double seconds = m.c.pipeline_fixed_us * 1e-6 + m.bytes / (gbps * 1e9);
  std::string keys_note;
  if (!m.r.keys_on_host) {
    const double d2h = m.platform.link.d2h_gbps > 0 ? m.platform.link.d2h_gbps : m.c.copy_gbps;
    seconds += static_cast<double>(m.r.count * m.r.index_bytes) / (d2h * 1e9) + m.platform.link.latency_us * 1e-6;
    keys_note = ", keys copied to the host first";
  }
  const char* limit = bound == cpu ? "CPU gather" : bound == m.c.copy_gbps ? "copy engine" : "host memory";
  return timed(GatherPath::cpu_pipelined, m.bytes, seconds,
               fmt::format("{:.1f} GB/s: {} bound ({:.1f}) x {:.2f} overlap{}", gbps, limit, bound,
                           m.c.pipeline_efficiency, keys_note));
}

}  // namespace

double expected_distinct_rows(std::size_t rows, std::size_t keys, KeyDistributionHint hint) noexcept {
  if (rows == 0 || keys == 0) return 0;
  const double n = static_cast<double>(rows);
  const double k = static_cast<double>(keys);
  const double uniform = n * -std::expm1(-k / n);
  if (hint != KeyDistributionHint::skewed) return uniform;
  // Zipf(1): rank i drawn with p_i = 1 / (i H_n); row i is among the keys with probability 1 - exp(-k p_i).
  // The hottest ranks summed, the rest as an integral: the integral of exp(-c / x) is x exp(-c / x) - c E1(c / x).
  const double harmonic = std::log(n) + euler_gamma + 1 / (2 * n);
  const double c = k / harmonic;
  constexpr std::size_t summed = 64;
  const std::size_t head = std::min(rows, summed);
  double distinct = 0;
  for (std::size_t i = 1; i <= head; ++i) distinct -= std::expm1(-c / static_cast<double>(i));
  if (rows > head) {
    auto e1 = [](double z) { return -std::expint(-z); };
    auto integral_of_exp = [&](double x) { return x * std::exp(-c / x) - c * e1(c / x); };
    const double a = static_cast<double>(head) + 0.5, b = n + 0.5;
    distinct += (b - a) - (integral_of_exp(b) - integral_of_exp(a));
  }
  // Uniform keys hold the most distinct rows; the sum and the integral may round a hair above them.
  return std::clamp(distinct, std::min(1.0, uniform), uniform);
}

std::string_view to_string(GatherPath path) noexcept { return detail::enum_to_string(path_names, path); }
std::string_view to_string(KeyDistributionHint hint) noexcept { return detail::enum_to_string(hint_names, hint); }
std::string_view to_string(TableResidency residency) noexcept {
  return detail::enum_to_string(residency_names, residency);
}

GatherChoice choose_gather_path(const GatherRequest& request, const Platform& platform,
                                const GatherCalibration& calibration) {
  validate_request(request);
  calibration.validate();
  const bool gpu_reads_table = request.residency != TableResidency::system || platform.gpu_reads_pageable;
  Model m{request, platform, calibration};
  m.bytes = static_cast<double>(request.count) * static_cast<double>(request.row_bytes);
  m.skewed = request.keys == KeyDistributionHint::skewed;
  m.table_for_reads = request.table_bytes;
  if (request.residency == TableResidency::system) {
    // Smaller pages: the GPU's translations cover less of the table, as for a proportionally larger one.
    const double scale =
        static_cast<double>(calibration.pinned_page_bytes) / static_cast<double>(calibration.system_page_bytes);
    m.table_for_reads = static_cast<std::size_t>(std::min(static_cast<double>(request.table_bytes) * scale, 0x1p62));
  }

  GatherChoice choice;
  auto& est = choice.estimates;
  auto slot = [&](GatherPath p) -> GatherPathEstimate& { return est[static_cast<std::size_t>(p)]; };
  if (gpu_reads_table) {
    slot(GatherPath::plain) = estimate_plain(m);
    slot(GatherPath::sorted) = estimate_sorted(m);
    slot(GatherPath::cached) = estimate_cached(m);
  } else {
    const std::string why =
        fmt::format("the GPU cannot read system memory on this platform ({})", to_string(platform.platform_class));
    slot(GatherPath::plain) = unavailable(GatherPath::plain, why);
    slot(GatherPath::sorted) = unavailable(GatherPath::sorted, why);
    slot(GatherPath::cached) = unavailable(GatherPath::cached, why);
  }
  slot(GatherPath::cpu_pipelined) = estimate_pipelined(m);

  const GatherPathEstimate* best = nullptr;
  const GatherPathEstimate* second = nullptr;
  for (const GatherPathEstimate& e : est) {
    if (!e.available) continue;
    if (best == nullptr || e.gbps > best->gbps) {
      second = best;
      best = &e;
    } else if (second == nullptr || e.gbps > second->gbps) {
      second = &e;
    }
  }
  if (best == nullptr) {
    throw_error(ErrorCode::unsupported,
                fmt::format("choose_gather_path: no path can serve a {} table on {}: {}; {}",
                            to_string(request.residency), to_string(platform.platform_class),
                            slot(GatherPath::plain).note, slot(GatherPath::cpu_pipelined).note));
  }
  choice.path = best->path;
  choice.reason =
      fmt::format("{} predicted {:.1f} GB/s for {} B rows from a {} {} table ({})", to_string(best->path), best->gbps,
                  request.row_bytes, size_text(request.table_bytes), to_string(request.residency), best->note);
  if (second != nullptr) {
    choice.reason += fmt::format("; next {} at {:.1f} GB/s", to_string(second->path), second->gbps);
  }
  choice.reason += fmt::format(" [calibration: {}{}]", calibration.derived ? "derived, " : "",
                               calibration.source.substr(0, calibration.source.find(',')));
  return choice;
}

}  // namespace ghtier
