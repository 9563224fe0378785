// `ghtier info`: reads the device (or a profile) with its link model (the device's cached calibration,
// measured and cached first where there is none; --calibrate measures again), and prints the report.
// Without a device it says so with CUDA's text and exits with exit_no_device.
#include <cuda_runtime_api.h>

#include <optional>

#include <fmt/format.h>

#include "commands.hpp"
#include "core/platform/topology.hpp"
#include "core/support/cuda_check.hpp"
#include "exit_status.hpp"
#include "ghtier/error.hpp"
#include "ghtier/platform/link_model.hpp"
#include "ghtier/platform/link_model_cache.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier::tools {

CudaVersions query_cuda_versions() noexcept {
  CudaVersions versions;
  versions.built_with = CUDART_VERSION;
  try {
    GHTIER_CUDA_CHECK(cudaRuntimeGetVersion(&versions.runtime));
  } catch (const Error&) {
    versions.runtime = 0;
  }
  try {
    // Reports 0 (not an error) where no driver is installed.
    GHTIER_CUDA_CHECK(cudaDriverGetVersion(&versions.driver));
  } catch (const Error&) {
    versions.driver = 0;
  }
  return versions;
}

int run_info(const InfoOptions& options, std::ostream& out, std::ostream& err) {
  const CudaVersions versions = query_cuda_versions();
  Platform platform;
  InfoSubject subject;
  if (options.assume) {
    const PlatformProfile& profile = platform_profile(*options.assume);
    platform = assume_platform(profile.name);
    subject = {fmt::format("profile {}: {}", profile.name, profile.description), true};
  } else {
    DeviceAttributes attributes;
    try {
      attributes = query_device_attributes(options.device);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::no_device) throw;
      if (options.json) {
        out << format_no_device_json(e.what(), versions);
        err << "ghtier info: " << e.what() << '\n';
      } else {
        out << format_no_device_text(e.what(), versions);
      }
      return exit_no_device;
    }
    const LinkModelChoice choice = resolve_link_model_choice(LinkModelChoice::environment);
    const auto cache_file = link_model_cache_file(attributes);
    const bool cached = cache_file && read_cached_link_model(*cache_file).status == CachedLinkModel::Status::loaded;
    if (options.calibrate || (choice == LinkModelChoice::calibrated && !cached && !options.link_file)) {
      err << fmt::format("ghtier info: calibrating the link of device {}{} ...", options.device,
                         cache_file ? fmt::format(" (cached in {})", cache_file->string()) : std::string())
          << std::endl;
      LinkModel link = recalibrate_link_model(attributes);
      if (options.save_file) save_link_model(link, *options.save_file);
      platform = classify(attributes, std::move(link));
    } else {
      platform = classify(attributes, default_link_model(attributes, choice));
    }
    subject = {fmt::format("device {}", options.device), false};
  }
  if (options.link_file) {
    try {
      platform.link = load_link_model(*options.link_file);
    } catch (const Error& e) {
      // The parser's message gives the offset, not the file: name it.
      throw_error(e.code(), fmt::format("--link {}: {}", *options.link_file, e.what()), e.cuda_status());
    }
  }

  // The host's GPUs, NUMA nodes and peer links: only for a real device (a profile describes no host). A
  // failing topology query leaves the section out with a warning rather than losing the report.
  std::optional<detail::SystemTopology> topology;
  if (!options.assume) {
    try {
      topology = detail::query_system_topology();
    } catch (const Error& e) {
      err << "ghtier info: the topology section is left out: " << e.what() << '\n';
    }
  }
  const detail::SystemTopology* shown = topology ? &*topology : nullptr;
  out << (options.json ? format_info_json(platform, subject, versions, shown)
                       : format_info_text(platform, subject, versions, shown));
  if (options.save_file) {
    // On stderr, so that --json output stays one JSON document.
    err << fmt::format("ghtier info: link model saved to {} (later: ghtier info --link {})\n", *options.save_file,
                       *options.save_file);
  }
  return exit_ok;
}

}  // namespace ghtier::tools
