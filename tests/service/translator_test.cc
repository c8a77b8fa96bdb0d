#include "service/translator.h"

#include <cstdint>
#include <ctime>
#include <string>

#include "gtest/gtest.h"
#include "herald/v1/herald.pb.h"

namespace herald::service {
namespace {

using v1::PublishRequest;

// Builds a Timestamp from a UTC civil time using glibc's timegm, independent
// of the code under test.
google::protobuf::Timestamp Utc(int year, int month, int day, int hour,
                                int minute, int second, int micros) {
  struct tm tm = {};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  google::protobuf::Timestamp ts;
  ts.set_seconds(static_cast<int64_t>(timegm(&tm)));
  ts.set_nanos(micros * 1000);
  return ts;
}

TEST(TranslatorTest, TimestampHelperAgreesWithDate) {
  // date -u -d '2024-12-04 18:36:14' +%s ; date -u -d '2025-01-11 01:05:03'
  EXPECT_EQ(Utc(2024, 12, 4, 18, 36, 14, 0).seconds(), 1733337374);
  EXPECT_EQ(Utc(2025, 1, 11, 1, 5, 3, 0).seconds(), 1736557503);
}

// ---- Every example of the seed, re-serialised compactly ----

TEST(TranslatorSeedTest, MessageCreated) {
  PublishRequest req;
  auto* e = req.mutable_message_created();
  e->set_author_id(1);
  e->set_channel_id(1);
  *e->mutable_edited() = Utc(2024, 12, 4, 18, 36, 14, 45681);
  e->set_id(6);
  *e->mutable_sent() = Utc(2024, 12, 4, 18, 36, 14, 45681);
  e->set_server_id(1);
  e->set_text("its over guys");
  EXPECT_EQ(Translator::ToJson(req),
            R"({"data":{"author_id":1,"channel_id":1,)"
            R"("edited":"2024-12-04 18:36:14.045681+00","id":6,)"
            R"("sent":"2024-12-04 18:36:14.045681+00","server_id":1,)"
            R"("text":"its over guys"},"name":"message_created"})");
}

TEST(TranslatorSeedTest, MessageEdited) {
  PublishRequest req;
  auto* e = req.mutable_message_edited();
  e->set_channel_id(1);
  *e->mutable_edited() = Utc(2025, 1, 11, 1, 5, 3, 80518);
  e->set_id(6);
  e->set_server_id(1);
  e->set_text("you_are_good_people");
  EXPECT_EQ(Translator::ToJson(req),
            R"({"data":{"channel_id":1,)"
            R"("edited":"2025-01-11 01:05:03.080518+00","id":6,)"
            R"("server_id":1,"text":"you_are_good_people"},)"
            R"("name":"message_edited"})");
}

TEST(TranslatorSeedTest, MessageDeleted) {
  PublishRequest req;
  auto* e = req.mutable_message_deleted();
  e->set_channel_id(1);
  e->set_id(8);
  e->set_server_id(1);
  EXPECT_EQ(Translator::ToJson(req),
            R"({"data":{"channel_id":1,"id":8,"server_id":1},)"
            R"("name":"message_deleted"})");
}

TEST(TranslatorSeedTest, ChannelCreated) {
  PublishRequest req;
  auto* e = req.mutable_channel_created();
  e->set_id(7);
  e->set_name("political_discussion");
  e->set_server_id(1);
  e->set_type(v1::CHANNEL_TYPE_TEXT);
  EXPECT_EQ(Translator::ToJson(req),
            R"({"data":{"id":7,"name":"political_discussion",)"
            R"("server_id":1,"type":0},"name":"channel_created"})");
}

TEST(TranslatorSeedTest, ChannelEdited) {
  PublishRequest req;
  auto* e = req.mutable_channel_edited();
  e->set_id(7);
  e->set_name("shared_photos");
  e->set_server_id(1);
  e->set_type(v1::CHANNEL_TYPE_VOICE);
  EXPECT_EQ(Translator::ToJson(req),
            R"({"data":{"id":7,"name":"shared_photos","server_id":1,)"
            R"("type":1},"name":"channel_edited"})");
}

TEST(TranslatorSeedTest, ChannelDeleted) {
  PublishRequest req;
  auto* e = req.mutable_channel_deleted();
  e->set_id(7);
  e->set_server_id(1);
  EXPECT_EQ(Translator::ToJson(req),
            R"({"data":{"id":7,"server_id":1},"name":"channel_deleted"})");
}

TEST(TranslatorSeedTest, ServerEdited) {
  PublishRequest req;
  auto* e = req.mutable_server_edited();
  e->set_id(1);
  e->set_name("speed_cameras_hotspots");
  EXPECT_EQ(Translator::ToJson(req),
            R"({"data":{"id":1,"name":"speed_cameras_hotspots"},)"
            R"("name":"server_edited"})");
}

TEST(TranslatorSeedTest, ServerDeleted) {
  PublishRequest req;
  req.mutable_server_deleted()->set_id(2);
  EXPECT_EQ(Translator::ToJson(req),
            R"({"data":{"id":2},"name":"server_deleted"})");
}

TEST(TranslatorSeedTest, UserJoined) {
  PublishRequest req;
  auto* e = req.mutable_user_joined();
  e->set_id(2);
  e->set_server_id(1);
  EXPECT_EQ(Translator::ToJson(req),
            R"({"data":{"id":2,"server_id":1},"name":"user_joined"})");
}

TEST(TranslatorSeedTest, UserLeft) {
  PublishRequest req;
  auto* e = req.mutable_user_left();
  e->set_id(1);
  e->set_server_id(1);
  EXPECT_EQ(Translator::ToJson(req),
            R"({"data":{"id":1,"server_id":1},"name":"user_left"})");
}

TEST(TranslatorSeedTest, UserJoinedVc) {
  const std::string expected =
      R"({"data":{"channel_id":2,"id":2,"server_id":1},)"
      R"("name":"user_joined_vc"})";
  EXPECT_EQ(Translator::UserJoinedVc(/*user_id=*/2, /*channel_id=*/2,
                                     /*server_id=*/1),
            expected);
  PublishRequest req;
  auto* e = req.mutable_user_joined_vc();
  e->set_channel_id(2);
  e->set_id(2);
  e->set_server_id(1);
  EXPECT_EQ(Translator::ToJson(req), expected);
}

TEST(TranslatorSeedTest, UserLeftVc) {
  const std::string expected =
      R"({"data":{"channel_id":2,"id":2,"server_id":1},)"
      R"("name":"user_left_vc"})";
  EXPECT_EQ(Translator::UserLeftVc(/*user_id=*/2, /*channel_id=*/2,
                                   /*server_id=*/1),
            expected);
  PublishRequest req;
  auto* e = req.mutable_user_left_vc();
  e->set_channel_id(2);
  e->set_id(2);
  e->set_server_id(1);
  EXPECT_EQ(Translator::ToJson(req), expected);
}

TEST(TranslatorSeedTest, GotServerOwner) {
  PublishRequest req;
  auto* e = req.mutable_got_server_owner();
  e->set_id(1);
  e->set_user_id(42);  // the recipient; not part of the JSON
  EXPECT_EQ(Translator::ToJson(req),
            R"({"data":{"id":1},"name":"got_server_owner"})");
}

// ---- Beyond the seed ----

TEST(TranslatorTest, VoicePresenceArgumentOrder) {
  EXPECT_EQ(Translator::UserJoinedVc(/*user_id=*/10, /*channel_id=*/20,
                                     /*server_id=*/30),
            R"({"data":{"channel_id":20,"id":10,"server_id":30},)"
            R"("name":"user_joined_vc"})");
  EXPECT_EQ(Translator::UserLeftVc(/*user_id=*/10, /*channel_id=*/20,
                                   /*server_id=*/30),
            R"({"data":{"channel_id":20,"id":10,"server_id":30},)"
            R"("name":"user_left_vc"})");
}

TEST(TranslatorTest, TextIsEscaped) {
  PublishRequest req;
  auto* e = req.mutable_message_created();
  e->set_author_id(1);
  e->set_channel_id(2);
  *e->mutable_edited() = Utc(2024, 12, 4, 18, 36, 14, 0);
  e->set_id(3);
  *e->mutable_sent() = Utc(2024, 12, 4, 18, 36, 14, 45680);
  e->set_server_id(4);
  e->set_text(std::string("\"hi\"\\ / \n\t\x01\x7f привет 😀"));
  EXPECT_EQ(Translator::ToJson(req),
            "{\"data\":{\"author_id\":1,\"channel_id\":2,"
            "\"edited\":\"2024-12-04 18:36:14+00\",\"id\":3,"
            "\"sent\":\"2024-12-04 18:36:14.04568+00\",\"server_id\":4,"
            "\"text\":\"\\\"hi\\\"\\\\ / \\n\\t\\u0001\x7f привет 😀\"},"
            "\"name\":\"message_created\"}");
}

TEST(TranslatorTest, NulByteInText) {
  PublishRequest req;
  auto* e = req.mutable_message_edited();
  e->set_channel_id(1);
  *e->mutable_edited() = Utc(2025, 1, 11, 1, 5, 3, 80518);
  e->set_id(1);
  e->set_server_id(1);
  e->set_text(std::string("a\0b", 3));
  EXPECT_EQ(Translator::ToJson(req),
            R"({"data":{"channel_id":1,)"
            R"("edited":"2025-01-11 01:05:03.080518+00","id":1,)"
            R"("server_id":1,"text":"a\u0000b"},"name":"message_edited"})");
}

TEST(TranslatorTest, NamesAreEscaped) {
  PublishRequest req;
  auto* e = req.mutable_server_edited();
  e->set_id(5);
  e->set_name("Сервер \"№1\"");
  EXPECT_EQ(Translator::ToJson(req),
            R"({"data":{"id":5,"name":"Сервер \"№1\""},)"
            R"("name":"server_edited"})");
}

