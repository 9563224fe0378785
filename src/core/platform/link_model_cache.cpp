// The on-disk cache of calibrated link models: where it lives, how a device's file is named, reading it
// without ever failing on a bad file, and the choice between it and a built-in profile.
#include "ghtier/platform/link_model_cache.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "core/support/log.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {

std::string safe_file_part(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const bool keep =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!keep) c = '_';
  }
  return out;
}

std::optional<std::filesystem::path> absolute_dir(const char* value) {
  if (value == nullptr || *value == '\0') return std::nullopt;
  std::filesystem::path path(value);
  if (!path.is_absolute()) return std::nullopt;
  return path;
}

// The profile that stands in for a calibration: the one of the device's class.
LinkModel class_profile_link(const DeviceAttributes& attributes) { return classify(attributes).link; }

}  // namespace

LinkModelChoice parse_link_model_choice(const char* value) {
  if (value == nullptr) return LinkModelChoice::calibrated;
  const std::string_view text(value);
  if (text.empty() || text == "calibrated") return LinkModelChoice::calibrated;
  if (text == "profile") return LinkModelChoice::profile;
  throw_error(ErrorCode::invalid_argument,
              fmt::format("GHTIER_LINK_MODEL must be \"calibrated\" (the default: this device's cached calibration) or "
                          "\"profile\" (the built-in profile of its class), got \"{}\"",
                          text));
}

LinkModelChoice resolve_link_model_choice(LinkModelChoice choice) {
  if (choice != LinkModelChoice::environment) return choice;
  return parse_link_model_choice(std::getenv("GHTIER_LINK_MODEL"));
}

std::optional<std::filesystem::path> link_model_cache_dir(const char* xdg_cache_home, const char* home) {
  if (auto xdg = absolute_dir(xdg_cache_home)) return *xdg / "ghtier";
  if (auto h = absolute_dir(home)) return *h / ".cache" / "ghtier";
  return std::nullopt;
}

std::optional<std::filesystem::path> link_model_cache_dir() {
  return link_model_cache_dir(std::getenv("XDG_CACHE_HOME"), std::getenv("HOME"));
}

std::string link_model_cache_file_name(const DeviceAttributes& attributes) {
  if (attributes.uuid.empty() || attributes.driver_version.empty()) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("link model cache: device '{}' has no {} to key its calibration by", attributes.name,
                            attributes.uuid.empty() ? "UUID" : "driver version"));
  }
  return fmt::format("link-{}-driver-{}.json", safe_file_part(attributes.uuid),
                     safe_file_part(attributes.driver_version));
}

CachedLinkModel read_cached_link_model(const std::filesystem::path& file) {
  CachedLinkModel result;
  std::error_code ec;
  const bool exists = std::filesystem::exists(file, ec);
  if (ec) {
    result.status = CachedLinkModel::Status::unreadable;
    result.message = fmt::format("cannot look at '{}': {}", file.string(), ec.message());
    return result;
  }
  if (!exists) return result;  // missing
  try {
    result.link = load_link_model(file);
    result.link.source = fmt::format("calibrated, cached in {}", file.string());
    result.status = CachedLinkModel::Status::loaded;
  } catch (const std::exception& e) {
    result.status = CachedLinkModel::Status::unreadable;
    result.message = fmt::format("'{}': {}", file.string(), e.what());
  }
  return result;
}

void write_cached_link_model(const LinkModel& link, const std::filesystem::path& file) {
  std::error_code ec;
  if (file.has_parent_path()) {
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec) {
      throw_error(ErrorCode::io_error, fmt::format("cannot create the link model cache folder '{}': {}",
                                                   file.parent_path().string(), ec.message()));
    }
  }
  // A name of this process's own, so that two processes calibrating at once never write the same temporary.
  std::filesystem::path temporary = file;
  temporary += fmt::format(".tmp{}", static_cast<long>(::getpid()));
  LinkModel saved = link;
  saved.source = "calibrated";
  try {
    save_link_model(saved, temporary);
  } catch (...) {
    std::filesystem::remove(temporary, ec);
    throw;
  }
  std::filesystem::rename(temporary, file, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw_error(ErrorCode::io_error,
                fmt::format("cannot move '{}' to '{}': {}", temporary.string(), file.string(), ec.message()));
  }
}

