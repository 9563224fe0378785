// analytical_query: a small star-schema query run by GPU kernels that read the tables in place from pinned
// CPU memory (nothing is copied to the GPU first). A fact table of sales (customer, region, quantity,
// price; 200 M rows, 20 M with --quick) and a dimension table of customers (key, discount) live in CPU
// memory; the GPU answers
//   Q1  filter + aggregate:  count, sum, min, max of price WHERE quantity BETWEEN 10 AND 50
//   Q2  filter + group-by:   the same per region (64 regions)
//   Q3  join:                sales JOIN customers ON customer = key: matches and sum(discount)
//   Q4  join, compressed:    Q3 with the fact's customer column bit-packed (frame of reference + 21-bit
//                            offsets per block of 1024), decoded inside the probe kernel
// and prints rows/s and GB/s crossing the link against the SM read ceiling measured now (calibrate()).
// Every answer is checked against a multi-threaded CPU computation; the exit status is 1 if one differs.
//   analytical_query [--quick] [--rows N]
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "ghtier/error.hpp"
#include "ghtier/kernels/aggregate.hpp"
#include "ghtier/kernels/bitpacked_column.hpp"
#include "ghtier/kernels/group_by.hpp"
#include "ghtier/kernels/hash_join.hpp"
#include "ghtier/platform/link_model.hpp"
#include "ghtier/platform/platform.hpp"

namespace {

constexpr std::uint32_t regions = 64;
constexpr std::int32_t min_quantity = 10;
constexpr std::int32_t max_quantity = 50;

void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(fmt::format("{}: {}", what, cudaGetErrorString(status)));
}

// Pinned CPU memory: the GPU reads it in place over the link.
template <typename T>
class PinnedArray {
 public:
  explicit PinnedArray(std::size_t count) : count_(count) {
    void* p = nullptr;
    check_cuda(cudaHostAlloc(&p, std::max<std::size_t>(count, 1) * sizeof(T), cudaHostAllocDefault), "cudaHostAlloc");
    data_ = static_cast<T*>(p);
  }
  ~PinnedArray() { cudaFreeHost(data_); }
  PinnedArray(const PinnedArray&) = delete;
  PinnedArray& operator=(const PinnedArray&) = delete;
  T* data() const { return data_; }
  std::size_t size() const { return count_; }
  T& operator[](std::size_t i) const { return data_[i]; }

 private:
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

unsigned cpu_threads() { return std::max(1u, std::min(32u, std::thread::hardware_concurrency())); }

template <typename Fn>
void parallel(std::uint64_t count, Fn&& fn) {
  const unsigned n = cpu_threads();
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < n; ++t) {
    threads.emplace_back([&fn, t, n, count] { fn(t, count * t / n, count * (t + 1) / n); });
  }
  for (auto& thread : threads) thread.join();
}

struct Tables {
  std::uint64_t rows;
  std::uint32_t customers;
  PinnedArray<std::int32_t> customer;  // fact: foreign key into the dimension (about half match)
  PinnedArray<std::int32_t> region;    // fact: 0..63
  PinnedArray<std::int32_t> quantity;  // fact: 1..100
  PinnedArray<float> price;            // fact: 1..1000
  PinnedArray<std::int32_t> key;       // dimension: the even numbers below 2 * customers, shuffled
  PinnedArray<std::int64_t> discount;  // dimension: cents

  Tables(std::uint64_t n, std::uint32_t d)
      : rows(n), customers(d), customer(n), region(n), quantity(n), price(n), key(d), discount(d) {
    parallel(n, [&](unsigned, std::uint64_t first, std::uint64_t last) {
      for (std::uint64_t i = first; i < last; ++i) {
        const std::uint64_t r = mix(i);
        customer[i] = static_cast<std::int32_t>(r % (2ull * d));
        region[i] = static_cast<std::int32_t>((r >> 24) % regions);
        quantity[i] = static_cast<std::int32_t>(1 + (r >> 32) % 100);
        price[i] = 1.0f + static_cast<float>((r >> 40) % 99900) / 100.0f;
      }
    });
    for (std::uint32_t i = 0; i < d; ++i) key[i] = static_cast<std::int32_t>(2 * i);
    for (std::uint32_t i = d; i > 1; --i) std::swap(key[i - 1], key[mix(i + 77) % i]);
    for (std::uint32_t i = 0; i < d; ++i) discount[i] = static_cast<std::int64_t>(mix(~std::uint64_t{i}) % 5000);
  }
};

