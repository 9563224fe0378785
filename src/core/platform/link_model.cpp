// LinkModel arithmetic, validation and its JSON form.
#include "ghtier/platform/link_model.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/support/json_object.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {
struct Field {
  const char* name;
  double LinkModel::*member;
};
constexpr Field fields[] = {
    {"h2d_gbps", &LinkModel::h2d_gbps},
    {"d2h_gbps", &LinkModel::d2h_gbps},
    {"bidirectional_gbps", &LinkModel::bidirectional_gbps},
    {"sm_read_gbps", &LinkModel::sm_read_gbps},
    {"sm_write_gbps", &LinkModel::sm_write_gbps},
    {"pageable_h2d_gbps", &LinkModel::pageable_h2d_gbps},
    {"pageable_d2h_gbps", &LinkModel::pageable_d2h_gbps},
    {"hbm_gbps", &LinkModel::hbm_gbps},
    {"latency_us", &LinkModel::latency_us},
};
double LinkModel::*member_of(LinkFigure figure) noexcept {
  switch (figure) {
    case LinkFigure::h2d: return &LinkModel::h2d_gbps;
    case LinkFigure::d2h: return &LinkModel::d2h_gbps;
    case LinkFigure::bidirectional: return &LinkModel::bidirectional_gbps;
    case LinkFigure::sm_read: return &LinkModel::sm_read_gbps;
    case LinkFigure::sm_write: return &LinkModel::sm_write_gbps;
    case LinkFigure::pageable_h2d: return &LinkModel::pageable_h2d_gbps;
    case LinkFigure::pageable_d2h: return &LinkModel::pageable_d2h_gbps;
    case LinkFigure::hbm: return &LinkModel::hbm_gbps;
    case LinkFigure::latency: return &LinkModel::latency_us;
  }
  return &LinkModel::latency_us;
}
}  // namespace

std::string_view to_string(LinkFigure figure) noexcept {
  const auto member = member_of(figure);
  for (const Field& f : fields) {
    if (f.member == member) return f.name;
  }
  return "unknown";
}

double& figure_of(LinkModel& link, LinkFigure figure) noexcept { return link.*member_of(figure); }
double figure_of(const LinkModel& link, LinkFigure figure) noexcept { return link.*member_of(figure); }

double LinkModel::copy_seconds(std::size_t bytes, bool host_to_device) const noexcept {
  const double gbps = host_to_device ? h2d_gbps : d2h_gbps;
  return latency_us * 1e-6 + (gbps > 0 ? static_cast<double>(bytes) / (gbps * 1e9) : 0.0);
}

void LinkModel::validate() const {
  for (const Field& f : fields) {
    const double v = this->*f.member;
    if (!std::isfinite(v) || v <= 0) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("link model: {} must be a positive number, got {}", f.name, v));
    }
  }
}

std::string to_json(const LinkModel& link) {
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  for (const Field& f : fields) json[f.name] = link.*f.member;
  json["source"] = link.source;
  return detail::dump_json_document(json);
}

LinkModel link_model_from_json(std::string_view json) {
  const nlohmann::json values = detail::parse_json_object(json, "link model");
  LinkModel link;
  for (const Field& f : fields) {
    auto it = values.find(f.name);
    if (it == values.end()) {
      throw_error(ErrorCode::invalid_argument, fmt::format("link model JSON lacks \"{}\"", f.name));
    }
    if (!it->is_number()) {
      throw_error(ErrorCode::invalid_argument, fmt::format("link model JSON: \"{}\" is not a number", f.name));
    }
    link.*f.member = it->get<double>();
  }
  if (auto it = values.find("source"); it != values.end() && it->is_string()) link.source = it->get<std::string>();
  link.validate();
  return link;
}

void save_link_model(const LinkModel& link, const std::filesystem::path& path) {
  std::ofstream out(path);
  if (!out) throw_error(ErrorCode::io_error, fmt::format("cannot open '{}' for writing", path.string()));
  out << to_json(link);
  out.close();
  if (!out) throw_error(ErrorCode::io_error, fmt::format("cannot write '{}'", path.string()));
}

LinkModel load_link_model(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw_error(ErrorCode::io_error, fmt::format("cannot open '{}' for reading", path.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  LinkModel link = link_model_from_json(buffer.str());
  if (link.source.empty()) link.source = path.string();
  return link;
}

}  // namespace ghtier
