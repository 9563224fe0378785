// Parsing of the `ghtier` command line and its help text.
#include "cli_options.hpp"

#include <charconv>
#include <regex>

#include <fmt/format.h>

#include "ghtier/error.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier::tools {

namespace {

// One argument split into a flag name and a value written as --flag=value (if it was).
struct FlagArgument {
  std::string_view name;
  std::optional<std::string_view> inline_value;
};

FlagArgument split_flag(std::string_view arg) {
  if (arg.starts_with("--")) {
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      return {arg.substr(0, eq), arg.substr(eq + 1)};
    }
  }
  return {arg, std::nullopt};
}

class ArgumentCursor {
 public:
  explicit ArgumentCursor(std::span<const std::string_view> args) : args_(args) {}
  [[nodiscard]] bool done() const noexcept { return index_ >= args_.size(); }
  std::string_view next() { return args_[index_++]; }

  // The value of a flag: inline (--flag=VALUE) or the next argument (--flag VALUE). A following argument
  // that is itself a flag is not taken as the value: `--json --quick` is a forgotten file name.
  std::string take_value(const FlagArgument& flag, std::string_view what) {
    if (flag.inline_value) {
      if (flag.inline_value->empty()) throw UsageError(fmt::format("{} needs {}, got an empty value", flag.name, what));
      return std::string(*flag.inline_value);
    }
    if (done()) throw UsageError(fmt::format("{} needs {} after it", flag.name, what));
    const std::string_view value = next();
    if (value.starts_with("--")) {
      throw UsageError(fmt::format("{} needs {}, got the flag '{}' (write {}={} if that is really the value)",
                                   flag.name, what, value, flag.name, value));
    }
    if (value.empty()) throw UsageError(fmt::format("{} needs {}, got an empty value", flag.name, what));
    return std::string(value);
  }

 private:
  std::span<const std::string_view> args_;
  std::size_t index_ = 0;
};

void refuse_inline_value(const FlagArgument& flag) {
  if (flag.inline_value) throw UsageError(fmt::format("{} takes no value, got '{}'", flag.name, *flag.inline_value));
}

void mark_once(bool& seen, std::string_view flag) {
  if (seen) throw UsageError(fmt::format("{} given twice", flag));
  seen = true;
}

int parse_device(std::string_view text, std::string_view flag) {
  int device = -1;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, device);
  if (ec != std::errc() || ptr != end || device < 0 || device > 4095) {
    throw UsageError(fmt::format("{} expects a device index (0, 1, ...), got '{}'", flag, text));
  }
  return device;
}

bool is_help_flag(std::string_view arg) { return arg == "--help" || arg == "-h"; }

[[noreturn]] void unknown_argument(std::string_view arg, std::string_view command) {
  if (arg.starts_with("-")) {
    throw UsageError(fmt::format("unknown flag '{}' for 'ghtier {}' (see ghtier {} --help)", arg, command, command));
  }
  throw UsageError(
      fmt::format("unexpected argument '{}' for 'ghtier {}' (see ghtier {} --help)", arg, command, command));
}

Command parse_info(ArgumentCursor& cursor) {
  InfoOptions options;
  bool seen_json = false, seen_assume = false, seen_device = false, seen_link = false, seen_calibrate = false,
       seen_save = false;
  while (!cursor.done()) {
    const std::string_view arg = cursor.next();
    if (is_help_flag(arg)) return HelpRequest{"info"};
    const FlagArgument flag = split_flag(arg);
    if (flag.name == "--json") {
      refuse_inline_value(flag);
      mark_once(seen_json, flag.name);
      options.json = true;
    } else if (flag.name == "--assume") {
      mark_once(seen_assume, flag.name);
      std::string name = cursor.take_value(flag, "a platform profile name");
      try {
        (void)platform_profile(name);  // a current name or a deprecated alias
      } catch (const Error& e) {
        throw UsageError(fmt::format("--assume: {}", e.what()));
      }
      options.assume = std::move(name);
    } else if (flag.name == "--device") {
      mark_once(seen_device, flag.name);
      options.device = parse_device(cursor.take_value(flag, "a device index"), flag.name);
    } else if (flag.name == "--link") {
      mark_once(seen_link, flag.name);
      options.link_file = cursor.take_value(flag, "a file name (a link model saved by --calibrate --save)");
    } else if (flag.name == "--calibrate") {
      refuse_inline_value(flag);
      mark_once(seen_calibrate, flag.name);
      options.calibrate = true;
    } else if (flag.name == "--save") {
      mark_once(seen_save, flag.name);
      options.save_file = cursor.take_value(flag, "a file name");
    } else {
      unknown_argument(arg, "info");
    }
  }
  if (options.save_file && !options.calibrate) {
    throw UsageError("--save FILE needs --calibrate (it saves the link model that --calibrate measures)");
  }
  if (options.calibrate && options.assume) {
    throw UsageError("--calibrate measures a real device; it cannot be combined with --assume");
  }
  if (options.calibrate && options.link_file) {
    throw UsageError("--calibrate and --link both set the link model; give one of them");
  }
  if (seen_device && options.assume) {
    throw UsageError("--device selects a real device; it cannot be combined with --assume");
  }
  return options;
}

