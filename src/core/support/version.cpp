// The version of the loaded library, set by CMake from project(VERSION).
#include "ghtier/version.hpp"

namespace ghtier {
const char* version_string() noexcept { return GHTIER_VERSION_STRING; }
}  // namespace ghtier
