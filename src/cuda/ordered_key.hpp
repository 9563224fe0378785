// Order-preserving 64-bit keys for int64 and double values, so that min/max of any column type are one
// unsigned 64-bit atomicMin/atomicMax on the GPU. Host and device code share these (the CPU tests check them).
#pragma once

#include <cstdint>
#if !defined(__CUDA_ARCH__)
#include <bit>
#endif

#if defined(__CUDACC__)
#define GHTIER_HOST_DEVICE __host__ __device__
#else
#define GHTIER_HOST_DEVICE
#endif

namespace ghtier::detail {

inline constexpr unsigned long long ordered_key_sign = 1ull << 63;
/// The identity of min (no value yet) and of max.
inline constexpr unsigned long long ordered_key_min_identity = ~0ull;
inline constexpr unsigned long long ordered_key_max_identity = 0ull;

/// a < b  <=>  ordered_key(a) < ordered_key(b), for every pair of int64 values.
GHTIER_HOST_DEVICE inline unsigned long long ordered_key(std::int64_t value) {
  return static_cast<unsigned long long>(value) ^ ordered_key_sign;
}
GHTIER_HOST_DEVICE inline std::int64_t int_from_ordered_key(unsigned long long key) {
  return static_cast<std::int64_t>(key ^ ordered_key_sign);
}

GHTIER_HOST_DEVICE inline unsigned long long double_bits(double value) {
#if defined(__CUDA_ARCH__)
  return static_cast<unsigned long long>(__double_as_longlong(value));
#else
  return std::bit_cast<unsigned long long>(value);
#endif
}
GHTIER_HOST_DEVICE inline double double_from_bits(unsigned long long bits) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(bits));
#else
  return std::bit_cast<double>(bits);
#endif
}

/// a < b  <=>  ordered_key(a) < ordered_key(b) for non-NaN doubles (-0.0 orders just below +0.0):
/// negative values flip every bit, the others set the sign bit. Callers skip NaN.
GHTIER_HOST_DEVICE inline unsigned long long ordered_key(double value) {
  const unsigned long long bits = double_bits(value);
  return (bits & ordered_key_sign) != 0 ? ~bits : bits | ordered_key_sign;
}
GHTIER_HOST_DEVICE inline double double_from_ordered_key(unsigned long long key) {
  return double_from_bits((key & ordered_key_sign) != 0 ? key & ~ordered_key_sign : ~key);
}

}  // namespace ghtier::detail
