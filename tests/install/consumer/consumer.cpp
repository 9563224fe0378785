// A program outside the ghtier tree, built against an installed (find_package) or embedded
// (add_subdirectory) ghtier. It sets no C++ standard of its own: C++20 comes with ghtier::ghtier.
// Catching ghtier::Error thrown inside libghtier.so checks that the exception's type information is
// exported (the library is built with hidden visibility and a version script).
#include <ghtier/ghtier.hpp>

#include <cstdio>
#include <string>

int main() {
  const ghtier::Platform gh200 = ghtier::assume_platform("gh200");
  std::printf("ghtier %s: gh200 is %s\n", ghtier::version_string(),
              std::string(ghtier::to_string(gh200.platform_class)).c_str());
  try {
    (void)ghtier::platform_profile("no-such-profile");
    std::printf("platform_profile accepted an unknown name\n");
    return 1;
  } catch (const ghtier::Error& error) {
    if (error.code() != ghtier::ErrorCode::not_found) {
      std::printf("unexpected error code: %s\n", std::string(ghtier::to_string(error.code())).c_str());
      return 1;
    }
    std::printf("caught ghtier::Error across the library boundary\n");
  }
  return 0;
}
