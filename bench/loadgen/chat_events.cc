#include "bench/loadgen/chat_events.h"

#include <algorithm>
#include <iterator>

#include "bench/loadgen/chat_text.h"

namespace herald::bench {
namespace {

constexpr const char* kChannelNames[] = {"general", "общий",   "memes",
                                         "новости", "voice 🎧", "off-topic"};

}  // namespace

ChatEvents::ChatEvents(std::vector<int64_t> activity, int64_t users,
                       uint64_t seed)
    : users_(std::max<int64_t>(1, users)),
      rng_(seed * 0x94D049BB133111EBULL + 0xC4A7) {
  double sum = 0;
  for (size_t s = 1; s < activity.size(); ++s) {
    sum += static_cast<double>(activity[s]);
    cumulative_.push_back(sum);
  }
  if (cumulative_.empty() || sum <= 0) cumulative_.assign(1, 1.0);
}

// A user_left is never drawn: it follows its user_joined. Drawing the other
// kinds by their shares out of (1000 - the leave's share) gives every kind,
// the leaves included, its share of the events.
ChatEvent::Kind ChatEvents::DrawKind() {
  constexpr int kLeft = static_cast<int>(ChatEvent::Kind::kUserLeft);
  int x = static_cast<int>(rng_.Below(1000 - kMix[kLeft]));
  for (int k = 0; k < ChatEvent::kKinds; ++k) {
    if (k == kLeft) continue;
    if (x < kMix[k]) return static_cast<ChatEvent::Kind>(k);
    x -= kMix[k];
  }
  return ChatEvent::Kind::kMessageCreated;
}

int64_t ChatEvents::DrawServer() {
  double x =
      static_cast<double>(rng_.Next() >> 11) * 0x1.0p-53 * cumulative_.back();
  auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), x);
  auto i = static_cast<int64_t>(it - cumulative_.begin());
  return std::min<int64_t>(i, static_cast<int64_t>(cumulative_.size()) - 1) + 1;
}

void ChatEvents::Fill(ChatEvent* e) {
  e->channel = 1 + static_cast<int64_t>(rng_.Below(kChannelsPerServer));
  e->author = 1 + static_cast<int64_t>(rng_.Below(users_));
  e->text.clear();
  switch (e->kind) {
    case ChatEvent::Kind::kMessageCreated:
    case ChatEvent::Kind::kMessageEdited:
      ChatText::Append(rng_, ChatText::DrawLength(rng_), &e->text);
      return;
    case ChatEvent::Kind::kChannelCreated:
    case ChatEvent::Kind::kChannelEdited:
      e->channel_type = rng_.Below(4) == 0 ? 1 : 0;
      e->text = kChannelNames[rng_.Below(std::size(kChannelNames))];
      return;
    default:
      return;
  }
}

void ChatEvents::Next(uint64_t seq, ChatEvent* e) {
  e->seq = seq;
  if (leave_pending_) {
    leave_pending_ = false;
    e->kind = ChatEvent::Kind::kUserLeft;
    e->server = pending_server_;
    e->text.clear();
    return;
  }
  e->kind = DrawKind();
  e->server = DrawServer();
  if (e->kind == ChatEvent::Kind::kUserJoined) {
    leave_pending_ = true;
    pending_server_ = e->server;
  }
  Fill(e);
}

}  // namespace herald::bench
