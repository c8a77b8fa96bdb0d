#include "tools/heraldctl/admin_format.h"

#include <time.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"

namespace herald::tools {
namespace {

using Row = std::vector<std::string>;

// `rows` with each column padded to its widest cell, two spaces apart.
std::string Table(const std::vector<Row>& rows) {
  std::vector<size_t> width;
  for (const Row& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out;
  for (const Row& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "  ";
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size(), ' ');
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

const char* SocketName(v1::Socket socket) {
  switch (socket) {
    case v1::SOCKET_MAIN:
      return "main";
    case v1::SOCKET_VOICE:
      return "voice";
    default:
      return "?";
  }
}

std::string Fixed(double value) { return absl::StrFormat("%.2f", value); }

}  // namespace

std::string FormatTime(const google::protobuf::Timestamp& ts) {
  const time_t seconds = static_cast<time_t>(ts.seconds());
  tm utc{};
  if (gmtime_r(&seconds, &utc) == nullptr) return absl::StrCat(ts.seconds());
  char text[32];
  strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string FormatConnections(const v1::ListConnectionsResponse& response) {
  if (response.connections().empty()) return "no connections\n";
  std::vector<Row> rows = {{"ID", "SOCKET", "CHANNEL", "PEER", "TRANSPORT",
                            "QUEUE", "SINCE", "NODE"}};
  for (const v1::ConnectionInfo& c : response.connections()) {
    rows.push_back({absl::StrCat(c.connection_id()), SocketName(c.socket()),
                    c.socket() == v1::SOCKET_VOICE
                        ? absl::StrCat(c.channel_id())
                        : std::string("-"),
                    c.peer_address().empty() ? "-" : c.peer_address(),
                    c.transport(), absl::StrCat(c.queue_bytes()),
                    FormatTime(c.connected_since()), c.node()});
  }
  std::string out = Table(rows);
  if (response.truncated()) {
    absl::StrAppend(&out, "(truncated: the user has more connections)\n");
  }
  return out;
}

std::string FormatStats(const v1::GetStatsResponse& s) {
  const auto& c = s.connections();
  const auto& t = s.totals();
  std::vector<Row> rows = {
      {"node", s.node()},
      {"version", absl::StrCat(s.version(), " (", s.build(), ")")},
      {"started_at", FormatTime(s.started_at())},
      {"uptime_s", Fixed(s.uptime_s())},
      {"connections.main", absl::StrCat(c.main())},
      {"connections.voice", absl::StrCat(c.voice())},
      {"connections.handshaking", absl::StrCat(c.handshaking())}};
  // by_transport is a map: print it in a fixed order.
  std::vector<std::pair<std::string, uint64_t>> transports(
      c.by_transport().begin(), c.by_transport().end());
  std::sort(transports.begin(), transports.end());
  for (const auto& [name, n] : transports) {
    rows.push_back({absl::StrCat("connections.", name), absl::StrCat(n)});
  }
  rows.insert(
      rows.end(),
      {{"totals.accepted", absl::StrCat(t.accepted())},
       {"totals.events_published", absl::StrCat(t.events_published())},
       {"totals.frames_delivered", absl::StrCat(t.frames_delivered())},
       {"totals.bytes_delivered", absl::StrCat(t.bytes_delivered())},
       {"totals.slow_consumer_closes", absl::StrCat(t.slow_consumer_closes())},
       {"totals.ping_timeouts", absl::StrCat(t.ping_timeouts())},
       {"rates.events_per_s", Fixed(s.rates().events_per_s())},
       {"rates.deliveries_per_s", Fixed(s.rates().deliveries_per_s())},
       {"registry.sessions", absl::StrCat(s.registry().sessions())},
       {"registry.memberships", absl::StrCat(s.registry().memberships())},
       {"registry.voice_grants", absl::StrCat(s.registry().voice_grants())},
       {"process.rss_bytes", absl::StrCat(s.process().rss_bytes())},
       {"process.open_fds", absl::StrCat(s.process().open_fds())},
       {"process.cpu_seconds", Fixed(s.process().cpu_seconds())}});
  std::vector<std::pair<std::string, uint64_t>> events(
      s.events_by_name().begin(), s.events_by_name().end());
  std::sort(events.begin(), events.end());
  for (const auto& [name, n] : events) {
    rows.push_back({absl::StrCat("events.", name), absl::StrCat(n)});
  }
  for (const auto& r : s.refusals()) {
    rows.push_back({absl::StrCat("refused.", r.code(), " ", r.reason()),
                    absl::StrCat(r.count())});
  }
  for (const auto& v : s.voice()) {
    rows.push_back({absl::StrCat("voice.server=", v.server_id(),
                                 ".channel=", v.channel_id()),
                    absl::StrCat("users=", absl::StrJoin(v.user_ids(), ","))});
  }
  return Table(rows);
}

std::string ToJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options)
           .ok()) {
    return "{}\n";
  }
  return out + "\n";
}

}  // namespace herald::tools