TEST(TranslatorTest, LargeIdsAndEmptyText) {
  PublishRequest req;
  auto* e = req.mutable_message_edited();
  e->set_channel_id(INT64_MAX);
  *e->mutable_edited() = Utc(2025, 1, 11, 1, 5, 3, 80518);
  e->set_id(1234567890123456789);
  e->set_server_id(9007199254740993);
  EXPECT_EQ(Translator::ToJson(req),
            R"({"data":{"channel_id":9223372036854775807,)"
            R"("edited":"2025-01-11 01:05:03.080518+00",)"
            R"("id":1234567890123456789,"server_id":9007199254740993,)"
            R"("text":""},"name":"message_edited"})");
}

TEST(TranslatorTest, LongTextRoundTrip) {
  PublishRequest req;
  auto* e = req.mutable_message_edited();
  e->set_channel_id(1);
  *e->mutable_edited() = Utc(2025, 1, 11, 1, 5, 3, 0);
  e->set_id(1);
  e->set_server_id(1);
  e->set_text(std::string(16384, 'a'));
  const std::string json = Translator::ToJson(req);
  EXPECT_EQ(json.size(), 16384 + std::string(R"({"data":{"channel_id":1,)"
                                             R"("edited":"2025-01-11 )"
                                             R"(01:05:03+00","id":1,)"
                                             R"("server_id":1,"text":""},)"
                                             R"("name":"message_edited"})")
                                     .size());
}

