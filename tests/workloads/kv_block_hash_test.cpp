// Chained KV block hashes: pinned values (computed by an independent Python implementation of the same
// definition, so a change of the file tier's format cannot slip in), the chain's properties on fresh random
// tokens, and argument errors.
#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <set>

#include "ghtier/workloads/kv_block_hash.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

TEST(KvBlockHash, PinnedValues) {
  EXPECT_EQ(kv_salt_hash(""), 0x7a2b28dff5e33a73ull);
  const std::uint64_t salt = kv_salt_hash("meta-llama/Meta-Llama-3-8B");
  EXPECT_EQ(salt, 0xc6ba51b0b0e98b60ull);
  std::vector<std::int32_t> first(16);
  std::iota(first.begin(), first.end(), 0);
  const KvBlockHash h1 = kv_chain_hash(kv_root_hash, salt, first);
  EXPECT_EQ(h1, 0xc938762471e3b119ull);
  std::vector<std::int32_t> second{-1, 7, 128000};
  second.resize(16, 5);
  EXPECT_EQ(kv_chain_hash(h1, salt, second), 0x386b6a039caef832ull);
}

TEST(KvBlockHash, ChainPropertiesOnRandomTokens) {
  std::mt19937_64 rng = test::fresh_rng();
  std::uniform_int_distribution<std::int32_t> token(0, 128255);
  for (int round = 0; round < 50; ++round) {
    const std::size_t per_block = std::uniform_int_distribution<std::size_t>(1, 64)(rng);
    std::vector<std::int32_t> tokens(std::uniform_int_distribution<std::size_t>(0, 40 * per_block)(rng));
    for (auto& t : tokens) t = token(rng);
    const auto hashes = kv_prefix_hashes(tokens, per_block, "model-a");
    ASSERT_EQ(hashes.size(), tokens.size() / per_block);
    EXPECT_EQ(hashes, kv_prefix_hashes(tokens, per_block, "model-a"));  // deterministic
    // Another salt shares no hash.
    const auto other = kv_prefix_hashes(tokens, per_block, "model-b");
    for (std::size_t i = 0; i < hashes.size(); ++i) EXPECT_NE(hashes[i], other[i]);
    // Extending the tokens keeps every earlier hash (a prefix is found by its own hashes).
    auto longer = tokens;
    longer.insert(longer.end(), per_block, 3);
    const auto longer_hashes = kv_prefix_hashes(longer, per_block, "model-a");
    ASSERT_EQ(longer_hashes.size(), hashes.size() + 1);
    EXPECT_TRUE(std::equal(hashes.begin(), hashes.end(), longer_hashes.begin()));
    if (hashes.empty()) continue;
    // Changing one token changes its block's hash and every later one, none before it.
    const std::size_t at = std::uniform_int_distribution<std::size_t>(0, hashes.size() * per_block - 1)(rng);
    auto changed = tokens;
    changed[at] ^= 1;
    const auto changed_hashes = kv_prefix_hashes(changed, per_block, "model-a");
    for (std::size_t i = 0; i < hashes.size(); ++i) {
      if (i < at / per_block)
        EXPECT_EQ(changed_hashes[i], hashes[i]);
      else
        EXPECT_NE(changed_hashes[i], hashes[i]);
    }
  }
}

TEST(KvBlockHash, SameBlockAfterAnotherPrefixDiffers) {
  const std::uint64_t salt = kv_salt_hash("m");
  const std::vector<std::int32_t> block{1, 2, 3, 4};
  const std::vector<std::int32_t> a{9, 9, 9, 9}, b{9, 9, 9, 8};
  EXPECT_NE(kv_chain_hash(kv_chain_hash(kv_root_hash, salt, a), salt, block),
            kv_chain_hash(kv_chain_hash(kv_root_hash, salt, b), salt, block));
  // The count is hashed: a block of one token 0 is not a block of two tokens 0.
  EXPECT_NE(kv_chain_hash(kv_root_hash, salt, std::vector<std::int32_t>{0}),
            kv_chain_hash(kv_root_hash, salt, std::vector<std::int32_t>{0, 0}));
  // Salts are length-prefixed: "ab" + "c" is not "a" + "bc" at any level.
  EXPECT_NE(kv_salt_hash("ab"), kv_salt_hash("abc"));
}

TEST(KvBlockHash, NoCollisionsAmongManyBlocks) {
  std::mt19937_64 rng = test::fresh_rng();
  std::set<KvBlockHash> seen;
  std::vector<std::int32_t> tokens(16 * 20000);
  for (auto& t : tokens) t = static_cast<std::int32_t>(rng() % 50);  // small vocabulary: many near-equal blocks
  for (const KvBlockHash h : kv_prefix_hashes(tokens, 16, "x")) EXPECT_TRUE(seen.insert(h).second);
}

TEST(KvBlockHash, RefusesZeroTokensPerBlock) {
  EXPECT_GHTIER_ERROR((void)kv_prefix_hashes(std::vector<std::int32_t>{1, 2}, 0, "x"), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace ghtier
