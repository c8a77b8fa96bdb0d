#include "service/validator.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "herald/v1/herald.pb.h"

namespace herald::service {
namespace {

using v1::PublishRequest;

// 2024-12-04 18:36:14 UTC (date -u -d '2024-12-04 18:36:14' +%s).
google::protobuf::Timestamp SeedTime() {
  google::protobuf::Timestamp ts;
  ts.set_seconds(1733337374);
  ts.set_nanos(45681000);
  return ts;
}

PublishRequest ValidMessageCreated() {
  PublishRequest req;
  auto* e = req.mutable_message_created();
  e->set_id(6);
  e->set_author_id(1);
  e->set_channel_id(1);
  e->set_server_id(1);
  *e->mutable_sent() = SeedTime();
  *e->mutable_edited() = SeedTime();
  e->set_text("its over guys");
  return req;
}

PublishRequest ValidMessageEdited() {
  PublishRequest req;
  auto* e = req.mutable_message_edited();
  e->set_id(6);
  e->set_channel_id(1);
  e->set_server_id(1);
  *e->mutable_edited() = SeedTime();
  e->set_text("you_are_good_people");
  return req;
}

PublishRequest ValidChannelCreated() {
  PublishRequest req;
  auto* e = req.mutable_channel_created();
  e->set_id(7);
  e->set_server_id(1);
  e->set_name("political_discussion");
  e->set_type(v1::CHANNEL_TYPE_TEXT);
  return req;
}

// Expects INVALID_ARGUMENT with exactly `message`.
void ExpectInvalid(const absl::Status& status, const std::string& message) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(status.message(), message);
}

// Expects INVALID_ARGUMENT whose message starts with `prefix`.
void ExpectInvalidPrefix(const absl::Status& status,
                         const std::string& prefix) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(std::string(status.message()).substr(0, prefix.size()), prefix)
      << status;
}

// ---- UTF-8 ----

TEST(IsValidUtf8Test, Accepts) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii, long enough for the 8-byte path"));
  EXPECT_TRUE(IsValidUtf8(std::string("nul\0inside", 10)));
  EXPECT_TRUE(IsValidUtf8("\x7f"));
  EXPECT_TRUE(IsValidUtf8("привет, мир"));
  EXPECT_TRUE(IsValidUtf8("\xC2\x80"));          // U+0080
  EXPECT_TRUE(IsValidUtf8("\xDF\xBF"));          // U+07FF
  EXPECT_TRUE(IsValidUtf8("\xE0\xA0\x80"));      // U+0800
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));      // U+D7FF
  EXPECT_TRUE(IsValidUtf8("\xEE\x80\x80"));      // U+E000
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBF"));      // U+FFFF
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80"));  // U+10000
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));  // 😀
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_TRUE(
      IsValidUtf8("12345678\xF0\x9F\x98\x80"
                  "abcdefgh"));
}

TEST(IsValidUtf8Test, Rejects) {
  EXPECT_FALSE(IsValidUtf8("\x80"));  // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));          // overlong NUL
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\x80"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // U+D800
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));      // U+DFFF
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\x80"));  // overlong
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));  // overlong
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xFE"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));      // truncated
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));  // truncated
  EXPECT_FALSE(IsValidUtf8("\xC3\x28"));      // bad continuation
  EXPECT_FALSE(IsValidUtf8("\xE2\x28\xA1"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82\x28"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98\x28"));
  EXPECT_FALSE(IsValidUtf8("abcdefghijklmnop\xFF"));  // after fast path
}

// ---- Publish ----

