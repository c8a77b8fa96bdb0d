#pragma once

#include <string>
#include <vector>

#include "service/config_file.h"
#include "service/options.h"

namespace herald::service {

// The variable naming the config file when --config is not given.
inline constexpr char kConfigEnvVar[] = "HERALD_CONFIG";

// The environment variable of flag `name`: HERALD_ + NAME upper-cased
// (main_port -> HERALD_MAIN_PORT).
std::string EnvVarName(const std::string& flag_name);

// The process's HERALD_* variables.
Environment ProcessEnvironment();

// The settings `env` gives: one entry per flag whose HERALD_<FLAG> is set
// (to any value, empty included). Other HERALD_* variables (HERALD_CONFIG,
// the test tools' HERALD_BIN, HERALD_BUILD_DIR, ...) are ignored.
std::vector<ConfigEntry> EnvironmentEntries(const Environment& env);

// One line for the start-up log: every setting that was given, with its
// value and source, e.g.
//   config: main_port=444 (file /etc/herald/herald.toml:2), plain=true
//   (env HERALD_PLAIN); other settings default
// Only values as given are shown (paths, never the contents of the files
// they name, so no token); values with spaces or unprintable bytes are
// quoted and escaped.
std::string DescribeEffectiveConfig(const HeraldOptions& options);

}  // namespace herald::service
