#include "service/json_writer.h"

#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace herald::service {
namespace {

std::string Escaped(std::string_view s) {
  std::string out;
  AppendJsonEscaped(out, s);
  return out;
}

TEST(AppendJsonEscapedTest, PlainTextUnchanged) {
  EXPECT_EQ(Escaped(""), "");
  EXPECT_EQ(Escaped("its over guys"), "its over guys");
}

TEST(AppendJsonEscapedTest, AppendsToExistingContent) {
  std::string out = "x";
  AppendJsonEscaped(out, "a\"b");
  EXPECT_EQ(out, "xa\\\"b");
}

TEST(AppendJsonEscapedTest, QuotesAndBackslashes) {
  EXPECT_EQ(Escaped("\""), "\\\"");
  EXPECT_EQ(Escaped("\\"), "\\\\");
  EXPECT_EQ(Escaped("say \"hi\" C:\\dir\\"), "say \\\"hi\\\" C:\\\\dir\\\\");
  EXPECT_EQ(Escaped("\\\""), "\\\\\\\"");
}

TEST(AppendJsonEscapedTest, SlashNotEscaped) {
  EXPECT_EQ(Escaped("a/b</script>"), "a/b</script>");
}

TEST(AppendJsonEscapedTest, EveryControlCharacter) {
  // What nlohmann::json::dump() writes for bytes 0x00..0x1F.
  const char* const kExpected[32] = {
      "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005",
      "\\u0006", "\\u0007", "\\b",     "\\t",     "\\n",     "\\u000b",
      "\\f",     "\\r",     "\\u000e", "\\u000f", "\\u0010", "\\u0011",
      "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
      "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d",
      "\\u001e", "\\u001f"};
  std::string all;
  std::string all_expected;
  for (int c = 0; c < 0x20; ++c) {
    const char byte = static_cast<char>(c);
    EXPECT_EQ(Escaped(std::string_view(&byte, 1)), kExpected[c])
        << "byte " << c;
    all.push_back(byte);
    all_expected += kExpected[c];
  }
  EXPECT_EQ(Escaped(all), all_expected);
}

TEST(AppendJsonEscapedTest, DelAndSpacePassThrough) {
  EXPECT_EQ(Escaped("\x7f"), "\x7f");
  EXPECT_EQ(Escaped(" ~"), " ~");
}

TEST(AppendJsonEscapedTest, Utf8PassesThrough) {
  EXPECT_EQ(Escaped("привет, мир"), "привет, мир");
  EXPECT_EQ(Escaped("\xF0\x9F\x98\x80 \xF0\x9F\x8E\x89"),
            "\xF0\x9F\x98\x80 \xF0\x9F\x8E\x89");
  EXPECT_EQ(Escaped("\xE2\x80\xA8\xE2\x80\xA9"), "\xE2\x80\xA8\xE2\x80\xA9");
  // Arbitrary high bytes are copied as they are (validation happens before).
  EXPECT_EQ(Escaped("\x80\xff"), "\x80\xff");
}

TEST(AppendJsonEscapedTest, MixedRuns) {
  EXPECT_EQ(Escaped("a\nb\tc\"d\x01"
                    "e"),
            "a\\nb\\tc\\\"d\\u0001e");
  EXPECT_EQ(Escaped("\n\n\n"), "\\n\\n\\n");
  EXPECT_EQ(Escaped("ё\n😀"), "ё\\n😀");
}

TEST(AppendJsonEscapedTest, LongInput) {
  std::string in(100000, 'x');
  in[50000] = '\n';
  const std::string out = Escaped(in);
  ASSERT_EQ(out.size(), in.size() + 1);
  EXPECT_EQ(out.substr(49999, 4), "x\\nx");
}

TEST(JsonWriterTest, EmptyObject) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.EndObject();
  EXPECT_EQ(out, "{}");
}

TEST(JsonWriterTest, MembersAndNesting) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("data");
  w.BeginObject();
  w.Key("a");
  w.Int(1);
  w.Key("b");
  w.String("x\"y");
  w.Key("c");
  w.BeginObject();
  w.EndObject();
  w.Key("d");
  w.Int(-7);
  w.EndObject();
  w.Key("name");
  w.String("ev");
  w.EndObject();
  EXPECT_EQ(out, R"({"data":{"a":1,"b":"x\"y","c":{},"d":-7},"name":"ev"})");
}

TEST(JsonWriterTest, IntExtremes) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("max");
  w.Int(INT64_MAX);
  w.Key("min");
  w.Int(INT64_MIN);
  w.Key("zero");
  w.Int(0);
  w.EndObject();
  EXPECT_EQ(out, R"({"max":9223372036854775807,"min":-9223372036854775808,)"
                 R"("zero":0})");
}

TEST(JsonWriterTest, KeysAreEscaped) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("k\n");
  w.String("");
  w.EndObject();
  EXPECT_EQ(out, R"({"k\n":""})");
}

TEST(JsonWriterTest, RawValue) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("a");
  w.RawValue()->append("true");
  w.Key("b");
  w.RawValue()->append("[1,2]");
  w.EndObject();
  EXPECT_EQ(out, R"({"a":true,"b":[1,2]})");
}

TEST(JsonWriterTest, AppendsAfterExistingContent) {
  std::string out = "prefix:";
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("a");
  w.Int(1);
  w.EndObject();
  EXPECT_EQ(out, R"(prefix:{"a":1})");
}

}  // namespace
}  // namespace herald::service
