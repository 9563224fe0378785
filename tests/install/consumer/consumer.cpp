// A program outside the ghtier tree, built against an installed ghtier.
#include <ghtier/ghtier.hpp>

#include <cstdio>
#include <string>

int main() {
  const ghtier::Platform gh200 = ghtier::assume_platform("gh200");
  std::printf("ghtier %s: gh200 is %s\n", ghtier::version_string(),
              std::string(ghtier::to_string(gh200.platform_class)).c_str());
  return 0;
}