TEST(TranslatorTest, NoEventGivesEmptyString) {
  PublishRequest req;
  EXPECT_EQ(Translator::ToJson(req), "");
  EXPECT_EQ(Translator::EventName(req), "");
}

TEST(TranslatorTest, EventNames) {
  PublishRequest req;
  req.mutable_message_created();
  EXPECT_EQ(Translator::EventName(req), "message_created");
  req.mutable_message_edited();
  EXPECT_EQ(Translator::EventName(req), "message_edited");
  req.mutable_message_deleted();
  EXPECT_EQ(Translator::EventName(req), "message_deleted");
  req.mutable_channel_created();
  EXPECT_EQ(Translator::EventName(req), "channel_created");
  req.mutable_channel_edited();
  EXPECT_EQ(Translator::EventName(req), "channel_edited");
  req.mutable_channel_deleted();
  EXPECT_EQ(Translator::EventName(req), "channel_deleted");
  req.mutable_server_edited();
  EXPECT_EQ(Translator::EventName(req), "server_edited");
  req.mutable_server_deleted();
  EXPECT_EQ(Translator::EventName(req), "server_deleted");
  req.mutable_user_joined();
  EXPECT_EQ(Translator::EventName(req), "user_joined");
  req.mutable_user_left();
  EXPECT_EQ(Translator::EventName(req), "user_left");
  req.mutable_user_joined_vc();
  EXPECT_EQ(Translator::EventName(req), "user_joined_vc");
  req.mutable_user_left_vc();
  EXPECT_EQ(Translator::EventName(req), "user_left_vc");
  req.mutable_got_server_owner();
  EXPECT_EQ(Translator::EventName(req), "got_server_owner");
}

TEST(TranslatorTest, VisibleToIsNotInTheJson) {
  PublishRequest req;
  req.mutable_server_deleted()->set_id(2);
  req.add_visible_to(5);
  EXPECT_EQ(Translator::ToJson(req),
            R"({"data":{"id":2},"name":"server_deleted"})");
}

}  // namespace
}  // namespace herald::service
