#include "service/prometheus_text.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace herald::service {
namespace {

// absl::StrAppend takes absl::string_view, which is not std::string_view
// in Debian's build.
template <typename... Parts>
void Append(std::string& out, const Parts&... parts) {
  (out.append(std::string_view(parts)), ...);
}

}  // namespace

void PrometheusText::Begin(std::string_view name, std::string_view type,
                           std::string_view help) {
  family_ = std::string(name);
  Append(out_, "# HELP ", name, " ");
  for (char c : help) {
    if (c == '\\') {
      out_ += "\\\\";
    } else if (c == '\n') {
      out_ += "\\n";
    } else {
      out_ += c;
    }
  }
  Append(out_, "\n# TYPE ", name, " ", type, "\n");
}

void PrometheusText::AppendLabelValue(std::string& out,
                                      std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void PrometheusText::AppendNumber(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    absl::StrAppend(&out, static_cast<int64_t>(value));
    return;
  }
  char buf[64];
  auto [end, ec] =
      std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::general);
  out.append(buf, ec == std::errc() ? end : buf);
}

void PrometheusText::Line(std::string_view suffix, const Labels& labels,
                          std::string_view extra_name,
                          std::string_view extra_value) {
  Append(out_, family_, suffix);
  if (!labels.empty() || !extra_name.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& [name, value] : labels) {
      if (!first) out_ += ',';
      first = false;
      Append(out_, name, "=\"");
      AppendLabelValue(out_, value);
      out_ += '"';
    }
    if (!extra_name.empty()) {
      if (!first) out_ += ',';
      Append(out_, extra_name, "=\"", extra_value, "\"");
    }
    out_ += '}';
  }
  out_ += ' ';
}

void PrometheusText::Sample(const Labels& labels, uint64_t value) {
  Line("", labels, "", "");
  absl::StrAppend(&out_, value, "\n");
}

void PrometheusText::Sample(const Labels& labels, double value) {
  Line("", labels, "", "");
  AppendNumber(out_, value);
  out_ += '\n';
}

void PrometheusText::Histogram(const Labels& labels,
                               const push::HistogramSnapshot& h) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.bounds.size() && i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    std::string le;
    AppendNumber(le, h.bounds[i]);
    Line("_bucket", labels, "le", le);
    absl::StrAppend(&out_, cumulative, "\n");
  }
  Line("_bucket", labels, "le", "+Inf");
  absl::StrAppend(&out_, h.count, "\n");
  Line("_sum", labels, "", "");
  AppendNumber(out_, h.sum);
  out_ += '\n';
  Line("_count", labels, "", "");
  absl::StrAppend(&out_, h.count, "\n");
}

}  // namespace herald::service
