// The built-in gather calibration records and their checks. Every figure says where it comes from: measured
// by the `gather/` suite on the GPU machine (and which run), taken from another measurement, or an estimate
// (a figure no run has isolated yet, chosen on the safe side).
#include "ghtier/kernels/gather_calibration.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier {

namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;
constexpr std::size_t GiB = std::size_t{1} << 30;

bool positive_finite(double x) noexcept { return std::isfinite(x) && x > 0; }

void require_positive(const char* field, double value) {
  if (!positive_finite(value)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("GatherCalibration: {} is {}; it must be a positive finite number", field, value));
  }
}

// Where `x` falls between the classes of an ascending axis: the lower class and the fraction (in log
// space) towards the next one, held at the ends.
struct AxisPosition {
  std::size_t lower = 0;
  double fraction = 0;
};

AxisPosition locate(const std::vector<std::size_t>& axis, std::size_t x) noexcept {
  if (axis.size() == 1 || x <= axis.front()) return {0, 0};
  if (x >= axis.back()) return {axis.size() - 1, 0};
  std::size_t i = 0;
  while (axis[i + 1] < x) ++i;
  const double f = (std::log(static_cast<double>(x)) - std::log(static_cast<double>(axis[i]))) /
                   (std::log(static_cast<double>(axis[i + 1])) - std::log(static_cast<double>(axis[i])));
  return {i, f};
}

double log_lerp(double a, double b, double f) noexcept {
  return f == 0 ? a : std::exp(std::log(a) + f * (std::log(b) - std::log(a)));
}

