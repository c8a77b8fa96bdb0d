#pragma once

#include <string>
#include <string_view>

#include "bench/loadgen/split_mix.h"

namespace herald::bench {

// Chat message texts: a length in characters drawn from a log-normal law
// (median 40, sigma 1: ~87% between 10 and 200, ~5% above 200, capped at
// 2000), filled with words of one message "language" (English, Russian or
// mixed) and a sprinkle of emoji. Always valid UTF-8 and never a character
// JSON must escape, so the envelope is the same bytes in every server.
// Stateless; the caller owns the generator.
class ChatText {
 public:
  static constexpr int kMaxChars = 2000;

  // The character count of the next message.
  static int DrawLength(SplitMix& rng);
  // Appends about `chars` characters (whole words, at least one) to *out.
  static void Append(SplitMix& rng, int chars, std::string* out);
  // Counts the code points of valid UTF-8.
  static int CountChars(std::string_view s);
};

}  // namespace herald::bench
