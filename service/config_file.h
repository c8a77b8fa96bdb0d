#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace herald::service {

// One setting from one source, as the value text its flag takes.
struct ConfigEntry {
  std::string name;      // the flag name: main_port
  std::string value;     // its value text: "444", "true", "https://a,https://b"
  std::string source;    // for the start-up log: "file herald.toml:2"
  std::string location;  // prefix of its errors: "herald.toml:2" ("": flag)
};

// What a config file sets, or why it cannot be used (one line per problem,
// each naming PATH:LINE, or PATH:LINE:COLUMN for a syntax error).
struct ConfigFileContents {
  std::vector<ConfigEntry> entries;
  std::vector<std::string> errors;
};

// Larger config files are refused unread.
inline constexpr size_t kMaxConfigFileBytes = size_t{1} << 20;

// Reads the TOML file `path` (a regular file of at most
// kMaxConfigFileBytes). Top-level keys are flag names; integers, booleans
// and strings become the flag's value text, an array of strings the
// comma-separated list. Tables, unknown keys and values of the wrong type
// are errors. Values are not validated here: ParseOptions passes them to
// the flags' setters.
ConfigFileContents ReadConfigFile(const std::string& path);

// The same for TOML text already read; `path` names it in sources and
// errors.
ConfigFileContents ParseConfigText(std::string_view text,
                                   const std::string& path);

}  // namespace herald::service
