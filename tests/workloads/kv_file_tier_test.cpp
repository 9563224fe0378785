// The KV store's block files: round trips of random blocks, a second tier over the same directory (another
// process) finding them, every kind of bad file (corrupt payload, truncated, foreign, another block's hash,
// another block size) read as "not cached" with a warning and never as data, and directories that cannot
// be used (read-only, not a directory) refused at creation with a clear error.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ghtier/log.hpp"
#include "test_support.hpp"
#include "workloads/kv_cache/kv_file_tier.hpp"

namespace ghtier::detail {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("ghtier-kv-files-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
};

// Collects warnings while alive.
struct CapturedLog {
  std::mutex mutex;
  std::vector<std::string> lines;
  CapturedLog() {
    set_log_sink([this](LogLevel, std::string_view m) {
      std::lock_guard lock(mutex);
      lines.emplace_back(m);
    });
  }
  ~CapturedLog() { set_log_sink({}); }
  bool mentions(std::string_view text) {
    std::lock_guard lock(mutex);
    for (const auto& l : lines) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

std::vector<unsigned char> random_block(std::size_t bytes, std::mt19937_64& rng) {
  std::vector<unsigned char> b(bytes);
  for (auto& c : b) c = static_cast<unsigned char>(rng());
  return b;
}

void flip_byte(const fs::path& file, std::size_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

TEST(KvFileTier, Crc32HasTheStandardCheckValue) {
  EXPECT_EQ(kv_crc32("123456789", 9), 0xcbf43926u);  // the CRC-32/IEEE check value
  EXPECT_EQ(kv_crc32("", 0), 0u);
}

TEST(KvFileTier, RoundTripsRandomBlocksAndNamesFilesByHash) {
  TempDir dir;
  std::mt19937_64 rng = test::fresh_rng();
  KvFileTier tier(dir.path, 4096 + 7);
  std::vector<std::pair<KvBlockHash, std::vector<unsigned char>>> blocks;
  for (int i = 0; i < 8; ++i) blocks.emplace_back(rng(), random_block(4096 + 7, rng));
  for (auto& [hash, data] : blocks) ASSERT_TRUE(tier.write(hash, data.data()));
  for (auto& [hash, data] : blocks) {
    EXPECT_TRUE(tier.contains(hash));
    EXPECT_TRUE(fs::exists(dir.path / fmt::format("{:016x}.kvb", hash)));
    std::vector<unsigned char> back(data.size(), 0xcc);
    ASSERT_TRUE(tier.read(hash, back.data()));
    EXPECT_EQ(back, data);
  }
  // Only the block files are left (no temporary or probe files).
  EXPECT_EQ(static_cast<std::size_t>(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator())), 8u);
  // Rewriting replaces; removing removes.
  const auto other = random_block(4096 + 7, rng);
  ASSERT_TRUE(tier.write(blocks[0].first, other.data()));
  std::vector<unsigned char> back(other.size());
  ASSERT_TRUE(tier.read(blocks[0].first, back.data()));
  EXPECT_EQ(back, other);
  tier.remove(blocks[0].first);
  EXPECT_FALSE(tier.contains(blocks[0].first));
  EXPECT_FALSE(tier.read(blocks[0].first, back.data()));
}

TEST(KvFileTier, ASecondTierOverTheSameDirectoryFindsTheBlocks) {
  TempDir dir;
  std::mt19937_64 rng = test::fresh_rng();
  const KvBlockHash hash = rng();
  const auto data = random_block(1 << 16, rng);
  {
    KvFileTier writer(dir.path, data.size());
    ASSERT_TRUE(writer.write(hash, data.data()));
  }
  KvFileTier reader(dir.path, data.size());
  ASSERT_TRUE(reader.contains(hash));
  std::vector<unsigned char> back(data.size());
  ASSERT_TRUE(reader.read(hash, back.data()));
  EXPECT_EQ(back, data);
  // A store of another block size reads it as not cached.
  CapturedLog log;
  KvFileTier other(dir.path, data.size() / 2);
  std::vector<unsigned char> half(data.size() / 2);
  EXPECT_FALSE(other.read(hash, half.data()));
  EXPECT_TRUE(log.mentions("bytes"));
}

// The literal case: another process writes the blocks, this one reads them.
TEST(KvFileTier, BlocksWrittenByAnotherProcessAreReadHere) {
  TempDir dir;
  std::mt19937_64 rng = test::fresh_rng();
  const std::uint64_t seed = rng();
  constexpr std::size_t bytes = 3000;
  const auto blocks_of = [&](std::uint64_t s) {
    std::mt19937_64 r(s);
    std::vector<std::pair<KvBlockHash, std::vector<unsigned char>>> out;
    for (int i = 0; i < 5; ++i) {
      const KvBlockHash h = r();
      out.emplace_back(h, random_block(bytes, r));
    }
    return out;
  };
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    KvFileTier writer(dir.path, bytes);
    bool ok = true;
    for (auto& [hash, data] : blocks_of(seed)) ok = writer.write(hash, data.data()) && ok;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  KvFileTier reader(dir.path, bytes);
  for (auto& [hash, data] : blocks_of(seed)) {
    std::vector<unsigned char> back(bytes);
    ASSERT_TRUE(reader.read(hash, back.data()));
    EXPECT_EQ(back, data);
  }
}

TEST(KvFileTier, BadFilesAreNotCachedWithAWarning) {
  TempDir dir;
  std::mt19937_64 rng = test::fresh_rng();
  constexpr std::size_t bytes = 8192;
  KvFileTier tier(dir.path, bytes);
  std::vector<unsigned char> back(bytes);
  const auto fresh = [&] {
    const KvBlockHash h = rng();
    const auto data = random_block(bytes, rng);
    EXPECT_TRUE(tier.write(h, data.data()));
    return h;
  };
  {  // a flipped payload byte
    CapturedLog log;
    const KvBlockHash h = fresh();
    flip_byte(tier.path_of(h), kv_file_header_bytes + rng() % bytes);
    EXPECT_FALSE(tier.read(h, back.data()));
    EXPECT_TRUE(log.mentions("checksum"));
  }
  {  // a flipped magic byte
    CapturedLog log;
    const KvBlockHash h = fresh();
    flip_byte(tier.path_of(h), 3);
    EXPECT_FALSE(tier.read(h, back.data()));
    EXPECT_TRUE(log.mentions("not a ghtier KV block file"));
  }
  {  // truncated
    CapturedLog log;
    const KvBlockHash h = fresh();
    fs::resize_file(tier.path_of(h), kv_file_header_bytes + bytes / 2);
    EXPECT_FALSE(tier.read(h, back.data()));
    EXPECT_TRUE(log.mentions("holds"));
  }
  {  // another block's file under this hash's name
    CapturedLog log;
    const KvBlockHash h = fresh(), g = rng();
    fs::rename(tier.path_of(h), tier.path_of(g));
    EXPECT_FALSE(tier.read(g, back.data()));
    EXPECT_TRUE(log.mentions("another block's hash"));
  }
  {  // a newer format version
    CapturedLog log;
    const KvBlockHash h = fresh();
    flip_byte(tier.path_of(h), 8);
    EXPECT_FALSE(tier.read(h, back.data()));
    EXPECT_TRUE(log.mentions("version"));
  }
  {  // missing: not cached, nothing to warn about
    CapturedLog log;
    EXPECT_FALSE(tier.read(rng(), back.data()));
    EXPECT_TRUE(log.lines.empty());
  }
}

TEST(KvFileTier, UnusableDirectoriesAreRefusedAtCreation) {
  TempDir dir;
  // A directory in which no file can be created, even by root.
  try {
    KvFileTier tier("/proc", 4096);
    ADD_FAILURE() << "a file tier in /proc was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io_error);
    EXPECT_NE(std::string(e.what()).find("read-only"), std::string::npos) << e.what();
  }
  // A path under a regular file.
  const fs::path file = dir.path / "plain-file";
  std::ofstream(file) << "x";
  EXPECT_GHTIER_ERROR(KvFileTier(file / "blocks", 4096), ErrorCode::io_error);
  EXPECT_GHTIER_ERROR(KvFileTier(file, 4096), ErrorCode::io_error);
  EXPECT_GHTIER_ERROR(KvFileTier("", 4096), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(KvFileTier(dir.path, 0), ErrorCode::invalid_argument);
  // Read-only by permissions (root ignores them: then only /proc above covers it).
  const fs::path ro = dir.path / "read-only";
  fs::create_directories(ro);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
  if (::geteuid() != 0) EXPECT_GHTIER_ERROR(KvFileTier(ro, 4096), ErrorCode::io_error);
}

TEST(KvFileTier, AWriteThatTheSystemRefusesFailsCleanly) {
  TempDir dir;
  std::mt19937_64 rng = test::fresh_rng();
  const fs::path sub = dir.path / "blocks";
  KvFileTier tier(sub, 4096);
  fs::remove_all(sub);  // gone under the store's feet
  CapturedLog log;
  const auto data = random_block(4096, rng);
  EXPECT_FALSE(tier.write(rng(), data.data()));
  EXPECT_TRUE(log.mentions("cannot"));
}

}  // namespace
}  // namespace ghtier::detail
