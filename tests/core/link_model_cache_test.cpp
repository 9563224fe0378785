// The link model cache without a GPU: where it lives, how a device's file is keyed, what a missing, corrupt or
// valid file gives, the GHTIER_LINK_MODEL choice, and the driver version parser.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ghtier/log.hpp"
#include "ghtier/platform/link_model_cache.hpp"
#include "ghtier/platform/platform.hpp"
#include "test_support.hpp"

using namespace ghtier;

namespace {

namespace fs = std::filesystem;

// A fresh folder under the temporary directory, removed at the end of the test.
class TemporaryFolder {
 public:
  TemporaryFolder() {
    auto rng = test::fresh_rng();
    path_ = fs::temp_directory_path() / ("ghtier_link_cache_test_" + std::to_string(rng()));
    fs::create_directories(path_);
  }
  ~TemporaryFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Sets an environment variable for the scope and puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Collects warnings logged while it lives.
class CapturedLog {
 public:
  CapturedLog() {
    set_log_sink([this](LogLevel level, std::string_view message) {
      std::lock_guard lock(mutex_);
      if (level >= LogLevel::warn) warnings_.emplace_back(message);
    });
  }
  ~CapturedLog() { set_log_sink({}); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  std::vector<std::string> warnings() {
    std::lock_guard lock(mutex_);
    return warnings_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> warnings_;
};

DeviceAttributes pcie_device(std::string uuid, std::string driver) {
  DeviceAttributes a = platform_profile("pcie-gen5").attributes;
  a.uuid = std::move(uuid);
  a.driver_version = std::move(driver);
  return a;
}

LinkModel random_link(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> d(0.5, 5000.0);
  LinkModel l;
  for (LinkFigure f : all_link_figures) figure_of(l, f) = d(rng);
  l.source = "calibrated";
  return l;
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file);
  out << text;
}

}  // namespace

TEST(LinkModelCacheDir, XdgCacheHomeWinsWhenAbsolute) {
  EXPECT_EQ(link_model_cache_dir("/x/cache", "/home/u"), fs::path("/x/cache/ghtier"));
}

TEST(LinkModelCacheDir, FallsBackToHomeDotCache) {
  EXPECT_EQ(link_model_cache_dir(nullptr, "/home/u"), fs::path("/home/u/.cache/ghtier"));
  EXPECT_EQ(link_model_cache_dir("", "/home/u"), fs::path("/home/u/.cache/ghtier"));
  // The XDG rule: a relative XDG_CACHE_HOME is invalid and ignored.
  EXPECT_EQ(link_model_cache_dir("relative/cache", "/home/u"), fs::path("/home/u/.cache/ghtier"));
}

TEST(LinkModelCacheDir, NoneWithoutAnAbsoluteFolder) {
  EXPECT_FALSE(link_model_cache_dir(nullptr, nullptr).has_value());
  EXPECT_FALSE(link_model_cache_dir("", "").has_value());
  EXPECT_FALSE(link_model_cache_dir("cache", "home").has_value());
}

TEST(LinkModelCacheDir, ReadsTheEnvironment) {
  ScopedEnv xdg("XDG_CACHE_HOME", "/from/env");
  EXPECT_EQ(link_model_cache_dir(), fs::path("/from/env/ghtier"));
  ScopedEnv no_xdg("XDG_CACHE_HOME", nullptr);
  ScopedEnv home("HOME", "/home/env");
  EXPECT_EQ(link_model_cache_dir(), fs::path("/home/env/.cache/ghtier"));
}

TEST(LinkModelCacheKey, FileNameHoldsUuidAndDriver) {
  const DeviceAttributes a = pcie_device("GPU-0a1b2c3d-0000-1111-2222-333344445555", "580.65.06");
  EXPECT_EQ(link_model_cache_file_name(a), "link-GPU-0a1b2c3d-0000-1111-2222-333344445555-driver-580.65.06.json");
}

TEST(LinkModelCacheKey, DifferentDeviceOrDriverDifferentFile) {
  const std::string base = link_model_cache_file_name(pcie_device("GPU-a", "580.65.06"));
  EXPECT_NE(base, link_model_cache_file_name(pcie_device("GPU-b", "580.65.06")));
  EXPECT_NE(base, link_model_cache_file_name(pcie_device("GPU-a", "580.82.07")));
  EXPECT_EQ(base, link_model_cache_file_name(pcie_device("GPU-a", "580.65.06")));
}

TEST(LinkModelCacheKey, UnsafeCharactersCannotLeaveTheFolder) {
  const std::string name = link_model_cache_file_name(pcie_device("../../etc/x", "1 2/3"));
  EXPECT_EQ(name.find('/'), std::string::npos) << name;
  EXPECT_EQ(name.find(' '), std::string::npos) << name;
  EXPECT_EQ(fs::path(name).filename().string(), name);
}

TEST(LinkModelCacheKey, ProfileAttributesHaveNoKey) {
  EXPECT_GHTIER_ERROR((void)link_model_cache_file_name(platform_profile("gh200-c2c").attributes),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)link_model_cache_file_name(pcie_device("GPU-a", "")), ErrorCode::invalid_argument);
  EXPECT_FALSE(link_model_cache_file(platform_profile("gh200-c2c").attributes, fs::path("/c")).has_value());
  EXPECT_FALSE(link_model_cache_file(pcie_device("GPU-a", "1.0"), std::nullopt).has_value());
  EXPECT_EQ(link_model_cache_file(pcie_device("GPU-a", "1.0"), fs::path("/c")),
            fs::path("/c") / link_model_cache_file_name(pcie_device("GPU-a", "1.0")));
}

TEST(CachedLinkModelFile, MissingFileIsMissingNotAnError) {
  TemporaryFolder folder;
  const CachedLinkModel cached = read_cached_link_model(folder.path() / "nothing.json");
  EXPECT_EQ(cached.status, CachedLinkModel::Status::missing);
  EXPECT_TRUE(cached.message.empty());
}

TEST(CachedLinkModelFile, WrittenThenReadBackExactly) {
  TemporaryFolder folder;
  auto rng = test::fresh_rng();
  const LinkModel link = random_link(rng);
  const fs::path file = folder.path() / "deeper" / "still" / "link.json";  // folders are created
  write_cached_link_model(link, file);
  const CachedLinkModel cached = read_cached_link_model(file);
  ASSERT_EQ(cached.status, CachedLinkModel::Status::loaded) << cached.message;
  for (LinkFigure f : all_link_figures) EXPECT_EQ(figure_of(cached.link, f), figure_of(link, f)) << to_string(f);
  EXPECT_NE(cached.link.source.find(file.string()), std::string::npos) << cached.link.source;
  // No temporary file is left beside it.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(file.parent_path())) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST(CachedLinkModelFile, CorruptFilesAreUnreadableWithAReason) {
  TemporaryFolder folder;
  auto rng = test::fresh_rng();
  const std::string valid = to_json(random_link(rng));
  const std::vector<std::string> corrupt{
      "",
      "{",
      "not json at all",
      valid.substr(0, valid.size() / 2),
      R"({"h2d_gbps": 55})",
      R"([1, 2, 3])",
      std::string(valid).replace(valid.find("h2d_gbps"), 8, "h2d_gbpX"),
      std::string("\xff\xfe\x00\x01", 4),
  };
  for (std::size_t i = 0; i < corrupt.size(); ++i) {
    const fs::path file = folder.path() / ("corrupt" + std::to_string(i) + ".json");
    write_text(file, corrupt[i]);
    const CachedLinkModel cached = read_cached_link_model(file);
    EXPECT_EQ(cached.status, CachedLinkModel::Status::unreadable) << "case " << i;
    EXPECT_NE(cached.message.find(file.string()), std::string::npos) << cached.message;
  }
  // A folder where the file should be.
  fs::create_directories(folder.path() / "a_folder.json");
  EXPECT_EQ(read_cached_link_model(folder.path() / "a_folder.json").status, CachedLinkModel::Status::unreadable);
}

TEST(CachedLinkModelFile, UnwritableFolderIsAnIoError) {
  TemporaryFolder folder;
  write_text(folder.path() / "plain_file", "x");
  auto rng = test::fresh_rng();
  EXPECT_GHTIER_ERROR(write_cached_link_model(random_link(rng), folder.path() / "plain_file" / "link.json"),
                      ErrorCode::io_error);
}

TEST(SelectLinkModel, EachChoiceAndCacheState) {
  auto rng = test::fresh_rng();
  LinkModel profile = random_link(rng);
  profile.source = "profile pcie-gen5";
  CachedLinkModel loaded{CachedLinkModel::Status::loaded, random_link(rng), {}};
  CachedLinkModel missing;
  CachedLinkModel unreadable{CachedLinkModel::Status::unreadable, {}, "'/c/x.json': bad JSON"};

  auto sel = select_link_model(LinkModelChoice::calibrated, loaded, profile);
  EXPECT_EQ(sel.link.h2d_gbps, loaded.link.h2d_gbps);
  EXPECT_TRUE(sel.warning.empty());

  sel = select_link_model(LinkModelChoice::calibrated, missing, profile);
  EXPECT_EQ(sel.link.h2d_gbps, profile.h2d_gbps);
  EXPECT_TRUE(sel.warning.empty()) << "no calibration yet is normal, not a warning";

  sel = select_link_model(LinkModelChoice::calibrated, unreadable, profile);
  EXPECT_EQ(sel.link.h2d_gbps, profile.h2d_gbps);
  EXPECT_NE(sel.warning.find("/c/x.json"), std::string::npos) << sel.warning;
  EXPECT_NE(sel.warning.find("profile pcie-gen5"), std::string::npos) << sel.warning;

  for (const CachedLinkModel* cached : {&loaded, &missing, &unreadable}) {
    sel = select_link_model(LinkModelChoice::profile, *cached, profile);
    EXPECT_EQ(sel.link.h2d_gbps, profile.h2d_gbps);
    EXPECT_TRUE(sel.warning.empty());
  }
  EXPECT_GHTIER_ERROR((void)select_link_model(LinkModelChoice::environment, loaded, profile),
                      ErrorCode::invalid_argument);
}

TEST(LinkModelChoiceParse, AcceptsTheTwoNamesAndUnset) {
  EXPECT_EQ(parse_link_model_choice(nullptr), LinkModelChoice::calibrated);
  EXPECT_EQ(parse_link_model_choice(""), LinkModelChoice::calibrated);
  EXPECT_EQ(parse_link_model_choice("calibrated"), LinkModelChoice::calibrated);
  EXPECT_EQ(parse_link_model_choice("profile"), LinkModelChoice::profile);
  try {
    (void)parse_link_model_choice("Profile ");
    ADD_FAILURE() << "a misspelt value must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("GHTIER_LINK_MODEL"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Profile "), std::string::npos) << e.what();
  }
  {
    ScopedEnv env("GHTIER_LINK_MODEL", "profile");
    EXPECT_EQ(resolve_link_model_choice(LinkModelChoice::environment), LinkModelChoice::profile);
    EXPECT_EQ(resolve_link_model_choice(LinkModelChoice::calibrated), LinkModelChoice::calibrated);
  }
  ScopedEnv unset("GHTIER_LINK_MODEL", nullptr);
  EXPECT_EQ(resolve_link_model_choice(LinkModelChoice::environment), LinkModelChoice::calibrated);
}