Command parse_bench(ArgumentCursor& cursor) {
  BenchCommandOptions options;
  bool seen_quick = false, seen_json = false, seen_filter = false, seen_device = false;
  while (!cursor.done()) {
    const std::string_view arg = cursor.next();
    if (is_help_flag(arg)) return HelpRequest{"bench"};
    const FlagArgument flag = split_flag(arg);
    if (flag.name == "--quick") {
      refuse_inline_value(flag);
      mark_once(seen_quick, flag.name);
      options.quick = true;
    } else if (flag.name == "--json") {
      mark_once(seen_json, flag.name);
      options.json_file = cursor.take_value(flag, "a file name for the JSON results");
    } else if (flag.name == "--filter") {
      mark_once(seen_filter, flag.name);
      std::string filter = cursor.take_value(flag, "a regular expression over case names");
      try {
        // Google Benchmark matches names with POSIX extended regular expressions: check the same grammar.
        (void)std::regex(filter, std::regex::extended);
      } catch (const std::regex_error& e) {
        throw UsageError(fmt::format("--filter: '{}' is not a valid regular expression ({})", filter, e.what()));
      }
      options.filter = std::move(filter);
    } else if (flag.name == "--device") {
      mark_once(seen_device, flag.name);
      options.device = parse_device(cursor.take_value(flag, "a device index"), flag.name);
    } else {
      unknown_argument(arg, "bench");
    }
  }
  return options;
}

}  // namespace

Command parse_command_line(std::span<const std::string_view> args) {
  ArgumentCursor cursor(args);
  if (cursor.done()) throw UsageError("missing command: give one of info, bench, plan, version, help");
  const std::string_view command = cursor.next();
  if (command == "info") return parse_info(cursor);
  if (command == "bench") return parse_bench(cursor);
  if (command == "plan") {
    if (cursor.done()) throw UsageError("plan needs a workload: ghtier plan activations [FLAGS]");
    const std::string_view workload = cursor.next();
    const auto rest = args.subspan(2);
    for (std::string_view arg : rest) {
      if (is_help_flag(arg)) return HelpRequest{"plan"};
    }
    if (workload == "activations") return parse_plan_activations(rest);
    if (workload == "weights") return parse_plan_weights(rest);
    if (workload == "kv-cache") return parse_plan_kv_cache(rest);
    if (is_help_flag(workload)) return HelpRequest{"plan"};
    throw UsageError(
        fmt::format("unknown workload '{}' for 'ghtier plan' (known: activations, weights, kv-cache)", workload));
  }
  if (command == "version" || command == "--version") {
    if (!cursor.done()) throw UsageError(fmt::format("unexpected argument '{}' after '{}'", cursor.next(), command));
    return VersionRequest{};
  }
  if (command == "help" || is_help_flag(command)) {
    HelpRequest help;
    if (!cursor.done()) {
      const std::string_view topic = cursor.next();
      if (topic != "info" && topic != "bench" && topic != "plan") {
        throw UsageError(fmt::format("no help for '{}': ask for help on info, bench or plan", topic));
      }
      help.topic = std::string(topic);
    }
    if (!cursor.done()) throw UsageError(fmt::format("unexpected argument '{}' after 'help'", cursor.next()));
    return help;
  }
  if (command.starts_with("-")) {
    throw UsageError(
        fmt::format("unknown flag '{}': a command comes first (info, bench, plan, version, help)", command));
  }
  throw UsageError(fmt::format("unknown command '{}': give one of info, bench, plan, version, help", command));
}