// The x86 + H200 over PCIe Gen5 machine (16 vCPUs, 1 NUMA node, driver 580.159, CUDA 13.0). "quick
// 2026-12-03": `ghtier-bench --quick` gather suite of 2026-12-03 (32 MiB batches, 5 iterations; tables 2 MiB,
// 256 MiB and 2 GiB; rows 128 B, 1 KiB and 4 KiB; docs/kernels.md has the table).
GatherCalibration make_pcie_h200() {
  GatherCalibration c;
  c.source =
      "x86 + H200 over PCIe Gen5, gather/ suite: 256 MiB and 2 GiB points, the sort's cost, the cache's misses "
      "and the CPU rates from the quick suite of 2026-12-03; 8 GiB points from the full suite of 2026-12-03 (128 B, "
      "1 KiB); 1 GiB points from the x86 + H100 over PCIe Gen5 run of 2026-11-28; the rest estimates "
      "(docs/kernels.md, 'Choosing a path')";
  c.derived = false;
  c.batch_bytes = 64 * MiB;
  const std::vector<std::size_t> rows = {128, 1024, 4096};
  const std::vector<std::size_t> tables = {256 * MiB, GiB, 2 * GiB, 8 * GiB};
  c.plain.row_bytes = rows;
  c.plain.table_bytes = tables;
  c.plain.gbps = {
      // 128 B: 256 MiB measured 50.8 (quick 2026-12-03; 52.7 at 2 MiB); 1 GiB measured 13.9 on the H100 machine;
      // 2 GiB measured 7.79 (quick 2026-12-03); 8 GiB measured 4.95 (full 2026-12-03).
      50.8, 13.9, 7.79, 4.95,
      // 1 KiB: 256 MiB and 2 GiB measured 50.8 (quick 2026-12-03); 1 GiB 51 (H100); 8 GiB measured 38.5.
      50.8, 50.8, 50.8, 38.5,
      // 4 KiB: 256 MiB 50.9 and 2 GiB 50.8 measured (quick 2026-12-03); 1 GiB between; 8 GiB an estimate.
      50.9, 50.85, 50.8, 45.0};
  // In-order reads of the distinct rows, GB/s of rows read (the sort excluded): the measured sorted_gather
  // time less the sort model below, over the expected distinct rows of uniform keys. Quick 2026-12-03: 50.9,
  // 50.6, 51.0 (256 MiB), 50.0, 50.6, 51.0 (2 GiB) and 51.0, 46.2, 51.0 at 2 MiB (held below 256 MiB);
  // full 2026-12-03 at 8 GiB: 15.5 and 40.1 GB/s whole-call -> 15.8 and 41.4.
  c.sorted.row_bytes = rows;
  c.sorted.table_bytes = tables;
  c.sorted.gbps = {50.9, 50.4, 50.0,  15.8,   // 128 B (1 GiB: between)
                   50.6, 50.6, 50.6,  41.4,   // 1 KiB
                   51.0, 51.0, 50.95, 45.0};  // 4 KiB (8 GiB: an estimate)
  c.skewed_plain_gain = 7.5 / 4.95;           // plain with Zipf(0.99) keys 7.5 vs uniform 4.95, 128 B / 8 GiB (H200;
                                              // 13.0 vs 7.79 at 2 GiB in the quick run: the lower gain is kept)
  c.link_gbps = 51.0;                         // SM read of pinned memory calibrated in the 2026-11-28 run (H200)
  // The sort, fitted to sorted_gather on 2 MiB tables with uniform keys (every row read once: 2 MiB at the
  // read rate), quick 2026-12-03: 117 us for 262144 keys, 102 for 32768, 95.6 for 8192 -> 53.8 us + 0.084 ns
  // per key (the radix sort, run starts and the expansion into `out`).
  c.sort_fixed_us = 53.8;
  c.sort_ns_per_key = 0.084;
  c.launch_us = 5.0;          // estimate: measured sm_copy costs at least 4.0 us a call (2026-11-28)
  c.cache_hit_gbps = 1000.0;  // estimate: random rows from HBM through the slot map
  // Quick 2026-12-03, Zipf keys, 256 MiB and 2 GiB, cache a tenth of the rows: 81-87% hits, 110-130 us for
  // 32 MiB: the misses (the Zipf tail, about 4.5-5.4 MB) ran at about the link's rate, even where plain
  // (uniform, 128 B / 2 GiB) was translation-bound at 7.79.
  c.cache_skewed_miss_gbps = 51.0;
  // RowCache at 8 GiB, 128 B rows (H200, full 2026-12-03): 4.5 GB/s uniform against plain's 4.95, 3.9 Zipf
  // against plain Zipf's 7.5; at 2 GiB it won (Zipf: 331 GB/s effective, quick 2026-12-03). Not yet
  // understood (issue 16): the penalty starts at 4 GiB, between the size where it won and the one where it lost.
  c.cache_penalty_from_table_bytes = 4 * GiB;
  c.cache_penalty_uniform = 4.5 / 4.95;
  c.cache_penalty_skewed = 3.9 / 7.5;
  // 16 persistent threads, host to host, uniform keys: quick 2026-12-03 (2 MiB, 256 MiB, 2 GiB) and full
  // 2026-12-03 (8 GiB: 128 B and 1 KiB; 4 KiB held from 2 GiB).
  c.cpu_gather.row_bytes = rows;
  c.cpu_gather.table_bytes = {2 * MiB, 256 * MiB, 2 * GiB, 8 * GiB};
  c.cpu_gather.gbps = {63.1, 46.4, 34.7, 37.0,   // 128 B
                       43.6, 37.4, 49.7, 55.0,   // 1 KiB
                       71.7, 49.5, 59.5, 59.5};  // 4 KiB
  c.copy_gbps = 55.0;  // pinned H2D, cudaMemcpyAsync (H200 machine 46.4-55; nvbandwidth 54.97)
  // x86 + H100 machine, 2026-11-28: DMA H2D at 45.8 GB/s while 8 threads copied at 38.9 (a read and a write).
  c.host_memory_gbps = 45.8 + 2 * 38.9;
  // The target for the reworked pipeline (one copy per 2 MiB chunk), not measured yet; the first
  // version ran at 0.2-0.35 of its bound (quick 2026-12-03).
  c.pipeline_efficiency = 0.8;
  c.pipeline_fixed_us = 30.0;     // estimate: waking persistent threads, the last chunk's copy
  c.device_gather_gbps = 1500.0;  // estimate: random rows from HBM (4351 GB/s streaming, H200)
  return c;
}

// GH200: the PCIe record's translation behaviour (the same Hopper GPU and 2 MiB pinned pages) scaled to the
// published NVLink-C2C rates: kernel reads of CPU memory 339 GB/s against 51.0 on PCIe (6.6x); pinned copies
// 381.7 GB/s; LPDDR5X up to 512 GB/s shared by the CPU and the C2C DMA. CPU gather rates: the x86 machine's
// (Grace is not measured; its 72 cores likely do better, so the pipeline is if anything underrated).
GatherCalibration make_gh200(const GatherCalibration& pcie) {
  GatherCalibration c = pcie;
  c.source =
      "GH200, derived from the x86 + H200 PCIe record and published NVLink-C2C figures (kernel reads of CPU "
      "memory 339 GB/s, pinned copies 381.7 GB/s, LPDDR5X 500 GB/s); not measured";
  c.derived = true;
  const double scale = 339.0 / pcie.link_gbps;
  for (double& g : c.plain.gbps) g *= scale;
  for (double& g : c.sorted.gbps) g *= scale;
  c.cache_skewed_miss_gbps *= scale;
  c.link_gbps = 339.0;
  c.copy_gbps = 381.7;
  c.host_memory_gbps = 500.0;
  c.system_page_bytes = 64 << 10;  // the 64 KiB pages of GH200's usual Arm kernels (4 KiB on some)
  return c;
}

}  // namespace

