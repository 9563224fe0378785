// Chained KV block hashes: each 64-bit word (a length, a parent hash, a token id) is folded in through
// splitmix64's finaliser, a bijection with full avalanche. Words are taken by value, never as memory bytes,
// so the result does not depend on the machine's byte order.
#include "ghtier/workloads/kv_block_hash.hpp"

#include "ghtier/error.hpp"

namespace ghtier {

namespace {

constexpr std::uint64_t mix(std::uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

constexpr std::uint64_t fold(std::uint64_t state, std::uint64_t word) noexcept { return mix(state ^ word); }

// Domain tags keep a salt's hash and a block's hash from ever being computed over the same words.
constexpr std::uint64_t salt_tag = 0x6768746965722d73ull;   // "ghtier-s"
constexpr std::uint64_t block_tag = 0x6768746965722d62ull;  // "ghtier-b"

}  // namespace

std::uint64_t kv_salt_hash(std::string_view salt) noexcept {
  std::uint64_t h = fold(salt_tag, salt.size());
  for (const char c : salt) h = fold(h, static_cast<unsigned char>(c));
  return h;
}

KvBlockHash kv_chain_hash(KvBlockHash parent, std::uint64_t salt_hash, std::span<const std::int32_t> tokens) noexcept {
  std::uint64_t h = fold(block_tag, parent);
  h = fold(h, salt_hash);
  h = fold(h, tokens.size());
  for (const std::int32_t t : tokens) h = fold(h, static_cast<std::uint32_t>(t));
  return h;
}

std::vector<KvBlockHash> kv_prefix_hashes(std::span<const std::int32_t> tokens, std::size_t tokens_per_block,
                                          std::string_view salt) {
  if (tokens_per_block == 0) throw_error(ErrorCode::invalid_argument, "kv_prefix_hashes: tokens_per_block is 0");
  const std::uint64_t salt_hash = kv_salt_hash(salt);
  std::vector<KvBlockHash> hashes;
  hashes.reserve(tokens.size() / tokens_per_block);
  KvBlockHash parent = kv_root_hash;
  for (std::size_t start = 0; start + tokens_per_block <= tokens.size(); start += tokens_per_block) {
    parent = kv_chain_hash(parent, salt_hash, tokens.subspan(start, tokens_per_block));
    hashes.push_back(parent);
  }
  return hashes;
}

}  // namespace ghtier
