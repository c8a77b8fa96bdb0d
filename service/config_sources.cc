#include "service/config_sources.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace herald::service {
namespace {

constexpr char kPrefix[] = "HERALD_";

// `value` as is when it is one printable word, else quoted and escaped.
std::string Quoted(const std::string& value) {
  bool plain = !value.empty();
  for (char c : value) {
    if (c <= ' ' || c >= 0x7F || c == '"' || c == '\\' || c == '(' ||
        c == ')') {
      plain = false;
    }
  }
  return plain ? value : absl::StrCat("\"", absl::CHexEscape(value), "\"");
}

// A --redis URL without its password: USER:PASSWORD@ becomes ***@.
std::string WithoutPassword(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t at = url.rfind('@');
  if (scheme == std::string::npos || at == std::string::npos ||
      at < scheme + 3) {
    return url;
  }
  return absl::StrCat(url.substr(0, scheme + 3), "***", url.substr(at));
}

}  // namespace

std::string EnvVarName(const std::string& flag_name) {
  return absl::StrCat(kPrefix, absl::AsciiStrToUpper(flag_name));
}

Environment ProcessEnvironment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || entry.rfind(kPrefix, 0) != 0) continue;
    env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

std::vector<ConfigEntry> EnvironmentEntries(const Environment& env) {
  std::vector<ConfigEntry> entries;
  for (const std::string& name : FlagNames()) {
    const std::string var = EnvVarName(name);
    auto it = env.find(var);
    if (it == env.end()) continue;
    entries.push_back(
        ConfigEntry{name, it->second, absl::StrCat("env ", var), var});
  }
  return entries;
}

std::string DescribeEffectiveConfig(const HeraldOptions& options) {
  if (options.given.empty()) return "config: all settings default";
  std::string out = "config: ";
  const char* sep = "";
  for (const auto& [name, origin] : options.given) {
    const std::string value =
        name == "redis" ? WithoutPassword(origin.value) : origin.value;
    absl::StrAppend(&out, sep, name, "=", Quoted(value), " (", origin.source,
                    ")");
    sep = ", ";
  }
  absl::StrAppend(&out, "; other settings default");
  return out;
}

}  // namespace herald::service
