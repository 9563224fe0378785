// Case list, names and ceilings of the bandwidth matrix: the decisions, kept apart from the timing code.
#include "matrix_cases.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace ghtier::bench {

namespace {

constexpr std::size_t KiB = std::size_t{1} << 10;
constexpr std::size_t MiB = std::size_t{1} << 20;
constexpr std::size_t GiB = std::size_t{1} << 30;

bool is_host(MatrixTier tier) noexcept { return tier != MatrixTier::device; }

// One stream of bytes over one direction of the link, at the rate the named link figure allows.
struct Flow {
  bool host_to_device;
  double gbps;
  const char* figure;
};

std::string with_source(const LinkModel& link, std::string_view figure) {
  return link.source.empty() ? std::string(figure) : fmt::format("{} {}", link.source, figure);
}

// Flows in the same direction share it (their times per byte add up); the two directions are independent
// (PCIe and C2C are full duplex), so the slower direction bounds the copy.
MatrixCeiling ceiling_of_flows(const LinkModel& link, const std::vector<Flow>& flows) {
  MatrixCeiling best;
  bool first = true;
  for (bool direction : {true, false}) {
    double seconds_per_gb = 0;
    std::vector<std::string> names;
    for (const Flow& f : flows) {
      if (f.host_to_device != direction) continue;
      seconds_per_gb += 1.0 / f.gbps;
      names.emplace_back(f.figure);
    }
    if (names.empty()) continue;
    const double gbps = 1.0 / seconds_per_gb;
    std::string name = names.size() == 1
                           ? names.front()
                           : fmt::format("{} and {} sharing {}", names[0], names[1], direction ? "H2D" : "D2H");
    if (first || gbps < best.value) best = {gbps, with_source(link, name)};
    first = false;
  }
  return best;
}

MatrixCeiling memcpy_ceiling(const LinkModel& link, MatrixTier from, MatrixTier to) {
  if (!is_host(from) && !is_host(to)) return {link.hbm_gbps / 2, with_source(link, "hbm_gbps/2 (read+write)")};
  if (is_host(from) && is_host(to)) return {0, "none: a host-to-host copy"};
  if (is_host(from)) {
    return from == MatrixTier::pageable ? MatrixCeiling{link.pageable_h2d_gbps, with_source(link, "pageable_h2d_gbps")}
                                        : MatrixCeiling{link.h2d_gbps, with_source(link, "h2d_gbps")};
  }
  return to == MatrixTier::pageable ? MatrixCeiling{link.pageable_d2h_gbps, with_source(link, "pageable_d2h_gbps")}
                                    : MatrixCeiling{link.d2h_gbps, with_source(link, "d2h_gbps")};
}

MatrixCeiling sm_copy_ceiling(const LinkModel& link, MatrixTier from, MatrixTier to) {
  if (!is_host(from) && !is_host(to)) return {link.hbm_gbps / 2, with_source(link, "hbm_gbps/2 (read+write)")};
  std::vector<Flow> flows;
  // Managed memory starts on the host: the kernel's faults migrate it to the GPU, read or written.
  if (from == MatrixTier::managed) flows.push_back({true, link.h2d_gbps, "h2d_gbps"});
  if (from == MatrixTier::pinned || from == MatrixTier::pageable)
    flows.push_back({true, link.sm_read_gbps, "sm_read_gbps"});
  if (to == MatrixTier::managed) flows.push_back({true, link.h2d_gbps, "h2d_gbps"});
  if (to == MatrixTier::pinned || to == MatrixTier::pageable)
    flows.push_back({false, link.sm_write_gbps, "sm_write_gbps"});
  return ceiling_of_flows(link, flows);
}

}  // namespace

std::string_view to_string(MatrixTier tier) noexcept {
  switch (tier) {
    case MatrixTier::device: return "device";
    case MatrixTier::pinned: return "pinned";
    case MatrixTier::pageable: return "pageable";
    case MatrixTier::managed: return "managed";
  }
  return "unknown";
}

