#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace herald::tools {

// The text `heraldctl --help` prints.
std::string MainUsage();

// The text `heraldctl help TOPIC` prints; TOPIC is a command (publish,
// session, members, voice, tail, conns, kick, stats). nullopt for anything
// else.
std::optional<std::string> TopicUsage(std::string_view topic);

}  // namespace herald::tools