TEST(ValidatePublishTest, ValidEvents) {
  const Validator v;
  EXPECT_TRUE(v.ValidatePublish(ValidMessageCreated()).ok());
  EXPECT_TRUE(v.ValidatePublish(ValidMessageEdited()).ok());
  EXPECT_TRUE(v.ValidatePublish(ValidChannelCreated()).ok());

  PublishRequest req;
  auto* md = req.mutable_message_deleted();
  md->set_id(8);
  md->set_channel_id(1);
  md->set_server_id(1);
  EXPECT_TRUE(v.ValidatePublish(req).ok());

  auto* ce = req.mutable_channel_edited();
  ce->set_id(7);
  ce->set_server_id(1);
  ce->set_name("shared_photos");
  ce->set_type(v1::CHANNEL_TYPE_VOICE);
  EXPECT_TRUE(v.ValidatePublish(req).ok());

  auto* cd = req.mutable_channel_deleted();
  cd->set_id(7);
  cd->set_server_id(1);
  EXPECT_TRUE(v.ValidatePublish(req).ok());

  auto* se = req.mutable_server_edited();
  se->set_id(1);
  se->set_name("speed_cameras_hotspots");
  EXPECT_TRUE(v.ValidatePublish(req).ok());

  req.mutable_server_deleted()->set_id(2);
  EXPECT_TRUE(v.ValidatePublish(req).ok());

  auto* uj = req.mutable_user_joined();
  uj->set_id(2);
  uj->set_server_id(1);
  EXPECT_TRUE(v.ValidatePublish(req).ok());

  auto* ul = req.mutable_user_left();
  ul->set_id(1);
  ul->set_server_id(1);
  EXPECT_TRUE(v.ValidatePublish(req).ok());

  auto* go = req.mutable_got_server_owner();
  go->set_id(1);
  go->set_user_id(5);
  EXPECT_TRUE(v.ValidatePublish(req).ok());
}

TEST(ValidatePublishTest, EmptyStringsAreAllowed) {
  const Validator v;
  PublishRequest req = ValidMessageCreated();
  req.mutable_message_created()->clear_text();
  EXPECT_TRUE(v.ValidatePublish(req).ok());
}

TEST(ValidatePublishTest, MissingEvent) {
  const Validator v;
  PublishRequest req;
  ExpectInvalidPrefix(v.ValidatePublish(req),
                      "event: missing (set one of message_created, ");
  req.add_visible_to(1);
  ExpectInvalidPrefix(v.ValidatePublish(req), "event: missing");
}

TEST(ValidatePublishTest, VoicePresenceCannotBePublished) {
  const Validator v;
  PublishRequest req;
  auto* j = req.mutable_user_joined_vc();
  j->set_id(2);
  j->set_channel_id(2);
  j->set_server_id(1);
  ExpectInvalid(v.ValidatePublish(req),
                "user_joined_vc: voice presence events are emitted by herald "
                "itself and cannot be published");
  auto* l = req.mutable_user_left_vc();
  l->set_id(2);
  l->set_channel_id(2);
  l->set_server_id(1);
  ExpectInvalid(v.ValidatePublish(req),
                "user_left_vc: voice presence events are emitted by herald "
                "itself and cannot be published");
}

