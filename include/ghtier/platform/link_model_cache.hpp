// The link model a real device uses by default: its own calibration, measured once per device and driver and
// cached on disk, else the built-in profile of its class. Reading the cache never measures anything, so the
// runtime pays a file read at most; `ghtier info` and `ghtier bench` measure and save when the file is absent.
#pragma once

#include "ghtier/export.h"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "ghtier/platform/link_model.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier {

/// Which link model a device's platform carries.
enum class LinkModelChoice {
  environment,  ///< what GHTIER_LINK_MODEL says: "calibrated" (also when unset or empty) or "profile"
  calibrated,   ///< the device's cached calibration when there is one, else its class's profile
  profile,      ///< the built-in profile of the device's class, never the cache
};

/// "calibrated" -> calibrated, "profile" -> profile, null or "" -> calibrated. Throws Error(invalid_argument)
/// naming GHTIER_LINK_MODEL and the accepted values for anything else.
[[nodiscard]] GHTIER_API LinkModelChoice parse_link_model_choice(const char* value);
/// environment -> parse_link_model_choice(getenv("GHTIER_LINK_MODEL")); other choices as they are.
[[nodiscard]] GHTIER_API LinkModelChoice resolve_link_model_choice(LinkModelChoice choice);

/// The folder of cached calibrations: <xdg_cache_home>/ghtier when that is an absolute path (the XDG base
/// directory rule), else <home>/.cache/ghtier when home is absolute; nullopt when neither is usable (then
/// nothing is cached). Pure: the arguments are the environment's values (null = unset).
[[nodiscard]] GHTIER_API std::optional<std::filesystem::path> link_model_cache_dir(const char* xdg_cache_home,
                                                                                   const char* home);
/// link_model_cache_dir(getenv("XDG_CACHE_HOME"), getenv("HOME")).
[[nodiscard]] GHTIER_API std::optional<std::filesystem::path> link_model_cache_dir();

/// The file that holds the calibration of one device under one driver:
/// "link-<uuid>-driver-<driver version>.json", with every character other than [A-Za-z0-9._-] written as '_'.
/// Throws Error(invalid_argument) when attributes.uuid or attributes.driver_version is empty (a profile's
/// attributes: nothing to key a calibration by).
[[nodiscard]] GHTIER_API std::string link_model_cache_file_name(const DeviceAttributes& attributes);

/// What reading a cache file found.
struct GHTIER_API CachedLinkModel {
  enum class Status {
    loaded,      ///< `link` holds the file's model (source "calibrated, cached in <file>")
    missing,     ///< there is no such file
    unreadable,  ///< the file exists but cannot be read or is not a valid link model; `message` says why
  };
  Status status = Status::missing;
  LinkModel link;
  std::string message;
};

/// Reads a file written by write_cached_link_model. Never throws for a missing, unreadable or corrupt file.
[[nodiscard]] GHTIER_API CachedLinkModel read_cached_link_model(const std::filesystem::path& file);
/// Creates the folder, writes the model to a temporary file beside `file` and renames it over `file`, so that a
/// process reading at the same time sees the old file or the new one, never half of one. Throws Error(io_error).
GHTIER_API void write_cached_link_model(const LinkModel& link, const std::filesystem::path& file);

/// The model a platform carries, and a warning to log (empty when there is none).
struct GHTIER_API LinkModelSelection {
  LinkModel link;
  std::string warning;
};
/// Pure: `choice` must be resolved (calibrated or profile). profile -> `profile`; calibrated -> the cached
/// model when it loaded, else `profile` (with a warning naming the file when it was unreadable).
[[nodiscard]] GHTIER_API LinkModelSelection select_link_model(LinkModelChoice choice, const CachedLinkModel& cached,
                                                              const LinkModel& profile);

/// The cache file of a device: cache_dir / link_model_cache_file_name(attributes); nullopt without a cache
/// folder or without a uuid and driver version.
[[nodiscard]] GHTIER_API std::optional<std::filesystem::path> link_model_cache_file(
    const DeviceAttributes& attributes, const std::optional<std::filesystem::path>& cache_dir = link_model_cache_dir());

/// The link model of a real device without measuring anything: per `choice`, the cached calibration when
/// present and valid, else the built-in profile of the device's class. A corrupt or unreadable cache file is
/// logged as a warning and ignored, never an error. Throws only Error(invalid_argument) for a bad
/// GHTIER_LINK_MODEL.
[[nodiscard]] GHTIER_API LinkModel default_link_model(const DeviceAttributes& attributes,
                                                      LinkModelChoice choice = LinkModelChoice::environment);

/// Measures the device's link (calibrate()) and writes it to its cache file; a cache that cannot be written
/// is logged as a warning. Throws as calibrate().
[[nodiscard]] GHTIER_API LinkModel recalibrate_link_model(const DeviceAttributes& attributes,
                                                          const CalibrationOptions& options = {});
/// default_link_model(attributes, choice), except that where the choice is `calibrated` and no valid cache
/// file exists, it calibrates and caches first (recalibrate_link_model). For `ghtier info` and `ghtier bench`.
[[nodiscard]] GHTIER_API LinkModel cached_or_calibrated_link_model(
    const DeviceAttributes& attributes, LinkModelChoice choice = LinkModelChoice::environment);

/// The driver's version from the text of /proc/driver/nvidia/version ("... Kernel Module  580.65.06  ...");
/// nullopt when the text holds none. Pure.
[[nodiscard]] GHTIER_API std::optional<std::string> parse_nvidia_driver_version(std::string_view proc_text);

}  // namespace ghtier
