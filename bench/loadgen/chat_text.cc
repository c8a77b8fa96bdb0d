#include "bench/loadgen/chat_text.h"

#include <cmath>
#include <iterator>
#include <string_view>

namespace herald::bench {
namespace {

constexpr std::string_view kEnglish[] = {
    "ok",      "lol",    "yes",    "no",     "the",    "is",      "it",
    "gg",      "we",     "need",   "to",     "push",   "this",    "build",
    "tonight", "anyone", "up",     "for",    "a",      "raid",    "patch",
    "notes",   "are",    "out",    "check",  "pinned", "message", "server",
    "voice",   "brb",    "thanks", "nice",   "see",    "you",     "later",
    "what",    "time",   "does",   "stream", "start"};
constexpr std::string_view kRussian[] = {
    "привет",   "как",     "дела",       "норм",    "да",    "нет",
    "сегодня",  "вечером", "кто",        "играет",  "в",     "голосовой",
    "канал",    "сервер",  "сообщение",  "спасибо", "ладно", "потом",
    "посмотри", "закреп",  "обновление", "вышло",   "ждём",  "всех",
    "ребята",   "го",      "катку",      "щас",     "буду",  "через",
    "минут",    "пять"};
constexpr std::string_view kEmoji[] = {"😂", "👍", "🔥", "❤️", "😭",    "🙏",
                                       "😅", "🎉", "👀", "💀",      "🤔", "✅"};

double Unit(uint64_t draw) {
  return static_cast<double>(draw >> 11) * 0x1.0p-53;
}

template <size_t N>
std::string_view Pick(SplitMix& rng, const std::string_view (&words)[N]) {
  return words[rng.Below(N)];
}

// One word of a message in `language` (0 English, 1 Russian, 2 mixed).
std::string_view Word(SplitMix& rng, uint64_t language) {
  uint64_t x = rng.Below(100);
  if (x < 8) return Pick(rng, kEmoji);
  if (language == 0) return Pick(rng, kEnglish);
  if (language == 1) return Pick(rng, kRussian);
  return x < 54 ? Pick(rng, kEnglish) : Pick(rng, kRussian);
}

}  // namespace

int ChatText::DrawLength(SplitMix& rng) {
  // Box-Muller from two uniform draws.
  double u1 = 1.0 - Unit(rng.Next());
  double u2 = Unit(rng.Next());
  double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
  double chars = std::exp(std::log(40.0) + 1.0 * z);
  if (chars < 1) return 1;
  if (chars > kMaxChars) return kMaxChars;
  return static_cast<int>(chars);
}

void ChatText::Append(SplitMix& rng, int chars, std::string* out) {
  // 50% English, 35% Russian, 15% mixed.
  uint64_t l = rng.Below(100);
  uint64_t language = l < 50 ? 0 : (l < 85 ? 1 : 2);
  int have = 0;
  do {
    std::string_view w = Word(rng, language);
    if (have > 0) {
      out->push_back(' ');
      ++have;
    }
    out->append(w);
    have += CountChars(w);
  } while (have < chars);
}

int ChatText::CountChars(std::string_view s) {
  int n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace herald::bench