LinkModelSelection select_link_model(LinkModelChoice choice, const CachedLinkModel& cached, const LinkModel& profile) {
  if (choice == LinkModelChoice::environment) {
    throw_error(ErrorCode::invalid_argument, "select_link_model: resolve the choice first (calibrated or profile)");
  }
  if (choice == LinkModelChoice::profile) return {profile, {}};
  switch (cached.status) {
    case CachedLinkModel::Status::loaded: return {cached.link, {}};
    case CachedLinkModel::Status::missing: return {profile, {}};
    case CachedLinkModel::Status::unreadable:
      return {profile, fmt::format("ignoring the cached link model {}; using {} (`ghtier info --calibrate` measures "
                                   "and caches it again)",
                                   cached.message, profile.source.empty() ? "the built-in profile" : profile.source)};
  }
  return {profile, {}};
}

std::optional<std::filesystem::path> link_model_cache_file(const DeviceAttributes& attributes,
                                                           const std::optional<std::filesystem::path>& cache_dir) {
  if (!cache_dir || attributes.uuid.empty() || attributes.driver_version.empty()) return std::nullopt;
  return *cache_dir / link_model_cache_file_name(attributes);
}

LinkModel default_link_model(const DeviceAttributes& attributes, LinkModelChoice choice) {
  choice = resolve_link_model_choice(choice);
  const LinkModel profile = class_profile_link(attributes);
  if (choice == LinkModelChoice::profile) return profile;
  const auto file = link_model_cache_file(attributes);
  if (!file) return profile;
  LinkModelSelection selection = select_link_model(choice, read_cached_link_model(*file), profile);
  if (!selection.warning.empty()) log(LogLevel::warn, "{}", selection.warning);
  return std::move(selection.link);
}

LinkModel recalibrate_link_model(const DeviceAttributes& attributes, const CalibrationOptions& options) {
  LinkModel link = calibrate(attributes.device, options);
  const auto file = link_model_cache_file(attributes);
  if (!file) {
    log(LogLevel::warn, "the link model of device {} is not cached: {}", attributes.device,
        attributes.uuid.empty() ? "the device reports no UUID" : "neither XDG_CACHE_HOME nor HOME is an absolute path");
    return link;
  }
  try {
    write_cached_link_model(link, *file);
    link.source = fmt::format("calibrated, cached in {}", file->string());
  } catch (const Error& e) {
    log(LogLevel::warn, "the link model of device {} is not cached: {}", attributes.device, e.what());
  }
  return link;
}

LinkModel cached_or_calibrated_link_model(const DeviceAttributes& attributes, LinkModelChoice choice) {
  choice = resolve_link_model_choice(choice);
  if (choice == LinkModelChoice::profile) return class_profile_link(attributes);
  if (const auto file = link_model_cache_file(attributes)) {
    CachedLinkModel cached = read_cached_link_model(*file);
    if (cached.status == CachedLinkModel::Status::loaded) return std::move(cached.link);
    if (cached.status == CachedLinkModel::Status::unreadable) {
      log(LogLevel::warn, "ignoring the cached link model {}; measuring it again", cached.message);
    }
  }
  return recalibrate_link_model(attributes);
}

std::optional<std::string> parse_nvidia_driver_version(std::string_view proc_text) {
  const std::size_t line_end = proc_text.find('\n');
  std::string_view line = proc_text.substr(0, line_end);
  const std::size_t module = line.find("Kernel Module");
  if (module == std::string_view::npos) return std::nullopt;
  std::istringstream words{std::string(line.substr(module))};
  std::string word;
  while (words >> word) {
    bool digits_and_dots = !word.empty() && word.front() >= '0' && word.front() <= '9';
    bool has_dot = false;
    for (char c : word) {
      has_dot = has_dot || c == '.';
      digits_and_dots = digits_and_dots && ((c >= '0' && c <= '9') || c == '.');
    }
    if (digits_and_dots && has_dot) return word;
  }
  return std::nullopt;
}

}  // namespace ghtier