TEST(ValidatePublishTest, NonPositiveIds) {
  const Validator v;
  {
    PublishRequest req = ValidMessageCreated();
    req.mutable_message_created()->set_id(0);
    ExpectInvalid(v.ValidatePublish(req),
                  "message_created.id: must be positive");
  }
  {
    PublishRequest req = ValidMessageCreated();
    req.mutable_message_created()->set_author_id(-1);
    ExpectInvalid(v.ValidatePublish(req),
                  "message_created.author_id: must be positive");
  }
  {
    PublishRequest req = ValidMessageCreated();
    req.mutable_message_created()->set_channel_id(0);
    ExpectInvalid(v.ValidatePublish(req),
                  "message_created.channel_id: must be positive");
  }
  {
    PublishRequest req = ValidMessageCreated();
    req.mutable_message_created()->set_server_id(INT64_MIN);
    ExpectInvalid(v.ValidatePublish(req),
                  "message_created.server_id: must be positive");
  }
  {
    PublishRequest req = ValidMessageEdited();
    req.mutable_message_edited()->set_channel_id(0);
    ExpectInvalid(v.ValidatePublish(req),
                  "message_edited.channel_id: must be positive");
  }
  {
    PublishRequest req;
    req.mutable_message_deleted()->set_id(8);
    req.mutable_message_deleted()->set_channel_id(1);
    ExpectInvalid(v.ValidatePublish(req),
                  "message_deleted.server_id: must be positive");
  }
  {
    PublishRequest req = ValidChannelCreated();
    req.mutable_channel_created()->set_server_id(0);
    ExpectInvalid(v.ValidatePublish(req),
                  "channel_created.server_id: must be positive");
  }
  {
    PublishRequest req;
    req.mutable_channel_edited()->set_server_id(1);
    ExpectInvalid(v.ValidatePublish(req),
                  "channel_edited.id: must be positive");
  }
  {
    PublishRequest req;
    req.mutable_channel_deleted()->set_id(1);
    ExpectInvalid(v.ValidatePublish(req),
                  "channel_deleted.server_id: must be positive");
  }
  {
    PublishRequest req;
    req.mutable_server_edited()->set_name("x");
    ExpectInvalid(v.ValidatePublish(req), "server_edited.id: must be positive");
  }
  {
    PublishRequest req;
    req.mutable_server_deleted()->set_id(-5);
    ExpectInvalid(v.ValidatePublish(req),
                  "server_deleted.id: must be positive");
  }
  {
    PublishRequest req;
    req.mutable_user_joined()->set_server_id(1);
    ExpectInvalid(v.ValidatePublish(req), "user_joined.id: must be positive");
  }
  {
    PublishRequest req;
    req.mutable_user_left()->set_id(1);
    ExpectInvalid(v.ValidatePublish(req),
                  "user_left.server_id: must be positive");
  }
  {
    PublishRequest req;
    req.mutable_got_server_owner()->set_id(1);
    ExpectInvalid(v.ValidatePublish(req),
                  "got_server_owner.user_id: must be positive");
    req.mutable_got_server_owner()->set_id(0);
    req.mutable_got_server_owner()->set_user_id(1);
    ExpectInvalid(v.ValidatePublish(req),
                  "got_server_owner.id: must be positive");
  }
}

TEST(ValidatePublishTest, MissingTimestamps) {
  const Validator v;
  {
    PublishRequest req = ValidMessageCreated();
    req.mutable_message_created()->clear_sent();
    ExpectInvalid(v.ValidatePublish(req), "message_created.sent: missing");
  }
  {
    PublishRequest req = ValidMessageCreated();
    req.mutable_message_created()->clear_edited();
    ExpectInvalid(v.ValidatePublish(req), "message_created.edited: missing");
  }
  {
    PublishRequest req = ValidMessageEdited();
    req.mutable_message_edited()->clear_edited();
    ExpectInvalid(v.ValidatePublish(req), "message_edited.edited: missing");
  }
}

TEST(ValidatePublishTest, TimestampsAtTheEpochArePresent) {
  const Validator v;
  PublishRequest req = ValidMessageCreated();
  req.mutable_message_created()->mutable_sent()->Clear();  // set, all zero
  EXPECT_TRUE(v.ValidatePublish(req).ok());
}

TEST(ValidatePublishTest, TimestampsOutOfRange) {
  const Validator v;
  {
    PublishRequest req = ValidMessageCreated();
    req.mutable_message_created()->mutable_sent()->set_nanos(1000000000);
    ExpectInvalidPrefix(v.ValidatePublish(req), "message_created.sent: ");
  }
  {
    PublishRequest req = ValidMessageCreated();
    req.mutable_message_created()->mutable_edited()->set_nanos(-1);
    ExpectInvalidPrefix(v.ValidatePublish(req), "message_created.edited: ");
  }
  {
    PublishRequest req = ValidMessageEdited();
    req.mutable_message_edited()->mutable_edited()->set_seconds(253402300800);
    ExpectInvalidPrefix(v.ValidatePublish(req), "message_edited.edited: ");
  }
  {
    PublishRequest req = ValidMessageEdited();
    req.mutable_message_edited()->mutable_edited()->set_seconds(-62135596801);
    ExpectInvalidPrefix(v.ValidatePublish(req), "message_edited.edited: ");
  }
  {
    PublishRequest req = ValidMessageEdited();
    auto* ts = req.mutable_message_edited()->mutable_edited();
    ts->set_seconds(253402300799);
    ts->set_nanos(999999999);
    EXPECT_TRUE(v.ValidatePublish(req).ok());
    ts->set_seconds(-62135596800);
    ts->set_nanos(0);
    EXPECT_TRUE(v.ValidatePublish(req).ok());
  }
}

