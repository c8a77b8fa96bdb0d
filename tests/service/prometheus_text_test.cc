#include "service/prometheus_text.h"

#include <array>
#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "push/histogram.h"

namespace herald::service {
namespace {

TEST(PrometheusTextTest, CounterWithLabels) {
  PrometheusText out;
  out.Begin("herald_x_total", "counter", "Things.");
  out.Sample({{"code", "4001"}, {"socket", "main"}}, uint64_t{2});
  out.Sample({}, uint64_t{0});
  EXPECT_EQ(out.text(),
            "# HELP herald_x_total Things.\n"
            "# TYPE herald_x_total counter\n"
            "herald_x_total{code=\"4001\",socket=\"main\"} 2\n"
            "herald_x_total 0\n");
}

TEST(PrometheusTextTest, EscapesLabelValuesAndHelp) {
  PrometheusText out;
  out.Begin("g", "gauge", "a \\ b\nc \"q\"");
  out.Sample({{"l", "x\\y\"z\nw"}}, uint64_t{1});
  EXPECT_EQ(out.text(),
            "# HELP g a \\\\ b\\nc \"q\"\n"
            "# TYPE g gauge\n"
            "g{l=\"x\\\\y\\\"z\\nw\"} 1\n");
}

TEST(PrometheusTextTest, Numbers) {
  auto num = [](double v) {
    std::string s;
    PrometheusText::AppendNumber(s, v);
    return s;
  };
  EXPECT_EQ(num(0), "0");
  EXPECT_EQ(num(12), "12");
  EXPECT_EQ(num(-3), "-3");
  EXPECT_EQ(num(1048576), "1048576");
  EXPECT_EQ(num(0.0001), "0.0001");
  EXPECT_EQ(num(0.25), "0.25");
  EXPECT_EQ(num(1.5), "1.5");
  EXPECT_EQ(num(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(num(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(num(std::nan("")), "NaN");
}

constexpr std::array<double, 3> kBounds = {0.001, 0.5, 2};

TEST(PrometheusTextTest, HistogramIsCumulativeWithInf) {
  push::Histogram h(kBounds);
  h.Observe(0.0009765625);
  h.Observe(0.5);  // le is inclusive
  h.Observe(1.25);
  h.Observe(10);
  PrometheusText out;
  out.Begin("herald_t_seconds", "histogram", "Time.");
  out.Histogram({{"m", "a"}}, h.Read());
  EXPECT_EQ(out.text(),
            "# HELP herald_t_seconds Time.\n"
            "# TYPE herald_t_seconds histogram\n"
            "herald_t_seconds_bucket{m=\"a\",le=\"0.001\"} 1\n"
            "herald_t_seconds_bucket{m=\"a\",le=\"0.5\"} 2\n"
            "herald_t_seconds_bucket{m=\"a\",le=\"2\"} 3\n"
            "herald_t_seconds_bucket{m=\"a\",le=\"+Inf\"} 4\n"
            "herald_t_seconds_sum{m=\"a\"} 11.7509765625\n"
            "herald_t_seconds_count{m=\"a\"} 4\n");
}

TEST(PrometheusTextTest, EmptyHistogramWithoutLabels) {
  push::Histogram h(kBounds);
  PrometheusText out;
  out.Begin("h", "histogram", "H.");
  out.Histogram({}, h.Read());
  EXPECT_EQ(out.text(),
            "# HELP h H.\n"
            "# TYPE h histogram\n"
            "h_bucket{le=\"0.001\"} 0\n"
            "h_bucket{le=\"0.5\"} 0\n"
            "h_bucket{le=\"2\"} 0\n"
            "h_bucket{le=\"+Inf\"} 0\n"
            "h_sum 0\n"
            "h_count 0\n");
}

TEST(HistogramSnapshotTest, AddSums) {
  push::Histogram a(kBounds), b(kBounds);
  a.Observe(0.25);
  b.Observe(0.25);
  b.Observe(5);
  push::HistogramSnapshot s;
  s.Add(a.Read());
  s.Add(b.Read());
  EXPECT_EQ(s.counts, (std::vector<uint64_t>{0, 2, 0, 1}));
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.sum, 5.5);
}

}  // namespace
}  // namespace herald::service
