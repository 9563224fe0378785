// Key generators for the gather benchmarks.
#include "gather_keys.hpp"

#include <algorithm>
#include <cmath>

namespace ghtier::bench {

std::int64_t zipf_row(std::uint64_t rank, std::size_t num_rows) noexcept {
  std::uint64_t x = rank + 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return static_cast<std::int64_t>(x % num_rows);
}

std::vector<std::int64_t> make_keys(KeyDistribution distribution, std::size_t count, std::size_t num_rows, double s,
                                    std::mt19937_64& rng) {
  std::vector<std::int64_t> keys(count);
  if (distribution == KeyDistribution::uniform) {
    std::uniform_int_distribution<std::int64_t> row(0, static_cast<std::int64_t>(num_rows) - 1);
    for (auto& k : keys) k = row(rng);
    return keys;
  }
  // x = H^-1(u) with H(x) = (x^(1-s) - 1) / (1-s) the integral of x^-s from 1: ranks 1..n (shifted to 0..n-1).
  const double a = 1.0 - s;
  const double n = static_cast<double>(num_rows);
  const double h_max = std::abs(a) < 1e-9 ? std::log(n + 1) : (std::pow(n + 1, a) - 1) / a;
  std::uniform_real_distribution<double> u(0.0, h_max);
  for (auto& k : keys) {
    const double h = u(rng);
    const double x = std::abs(a) < 1e-9 ? std::exp(h) : std::pow(1 + h * a, 1 / a);
    const auto rank = static_cast<std::uint64_t>(std::clamp(x, 1.0, n)) - 1;
    k = zipf_row(rank, num_rows);
  }
  return keys;
}

std::vector<std::int64_t> zipf_hot_rows(std::size_t k, std::size_t num_rows) {
  std::vector<std::int64_t> rows;
  rows.reserve(k);
  for (std::uint64_t rank = 0; rank < k && rank < num_rows; ++rank) rows.push_back(zipf_row(rank, num_rows));
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

std::size_t distinct_count(std::vector<std::int64_t> keys) {
  std::sort(keys.begin(), keys.end());
  return static_cast<std::size_t>(std::unique(keys.begin(), keys.end()) - keys.begin());
}

std::size_t count_in(const std::vector<std::int64_t>& keys, const std::vector<std::int64_t>& sorted_set) {
  std::size_t n = 0;
  for (std::int64_t k : keys) n += std::binary_search(sorted_set.begin(), sorted_set.end(), k) ? 1 : 0;
  return n;
}

}  // namespace ghtier::bench