TEST(ValidatePublishTest, InvalidUtf8) {
  const Validator v;
  {
    PublishRequest req = ValidMessageCreated();
    req.mutable_message_created()->set_text("bad \xC0\x80 text");
    ExpectInvalid(v.ValidatePublish(req),
                  "message_created.text: not valid UTF-8");
  }
  {
    PublishRequest req = ValidMessageEdited();
    req.mutable_message_edited()->set_text("\xED\xA0\x80");
    ExpectInvalid(v.ValidatePublish(req),
                  "message_edited.text: not valid UTF-8");
  }
  {
    PublishRequest req = ValidChannelCreated();
    req.mutable_channel_created()->set_name("\xFF");
    ExpectInvalid(v.ValidatePublish(req),
                  "channel_created.name: not valid UTF-8");
  }
  {
    PublishRequest req;
    auto* e = req.mutable_channel_edited();
    e->set_id(1);
    e->set_server_id(1);
    e->set_name("\xF4\x90\x80\x80");
    ExpectInvalid(v.ValidatePublish(req),
                  "channel_edited.name: not valid UTF-8");
  }
  {
    PublishRequest req;
    req.mutable_server_edited()->set_id(1);
    req.mutable_server_edited()->set_name("\xE2\x82");
    ExpectInvalid(v.ValidatePublish(req),
                  "server_edited.name: not valid UTF-8");
  }
}

TEST(ValidatePublishTest, SizeLimits) {
  const Validator v;
  {
    PublishRequest req = ValidMessageCreated();
    req.mutable_message_created()->set_text(std::string(20000, 'a'));
    ExpectInvalid(v.ValidatePublish(req),
                  "message_created.text: 20000 bytes exceeds the limit of "
                  "16384");
    req.mutable_message_created()->set_text(std::string(16384, 'a'));
    EXPECT_TRUE(v.ValidatePublish(req).ok());
  }
  {
    PublishRequest req = ValidMessageEdited();
    req.mutable_message_edited()->set_text(std::string(16385, 'a'));
    ExpectInvalid(v.ValidatePublish(req),
                  "message_edited.text: 16385 bytes exceeds the limit of "
                  "16384");
  }
  {
    PublishRequest req = ValidChannelCreated();
    req.mutable_channel_created()->set_name(std::string(1025, 'n'));
    ExpectInvalid(v.ValidatePublish(req),
                  "channel_created.name: 1025 bytes exceeds the limit of "
                  "1024");
    req.mutable_channel_created()->set_name(std::string(1024, 'n'));
    EXPECT_TRUE(v.ValidatePublish(req).ok());
  }
  {
    PublishRequest req;
    req.mutable_server_edited()->set_id(1);
    req.mutable_server_edited()->set_name(std::string(2000, 'n'));
    ExpectInvalid(v.ValidatePublish(req),
                  "server_edited.name: 2000 bytes exceeds the limit of 1024");
  }
}

TEST(ValidatePublishTest, CustomLimits) {
  ValidationLimits limits;
  limits.max_text_bytes = 4;
  limits.max_visible_to = 2;
  const Validator v(limits);
  EXPECT_EQ(v.limits().max_text_bytes, 4u);
  PublishRequest req = ValidMessageCreated();
  req.mutable_message_created()->set_text("abcde");
  ExpectInvalid(v.ValidatePublish(req),
                "message_created.text: 5 bytes exceeds the limit of 4");
  req.mutable_message_created()->set_text("abcd");
  req.add_visible_to(1);
  req.add_visible_to(2);
  EXPECT_TRUE(v.ValidatePublish(req).ok());
  req.add_visible_to(3);
  ExpectInvalid(v.ValidatePublish(req),
                "visible_to: 3 entries exceeds the limit of 2");
}

