// The KV store's block files (see kv_file_tier.hpp). Header fields are written byte by byte in little-endian
// order, so files move between machines.
#include "workloads/kv_cache/kv_file_tier.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "core/support/log.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {

constexpr std::array<std::uint32_t, 256> crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> crc_lookup = crc_table();

void put_u32(unsigned char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
void put_u64(unsigned char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
std::uint32_t get_u32(const unsigned char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  return v;
}
std::uint64_t get_u64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

// Header layout: magic[8] | version u32 | header bytes u32 | block bytes u64 | hash u64 | payload crc u32 |
// zeros up to 64.
constexpr std::size_t at_version = 8, at_header_bytes = 12, at_block_bytes = 16, at_hash = 24, at_crc = 32;

// Moves exactly `bytes` through pread or pwrite (`io`), retrying short transfers and interrupts; false on an
// error or an early end of file.
template <class Io, class Byte>
bool transfer_all(Io io, int fd, Byte* p, std::size_t bytes, off_t offset) {
  while (bytes > 0) {
    const ssize_t n = io(fd, p, bytes, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    bytes -= static_cast<std::size_t>(n);
    offset += n;
  }
  return true;
}

bool write_all(int fd, const void* data, std::size_t bytes, off_t offset) {
  return transfer_all(::pwrite, fd, static_cast<const unsigned char*>(data), bytes, offset);
}

bool read_all(int fd, void* data, std::size_t bytes, off_t offset) {
  return transfer_all(::pread, fd, static_cast<unsigned char*>(data), bytes, offset);
}

// Temporary names unique within the process (the pid makes them unique across processes).
std::atomic<std::uint64_t> temp_counter{0};

}  // namespace

std::uint32_t kv_crc32(const void* data, std::size_t bytes) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = 0xffffffffu;
  for (std::size_t i = 0; i < bytes; ++i) c = crc_lookup[(c ^ p[i]) & 0xffu] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

KvFileTier::KvFileTier(std::filesystem::path directory, std::size_t block_bytes)
    : directory_(std::move(directory)), block_bytes_(block_bytes) {
  if (directory_.empty()) throw_error(ErrorCode::invalid_argument, "KV file tier: the directory path is empty");
  if (block_bytes_ == 0) throw_error(ErrorCode::invalid_argument, "KV file tier: block_bytes is 0");
  std::error_code ec;
  std::filesystem::create_directories(directory_, ec);
  if (ec || !std::filesystem::is_directory(directory_)) {
    throw_error(ErrorCode::io_error, fmt::format("KV file tier: '{}' cannot be used as a directory: {}",
                                                 directory_.string(), ec ? ec.message() : "not a directory"));
  }
  // Permissions alone do not say it (root, read-only mounts): create and remove a probe file.
  const std::filesystem::path probe =
      directory_ / fmt::format(".ghtier-probe.{}.{}", ::getpid(), temp_counter.fetch_add(1));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw_error(ErrorCode::io_error, fmt::format("KV file tier: cannot create files in '{}' ({}): is it read-only?",
                                                 directory_.string(), std::strerror(errno)));
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

std::filesystem::path KvFileTier::path_of(KvBlockHash hash) const {
  return directory_ / fmt::format("{:016x}.kvb", hash);
}

bool KvFileTier::write(KvBlockHash hash, const void* data) noexcept {
  try {
    unsigned char header[kv_file_header_bytes] = {};
    std::memcpy(header, kv_file_magic, sizeof(kv_file_magic));
    put_u32(header + at_version, kv_file_version);
    put_u32(header + at_header_bytes, static_cast<std::uint32_t>(kv_file_header_bytes));
    put_u64(header + at_block_bytes, block_bytes_);
    put_u64(header + at_hash, hash);
    put_u32(header + at_crc, kv_crc32(data, block_bytes_));
    const std::filesystem::path target = path_of(hash);
    const std::filesystem::path temp =
        directory_ / fmt::format(".{:016x}.{}.{}.tmp", hash, ::getpid(), temp_counter.fetch_add(1));
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      log(LogLevel::warn, "KV file tier: cannot create '{}': {}", temp.string(), std::strerror(errno));
      return false;
    }
    const bool written = write_all(fd, header, sizeof(header), 0) &&
                         write_all(fd, data, block_bytes_, static_cast<off_t>(kv_file_header_bytes));
    const int saved = errno;
    const bool closed = ::close(fd) == 0;
    if (!written || !closed || ::rename(temp.c_str(), target.c_str()) != 0) {
      log(LogLevel::warn, "KV file tier: cannot write '{}': {}", target.string(),
          std::strerror(written && closed ? errno : saved));
      ::unlink(temp.c_str());
      return false;
    }
    return true;
  } catch (...) {  // formatting or path allocation: the block simply is not stored
    return false;
  }
}

bool KvFileTier::read(KvBlockHash hash, void* data) noexcept {
  try {
    const std::filesystem::path path = path_of(hash);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno != ENOENT)
        log(LogLevel::warn, "KV file tier: cannot open '{}': {}", path.string(), std::strerror(errno));
      return false;
    }
    const auto bad = [&](std::string_view what) {
      log(LogLevel::warn, "KV file tier: '{}' {}; the block is treated as not cached", path.string(), what);
      ::close(fd);
      return false;
    };
    struct stat st {};
    if (::fstat(fd, &st) != 0) return bad("cannot be examined");
    if (static_cast<std::uint64_t>(st.st_size) != kv_file_header_bytes + block_bytes_) {
      return bad(fmt::format("holds {} bytes, not {} (a {}-byte block)", st.st_size,
                             kv_file_header_bytes + block_bytes_, block_bytes_));
    }
    unsigned char header[kv_file_header_bytes];
    if (!read_all(fd, header, sizeof(header), 0)) return bad("has an unreadable header");
    if (std::memcmp(header, kv_file_magic, sizeof(kv_file_magic)) != 0) return bad("is not a ghtier KV block file");
    if (get_u32(header + at_version) != kv_file_version) {
      return bad(fmt::format("has format version {}, not {}", get_u32(header + at_version), kv_file_version));
    }
    if (get_u32(header + at_header_bytes) != kv_file_header_bytes || get_u64(header + at_block_bytes) != block_bytes_) {
      return bad("has another block size in its header");
    }
    if (get_u64(header + at_hash) != hash) return bad("holds another block's hash");
    if (!read_all(fd, data, block_bytes_, static_cast<off_t>(kv_file_header_bytes))) return bad("cannot be read");
    if (kv_crc32(data, block_bytes_) != get_u32(header + at_crc)) return bad("fails its checksum (corrupt)");
    ::close(fd);
    return true;
  } catch (...) {
    return false;
  }
}

bool KvFileTier::contains(KvBlockHash hash) const noexcept {
  try {
    return ::access(path_of(hash).c_str(), F_OK) == 0;
  } catch (...) {
    return false;
  }
}

void KvFileTier::remove(KvBlockHash hash) noexcept {
  try {
    ::unlink(path_of(hash).c_str());
  } catch (...) {}
}

}  // namespace ghtier::detail