std::string usage_text(std::string_view topic) {
  static constexpr std::string_view exit_statuses =
      "Exit status:\n"
      "  0  done\n"
      "  1  bad arguments (the message names the argument)\n"
      "  2  no CUDA device is visible, or --device N does not exist\n"
      "  3  a ghtier or CUDA error while running (e.g. a --link file that cannot be read)\n"
      "  4  ghtier bench: some benchmark cases failed (the summary table lists them)\n";
  if (topic == "info") {
    return fmt::format(
        "Usage: ghtier info [--json] [--assume PROFILE] [--device N] [--link FILE] [--calibrate [--save FILE]]\n"
        "\n"
        "Describes the platform of one CUDA device: the device (name, compute capability, SMs, HBM, copy\n"
        "engines, host NUMA node), how the GPU reaches host memory (ATS over C2C, HMM or none), what each\n"
        "memory mode is there, the link model, and the mechanism ghtier uses for every move between modes.\n"
        "\n"
        "  --json            print JSON instead of text\n"
        "  --assume PROFILE  describe a built-in profile instead of a device; no GPU needed ({})\n"
        "  --device N        the CUDA device to describe (default 0)\n"
        "  --link FILE       use the link model saved in FILE instead of the device's calibration\n"
        "  --calibrate       measure the link model on the device again (about 2 s) and cache it\n"
        "  --save FILE       with --calibrate: also save the measured model to FILE (later: --link FILE)\n"
        "\n"
        "A device's link model is calibrated once per device and driver and cached in\n"
        "$XDG_CACHE_HOME/ghtier (else ~/.cache/ghtier); the first `ghtier info` or `ghtier bench` on a device\n"
        "measures it. GHTIER_LINK_MODEL=profile uses the built-in profile of the device's class instead.\n"
        "\n{}",
        known_platform_profile_names(), exit_statuses);
  }
  if (topic == "plan") return plan_usage_text() + "\n" + plan_kv_cache_usage_text();
  if (topic == "bench") {
    return fmt::format(
        "Usage: ghtier bench [--quick] [--json FILE] [--filter REGEX] [--device N]\n"
        "\n"
        "Runs the bundled benchmark suites (Google Benchmark) on one device, prints one line per finished\n"
        "case, then a table that puts each result beside its ceiling (GB/s) or baseline (us) with the ratio.\n"
        "Link ceilings are measured in the same run, next to the cases that use them; a case above 1.05x of\n"
        "its ceiling is flagged `suspect` (the ceiling or the case is wrong). See docs/benchmarks.md.\n"
        "\n"
        "  --quick           the short suite (fewer sizes and repeats; what scripts/run uses)\n"
        "  --json FILE       write Google Benchmark's JSON of every case to FILE (bench/plot.py reads it)\n"
        "  --filter REGEX    run only cases whose name matches (POSIX extended regex), e.g. 'memcpy/pinned'\n"
        "  --device N        the CUDA device to benchmark (default 0)\n"
        "\n{}",
        exit_statuses);
  }
  return fmt::format(
      "Usage: ghtier COMMAND [FLAGS]\n"
      "\n"
      "ghtier places and moves data across the memory tiers of a GPU system (GH200, or x86 + Hopper).\n"
      "\n"
      "Commands:\n"
      "  info      what ghtier sees on this machine (or on a profile: ghtier info --assume gh200-c2c)\n"
      "  bench     run the benchmark suites with a summary table\n"
      "  plan      plan a workload on a profile, no GPU needed: ghtier plan activations --profile gh200-c2c\n"
      "  version   print ghtier's version\n"
      "  help      this text; `ghtier help info` or `ghtier help bench` for a command's flags\n"
      "\n{}",
      exit_statuses);
}

}  // namespace ghtier::tools