TEST(ValidatePublishTest, ChannelType) {
  const Validator v;
  PublishRequest req = ValidChannelCreated();
  req.mutable_channel_created()->set_type(static_cast<v1::ChannelType>(7));
  ExpectInvalid(v.ValidatePublish(req),
                "channel_created.type: unknown channel type 7");
  req.mutable_channel_created()->set_type(static_cast<v1::ChannelType>(-1));
  ExpectInvalid(v.ValidatePublish(req),
                "channel_created.type: unknown channel type -1");
  req.mutable_channel_created()->set_type(v1::CHANNEL_TYPE_VOICE);
  EXPECT_TRUE(v.ValidatePublish(req).ok());

  PublishRequest edited;
  auto* e = edited.mutable_channel_edited();
  e->set_id(1);
  e->set_server_id(1);
  e->set_type(static_cast<v1::ChannelType>(2));
  ExpectInvalid(v.ValidatePublish(edited),
                "channel_edited.type: unknown channel type 2");
}

TEST(ValidatePublishTest, VisibleTo) {
  const Validator v;
  PublishRequest req = ValidMessageCreated();
  req.add_visible_to(1);
  req.add_visible_to(2);
  EXPECT_TRUE(v.ValidatePublish(req).ok());
  req.add_visible_to(0);
  ExpectInvalid(v.ValidatePublish(req), "visible_to[2]: must be positive");
  req.set_visible_to(2, -3);
  ExpectInvalid(v.ValidatePublish(req), "visible_to[2]: must be positive");

  PublishRequest owner;
  owner.mutable_got_server_owner()->set_id(1);
  owner.mutable_got_server_owner()->set_user_id(1);
  owner.add_visible_to(-1);
  ExpectInvalid(v.ValidatePublish(owner), "visible_to[0]: must be positive");
}

TEST(ValidatePublishTest, EventErrorsComeBeforeVisibleTo) {
  const Validator v;
  PublishRequest req = ValidMessageCreated();
  req.mutable_message_created()->set_id(0);
  req.add_visible_to(0);
  ExpectInvalid(v.ValidatePublish(req), "message_created.id: must be positive");
}

// ---- Sessions ----

TEST(ValidateOpenSessionTest, Valid) {
  const Validator v;
  v1::OpenSessionRequest req;
  req.set_token("17d58d53-014e-4787-80c2-6518924d8d92");
  req.set_user_id(1);
  EXPECT_TRUE(v.ValidateOpenSession(req).ok());
  *req.mutable_expires_at() = SeedTime();
  EXPECT_TRUE(v.ValidateOpenSession(req).ok());
  // Past expiry is for the caller to judge.
  req.mutable_expires_at()->set_seconds(1);
  EXPECT_TRUE(v.ValidateOpenSession(req).ok());
  req.set_token(std::string(512, '~'));
  EXPECT_TRUE(v.ValidateOpenSession(req).ok());
  req.set_token("!");
  EXPECT_TRUE(v.ValidateOpenSession(req).ok());
}

TEST(ValidateOpenSessionTest, Token) {
  const Validator v;
  v1::OpenSessionRequest req;
  req.set_user_id(1);
  ExpectInvalid(v.ValidateOpenSession(req), "token: missing");
  req.set_token(std::string(513, 'a'));
  ExpectInvalid(v.ValidateOpenSession(req),
                "token: 513 bytes exceeds the limit of 512");
  req.set_token("abc def");
  ExpectInvalid(v.ValidateOpenSession(req),
                "token: byte 3 is not printable ASCII (0x21..0x7E)");
  req.set_token("abc\x7f");
  ExpectInvalidPrefix(v.ValidateOpenSession(req), "token: byte 3 ");
  req.set_token("\x1f");
  ExpectInvalidPrefix(v.ValidateOpenSession(req), "token: byte 0 ");
  req.set_token("тoken");
  ExpectInvalidPrefix(v.ValidateOpenSession(req), "token: byte 0 ");
  req.set_token(std::string("a\0b", 3));
  ExpectInvalidPrefix(v.ValidateOpenSession(req), "token: byte 1 ");
}

