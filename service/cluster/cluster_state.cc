// The cluster's state in Redis. Key schema (every key prefixed "herald:";
// integers are decimal strings; <key> is a session key in lower-case hex):
//
//   herald:secret          string, 32 random bytes: the HMAC key of
//                          SessionKey (SET NX by the first node)
//   herald:sess:<key>      hash {u: user, e: expires_at_us, 0 = never};
//                          PEXPIREAT at the expiry (rounded up to the ms)
//   herald:sessions        zset, member <key>, score expires_at_us (+inf:
//                          never); expired members are pruned before the
//                          --max_sessions count
//   herald:um:<user>       set of the user's servers
//   herald:sm:<server>     set of the server's members
//   herald:memberships     counter: pairs in the um sets (--max_memberships)
//   herald:grant:<user>    hash {s: server, c: channel}, the voice grant
//   herald:sg:<server>     set of users holding a grant in the server
//   herald:grants          counter: grant hashes (for GetCounts)
//   herald:vp:<user>       hash {s, c, n: node, id: connection}, the voice
//                          presence (one connection per user, cluster-wide)
//   herald:vps:<server>    set of users with a presence in the server
//   herald:vpn:<node>      set of users whose presence the node holds
//   herald:node:<node>     string (the node's clock, µs) with a PX ttl: the
//                          heartbeat
//   herald:nodes           set of nodes (heartbeating or holding presence)
//
// Every state change is one Lua script (service/cluster/scripts/, embedded
// by embed_scripts.cmake with common.lua prepended), atomic in Redis, and
// PUBLISHes its Notify inside the script. The scripts compute the keys they
// touch, so they need one Redis (not Redis Cluster). Ids never become Lua
// numbers (doubles): the scripts compare them as canonical decimal strings
// and the C++ side parses and sorts them.
#include "service/cluster/cluster_state.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "service/clock.h"
#include "service/cluster/cluster_scripts.h"

