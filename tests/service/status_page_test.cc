#include "service/status_page.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace herald::service {
namespace {

constexpr const char* kSource = HERALD_SOURCE_DIR "/service/status_page.html";

std::string ReadSource() {
  std::ifstream in(kSource, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(StatusPageTest, EmbedsTheHtmlFileByteForByte) {
  std::string source = ReadSource();
  ASSERT_FALSE(source.empty()) << kSource;
  EXPECT_EQ(StatusPageHtml(), source);
}

TEST(StatusPageTest, IsSmallAndSelfContained) {
  std::string_view page = StatusPageHtml();
  EXPECT_LT(page.size(), 30u * 1024);
  EXPECT_TRUE(page.starts_with("<!doctype html>"));
  EXPECT_TRUE(page.ends_with("</html>\n"));
  // No external resource: no absolute URL, no protocol-relative src/href.
  for (std::string_view bad :
       {"http:", "https:", "src=\"//", "href=\"//", "url(", "@import",
        "innerHTML", "outerHTML", "eval(", "document.write"}) {
    EXPECT_EQ(page.find(bad), std::string_view::npos) << bad;
  }
}

}  // namespace
}  // namespace herald::service