// Runs fn once to warm up, then `repeats` times; returns the fastest run.
template <typename Fn>
double best_seconds(int repeats, Fn&& fn) {
  fn();
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

bool report(const char* name, std::uint64_t rows, double link_bytes, double logical_bytes, double seconds,
            double ceiling_gbps, bool correct) {
  const double gbps = link_bytes / seconds * 1e-9;
  fmt::print("{:<34} {:>9.1f} M rows/s  {:>7.1f} GB/s over the link ({:.2f}x the {:.1f} GB/s SM read ceiling)", name,
             static_cast<double>(rows) / seconds * 1e-6, gbps, gbps / ceiling_gbps, ceiling_gbps);
  if (logical_bytes != link_bytes) {
    fmt::print("  {:.1f} GB/s logical ({:.2f}x)", logical_bytes / seconds * 1e-9,
               logical_bytes / seconds * 1e-9 / ceiling_gbps);
  }
  fmt::print("  {}\n", correct ? "[matches the CPU]" : "[DIFFERS FROM THE CPU]");
  return correct;
}

bool close(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b)) + 1e-6; }

int run(std::uint64_t rows, std::uint32_t customers) {
  const int device = 0;
  check_cuda(cudaSetDevice(device), "cudaSetDevice");
  const ghtier::Platform platform = ghtier::detect_platform(device);
  fmt::print("device: {} ({}); measuring the link ...\n", platform.attributes.name,
             ghtier::to_string(platform.platform_class));
  const ghtier::LinkModel link = ghtier::calibrate(device);
  const double ceiling = link.sm_read_gbps;
  fmt::print("SM read of pinned memory: {:.1f} GB/s; copy engine H2D {:.1f} GB/s\n", ceiling, link.h2d_gbps);
  fmt::print("generating {} M sales and {} M customers in pinned CPU memory ...\n", rows / 1000000,
             customers / 1000000.0);
  const Tables t(rows, customers);
  cudaStream_t stream = nullptr;
  check_cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  struct StreamGuard {
    cudaStream_t s;
    ~StreamGuard() { cudaStreamDestroy(s); }
  } guard{stream};

  const ghtier::ColumnView price = ghtier::column_view(t.price.data(), rows);
  const ghtier::ColumnView quantity = ghtier::column_view(t.quantity.data(), rows);
  const ghtier::ColumnView region = ghtier::column_view(t.region.data(), rows);
  const ghtier::ColumnView customer = ghtier::column_view(t.customer.data(), rows);
  const double n = static_cast<double>(rows);
  bool all_correct = true;

  // CPU answers, computed once with every core.
  const unsigned threads = cpu_threads();
  std::vector<std::vector<std::uint64_t>> counts(threads, std::vector<std::uint64_t>(regions));
  std::vector<std::vector<double>> sums(threads, std::vector<double>(regions));
  std::vector<std::vector<float>> lows(threads, std::vector<float>(regions, INFINITY));
  std::vector<std::vector<float>> highs(threads, std::vector<float>(regions, -INFINITY));
  parallel(rows, [&](unsigned th, std::uint64_t first, std::uint64_t last) {
    for (std::uint64_t i = first; i < last; ++i) {
      if (t.quantity[i] < min_quantity || t.quantity[i] > max_quantity) continue;
      const auto g = static_cast<std::size_t>(t.region[i]);
      ++counts[th][g];
      sums[th][g] += t.price[i];
      lows[th][g] = std::min(lows[th][g], t.price[i]);
      highs[th][g] = std::max(highs[th][g], t.price[i]);
    }
  });
  std::vector<ghtier::AggregateResult> want_groups(regions);
  ghtier::AggregateResult want_total;
  want_total.min_float = INFINITY;
  want_total.max_float = -INFINITY;
  for (std::uint32_t g = 0; g < regions; ++g) {
    auto& w = want_groups[g];
    w.min_float = INFINITY;
    w.max_float = -INFINITY;
    for (unsigned th = 0; th < threads; ++th) {
      w.count += counts[th][g];
      w.sum_float += sums[th][g];
      w.min_float = std::min<double>(w.min_float, lows[th][g]);
      w.max_float = std::max<double>(w.max_float, highs[th][g]);
    }
    want_total.count += w.count;
    want_total.sum_float += w.sum_float;
    want_total.min_float = std::min(want_total.min_float, w.min_float);
    want_total.max_float = std::max(want_total.max_float, w.max_float);
  }
  std::vector<std::int64_t> discount_of(2ull * customers, -1);
  for (std::uint32_t i = 0; i < customers; ++i) discount_of[static_cast<std::size_t>(t.key[i])] = t.discount[i];
  std::vector<std::uint64_t> join_matches(threads);
  std::vector<std::int64_t> join_sums(threads);
  parallel(rows, [&](unsigned th, std::uint64_t first, std::uint64_t last) {
    for (std::uint64_t i = first; i < last; ++i) {
      const std::int64_t d = discount_of[static_cast<std::size_t>(t.customer[i])];
      if (d < 0) continue;
      ++join_matches[th];
      join_sums[th] += d;
    }
  });
  std::uint64_t want_matches = 0;
  std::int64_t want_discount = 0;
  for (unsigned th = 0; th < threads; ++th) {
    want_matches += join_matches[th];
    want_discount += join_sums[th];
  }

  fmt::print("\n{:<34} {:>20}  {}\n", "query", "throughput", "");
  // Q1
  ghtier::AggregateOptions filtered;
  filtered.filter = ghtier::RangeFilter::int_range(quantity, min_quantity, max_quantity);
  ghtier::AggregateResult q1;
  const double q1_seconds = best_seconds(3, [&] { q1 = ghtier::aggregate(price, filtered, stream); });
  all_correct &= report("Q1 filter + aggregate", rows, 8 * n, 8 * n, q1_seconds, ceiling,
                        q1.count == want_total.count && close(q1.sum_float, want_total.sum_float) &&
                            q1.min_float == want_total.min_float && q1.max_float == want_total.max_float);
  // Q2
  ghtier::GroupByOptions grouped;
  grouped.filter = ghtier::RangeFilter::int_range(quantity, min_quantity, max_quantity);
  ghtier::GroupByResult q2;
  const double q2_seconds = best_seconds(3, [&] { q2 = ghtier::group_by(region, price, regions, grouped, stream); });
  bool q2_correct = q2.rows_out_of_range == 0;
  for (std::uint32_t g = 0; g < regions; ++g) {
    const auto& got = q2.groups[g];
    const auto& want = want_groups[g];
    q2_correct &= got.count == want.count && close(got.sum_float, want.sum_float) && got.min_float == want.min_float &&
                  got.max_float == want.max_float;
  }
  all_correct &= report("Q2 filter + group-by (64 regions)", rows, 12 * n, 12 * n, q2_seconds, ceiling, q2_correct);
  // Q3
  const ghtier::HashJoinTable customers_table(ghtier::column_view(t.key.data(), customers),
                                              ghtier::column_view(t.discount.data(), customers), stream);
  ghtier::JoinResult q3;
  const double q3_seconds = best_seconds(3, [&] { q3 = customers_table.probe(customer, {}, stream); });
  all_correct &= report("Q3 join (probe in place)", rows, 4 * n, 4 * n, q3_seconds, ceiling,
                        q3.matches == want_matches && q3.payload_sum_int == want_discount);
  // Q4
  const std::span<const std::int32_t> keys(t.customer.data(), rows);
  const ghtier::BitpackPlan plan = ghtier::plan_bitpack(keys);
  PinnedArray<ghtier::BitpackBlockHeader> blocks(plan.blocks.size());
  PinnedArray<std::uint32_t> words(plan.word_count);
  const ghtier::BitpackedColumnView packed =
      ghtier::bitpack_into(keys, plan, std::span(blocks.data(), blocks.size()), std::span(words.data(), words.size()));
  ghtier::JoinResult q4;
  const double q4_seconds = best_seconds(3, [&] { q4 = customers_table.probe(packed, {}, stream); });
  all_correct &= report("Q4 join, bit-packed keys", rows, static_cast<double>(packed.packed_bytes()), 4 * n, q4_seconds,
                        ceiling, q4.matches == want_matches && q4.payload_sum_int == want_discount);
  fmt::print("\nQ1: {} sales, revenue {:.2f}, prices {:.2f}..{:.2f}; Q3: {} sales by known customers, discounts {}\n",
             q1.count, q1.sum_float, q1.min_float, q1.max_float, q3.matches, q3.payload_sum_int);
  fmt::print("(packed keys: {:.1f} bits a key on average, {:.2f}x fewer bytes over the link)\n",
             8.0 * static_cast<double>(packed.packed_bytes()) / n, 4 * n / static_cast<double>(packed.packed_bytes()));
  if (!all_correct) {
    fmt::print(stderr, "analytical_query: a GPU answer differs from the CPU's\n");
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t rows = 200'000'000;
  std::uint32_t customers = 1u << 21;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      rows = 20'000'000;
      customers = 1u << 20;
    } else if (arg == "--rows" && i + 1 < argc) {
      rows = std::strtoull(argv[++i], nullptr, 10);
    } else {
      fmt::print(stderr, "usage: analytical_query [--quick] [--rows N]\n");
      return 2;
    }
  }
  try {
    return run(rows, customers);
  } catch (const std::exception& e) {
    fmt::print(stderr, "analytical_query: {}\n", e.what());
    return 1;
  }
}