namespace herald::service::cluster {
namespace {

using redis::RedisReply;
using redis::RedisScript;

constexpr char kSecretKey[] = "herald:secret";
constexpr size_t kSecretBytes = 32;

// Limit codes the membership and session scripts answer with.
constexpr int64_t kPerUserLimit = 1;
constexpr int64_t kTotalLimit = 2;
constexpr int64_t kSessionLimit = 3;

struct Scripts {
  RedisScript open_session, close_session, set_memberships, add_membership,
      remove_membership, drop_server, snapshot_servers, set_grant, leave,
      end_for_user_in_server, end_for_channel, end_for_server, admit_voice,
      voice_closed, voice_state, heartbeat, reap_dead_nodes, leave_cluster,
      counts;
};

const Scripts& AllScripts() {
  static const Scripts* const scripts = [] {
    auto make = [](const char* name, std::string_view source) {
      return RedisScript::Make(name, std::string(source));
    };
    return new Scripts{
        make("open_session", scripts::kOpenSession),
        make("close_session", scripts::kCloseSession),
        make("set_memberships", scripts::kSetMemberships),
        make("add_membership", scripts::kAddMembership),
        make("remove_membership", scripts::kRemoveMembership),
        make("drop_server", scripts::kDropServer),
        make("snapshot_servers", scripts::kSnapshotServers),
        make("set_grant", scripts::kSetGrant),
        make("leave", scripts::kLeave),
        make("end_for_user_in_server", scripts::kEndForUserInServer),
        make("end_for_channel", scripts::kEndForChannel),
        make("end_for_server", scripts::kEndForServer),
        make("admit_voice", scripts::kAdmitVoice),
        make("voice_closed", scripts::kVoiceClosed),
        make("voice_state", scripts::kVoiceState),
        make("heartbeat", scripts::kHeartbeat),
        make("reap_dead_nodes", scripts::kReapDeadNodes),
        make("leave_cluster", scripts::kLeaveCluster),
        make("counts", scripts::kCounts),
    };
  }();
  return *scripts;
}

std::string SessionId(const std::string& key) {
  return absl::BytesToHexString(key);
}

absl::Status Malformed(absl::string_view what) {
  return absl::InternalError(
      absl::StrCat("redis: unexpected answer to ", what));
}

// A reply's status: no answer as is, an error reply as INTERNAL (or
// UNAVAILABLE when Redis says it cannot serve now).
absl::Status ReplyStatus(absl::string_view what,
                         const absl::StatusOr<RedisReply>& reply) {
  if (!reply.ok()) return reply.status();
  if (!reply->is_error()) return absl::OkStatus();
  const std::string message = absl::StrCat("redis: ", what, ": ", reply->str);
  for (absl::string_view transient :
       {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN"}) {
    if (absl::StartsWith(reply->str, transient)) {
      return absl::UnavailableError(message);
    }
  }
  return absl::InternalError(message);
}

// An integer reply, or a decimal string (Lua answers ids as strings).
bool ToInt(const RedisReply& reply, int64_t& out) {
  if (reply.type == RedisReply::Type::kInteger) {
    out = reply.integer;
    return true;
  }
  return reply.type == RedisReply::Type::kString &&
         absl::SimpleAtoi(reply.str, &out);
}

bool ToUint(const RedisReply& reply, uint64_t& out) {
  if (reply.type == RedisReply::Type::kInteger && reply.integer >= 0) {
    out = static_cast<uint64_t>(reply.integer);
    return true;
  }
  return reply.type == RedisReply::Type::kString &&
         absl::SimpleAtoi(reply.str, &out);
}

bool IsArray(const RedisReply& reply, size_t min_size) {
  return reply.type == RedisReply::Type::kArray &&
         reply.elements.size() >= min_size;
}

// An array of decimal ids, ascending.
absl::StatusOr<std::vector<int64_t>> Ids(absl::string_view what,
                                         const RedisReply& reply) {
  if (reply.type != RedisReply::Type::kArray) return Malformed(what);
  std::vector<int64_t> ids;
  ids.reserve(reply.elements.size());
  for (const RedisReply& element : reply.elements) {
    int64_t id = 0;
    if (!ToInt(element, id)) return Malformed(what);
    ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

// Presences as the scripts answer them: flat {user, server, channel, node,
// connection} from `first`; sorted by user.
absl::StatusOr<std::vector<VoicePresence>> Presences(absl::string_view what,
                                                     const RedisReply& reply,
                                                     size_t first = 0) {
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() < first ||
      (reply.elements.size() - first) % 5 != 0) {
    return Malformed(what);
  }
  std::vector<VoicePresence> out;
  for (size_t i = first; i < reply.elements.size(); i += 5) {
    const RedisReply* e = &reply.elements[i];
    VoicePresence p;
    if (!ToInt(e[0], p.user_id) || !ToInt(e[1], p.server_id) ||
        !ToInt(e[2], p.channel_id) || e[3].type != RedisReply::Type::kString ||
        !ToUint(e[4], p.connection)) {
      return Malformed(what);
    }
    p.node_id = e[3].str;
    out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(),
            [](const VoicePresence& a, const VoicePresence& b) {
              return a.user_id < b.user_id;
            });
  return out;
}

// At most one presence (the scripts that end one).
absl::StatusOr<std::optional<VoicePresence>> OnePresence(
    absl::string_view what, const RedisReply& reply, size_t first = 0) {
  absl::StatusOr<std::vector<VoicePresence>> all =
      Presences(what, reply, first);
  if (!all.ok()) return all.status();
  if (all->size() > 1) return Malformed(what);
  if (all->empty()) return std::nullopt;
  return std::move(all->front());
}

// The error of a membership or session script's limit answer {code, n}.
absl::Status LimitError(int64_t code, int64_t n, int64_t user_id,
                        const RegistryLimits& limits) {
  switch (code) {
    case kPerUserLimit:
      return absl::ResourceExhaustedError(
          absl::StrCat("user ", user_id, " would be a member of ", n,
                       " servers (the limit is --max_memberships_per_user=",
                       limits.max_memberships_per_user, ")"));
    case kTotalLimit:
      return absl::ResourceExhaustedError(
          absl::StrCat("herald would hold ", n,
                       " memberships (the limit is --max_memberships=",
                       limits.max_memberships, ")"));
    case kSessionLimit:
      return absl::ResourceExhaustedError(
          absl::StrCat("too many sessions (the limit is --max_sessions=",
                       limits.max_sessions, ")"));
    default:
      return absl::InternalError(
          absl::StrCat("redis: unknown limit code ", code));
  }
}

// Runs `script` and hands its reply to `parse` (const RedisReply& ->
// absl::StatusOr<T>), then `done` the result.
template <typename T, typename Parse>
void Run(redis::RedisClient& redis, const RedisScript& script,
         std::vector<std::string> args, ClusterState::Result<T> done,
         Parse parse) {
  redis.Script(
      script, {}, std::move(args),
      [name = script.name, done = std::move(done),
       parse = std::move(parse)](absl::StatusOr<RedisReply> reply) mutable {
        if (absl::Status status = ReplyStatus(name, reply); !status.ok()) {
          std::move(done)(std::move(status));
          return;
        }
        std::move(done)(parse(*reply));
      });
}

}  // namespace

ClusterState::ClusterState(redis::RedisClient& redis, RegistryLimits limits)
    : redis_(redis), limits_(limits) {
  AllScripts();  // hashes the scripts once, up front
}

void ClusterState::Init(absl::AnyInvocable<void(absl::Status) &&> done) {
  std::string fresh(kSecretBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(fresh.data()),
                 static_cast<int>(fresh.size())) != 1) {
    std::move(done)(absl::InternalError("RAND_bytes failed"));
    return;
  }
  redis_.Command(
      {"SET", kSecretKey, std::move(fresh), "NX"},
      [this, done = std::move(done)](absl::StatusOr<RedisReply> set) mutable {
        if (absl::Status status = ReplyStatus("SET herald:secret", set);
            !status.ok()) {
          std::move(done)(std::move(status));
          return;
        }
        redis_.Command(
            {"GET", kSecretKey}, [this, done = std::move(done)](
                                     absl::StatusOr<RedisReply> get) mutable {
              if (absl::Status status = ReplyStatus("GET herald:secret", get);
                  !status.ok()) {
                std::move(done)(std::move(status));
                return;
              }
              if (get->type != RedisReply::Type::kString || get->str.empty()) {
                std::move(done)(Malformed("GET herald:secret"));
                return;
              }
              secret_ = std::move(get->str);
              std::move(done)(absl::OkStatus());
            });
      });
}

std::string ClusterState::SessionKey(std::string_view token) const {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(),
       reinterpret_cast<unsigned char*>(out.data()), &size);
  out.resize(size);
  return out;
}

// Sessions.

void ClusterState::OpenSession(const std::string& key, int64_t user_id,
                               int64_t expires_at_us, std::string close_user,
                               Result<SessionChange> done) {
  // Redis drops the key once its expiry has passed (rounded up to the ms,
  // so the key outlives the session).
  std::string expire_at_ms =
      expires_at_us == 0 ? std::string()
                         : absl::StrCat(expires_at_us / 1000 +
                                        (expires_at_us % 1000 > 0 ? 1 : 0));
  Run<SessionChange>(
      redis_, AllScripts().open_session,
      {SessionId(key), absl::StrCat(user_id), absl::StrCat(expires_at_us),
       std::move(expire_at_ms), absl::StrCat(NowMicros()),
       absl::StrCat(limits_.max_sessions), std::move(close_user)},
      std::move(done),
      [limits =
           limits_](const RedisReply& reply) -> absl::StatusOr<SessionChange> {
        int64_t code = 0;
        if (!IsArray(reply, 1) || !ToInt(reply.elements[0], code)) {
          return Malformed("open_session");
        }
        if (code != 0) return LimitError(code, 0, 0, limits);
        SessionChange change;
        if (!IsArray(reply, 3) || !ToInt(reply.elements[2], change.receivers)) {
          return Malformed("open_session");
        }
        if (reply.elements[1].type != RedisReply::Type::kNil) {
          int64_t before = 0;
          if (!ToInt(reply.elements[1], before)) {
            return Malformed("open_session");
          }
          change.user = before;
        }
        return change;
      });
}

void ClusterState::CloseSession(const std::string& key, std::string close_user,
                                Result<SessionChange> done) {
  Run<SessionChange>(
      redis_, AllScripts().close_session,
      {SessionId(key), std::move(close_user)}, std::move(done),
      [](const RedisReply& reply) -> absl::StatusOr<SessionChange> {
        SessionChange change;
        if (!IsArray(reply, 2) || !ToInt(reply.elements[1], change.receivers)) {
          return Malformed("close_session");
        }
        if (reply.elements[0].type != RedisReply::Type::kNil) {
          int64_t user = 0;
          if (!ToInt(reply.elements[0], user)) {
            return Malformed("close_session");
          }
          change.user = user;
        }
        return change;
      });
}

void ClusterState::LookupSession(const std::string& key, int64_t now_us,
                                 Result<std::optional<SessionInfo>> done) {
  redis_.Command(
      {"HMGET", absl::StrCat("herald:sess:", SessionId(key)), "u", "e"},
      [now_us,
       done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
        if (absl::Status status = ReplyStatus("HMGET herald:sess", reply);
            !status.ok()) {
          std::move(done)(std::move(status));
          return;
        }
        if (!IsArray(*reply, 2)) {
          std::move(done)(Malformed("HMGET herald:sess"));
          return;
        }
        if (reply->elements[0].type == RedisReply::Type::kNil) {
          std::move(done)(std::nullopt);
          return;
        }
        SessionInfo info;
        if (!ToInt(reply->elements[0], info.user_id) ||
            !ToInt(reply->elements[1], info.expires_at_us)) {
          std::move(done)(Malformed("HMGET herald:sess"));
          return;
        }
        if (info.expires_at_us != 0 && info.expires_at_us <= now_us) {
          std::move(done)(std::nullopt);
          return;
        }
        std::move(done)(info);
      });
}

// Memberships.

void ClusterState::SetMemberships(int64_t user_id,
                                  std::vector<int64_t> server_ids,
                                  Notify notify, Result<Changed> done) {
  std::sort(server_ids.begin(), server_ids.end());
  server_ids.erase(std::unique(server_ids.begin(), server_ids.end()),
                   server_ids.end());
  std::vector<std::string> args = {
      absl::StrCat(user_id), absl::StrCat(limits_.max_memberships_per_user),
      absl::StrCat(limits_.max_memberships), std::move(notify.channel),
      std::move(notify.message)};
  args.reserve(args.size() + server_ids.size());
  for (int64_t server_id : server_ids) args.push_back(absl::StrCat(server_id));
  Run<Changed>(
      redis_, AllScripts().set_memberships, std::move(args), std::move(done),
      [user_id,
       limits = limits_](const RedisReply& reply) -> absl::StatusOr<Changed> {
        int64_t code = 0;
        if (!IsArray(reply, 2) || !ToInt(reply.elements[0], code)) {
          return Malformed("set_memberships");
        }
        int64_t n = 0;
        if (!ToInt(reply.elements[1], n)) return Malformed("set_memberships");
        if (code != 0) return LimitError(code, n, user_id, limits);
        if (reply.elements.size() != 4) return Malformed("set_memberships");
        Changed changed;
        changed.receivers = n;
        absl::StatusOr<std::vector<int64_t>> added =
            Ids("set_memberships", reply.elements[2]);
        absl::StatusOr<std::vector<int64_t>> removed =
            Ids("set_memberships", reply.elements[3]);
        if (!added.ok()) return added.status();
        if (!removed.ok()) return removed.status();
        changed.diff.added = *std::move(added);
        changed.diff.removed = *std::move(removed);
        return changed;
      });
}

void ClusterState::AddMembership(int64_t user_id, int64_t server_id,
                                 Notify notify, Result<Changed> done) {
  Run<Changed>(
      redis_, AllScripts().add_membership,
      {absl::StrCat(user_id), absl::StrCat(server_id),
       absl::StrCat(limits_.max_memberships_per_user),
       absl::StrCat(limits_.max_memberships), std::move(notify.channel),
       std::move(notify.message)},
      std::move(done),
      [user_id, server_id,
       limits = limits_](const RedisReply& reply) -> absl::StatusOr<Changed> {
        int64_t code = 0, n = 0;
        if (!IsArray(reply, 2) || !ToInt(reply.elements[0], code) ||
            !ToInt(reply.elements[1], n)) {
          return Malformed("add_membership");
        }
        if (code != 0) return LimitError(code, n, user_id, limits);
        int64_t added = 0;
        if (reply.elements.size() != 3 || !ToInt(reply.elements[2], added)) {
          return Malformed("add_membership");
        }
        Changed changed;
        changed.receivers = n;
        if (added) changed.diff.added.push_back(server_id);
        return changed;
      });
}

namespace {

absl::StatusOr<ClusterState::Published> Receivers(absl::string_view what,
                                                  const RedisReply& reply) {
  ClusterState::Published published;
  if (!ToInt(reply, published.receivers)) return Malformed(what);
  return published;
}

}  // namespace

void ClusterState::RemoveMembership(int64_t user_id, int64_t server_id,
                                    Notify notify, Result<Published> done) {
  Run<Published>(redis_, AllScripts().remove_membership,
                 {absl::StrCat(user_id), absl::StrCat(server_id),
                  std::move(notify.channel), std::move(notify.message)},
                 std::move(done), [](const RedisReply& reply) {
                   return Receivers("remove_membership", reply);
                 });
}

void ClusterState::DropServer(int64_t server_id, Notify notify,
                              Result<Published> done) {
  Run<Published>(redis_, AllScripts().drop_server,
                 {absl::StrCat(server_id), std::move(notify.channel),
                  std::move(notify.message)},
                 std::move(done), [](const RedisReply& reply) {
                   return Receivers("drop_server", reply);
                 });
}

void ClusterState::ServersOf(int64_t user_id,
                             Result<std::vector<int64_t>> done) {
  redis_.Command(
      {"SMEMBERS", absl::StrCat("herald:um:", user_id)},
      [done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
        if (absl::Status status = ReplyStatus("SMEMBERS", reply);
            !status.ok()) {
          std::move(done)(std::move(status));
          return;
        }
        std::move(done)(Ids("SMEMBERS herald:um", *reply));
      });
}

void ClusterState::SnapshotServers(int64_t user_id, Notify marker,
                                   Result<std::vector<int64_t>> done) {
  Run<std::vector<int64_t>>(redis_, AllScripts().snapshot_servers,
                            {absl::StrCat(user_id), std::move(marker.channel),
                             std::move(marker.message)},
                            std::move(done), [](const RedisReply& reply) {
                              return Ids("snapshot_servers", reply);
                            });
}

// Voice.

void ClusterState::SetGrant(int64_t user_id, int64_t server_id,
                            int64_t channel_id, Result<GrantResult> done) {
  Run<GrantResult>(redis_, AllScripts().set_grant,
                   {absl::StrCat(user_id), absl::StrCat(server_id),
                    absl::StrCat(channel_id)},
                   std::move(done),
                   [](const RedisReply& reply) -> absl::StatusOr<GrantResult> {
                     absl::StatusOr<std::optional<VoicePresence>> ended =
                         OnePresence("set_grant", reply);
                     if (!ended.ok()) return ended.status();
                     return GrantResult{*std::move(ended)};
                   });
}

void ClusterState::Leave(int64_t user_id, Result<LeaveResult> done) {
  Run<LeaveResult>(
      redis_, AllScripts().leave, {absl::StrCat(user_id)}, std::move(done),
      [](const RedisReply& reply) -> absl::StatusOr<LeaveResult> {
        LeaveResult result;
        int64_t existed = 0;
        if (!IsArray(reply, 1) || !ToInt(reply.elements[0], existed)) {
          return Malformed("leave");
        }
        result.existed = existed != 0;
        absl::StatusOr<std::optional<VoicePresence>> ended =
            OnePresence("leave", reply, 1);
        if (!ended.ok()) return ended.status();
        result.ended = *std::move(ended);
        return result;
      });
}

void ClusterState::EndForUserInServer(int64_t user_id, int64_t server_id,
                                      Result<std::vector<VoicePresence>> done) {
  Run<std::vector<VoicePresence>>(
      redis_, AllScripts().end_for_user_in_server,
      {absl::StrCat(user_id), absl::StrCat(server_id)}, std::move(done),
      [](const RedisReply& reply) {
        return Presences("end_for_user_in_server", reply);
      });
}

void ClusterState::EndForChannel(int64_t server_id, int64_t channel_id,
                                 Result<std::vector<VoicePresence>> done) {
  Run<std::vector<VoicePresence>>(
      redis_, AllScripts().end_for_channel,
      {absl::StrCat(server_id), absl::StrCat(channel_id)}, std::move(done),
      [](const RedisReply& reply) {
        return Presences("end_for_channel", reply);
      });
}

void ClusterState::EndForServer(int64_t server_id,
                                Result<std::vector<VoicePresence>> done) {
  Run<std::vector<VoicePresence>>(redis_, AllScripts().end_for_server,
                                  {absl::StrCat(server_id)}, std::move(done),
                                  [](const RedisReply& reply) {
                                    return Presences("end_for_server", reply);
                                  });
}

void ClusterState::AdmitVoice(const std::string& key, int64_t channel_id,
                              const std::string& node_id, uint64_t connection,
                              int64_t now_us, Result<VoiceAdmit> done) {
  Run<VoiceAdmit>(redis_, AllScripts().admit_voice,
                  {SessionId(key), absl::StrCat(channel_id), node_id,
                   absl::StrCat(connection), absl::StrCat(now_us)},
                  std::move(done),
                  [](const RedisReply& reply) -> absl::StatusOr<VoiceAdmit> {
                    VoiceAdmit admit;
                    int64_t code = 0;
                    if (!IsArray(reply, 1) || !ToInt(reply.elements[0], code) ||
                        code < 0 || code > 0xffff) {
                      return Malformed("admit_voice");
                    }
                    admit.refusal_code = static_cast<uint16_t>(code);
                    if (reply.elements.size() > 1 &&
                        !ToInt(reply.elements[1], admit.user_id)) {
                      return Malformed("admit_voice");
                    }
                    if (code != 0) return admit;
                    int64_t same_place = 0;
                    if (reply.elements.size() < 5 ||
                        !ToInt(reply.elements[2], admit.server_id) ||
                        !ToInt(reply.elements[3], same_place) ||
                        !ToInt(reply.elements[4], admit.expires_at_us)) {
                      return Malformed("admit_voice");
                    }
                    admit.same_place = same_place != 0;
                    absl::StatusOr<std::optional<VoicePresence>> replaced =
                        OnePresence("admit_voice", reply, 5);
                    if (!replaced.ok()) return replaced.status();
                    admit.replaced = *std::move(replaced);
                    return admit;
                  });
}

void ClusterState::VoiceClosed(int64_t user_id, const std::string& node_id,
                               uint64_t connection,
                               Result<std::optional<VoicePresence>> done) {
  Run<std::optional<VoicePresence>>(
      redis_, AllScripts().voice_closed,
      {absl::StrCat(user_id), node_id, absl::StrCat(connection)},
      std::move(done), [](const RedisReply& reply) {
        return OnePresence("voice_closed", reply);
      });
}

void ClusterState::VoiceState(
    int64_t server_id, Result<std::map<int64_t, std::vector<int64_t>>> done) {
  Run<std::map<int64_t, std::vector<int64_t>>>(
      redis_, AllScripts().voice_state, {absl::StrCat(server_id)},
      std::move(done),
      [](const RedisReply& reply)
          -> absl::StatusOr<std::map<int64_t, std::vector<int64_t>>> {
        if (reply.type != RedisReply::Type::kArray ||
            reply.elements.size() % 2 != 0) {
          return Malformed("voice_state");
        }
        std::map<int64_t, std::vector<int64_t>> channels;
        for (size_t i = 0; i < reply.elements.size(); i += 2) {
          int64_t user = 0, channel = 0;
          if (!ToInt(reply.elements[i], user) ||
              !ToInt(reply.elements[i + 1], channel)) {
            return Malformed("voice_state");
          }
          channels[channel].push_back(user);
        }
        for (auto& [channel, users] : channels) {
          std::sort(users.begin(), users.end());
        }
        return channels;
      });
}

// Nodes.

void ClusterState::Heartbeat(const std::string& node_id, int64_t ttl_ms,
                             absl::AnyInvocable<void(absl::Status) &&> done) {
  redis_.Script(
      AllScripts().heartbeat, {},
      {node_id, absl::StrCat(std::max<int64_t>(ttl_ms, 1)),
       absl::StrCat(NowMicros())},
      [done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
        std::move(done)(ReplyStatus("heartbeat", reply));
      });
}

void ClusterState::ReapDeadNodes(Result<std::vector<VoicePresence>> done) {
  Run<std::vector<VoicePresence>>(redis_, AllScripts().reap_dead_nodes, {},
                                  std::move(done), [](const RedisReply& reply) {
                                    return Presences("reap_dead_nodes", reply);
                                  });
}

void ClusterState::LeaveCluster(const std::string& node_id,
                                Result<std::vector<VoicePresence>> done) {
  Run<std::vector<VoicePresence>>(redis_, AllScripts().leave_cluster, {node_id},
                                  std::move(done), [](const RedisReply& reply) {
                                    return Presences("leave_cluster", reply);
                                  });
}

void ClusterState::GetCounts(Result<Counts> done) {
  Run<Counts>(
      redis_, AllScripts().counts, {absl::StrCat(NowMicros())}, std::move(done),
      [](const RedisReply& reply) -> absl::StatusOr<Counts> {
        Counts counts;
        if (!IsArray(reply, 3) || !ToInt(reply.elements[0], counts.sessions) ||
            !ToInt(reply.elements[1], counts.memberships) ||
            !ToInt(reply.elements[2], counts.grants)) {
          return Malformed("counts");
        }
        return counts;
      });
}

}  // namespace herald::service::cluster
