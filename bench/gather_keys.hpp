// Index lists for the gather benchmarks: uniform keys, and Zipf(s) keys whose hottest rows are scattered
// over the table (as hot embedding ids are), with the matching hot-row set for a RowCache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace ghtier::bench {

enum class KeyDistribution { uniform, zipf };

/// The table row that Zipf rank `rank` (0 = hottest) lands on: a 64-bit mix of the rank, modulo num_rows.
[[nodiscard]] std::int64_t zipf_row(std::uint64_t rank, std::size_t num_rows) noexcept;

/// `count` keys in [0, num_rows): uniform, or Zipf with exponent `s` over ranks (continuous inverse-CDF
/// approximation of P(rank k) ~ (k + 1)^-s), each rank mapped to its row by zipf_row.
[[nodiscard]] std::vector<std::int64_t> make_keys(KeyDistribution distribution, std::size_t count, std::size_t num_rows,
                                                  double s, std::mt19937_64& rng);

/// The rows of the `k` hottest Zipf ranks (distinct, ascending): what a frequency-ranked cache holds.
[[nodiscard]] std::vector<std::int64_t> zipf_hot_rows(std::size_t k, std::size_t num_rows);

/// How many distinct values `keys` holds.
[[nodiscard]] std::size_t distinct_count(std::vector<std::int64_t> keys);

/// How many of `keys` are in `sorted_set` (ascending).
[[nodiscard]] std::size_t count_in(const std::vector<std::int64_t>& keys, const std::vector<std::int64_t>& sorted_set);

}  // namespace ghtier::bench
