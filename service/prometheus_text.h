#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "push/histogram.h"

namespace herald::service {

// Writes the Prometheus text exposition format 0.0.4: one family at a time
// (Begin: its # HELP and # TYPE lines), then its samples. Label values and
// help text are escaped; numbers are written exactly (integers as
// integers, other values as the shortest text that reads back the same,
// +Inf/-Inf/NaN as Prometheus spells them). Names are the caller's and are
// not checked.
//
// Thread: none; a short-lived object of the thread building one scrape.
class PrometheusText {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string>>;

  // Starts a family; `type` is "counter", "gauge" or "histogram".
  void Begin(std::string_view name, std::string_view type,
             std::string_view help);
  // One sample of the current family (counters and gauges).
  void Sample(const Labels& labels, uint64_t value);
  void Sample(const Labels& labels, double value);
  // One histogram of the current family: its cumulative _bucket series
  // (le="..." after `labels`, ending with le="+Inf"), _sum and _count.
  void Histogram(const Labels& labels, const push::HistogramSnapshot& h);

  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

  // Appends `value` escaped for a label value: \ " and newline.
  static void AppendLabelValue(std::string& out, std::string_view value);
  // Appends `value` as Prometheus reads a float.
  static void AppendNumber(std::string& out, double value);

 private:
  void Line(std::string_view suffix, const Labels& labels,
            std::string_view extra_name, std::string_view extra_value);

  std::string out_;
  std::string family_;
};

}  // namespace herald::service