TEST(ValidateOpenSessionTest, UserIdAndExpiry) {
  const Validator v;
  v1::OpenSessionRequest req;
  req.set_token("t");
  ExpectInvalid(v.ValidateOpenSession(req), "user_id: must be positive");
  req.set_user_id(-2);
  ExpectInvalid(v.ValidateOpenSession(req), "user_id: must be positive");
  req.set_user_id(2);
  req.mutable_expires_at()->set_nanos(-1);
  ExpectInvalidPrefix(v.ValidateOpenSession(req), "expires_at: ");
  req.mutable_expires_at()->set_nanos(1000000000);
  ExpectInvalidPrefix(v.ValidateOpenSession(req), "expires_at: ");
  req.mutable_expires_at()->set_nanos(0);
  req.mutable_expires_at()->set_seconds(INT64_MAX);
  ExpectInvalidPrefix(v.ValidateOpenSession(req), "expires_at: ");
}

TEST(ValidateCloseSessionTest, Token) {
  const Validator v;
  v1::CloseSessionRequest req;
  ExpectInvalid(v.ValidateCloseSession(req), "token: missing");
  req.set_token("a b");
  ExpectInvalidPrefix(v.ValidateCloseSession(req), "token: byte 1 ");
  req.set_token("17d58d53-014e-4787-80c2-6518924d8d92");
  EXPECT_TRUE(v.ValidateCloseSession(req).ok());
}

// ---- Memberships ----

TEST(ValidateSetMembershipsTest, All) {
  ValidationLimits limits;
  limits.max_server_ids = 3;
  const Validator v(limits);
  v1::SetMembershipsRequest req;
  ExpectInvalid(v.ValidateSetMemberships(req), "user_id: must be positive");
  req.set_user_id(1);
  EXPECT_TRUE(v.ValidateSetMemberships(req).ok());  // empty list is fine
  req.add_server_ids(1);
  req.add_server_ids(0);
  ExpectInvalid(v.ValidateSetMemberships(req),
                "server_ids[1]: must be positive");
  req.set_server_ids(1, 2);
  req.add_server_ids(3);
  EXPECT_TRUE(v.ValidateSetMemberships(req).ok());
  req.add_server_ids(4);
  ExpectInvalid(v.ValidateSetMemberships(req),
                "server_ids: 4 entries exceeds the limit of 3");
}

TEST(ValidateGetMembershipsTest, All) {
  const Validator v;
  v1::GetMembershipsRequest req;
  ExpectInvalid(v.ValidateGetMemberships(req), "user_id: must be positive");
  req.set_user_id(3);
  EXPECT_TRUE(v.ValidateGetMemberships(req).ok());
}

// ---- Voice ----

TEST(ValidateJoinVoiceTest, All) {
  const Validator v;
  v1::JoinVoiceRequest req;
  req.set_user_id(1);
  req.set_server_id(1);
  req.set_channel_id(2);
  EXPECT_TRUE(v.ValidateJoinVoice(req).ok());
  req.set_user_id(0);
  ExpectInvalid(v.ValidateJoinVoice(req), "user_id: must be positive");
  req.set_user_id(1);
  req.set_server_id(-1);
  ExpectInvalid(v.ValidateJoinVoice(req), "server_id: must be positive");
  req.set_server_id(1);
  req.set_channel_id(0);
  ExpectInvalid(v.ValidateJoinVoice(req), "channel_id: must be positive");
}

TEST(ValidateLeaveVoiceTest, All) {
  const Validator v;
  v1::LeaveVoiceRequest req;
  ExpectInvalid(v.ValidateLeaveVoice(req), "user_id: must be positive");
  req.set_user_id(9);
  EXPECT_TRUE(v.ValidateLeaveVoice(req).ok());
}

TEST(ValidateGetVoiceStateTest, All) {
  const Validator v;
  v1::GetVoiceStateRequest req;
  ExpectInvalid(v.ValidateGetVoiceState(req), "server_id: must be positive");
  req.set_server_id(1);
  EXPECT_TRUE(v.ValidateGetVoiceState(req).ok());
}

}  // namespace
}  // namespace herald::service