// The whole path a runtime takes, on made-up attributes and a cache folder of the test's own.
TEST(DefaultLinkModel, CachedCalibrationElseProfileNeverACrash) {
  TemporaryFolder folder;
  ScopedEnv xdg("XDG_CACHE_HOME", folder.path().c_str());
  ScopedEnv choice("GHTIER_LINK_MODEL", nullptr);
  auto rng = test::fresh_rng();
  const DeviceAttributes device = pcie_device("GPU-11112222-3333-4444-5555-666677778888", "580.65.06");
  const LinkModel profile = platform_profile("pcie-gen5").link;

  // No file yet: the class profile.
  EXPECT_EQ(default_link_model(device).source, profile.source);

  // A calibration in the cache: used.
  const LinkModel calibrated = random_link(rng);
  const fs::path file = *link_model_cache_file(device);
  EXPECT_EQ(file.parent_path(), folder.path() / "ghtier");
  write_cached_link_model(calibrated, file);
  LinkModel used = default_link_model(device);
  EXPECT_EQ(used.sm_read_gbps, calibrated.sm_read_gbps);
  EXPECT_NE(used.source.find("calibrated"), std::string::npos) << used.source;

  // Another driver: not this calibration.
  EXPECT_EQ(default_link_model(pcie_device(device.uuid, "590.1")).source, profile.source);

  // Opted out: the profile, whatever the cache holds.
  {
    ScopedEnv opt_out("GHTIER_LINK_MODEL", "profile");
    EXPECT_EQ(default_link_model(device).source, profile.source);
  }
  EXPECT_EQ(default_link_model(device, LinkModelChoice::profile).source, profile.source);

  // Corrupt: a warning naming the file, and the profile.
  write_text(file, "{\"h2d_gbps\": ");
  CapturedLog log;
  used = default_link_model(device);
  EXPECT_EQ(used.source, profile.source);
  const auto warnings = log.warnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(file.string()), std::string::npos) << warnings[0];
}

TEST(NvidiaDriverVersion, ParsesTheProcFile) {
  EXPECT_EQ(parse_nvidia_driver_version("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 "
                                        "22:23:56 UTC 2024\nGCC version:  gcc version 12.2.0\n"),
            "550.54.15");
  EXPECT_EQ(parse_nvidia_driver_version("NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  580.65.06  "
                                        "Release Build  (dvs-builder@U16)  Sun Jul 27 2025\n"),
            "580.65.06");
  EXPECT_FALSE(parse_nvidia_driver_version("").has_value());
  EXPECT_FALSE(parse_nvidia_driver_version("GCC version: 12.2.0\n").has_value());
  EXPECT_FALSE(parse_nvidia_driver_version("NVRM version: NVIDIA UNIX x86_64 Kernel Module\n").has_value());
}
