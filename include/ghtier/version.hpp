// The library's version; a CPU test checks it against CMake's project version.
#pragma once

#include "ghtier/export.h"

#define GHTIER_VERSION_MAJOR 0
#define GHTIER_VERSION_MINOR 1
#define GHTIER_VERSION_PATCH 0

namespace ghtier {
/// "MAJOR.MINOR.PATCH" of the library that is loaded (may differ from the header's macros).
[[nodiscard]] GHTIER_API const char* version_string() noexcept;
}  // namespace ghtier
