#pragma once

#include <cstdint>
#include <vector>

#include "bench/loadgen/chat_event.h"
#include "bench/loadgen/split_mix.h"

namespace herald::bench {

// The chat scenario's event stream: each event goes to a server drawn with
// probability proportional to its activity (its member count: bigger
// servers are busier), and is of a kind drawn from the mix below
// (per mille). A user_joined is always followed by the user_left of the
// same spare user on the same server, so memberships end where they began.
// Owned by the publisher thread.
class ChatEvents {
 public:
  // Per-mille shares of the mix; they sum to 1000.
  static constexpr int kMix[ChatEvent::kKinds] = {
      700,  // message_created
      120,  // message_edited
      80,   // message_deleted
      10,   // channel_created
      15,   // channel_edited
      5,    // channel_deleted
      15,   // user_joined (and its user_left, the next event)
      15,   // user_left
      20,   // user_joined_vc
      20,   // user_left_vc
  };
  static constexpr int kChannelsPerServer = 8;

  // activity[s] for servers 1..activity.size()-1 (index 0 unused);
  // `users` bounds the author ids.
  ChatEvents(std::vector<int64_t> activity, int64_t users, uint64_t seed);

  // The next event, numbered `seq`.
  void Next(uint64_t seq, ChatEvent* e);

 private:
  ChatEvent::Kind DrawKind();
  int64_t DrawServer();
  void Fill(ChatEvent* e);

  std::vector<double> cumulative_;  // activity, servers 1..
  int64_t users_;
  SplitMix rng_;
  bool leave_pending_ = false;  // the last event was a user_joined
  int64_t pending_server_ = 0;
};

}  // namespace herald::bench