std::string_view to_string(MatrixMethod method) noexcept {
  switch (method) {
    case MatrixMethod::memcpy: return "memcpy";
    case MatrixMethod::sm_copy: return "sm_copy";
    case MatrixMethod::prefetch: return "prefetch";
    case MatrixMethod::bidirectional: return "bidirectional";
    case MatrixMethod::latency: return "latency";
  }
  return "unknown";
}

std::string size_name(std::size_t bytes) {
  if (bytes >= GiB && bytes % GiB == 0) return fmt::format("{}GiB", bytes / GiB);
  if (bytes >= MiB && bytes % MiB == 0) return fmt::format("{}MiB", bytes / MiB);
  if (bytes >= KiB && bytes % KiB == 0) return fmt::format("{}KiB", bytes / KiB);
  return fmt::format("{}B", bytes);
}

std::vector<std::size_t> matrix_sizes(bool quick) {
  if (quick) return {4 * KiB, 1 * MiB, 64 * MiB, 256 * MiB};
  std::vector<std::size_t> sizes;
  for (std::size_t bytes = 4 * KiB; bytes <= GiB; bytes *= 4) sizes.push_back(bytes);
  return sizes;
}

std::vector<std::size_t> latency_sizes() { return {4 * KiB, 16 * KiB, 64 * KiB}; }

std::size_t matrix_buffer_bytes(bool quick) {
  const std::vector<std::size_t> sizes = matrix_sizes(quick);
  // Small transfers are queued several per iteration, each at its own offset: up to 64 MiB in all.
  return std::max(*std::max_element(sizes.begin(), sizes.end()), 64 * MiB);
}

std::string case_name(const MatrixCase& c) {
  std::string pair;
  switch (c.method) {
    case MatrixMethod::prefetch: {
      const MatrixTier buffer = c.from == MatrixTier::device ? c.to : c.from;
      pair = fmt::format("{}_to_{}", to_string(buffer), c.to == MatrixTier::device ? "device" : "host");
      break;
    }
    case MatrixMethod::bidirectional: pair = fmt::format("{}_{}", to_string(c.from), to_string(c.to)); break;
    default: pair = fmt::format("{}_to_{}", to_string(c.from), to_string(c.to)); break;
  }
  return fmt::format("bandwidth_matrix/{}/{}/{}", to_string(c.method), pair, size_name(c.bytes));
}

bool kernel_can_reach(const Platform& platform, MatrixTier tier) noexcept {
  switch (tier) {
    case MatrixTier::device:
    case MatrixTier::pinned: return true;
    // Without concurrent managed access the CPU may not touch managed memory while kernels run, and the
    // case's "prefetch to the host first" cannot be done.
    case MatrixTier::managed: return platform.managed_migrates;
    case MatrixTier::pageable: return platform.gpu_reads_pageable;
  }
  return false;
}

std::vector<MatrixCase> matrix_cases(const Platform& platform, bool quick) {
  const std::vector<std::size_t> sizes = matrix_sizes(quick);
  std::vector<MatrixCase> cases;
  for (MatrixTier from : all_matrix_tiers) {
    for (MatrixTier to : all_matrix_tiers) {
      for (std::size_t bytes : sizes) cases.push_back({MatrixMethod::memcpy, from, to, bytes});
    }
  }
  for (MatrixTier from : all_matrix_tiers) {
    for (MatrixTier to : all_matrix_tiers) {
      if (!kernel_can_reach(platform, from) || !kernel_can_reach(platform, to)) continue;
      for (std::size_t bytes : sizes) cases.push_back({MatrixMethod::sm_copy, from, to, bytes});
    }
  }
  std::vector<MatrixTier> prefetchable;
  if (platform.managed_migrates) prefetchable.push_back(MatrixTier::managed);
  // cudaMemPrefetchAsync accepts system-allocated memory where the GPU has pageable access.
  if (platform.managed_migrates && platform.gpu_reads_pageable) prefetchable.push_back(MatrixTier::pageable);
  for (MatrixTier tier : prefetchable) {
    for (std::size_t bytes : sizes) {
      cases.push_back({MatrixMethod::prefetch, tier, MatrixTier::device, bytes});
      cases.push_back({MatrixMethod::prefetch, MatrixTier::device, tier, bytes});
    }
  }
  for (std::size_t bytes : sizes)
    cases.push_back({MatrixMethod::bidirectional, MatrixTier::pinned, MatrixTier::device, bytes});
  for (std::size_t bytes : latency_sizes()) {
    cases.push_back({MatrixMethod::latency, MatrixTier::pinned, MatrixTier::device, bytes});
    cases.push_back({MatrixMethod::latency, MatrixTier::device, MatrixTier::pinned, bytes});
  }
  return cases;
}

