#include "service/config_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/options.h"

namespace herald::service {
namespace {

const char* Expected(FlagType type) {
  switch (type) {
    case FlagType::kInteger:
      return "expected an integer";
    case FlagType::kBoolean:
      return "expected true or false";
    case FlagType::kString:
      return "expected a string";
    case FlagType::kList:
      return "expected an array of strings or a comma-separated string";
    case FlagType::kOther:
      break;
  }
  return "expected an integer, a string or a boolean";
}

// The flag value text of `node`, or nullopt when its TOML type does not
// fit `type`.
std::optional<std::string> ValueText(const toml::node& node, FlagType type) {
  const bool any = type == FlagType::kOther;
  if (const auto* i = node.as_integer();
      i != nullptr && (any || type == FlagType::kInteger)) {
    return absl::StrCat(i->get());
  }
  if (const auto* b = node.as_boolean();
      b != nullptr && (any || type == FlagType::kBoolean)) {
    return b->get() ? "true" : "false";
  }
  if (const auto* s = node.as_string();
      s != nullptr &&
      (any || type == FlagType::kString || type == FlagType::kList)) {
    return s->get();
  }
  const auto* array = node.as_array();
  if (array == nullptr || type != FlagType::kList) return std::nullopt;
  std::vector<std::string> items;
  for (const toml::node& item : *array) {
    const auto* s = item.as_string();
    // A comma inside one element would silently split it in two.
    if (s == nullptr || s->get().find(',') != std::string::npos) {
      return std::nullopt;
    }
    items.push_back(s->get());
  }
  return absl::StrJoin(items, ",");
}

// toml++ quotes the offending text, which may hold a newline: errors are
// one line each.
std::string OneLine(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      absl::StrAppend(
          &out, "\\x",
          absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      out += c;
    }
  }
  return out;
}

// Keys that name a command-line-only flag get their own message.
std::optional<std::string> CommandLineOnly(const std::string& key) {
  if (key == "config") {
    return "config: only on the command line (--config=FILE) or as "
           "HERALD_CONFIG";
  }
  if (key == "check_config" || key == "help" || key == "version") {
    return absl::StrCat(key, ": only on the command line (--", key, ")");
  }
  return std::nullopt;
}

void AddKey(const toml::key& key, const toml::node& node,
            const std::string& path, ConfigFileContents& out) {
  const std::string name(key.str());
  const std::string location = absl::StrCat(path, ":", key.source().begin.line);
  const std::optional<FlagType> type = FindFlagType(name);
  if (!type) {
    if (auto only = CommandLineOnly(name)) {
      out.errors.push_back(absl::StrCat(location, ": ", *only));
    } else if (node.is_table()) {
      out.errors.push_back(absl::StrCat(
          location, ": ", name,
          ": tables are not supported (keys are the flag names, at the top "
          "level)"));
    } else {
      out.errors.push_back(absl::StrCat(location, ": unknown key '", name,
                                        "' (keys are the flag names, see "
                                        "herald --help)"));
    }
    return;
  }
  std::optional<std::string> value = ValueText(node, *type);
  if (!value) {
    out.errors.push_back(
        absl::StrCat(location, ": ", name, ": ", Expected(*type)));
    return;
  }
  out.entries.push_back(ConfigEntry{name, *std::move(value),
                                    absl::StrCat("file ", location), location});
}

}  // namespace

ConfigFileContents ParseConfigText(std::string_view text,
                                   const std::string& path) {
  ConfigFileContents out;
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    out.errors.push_back(absl::StrCat(path, ":", e.source().begin.line, ":",
                                      e.source().begin.column, ": ",
                                      OneLine(e.description())));
    return out;
  }
  // toml++ iterates keys in name order; report in file order.
  std::vector<std::pair<const toml::key*, const toml::node*>> keys;
  for (const auto& [key, node] : table) keys.emplace_back(&key, &node);
  std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    return a.first->source().begin.line < b.first->source().begin.line;
  });
  for (const auto& [key, node] : keys) AddKey(*key, *node, path, out);
  return out;
}

ConfigFileContents ReadConfigFile(const std::string& path) {
  auto fail = [&](const std::string& what) {
    ConfigFileContents out;
    out.errors.push_back(absl::StrCat(path, ": ", what));
    return out;
  };
  // O_NONBLOCK: a FIFO must not hang start-up.
  const int fd =
      open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    return fail(absl::StrCat("cannot read config file: ", strerror(errno)));
  }
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    return fail(absl::StrCat("cannot read config file: ", strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) return fail("config file is not a regular file");
  const std::string too_large =
      absl::StrCat("config file larger than ", kMaxConfigFileBytes, " bytes");
  if (static_cast<uint64_t>(st.st_size) > kMaxConfigFileBytes) {
    return fail(too_large);
  }
  std::string text(kMaxConfigFileBytes + 1, '\0');
  size_t size = 0;
  while (size < text.size()) {
    const ssize_t n = read(fd, text.data() + size, text.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return fail(absl::StrCat("cannot read config file: ", strerror(errno)));
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  if (size > kMaxConfigFileBytes) return fail(too_large);  // it grew
  text.resize(size);
  return ParseConfigText(text, path);
}

}  // namespace herald::service
