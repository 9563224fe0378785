// parse_cpu_list / format_cpu_list: the kernel's cpulist format, against a reference built item by item.
#include <algorithm>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "core/platform/cpu_list.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {
namespace {

TEST(CpuList, ParsesRangesCommasAndSingleIds) {
  EXPECT_EQ(parse_cpu_list("0-3,8,10-11\n"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(parse_cpu_list("5"), (std::vector<int>{5}));
  EXPECT_EQ(parse_cpu_list(" 7 , 2-2 "), (std::vector<int>{2, 7}));
  EXPECT_EQ(parse_cpu_list("4-5,0-5"), (std::vector<int>{0, 1, 2, 3, 4, 5}));  // overlaps counted once
}

TEST(CpuList, EmptyIsAMemoryOnlyNode) {
  EXPECT_TRUE(parse_cpu_list("").empty());
  EXPECT_TRUE(parse_cpu_list("\n").empty());
}

TEST(CpuList, BadInputNamesWhatWasWrong) {
  auto message = [](std::string_view text) -> std::string {
    try {
      (void)parse_cpu_list(text, "node7/cpulist");
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      return e.what();
    }
    ADD_FAILURE() << "\"" << text << "\" was accepted";
    return {};
  };
  EXPECT_NE(message("1,,2").find("empty item"), std::string::npos);
  EXPECT_NE(message("3-1").find("backwards"), std::string::npos);
  EXPECT_NE(message("a").find("\"a\" is not a CPU id"), std::string::npos);
  EXPECT_NE(message("1-").find("is not a CPU id"), std::string::npos);
  EXPECT_NE(message("-1").find("is not a CPU id"), std::string::npos);
  EXPECT_NE(message("1-2-3").find("is not a CPU id"), std::string::npos);
  EXPECT_NE(message("0-9000").find("out of range"), std::string::npos);
  EXPECT_NE(message("1 2").find("is not a CPU id"), std::string::npos);
  EXPECT_NE(message("0,").find("empty item"), std::string::npos);
  EXPECT_NE(message("99999999999").find("not a CPU id"), std::string::npos);  // past int
  EXPECT_NE(message("x").find("node7/cpulist"), std::string::npos);
}

TEST(CpuList, RandomSetsRoundTripThroughTheShortestText) {
  std::mt19937 random(20261203);
  for (int round = 0; round < 200; ++round) {
    std::set<int> reference;
    std::vector<int> input;
    const int count = static_cast<int>(random() % 64);
    for (int i = 0; i < count; ++i) {
      const int cpu = static_cast<int>(random() % 300);
      reference.insert(cpu);
      input.push_back(cpu);
    }
    const std::string text = format_cpu_list(input);
    EXPECT_EQ(parse_cpu_list(text), std::vector<int>(reference.begin(), reference.end())) << text;
    // Shortest: one item per maximal run of consecutive ids.
    std::size_t runs = 0;
    for (int cpu : reference) runs += reference.contains(cpu - 1) ? 0 : 1;
    const std::size_t items =
        text.empty() ? 0 : 1 + static_cast<std::size_t>(std::count(text.begin(), text.end(), ','));
    EXPECT_EQ(items, runs) << text;
  }
  EXPECT_EQ(format_cpu_list({3, 1, 2, 2, 9, 0, 10, 12}), "0-3,9-10,12");
  EXPECT_EQ(format_cpu_list({}), "");
}

}  // namespace
}  // namespace ghtier::detail