MatrixCeiling matrix_ceiling(const LinkModel& link, const MatrixCase& c) {
  switch (c.method) {
    case MatrixMethod::memcpy: return memcpy_ceiling(link, c.from, c.to);
    case MatrixMethod::sm_copy: return sm_copy_ceiling(link, c.from, c.to);
    case MatrixMethod::prefetch:
      return c.to == MatrixTier::device ? MatrixCeiling{link.h2d_gbps, with_source(link, "h2d_gbps")}
                                        : MatrixCeiling{link.d2h_gbps, with_source(link, "d2h_gbps")};
    case MatrixMethod::bidirectional: return {link.bidirectional_gbps, with_source(link, "bidirectional_gbps")};
    case MatrixMethod::latency: {
      const bool h2d = c.to == MatrixTier::device;
      return {link.copy_seconds(c.bytes, h2d) * 1e6,
              with_source(link, h2d ? "latency_us + bytes/h2d_gbps" : "latency_us + bytes/d2h_gbps")};
    }
  }
  return {};
}

std::vector<LinkFigure> matrix_ceiling_figures(const MatrixCase& c) {
  const bool from_host = is_host(c.from);
  const bool to_host = is_host(c.to);
  switch (c.method) {
    case MatrixMethod::memcpy:
      if (!from_host && !to_host) return {LinkFigure::hbm};
      if (from_host && to_host) return {};
      if (from_host) return {c.from == MatrixTier::pageable ? LinkFigure::pageable_h2d : LinkFigure::h2d};
      return {c.to == MatrixTier::pageable ? LinkFigure::pageable_d2h : LinkFigure::d2h};
    case MatrixMethod::sm_copy: {
      if (!from_host && !to_host) return {LinkFigure::hbm};
      std::vector<LinkFigure> figures;
      auto add = [&](LinkFigure f) {
        if (std::find(figures.begin(), figures.end(), f) == figures.end()) figures.push_back(f);
      };
      if (c.from == MatrixTier::managed || c.to == MatrixTier::managed) add(LinkFigure::h2d);
      if (c.from == MatrixTier::pinned || c.from == MatrixTier::pageable) add(LinkFigure::sm_read);
      if (c.to == MatrixTier::pinned || c.to == MatrixTier::pageable) add(LinkFigure::sm_write);
      return figures;
    }
    case MatrixMethod::prefetch: return {c.to == MatrixTier::device ? LinkFigure::h2d : LinkFigure::d2h};
    case MatrixMethod::bidirectional: return {LinkFigure::bidirectional};
    case MatrixMethod::latency:
      return {LinkFigure::latency, c.to == MatrixTier::device ? LinkFigure::h2d : LinkFigure::d2h};
  }
  return {};
}

int transfers_per_iteration(std::size_t bytes) noexcept {
  if (bytes == 0) return 1;
  return static_cast<int>(std::clamp<std::size_t>((64 * MiB) / bytes, 1, 32));
}

int matrix_repeats(bool quick) noexcept { return quick ? 5 : 9; }

bool uses_stream_blocker(const MatrixCase& c) noexcept {
  switch (c.method) {
    case MatrixMethod::memcpy: {
      auto async_capable = [](MatrixTier t) { return t == MatrixTier::device || t == MatrixTier::pinned; };
      return async_capable(c.from) && async_capable(c.to) && !(is_host(c.from) && is_host(c.to));
    }
    case MatrixMethod::sm_copy:
    case MatrixMethod::bidirectional:
    case MatrixMethod::latency: return true;
    case MatrixMethod::prefetch: return false;
  }
  return false;
}

}  // namespace ghtier::bench
