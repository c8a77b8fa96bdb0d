// libFuzzer target: config files (service/config_file.h) on arbitrary
// bytes, as an operator's (or an attacker's) TOML file reaches herald.
//
// Checked, beyond not crashing: every problem is one line that starts with
// the file's name and a line number; every entry names a flag of the flag
// table; applying the entries through the flags' setters, and describing
// the result (DescribeEffectiveConfig), stays one line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "service/config_file.h"
#include "service/config_sources.h"
#include "service/options.h"

namespace {

constexpr char kPath[] = "fuzz.toml";

void Check(bool ok) {
  if (!ok) abort();
}

bool OneLineAt(const std::string& s) {
  return s.rfind(std::string(kPath) + ":", 0) == 0 &&
         s.find('\n') == std::string::npos && s.size() > sizeof kPath &&
         s[sizeof kPath] >= '0' && s[sizeof kPath] <= '9';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  herald::service::ConfigFileContents contents =
      herald::service::ParseConfigText(text, kPath);
  for (const std::string& e : contents.errors) Check(OneLineAt(e));
  herald::service::HeraldOptions options;
  for (const herald::service::ConfigEntry& e : contents.entries) {
    Check(herald::service::FindFlagType(e.name).has_value());
    Check(OneLineAt(e.location));
    Check(e.source == "file " + e.location);
    if (herald::service::SetFlag(options, e.name, e.value).ok()) {
      options.given[e.name] = {e.value, e.source};
    }
  }
  const std::string line = herald::service::DescribeEffectiveConfig(options);
  Check(line.find('\n') == std::string::npos);
  return 0;
}
