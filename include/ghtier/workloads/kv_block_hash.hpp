// Deterministic chained hashes of KV blocks, for prefix reuse across sessions and processes: a block's
// hash covers the caller's salt (e.g. the model's name and revision), the hash of the block before it and
// the block's token ids, so equal hashes mean equal prefixes (up to 64-bit collisions, which the store
// guards against by comparing the stored token ids). No random seed: every process, build and machine
// computes the same values, and they are part of the file tier's format (changing them is a format change).
#pragma once

#include "ghtier/export.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ghtier {

using KvBlockHash = std::uint64_t;

/// The parent of a session's first block.
inline constexpr KvBlockHash kv_root_hash = 0;

/// The hash of a salt, computed once per model and passed to kv_chain_hash.
[[nodiscard]] GHTIER_API std::uint64_t kv_salt_hash(std::string_view salt) noexcept;

/// The hash of one block: its parent's hash, the salt's hash and its tokens (in order; the count counts).
[[nodiscard]] GHTIER_API KvBlockHash kv_chain_hash(KvBlockHash parent, std::uint64_t salt_hash,
                                                   std::span<const std::int32_t> tokens) noexcept;

/// The chained hashes of every full block of `tokens` (a trailing partial block has none: it is not
/// shared). Throws Error(invalid_argument) for tokens_per_block 0.
[[nodiscard]] GHTIER_API std::vector<KvBlockHash> kv_prefix_hashes(std::span<const std::int32_t> tokens,
                                                                   std::size_t tokens_per_block, std::string_view salt);

}  // namespace ghtier