double RateGrid::at(std::size_t row, std::size_t table) const noexcept {
  const std::size_t row_class = std::max(row, row_bytes.front());
  const AxisPosition r = locate(row_bytes, row_class);
  const AxisPosition t = locate(table_bytes, table);
  const std::size_t nt = table_bytes.size();
  auto value = [&](std::size_t ri, std::size_t ti) { return gbps[ri * nt + ti]; };
  auto along_table = [&](std::size_t ri) {
    const double a = value(ri, t.lower);
    return t.fraction == 0 ? a : log_lerp(a, value(ri, t.lower + 1), t.fraction);
  };
  double rate = along_table(r.lower);
  if (r.fraction != 0) rate = log_lerp(rate, along_table(r.lower + 1), r.fraction);
  // Below the smallest row class the row rate holds: the byte rate falls with the width.
  if (row < row_bytes.front()) rate *= static_cast<double>(row) / static_cast<double>(row_bytes.front());
  return rate;
}

void RateGrid::validate(const char* what) const {
  auto fail = [&](const std::string& why) {
    throw_error(ErrorCode::invalid_argument, fmt::format("GatherCalibration: {} {}", what, why));
  };
  if (row_bytes.empty() || table_bytes.empty()) fail("has an empty axis");
  auto ascending = [](const std::vector<std::size_t>& axis) {
    for (std::size_t i = 0; i < axis.size(); ++i) {
      if (axis[i] == 0 || (i > 0 && axis[i] <= axis[i - 1])) return false;
    }
    return true;
  };
  if (!ascending(row_bytes)) fail("row_bytes is not strictly ascending and positive");
  if (!ascending(table_bytes)) fail("table_bytes is not strictly ascending and positive");
  if (gbps.size() != row_bytes.size() * table_bytes.size()) {
    fail(fmt::format("has {} rates for {} x {} classes", gbps.size(), row_bytes.size(), table_bytes.size()));
  }
  for (std::size_t i = 0; i < gbps.size(); ++i) {
    if (!positive_finite(gbps[i])) fail(fmt::format("rate {} is {}", i, gbps[i]));
  }
}

void GatherCalibration::validate() const {
  plain.validate("plain");
  sorted.validate("sorted");
  cpu_gather.validate("cpu_gather");
  require_positive("batch_bytes", static_cast<double>(batch_bytes));
  require_positive("skewed_plain_gain", skewed_plain_gain);
  require_positive("link_gbps", link_gbps);
  require_positive("cache_hit_gbps", cache_hit_gbps);
  require_positive("cache_skewed_miss_gbps", cache_skewed_miss_gbps);
  require_positive("cache_penalty_uniform", cache_penalty_uniform);
  require_positive("cache_penalty_skewed", cache_penalty_skewed);
  require_positive("copy_gbps", copy_gbps);
  require_positive("host_memory_gbps", host_memory_gbps);
  require_positive("pipeline_efficiency", pipeline_efficiency);
  require_positive("pinned_page_bytes", static_cast<double>(pinned_page_bytes));
  require_positive("system_page_bytes", static_cast<double>(system_page_bytes));
  require_positive("device_gather_gbps", device_gather_gbps);
  for (auto [field, value] : {std::pair{"sort_fixed_us", sort_fixed_us}, std::pair{"sort_ns_per_key", sort_ns_per_key},
                              std::pair{"launch_us", launch_us}, std::pair{"pipeline_fixed_us", pipeline_fixed_us}}) {
    if (!std::isfinite(value) || value < 0) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("GatherCalibration: {} is {}; it must be a finite number >= 0", field, value));
    }
  }
  if (pipeline_efficiency > 1) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("GatherCalibration: pipeline_efficiency is {}; it must be at most 1", pipeline_efficiency));
  }
}

const GatherCalibration& pcie_h200_gather_calibration() {
  static const GatherCalibration record = make_pcie_h200();
  return record;
}

const GatherCalibration& gh200_gather_calibration() {
  static const GatherCalibration record = make_gh200(pcie_h200_gather_calibration());
  return record;
}

const GatherCalibration& gather_calibration_for(const Platform& platform) {
  return platform.platform_class == PlatformClass::coherent_c2c ? gh200_gather_calibration()
                                                                : pcie_h200_gather_calibration();
}

}  // namespace ghtier
