// KvFileTier: the KV store's third tier, one file per block in a directory, named by the block's chained
// hash (16 hex digits + ".kvb"), so that any process with the same model salt finds a prefix that another
// stored. Plain pread/pwrite; a file is written under a temporary name and renamed into place, so a reader
// never sees half a block. Each file starts with a 64-byte header (magic, version, block bytes, hash, CRC-32
// of the payload); a file whose header or checksum does not match is reported (a warning) and treated as
// absent, never returned as data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "ghtier/workloads/kv_block_hash.hpp"

namespace ghtier::detail {

/// The file format's constants (part of the format: a change is a version change).
inline constexpr char kv_file_magic[8] = {'G', 'H', 'T', 'K', 'V', 'B', 'L', 'K'};
inline constexpr std::uint32_t kv_file_version = 1;
inline constexpr std::size_t kv_file_header_bytes = 64;

/// CRC-32 (IEEE 802.3, the zlib polynomial) of `bytes` bytes at `data`.
[[nodiscard]] std::uint32_t kv_crc32(const void* data, std::size_t bytes) noexcept;

class KvFileTier {
 public:
  /// Uses `directory` (created if missing) for blocks of `block_bytes` bytes. Throws Error(io_error) when
  /// it cannot be created, is not a directory, or a file cannot be created in it (read-only), naming the
  /// directory and the system's reason; Error(invalid_argument) for block_bytes 0 or an empty path.
  KvFileTier(std::filesystem::path directory, std::size_t block_bytes);

  /// Stores block_bytes bytes from `data` as the block file of `hash` (replacing any). False (with a
  /// warning logged) when the system refuses (disk full, ...); no partial file is left.
  bool write(KvBlockHash hash, const void* data) noexcept;
  /// Reads the block file of `hash` into `data` (block_bytes bytes). False when the file is missing, or
  /// (with a warning logged) when its size, header or checksum is wrong; `data` is then unspecified.
  bool read(KvBlockHash hash, void* data) noexcept;
  [[nodiscard]] bool contains(KvBlockHash hash) const noexcept;
  /// Deletes the block file of `hash`, if any.
  void remove(KvBlockHash hash) noexcept;

  [[nodiscard]] std::filesystem::path path_of(KvBlockHash hash) const;
  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return directory_; }
  [[nodiscard]] std::size_t block_bytes() const noexcept { return block_bytes_; }

 private:
  std::filesystem::path directory_;
  std::size_t block_bytes_;
};

}  // namespace ghtier::detail
