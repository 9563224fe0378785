// Byte patterns: splitmix64 of the seed and the 8-byte word index, one byte of it per position.
#include "byte_pattern.hpp"

#include <cstring>

namespace ghtier::stress {

namespace {
std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
std::uint64_t word(std::uint64_t seed, std::size_t index) noexcept { return mix(seed ^ mix(index)); }
}  // namespace

unsigned char pattern_byte(std::uint64_t seed, std::size_t position) noexcept {
  return static_cast<unsigned char>(word(seed, position / 8) >> (8 * (position % 8)));
}

void fill_pattern(void* dst, std::size_t bytes, std::uint64_t seed, std::size_t offset) noexcept {
  auto* out = static_cast<unsigned char*>(dst);
  std::size_t i = 0;
  // Head up to a word boundary of the stream, whole words, then the tail.
  for (; i < bytes && (offset + i) % 8 != 0; ++i) out[i] = pattern_byte(seed, offset + i);
  for (; i + 8 <= bytes; i += 8) {
    const std::uint64_t w = word(seed, (offset + i) / 8);
    unsigned char b[8];
    for (int k = 0; k < 8; ++k) b[k] = static_cast<unsigned char>(w >> (8 * k));
    std::memcpy(out + i, b, 8);
  }
  for (; i < bytes; ++i) out[i] = pattern_byte(seed, offset + i);
}

std::optional<std::size_t> first_pattern_mismatch(const void* data, std::size_t bytes, std::uint64_t seed,
                                                  std::size_t offset) noexcept {
  const auto* in = static_cast<const unsigned char*>(data);
  std::size_t i = 0;
  for (; i < bytes && (offset + i) % 8 != 0; ++i) {
    if (in[i] != pattern_byte(seed, offset + i)) return i;
  }
  for (; i + 8 <= bytes; i += 8) {
    const std::uint64_t w = word(seed, (offset + i) / 8);
    for (std::size_t k = 0; k < 8; ++k) {
      if (in[i + k] != static_cast<unsigned char>(w >> (8 * k))) return i + k;
    }
  }
  for (; i < bytes; ++i) {
    if (in[i] != pattern_byte(seed, offset + i)) return i;
  }
  return std::nullopt;
}

std::optional<std::size_t> first_byte_not(const void* data, std::size_t bytes, unsigned char value) noexcept {
  const auto* in = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) {
    if (in[i] != value) return i;
  }
  return std::nullopt;
}

}  // namespace ghtier::stress
