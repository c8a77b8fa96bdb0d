#include "service/basic_stats_source.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "push/close_codes.h"

namespace herald::service {
namespace {

#ifndef HERALD_VERSION
#define HERALD_VERSION "0.0.0"
#endif
constexpr char kVersion[] = HERALD_VERSION;
constexpr char kBuild[] = __DATE__;  // the compiler's date (ccache-stable)

void SetTimestamp(std::chrono::system_clock::time_point t,
                  google::protobuf::Timestamp* out) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      t.time_since_epoch())
                      .count();
  out->set_seconds(us / 1000000);
  out->set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
}

void AddRefusal(v1::GetStatsResponse* out, uint32_t code, const char* reason,
                uint64_t count) {
  if (count == 0) return;
  auto* r = out->add_refusals();
  r->set_code(code);
  r->set_reason(reason);
  r->set_count(count);
}

size_t OpenDescriptors() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  size_t n = 0;
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n > 0 ? n - 1 : 0;  // not the directory's own descriptor
}

uint64_t ResidentBytes() {
  FILE* f = fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const int got = fscanf(f, "%llu %llu", &size, &resident);
  fclose(f);
  if (got != 2) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

BasicStatsSource::BasicStatsSource(const push::PushServer& push,
                                   const Registry& registry,
                                   const VoiceCoordinator& voice,
                                   std::string node)
    : push_(push),
      registry_(registry),
      voice_(voice),
      node_(std::move(node)),
      started_at_(std::chrono::system_clock::now()),
      started_steady_(std::chrono::steady_clock::now()) {}

void BasicStatsSource::Read(v1::GetStatsResponse* out) const {
  out->set_version(kVersion);
  out->set_build(kBuild);
  out->set_node(node_);
  SetTimestamp(started_at_, out->mutable_started_at());
  out->set_uptime_s(std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - started_steady_)
                        .count());
  ReadConnections(out);
  ReadRefusals(out);
  auto* registry = out->mutable_registry();
  registry->set_sessions(registry_.session_count());
  registry->set_memberships(registry_.membership_count());
  registry->set_voice_grants(registry_.grant_count());
  for (const auto& [key, users] : voice_.AllChannels()) {
    auto* channel = out->add_voice();
    channel->set_server_id(key.first);
    channel->set_channel_id(key.second);
    for (int64_t user : users) channel->add_user_ids(user);
  }
  out->mutable_totals();
  out->mutable_rates();
  ReadProcess(out->mutable_process());
}

void BasicStatsSource::ReadConnections(v1::GetStatsResponse* out) const {
  const push::SharedCounters& c = push_.counters();
  const uint64_t admitted = c.admitted.load(std::memory_order_relaxed);
  const uint64_t sockets = c.sockets.load(std::memory_order_relaxed);
  uint64_t voice = 0;
  for (const auto& [key, users] : voice_.AllChannels()) voice += users.size();
  voice = std::min(voice, admitted);
  auto* conns = out->mutable_connections();
  conns->set_main(admitted - voice);
  conns->set_voice(voice);
  conns->set_handshaking(sockets > admitted ? sockets - admitted : 0);
  auto& by_transport = *conns->mutable_by_transport();
  by_transport["wss"] = push_.options().plain ? 0 : admitted;
  by_transport["ws"] = push_.options().plain ? admitted : 0;
}

void BasicStatsSource::ReadRefusals(v1::GetStatsResponse* out) const {
  const push::SharedCounters& c = push_.counters();
  AddRefusal(out, 0, "over the descriptor budget",
             c.refused_descriptors.load(std::memory_order_relaxed));
  AddRefusal(out, 0, "too many connections from this IP",
             c.refused_ip_open.load(std::memory_order_relaxed));
  AddRefusal(out, 0, "too many new connections from this IP",
             c.refused_ip_rate.load(std::memory_order_relaxed));
  AddRefusal(out, push::kCloseTooManyConnections,
             "too many connections for this user",
             c.refused_user.load(std::memory_order_relaxed));
}

void BasicStatsSource::ReadProcess(v1::GetStatsResponse::Process* out) {
  out->set_rss_bytes(ResidentBytes());
  out->set_open_fds(OpenDescriptors());
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    out->set_cpu_seconds(
        static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
        static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) /
            1e6);
  }
}

}  // namespace herald::service
