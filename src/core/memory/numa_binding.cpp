// mbind by syscall; the MPOL_* values are the kernel's ABI (include/uapi/linux/mempolicy.h).
#include "core/memory/numa_binding.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {
constexpr int mpol_preferred = 1;
constexpr int mpol_bind = 2;
constexpr int max_numa_node = 4095;
}  // namespace

void bind_to_numa_node(void* p, std::size_t bytes, int node, bool strict, const char* what) {
  if (node < 0 || node > max_numa_node) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: NUMA node = {} is out of range (0..{})", what, node, max_numa_node));
  }
  constexpr std::size_t bits_per_word = sizeof(unsigned long) * CHAR_BIT;
  std::vector<unsigned long> mask(static_cast<std::size_t>(node) / bits_per_word + 1, 0UL);
  mask[static_cast<std::size_t>(node) / bits_per_word] = 1UL << (static_cast<std::size_t>(node) % bits_per_word);
  // The kernel reads maxnode - 1 bits (a historical off-by-one that every caller compensates for).
  const unsigned long maxnode = mask.size() * bits_per_word + 1;
  const long result = syscall(SYS_mbind, p, bytes, strict ? mpol_bind : mpol_preferred, mask.data(), maxnode, 0U);
  if (result == 0) return;
  const int error = errno;
  const std::string text =
      fmt::format("{}: mbind of {} bytes at {} to NUMA node {} failed: {}", what, bytes, p, node, std::strerror(error));
  switch (error) {
    case EINVAL:
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("{} (this machine has {} NUMA node(s))", text, host_numa_node_count()));
    case ENOSYS:
    case EPERM: throw_error(ErrorCode::unsupported, text + " (NUMA policy is not permitted here)");
    case ENOMEM: throw OutOfMemoryError(text);
    default: throw_error(ErrorCode::io_error, text);
  }
}

int host_numa_node_count() noexcept {
  try {
    int count = 0;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/sys/devices/system/node", ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("node", 0) == 0 && name.size() > 4 &&
          name.find_first_not_of("0123456789", 4) == std::string::npos) {
        ++count;
      }
    }
    return count > 0 ? count : 1;
  } catch (...) {
    return 1;
  }
}

}  // namespace ghtier::detail
