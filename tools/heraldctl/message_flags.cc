#include "tools/heraldctl/message_flags.h"

#include <charconv>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/heraldctl/time_parse.h"

namespace herald::tools {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool IsTimestamp(const FieldDescriptor& field) {
  return field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
         field.message_type() == google::protobuf::Timestamp::descriptor();
}

// The proto style prefix of an enum's value names: ChannelType ->
// "CHANNEL_TYPE_".
std::string EnumValuePrefix(const EnumDescriptor& type) {
  std::string prefix;
  for (char c : type.name()) {
    if (absl::ascii_isupper(c) && !prefix.empty()) prefix += '_';
    prefix += absl::ascii_toupper(c);
  }
  return prefix + "_";
}

// The name users type for an enum value: CHANNEL_TYPE_VOICE -> "voice".
std::string ShortName(const EnumValueDescriptor& value) {
  std::string name = value.name();
  const std::string prefix = EnumValuePrefix(*value.type());
  if (absl::StartsWith(name, prefix)) name.erase(0, prefix.size());
  return absl::AsciiStrToLower(name);
}

std::string EnumChoices(const EnumDescriptor& type) {
  std::vector<std::string> names;
  for (int i = 0; i < type.value_count(); ++i) {
    names.push_back(ShortName(*type.value(i)));
  }
  return absl::StrJoin(names, "|");
}

// A value name (short or full, any case) or any int32: proto3 enums are
// open, and herald, not heraldctl, refuses unknown numbers.
absl::StatusOr<int> ParseEnum(const FieldDescriptor& field,
                              const std::string& text) {
  const EnumDescriptor& type = *field.enum_type();
  for (int i = 0; i < type.value_count(); ++i) {
    const EnumValueDescriptor& value = *type.value(i);
    if (absl::EqualsIgnoreCase(text, ShortName(value)) ||
        absl::EqualsIgnoreCase(text, value.name())) {
      return value.number();
    }
  }
  int number = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, number);
  if (text.empty() || ec != std::errc() || p != end) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value '", text, "' for --", field.name(),
                     ": expected ", EnumChoices(type), " or a number"));
  }
  return number;
}

std::string FlagSynopsis(const FieldDescriptor& field) {
  std::string value;
  if (IsTimestamp(field)) {
    value = "TIME";
  } else if (field.cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
    value = EnumChoices(*field.enum_type());
  } else if (field.cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    value = "TEXT";
  } else if (field.is_repeated()) {
    value = "1,2,3";
  } else {
    value = "INT";
  }
  return absl::StrCat("--", field.name(), "=", value);
}

}  // namespace

MessageFlags::MessageFlags(google::protobuf::Timestamp now,
                           bool timestamps_default_to_now)
    : now_(std::move(now)),
      timestamps_default_to_now_(timestamps_default_to_now) {}

std::vector<std::string> MessageFlags::FlagNames(const Descriptor& type) {
  std::vector<std::string> names;
  for (int i = 0; i < type.field_count(); ++i) {
    names.push_back(type.field(i)->name());
  }
  return names;
}

std::string MessageFlags::Synopsis(const Descriptor& type) {
  std::vector<std::string> parts;
  for (int i = 0; i < type.field_count(); ++i) {
    parts.push_back(FlagSynopsis(*type.field(i)));
  }
  return absl::StrJoin(parts, " ");
}

absl::Status MessageFlags::Fill(const Flags& flags, Message& message) const {
  const Reflection& reflection = *message.GetReflection();
  const Descriptor& type = *message.GetDescriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    const std::string& name = field.name();
    if (!flags.Has(name) &&
        !(IsTimestamp(field) && timestamps_default_to_now_)) {
      continue;
    }
    if (IsTimestamp(field)) {
      auto text = flags.GetString(name, "now");
      if (!text.ok()) return text.status();
      auto time = ParseTime(*text, now_);
      if (!time.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, ": ", time.status().message()));
      }
      reflection.MutableMessage(&message, &field)->CopyFrom(*time);
    } else if (field.is_repeated() &&
               field.cpp_type() == FieldDescriptor::CPPTYPE_INT64) {
      auto values = flags.GetIntList(name);
      if (!values.ok()) return values.status();
      reflection.ClearField(&message, &field);
      for (int64_t value : *values)
        reflection.AddInt64(&message, &field, value);
    } else if (field.is_repeated()) {
      return absl::InternalError(absl::StrCat(
          "field ", field.full_name(), " has a type heraldctl cannot set"));
    } else if (field.cpp_type() == FieldDescriptor::CPPTYPE_INT64) {
      auto value = flags.GetInt(name);
      if (!value.ok()) return value.status();
      reflection.SetInt64(&message, &field, *value);
    } else if (field.cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      auto value = flags.GetString(name);
      if (!value.ok()) return value.status();
      reflection.SetString(&message, &field, *value);
    } else if (field.cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
      auto text = flags.GetString(name);
      if (!text.ok()) return text.status();
      auto value = ParseEnum(field, *text);
      if (!value.ok()) return value.status();
      reflection.SetEnumValue(&message, &field, *value);
    } else {
      return absl::InternalError(absl::StrCat(
          "field ", field.full_name(), " has a type heraldctl cannot set"));
    }
  }
  return absl::OkStatus();
}

}  // namespace herald::tools
