// The gather GPU tests' keys and reference (gather, row cache, gather_auto, CPU pipeline): key generators that
// repeat rows as real lookups do, the CPU gather every result is compared with, and keys uploaded to the device.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "tier_buffer.hpp"

namespace ghtier::test {

/// `count` keys in [0, num_rows), uniformly drawn, every tenth a copy of an earlier one (duplicates for sure).
template <class Index>
std::vector<Index> uniform_keys(std::mt19937_64& rng, std::size_t count, std::size_t num_rows) {
  std::vector<Index> keys(count);
  std::uniform_int_distribution<std::size_t> row(0, num_rows - 1);
  for (std::size_t i = 0; i < count; ++i) {
    keys[i] = static_cast<Index>(row(rng));
    if (i > 0 && i % 10 == 0) keys[i] = keys[row(rng) % i];
  }
  return keys;
}

/// `count` keys drawn Zipf(s) over num_rows rows, the hottest rows scattered over the table by a random
/// permutation.
template <class Index>
std::vector<Index> zipf_keys(std::mt19937_64& rng, std::size_t count, std::size_t num_rows, double s) {
  std::vector<double> weights(num_rows);
  for (std::size_t r = 0; r < num_rows; ++r) weights[r] = 1.0 / std::pow(static_cast<double>(r + 1), s);
  std::discrete_distribution<std::size_t> rank(weights.begin(), weights.end());
  std::vector<Index> permutation(num_rows);
  std::iota(permutation.begin(), permutation.end(), Index{0});
  std::shuffle(permutation.begin(), permutation.end(), rng);
  std::vector<Index> keys(count);
  for (auto& k : keys) k = permutation[rank(rng)];
  return keys;
}

/// uniform_keys, or skewed ones (Zipf(1)): both repeat.
template <class Index>
std::vector<Index> random_keys(std::mt19937_64& rng, std::size_t count, std::size_t num_rows, bool skewed) {
  return skewed ? zipf_keys<Index>(rng, count, num_rows, 1.0) : uniform_keys<Index>(rng, count, num_rows);
}

/// out[i] = row keys[i] of `table`, and a zero row for a key outside it (what the gathers write there).
template <class Index>
std::vector<unsigned char> reference_gather(const std::vector<unsigned char>& table, std::size_t row_bytes,
                                            const std::vector<Index>& keys) {
  std::vector<unsigned char> out(keys.size() * row_bytes, 0);
  const std::size_t num_rows = table.size() / row_bytes;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto k = static_cast<long long>(keys[i]);
    if (k < 0 || static_cast<std::size_t>(k) >= num_rows) continue;
    std::memcpy(out.data() + i * row_bytes, table.data() + static_cast<std::size_t>(k) * row_bytes, row_bytes);
  }
  return out;
}

/// The keys in device memory.
template <class Index>
TierBuffer device_indices(const std::vector<Index>& keys) {
  TierBuffer buffer(Tier::device, keys.size() * sizeof(Index));
  buffer.upload(keys.data(), keys.size() * sizeof(Index));
  return buffer;
}

}  // namespace ghtier::test
