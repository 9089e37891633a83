#include "relais/protocol/codec.hpp"

#include <limits>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "relais/protocol/limits.hpp"

namespace relais::protocol {
namespace {

using json = nlohmann::json;

constexpr std::string_view key43 = "8dyTyclyNxVPsaEDaHhsTC9sdWX2ckgrbL5iJVK_lWI";

// A valid conversation.send; tests change one member at a time.
json send_frame() {
  return json{{"type", "conversation.send"},
              {"rid", "m1"},
              {"conversation_id", 4211},
              {"client_msg_id", "Xk3v9QpL2mN8rT4wYz6bAg"},
              {"ciphertext", "0qjp0_3R3pWYnjaAnn1pvBGrMt9GNQ6yoIBRu2fDycwsP9XGkFIlstDxl5jXcQ"}};
}

std::error_code decode_error(std::string_view frame, decode_diagnostics* diag = nullptr) {
  std::error_code ec;
  (void)decode(frame, ec, diag);
  return ec;
}

std::error_code decode_json_error(const json& frame, decode_diagnostics* diag = nullptr) {
  return decode_error(std::string_view(frame.dump()), diag);
}

// ---------------------------------------------------------------- success

TEST(Codec, DecodesAConversationSend) {
  std::error_code ec;
  const message m = decode(send_frame().dump(), ec);
  ASSERT_FALSE(ec) << ec.message();
  const auto* send = std::get_if<conversation_send>(&m);
  ASSERT_NE(send, nullptr);
  EXPECT_EQ(send->rid, "m1");
  EXPECT_EQ(send->conversation_id, 4211);
  EXPECT_EQ(send->client_msg_id, "Xk3v9QpL2mN8rT4wYz6bAg");
  EXPECT_EQ(send->ciphertext.size(), 46U);  // 62 characters
  EXPECT_EQ(type_name(m), "conversation.send");
}

TEST(Codec, EncodesTypeFirstAndOmitsAbsentOptionals) {
  conversation_ack ack;
  ack.conversation_id = 7;
  ack.client_msg_id = "abcdefghijklmnop";
  ack.seq = 3;
  ack.sent_at = 1767225600123;
  EXPECT_EQ(encode(ack),
            R"({"type":"conversation.ack","conversation_id":7,"client_msg_id":"abcdefghijklmnop",)"
            R"("seq":3,"sent_at":1767225600123})");
  ack.rid = "r9";
  EXPECT_EQ(encode(message{ack}).substr(0, 38), R"({"type":"conversation.ack","rid":"r9",)");
}

template <class T>
void expect_round_trip(const T& original) {
  const std::string frame = encode(original);
  SCOPED_TRACE(frame);
  std::error_code ec;
  const message decoded = decode(frame, ec);
  ASSERT_FALSE(ec) << ec.message();
  const auto* back = std::get_if<T>(&decoded);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(*back, original);
  EXPECT_EQ(encode(decoded), frame);
  std::string appended = "prefix";
  encode_to(appended, decoded);
  EXPECT_EQ(appended, "prefix" + frame);
}

TEST(Codec, RoundTripsAConversationMessage) {
  conversation_message m;
  m.conversation_id = limits::max_safe_integer;
  m.seq = 1;
  m.sender = peer_role::beneficiary;
  m.client_msg_id = std::string(64, '_');
  m.ciphertext = encoded_bytes::from_bytes(std::string(limits::max_ciphertext_bytes, '\xAB'));
  m.sent_at = 0;
  expect_round_trip(m);
  EXPECT_LE(encode(m).size(), limits::max_frame_bytes);  // the largest one fits in a frame
}

TEST(Codec, RoundTripsEveryOptionalOfKeysPublish) {
  keys_publish k;
  k.rid = "k-1";
  k.identity_key = encoded_bytes::from_bytes(std::string(32, '\1'));
  k.spk_id = limits::max_spk_id;
  k.spk_pub = encoded_bytes::from_bytes(std::string(32, '\2'));
  k.spk_signature = encoded_bytes::from_bytes(std::string(64, '\3'));
  k.one_time_prekeys.emplace();
  for (std::int64_t i = 0; i < 100; ++i) {
    k.one_time_prekeys->push_back({i, encoded_bytes::from_bytes(std::string(32, '\4'))});
  }
  k.worker_certificate = encoded_bytes::from_bytes(std::string(512, '\5'));
  expect_round_trip(k);
}

TEST(Codec, RoundTripsAPermanenceStatusWithEscapedText) {
  permanence_status s;
  s.open = true;
  s.availability = availability_state::busy;
  s.queue_open = true;
  s.workers_on_call = 2;
  s.estimated_wait_s = 600;
  s.emergency_numbers.push_back({"3114", "Prévention du suicide \"24h/24\"", "Suicide \\ help",
                                 std::nullopt});
  s.emergency_numbers.push_back({"114", "Urgences (SMS) €", "SMS — emergency", true});
  s.contribution_url = "https://example.org/prix-libre?a=1&b=2";
  expect_round_trip(s);
}

TEST(Codec, RoundTripsAnErrorWithEveryField) {
  error_message e;
  e.rid = "x";
  e.code = error::unsupported_version;
  e.name = "unsupported_version";
  e.message = "no common version";
  e.retry_after_ms = 0;
  e.versions = std::vector<std::int64_t>{1, 2};
  expect_round_trip(e);
}

TEST(Codec, EncoderEscapesControlsAndReplacesInvalidUtf8) {
  conversation_opened o;
  o.conversation_id = 1;
  o.worker_id = 2;
  o.display_name = std::string("a\x01\x1F\n\"\\b") + "\xFF" + "\xC3\xA9";
  const std::string frame = encode(o);
  EXPECT_NE(frame.find(R"(a\u0001\u001f\n\"\\b)"), std::string::npos) << frame;
  EXPECT_TRUE(json::accept(frame)) << frame;
  // The controls make it an invalid display name, but the frame itself is valid JSON.
  EXPECT_EQ(decode_error(frame), error::invalid_value);
}

TEST(Codec, DecodesIntoTheRightAlternativeForEveryDirection) {
  std::error_code ec;
  const json typing{{"type", "conversation.typing"}, {"conversation_id", 1}, {"active", true}};
  EXPECT_TRUE(std::holds_alternative<conversation_typing>(decode_from_client(typing.dump(), ec)));
  EXPECT_FALSE(ec);
  EXPECT_TRUE(std::holds_alternative<conversation_typing>(decode_from_server(typing.dump(), ec)));
  EXPECT_FALSE(ec);
}

TEST(Codec, HelloIgnoresUnknownMembers) {
  std::error_code ec;
  const json h{{"type", "hello"}, {"versions", {2, 1}}, {"role", "worker"},
               {"x_future", {{"nested", true}}}};
  const message m = decode(h.dump(), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::get<hello>(m).versions, (std::vector<std::int64_t>{2, 1}));
}

// ---------------------------------------------------------------- bad input, by class

TEST(Codec, RejectsMalformedJson) {
  EXPECT_EQ(decode_error(""), error::malformed_json);
  EXPECT_EQ(decode_error("{"), error::malformed_json);
  EXPECT_EQ(decode_error(R"({"type":"ok",})"), error::malformed_json);
  EXPECT_EQ(decode_error(R"({"type":"ok"} {"type":"ok"})"), error::malformed_json);
  EXPECT_EQ(decode_error("{\"type\":\"ok\",\"rid\":\"\xC3\x28\"}"), error::malformed_json);
}

TEST(Codec, RejectsAFrameThatIsNotAnObject) {
  EXPECT_EQ(decode_error("[]"), error::not_an_object);
  EXPECT_EQ(decode_error(R"("ok")"), error::not_an_object);
  EXPECT_EQ(decode_error("42"), error::not_an_object);
  EXPECT_EQ(decode_error("null"), error::not_an_object);
}

TEST(Codec, RejectsAMissingType) {
  EXPECT_EQ(decode_error("{}"), error::missing_type);
  EXPECT_EQ(decode_error(R"({"type":5})"), error::missing_type);
  EXPECT_EQ(decode_error(R"({"type":null})"), error::missing_type);
}

TEST(Codec, RejectsUnknownTypes) {
  EXPECT_EQ(decode_error(R"({"type":"conversation.nope"})"), error::unknown_type);
  EXPECT_EQ(decode_error(R"({"type":"OK"})"), error::unknown_type);
  EXPECT_EQ(decode_error(R"({"type":""})"), error::unknown_type);
}

TEST(Codec, RejectsWrongTypes) {
  json f = send_frame();
  f["conversation_id"] = "4211";
  EXPECT_EQ(decode_json_error(f), error::wrong_type);
  f = send_frame();
  f["conversation_id"] = nullptr;
  EXPECT_EQ(decode_json_error(f), error::wrong_type);
  f = send_frame();
  f["conversation_id"] = 4211.0;  // nlohmann writes 4211.0: a fraction is not an integer
  EXPECT_EQ(decode_json_error(f), error::wrong_type);
  f = send_frame();
  f["ciphertext"] = 12;
  EXPECT_EQ(decode_json_error(f), error::wrong_type);
  f = send_frame();
  f["rid"] = json::array();
  EXPECT_EQ(decode_json_error(f), error::wrong_type);
  EXPECT_EQ(decode_error(R"({"type":"queue.join","urgent":"true"})"), error::wrong_type);
  EXPECT_EQ(decode_error(R"({"type":"queue.join","urgent":1})"), error::wrong_type);
  EXPECT_EQ(decode_error(R"({"type":"sync","cursors":{}})"), error::wrong_type);
  EXPECT_EQ(decode_error(R"({"type":"sync","cursors":[1]})"), error::wrong_type);
  EXPECT_EQ(decode_error(R"({"type":"conversation.read","conversation_id":1,"up_to_seq":1e2})"),
            error::wrong_type);
}

TEST(Codec, RejectsMissingFields) {
  for (const char* member : {"conversation_id", "client_msg_id", "ciphertext"}) {
    json f = send_frame();
    f.erase(member);
    decode_diagnostics diag;
    EXPECT_EQ(decode_json_error(f, &diag), error::missing_field) << member;
    EXPECT_EQ(diag.field, member);
    EXPECT_EQ(diag.rid, "m1");
    EXPECT_EQ(diag.type, "conversation.send");
  }
  decode_diagnostics diag;
  EXPECT_EQ(decode_error(R"({"type":"keys.publish","identity_key":")" + std::string(key43) +
                             R"(","one_time_prekeys":[{"opk_id":1}]})",
                         &diag),
            error::missing_field);
  EXPECT_EQ(diag.field, "one_time_prekeys[0].opk_pub");
}

TEST(Codec, RejectsUnknownFields) {
  json f = send_frame();
  f["seq"] = 3;  // a server field sent by a client
  decode_diagnostics diag;
  EXPECT_EQ(decode_json_error(f, &diag), error::unknown_field);
  EXPECT_EQ(diag.field, "seq");
  EXPECT_EQ(decode_error(R"({"type":"sync","cursors":[{"conversation_id":1,"last_seq":0,"x":1}]})",
                         &diag),
            error::unknown_field);
  EXPECT_EQ(diag.field, "cursors[0].x");
  // A peer-chosen member name reaches diagnostics only as a plain token.
  EXPECT_EQ(decode_error(R"({"type":"ok","bad\nname":1})", &diag), error::unknown_field);
  EXPECT_EQ(diag.field, "");
}

TEST(Codec, RejectsDuplicateFields) {
  const std::string frame = R"({"type":"conversation.end","conversation_id":1,"conversation_id":2})";
  decode_diagnostics diag;
  EXPECT_EQ(decode_error(frame, &diag), error::duplicate_field);
  EXPECT_EQ(diag.field, "conversation_id");
  EXPECT_EQ(decode_error(R"({"type":"ok","type":"ok"})"), error::duplicate_field);
  EXPECT_EQ(decode_error(R"({"type":"ok","type":"error"})"), error::duplicate_field);
}

TEST(Codec, RejectsInvalidValues) {
  json f = send_frame();
  f["client_msg_id"] = std::string(15, 'a');  // shorter than 16
  EXPECT_EQ(decode_json_error(f), error::invalid_value);
  f["client_msg_id"] = "abcdefghijklmnop!";  // not a token
  EXPECT_EQ(decode_json_error(f), error::invalid_value);
  f = send_frame();
  f["rid"] = "";
  EXPECT_EQ(decode_json_error(f), error::invalid_value);
  f = send_frame();
  f["ciphertext"] = "";  // zero bytes, below the minimum of 1
  EXPECT_EQ(decode_json_error(f), error::invalid_value);
  EXPECT_EQ(decode_error(R"({"type":"auth.beneficiary","identity_key":"AAAA","signature":"AAAA"})"),
            error::invalid_value);  // 3 bytes instead of 32
  EXPECT_EQ(decode_error(R"({"type":"conversation.ended","conversation_id":1,"reason":"admin"})"),
            error::invalid_value);
  EXPECT_EQ(decode_error(R"({"type":"auth.login","username":"a\u0001","password":"p","device":"d"})"),
            error::invalid_value);
  EXPECT_EQ(decode_error(R"({"type":"auth.totp_confirm","code":"12345a"})"), error::invalid_value);
  EXPECT_EQ(decode_error(R"({"type":"error","code":305,"name":"queue_full"})"),
            error::invalid_value);
  EXPECT_EQ(decode_error(R"({"type":"error","code":299,"name":"x"})"), error::invalid_value);
  EXPECT_EQ(decode_error(R"({"type":"hello","versions":[1,1],"role":"worker"})"),
            error::invalid_value);
  EXPECT_EQ(decode_error(R"({"type":"keys.fetch","conversation_id":1,"worker_id":2})"),
            error::invalid_value);
  EXPECT_EQ(decode_error(R"({"type":"keys.fetch"})"), error::missing_field);
  EXPECT_EQ(decode_error(R"({"type":"backup.get","kind":"keystore","lookup":")" +
                         std::string(key43) + "\"}"),
            error::invalid_value);
  EXPECT_EQ(decode_error(R"({"type":"backup.get","kind":"resume"})"), error::missing_field);
  EXPECT_EQ(decode_error(R"({"type":"hello","versions":[],"role":"worker"})"),
            error::invalid_value);
  EXPECT_EQ(decode_error(R"({"type":"auth.totp_secret","otpauth_uri":"https://x"})"),
            error::invalid_value);
}

TEST(Codec, RejectsInvalidBase64) {
  for (const char* bad : {"abc=", "a+b/", "Zh", "Zm9vY", "Zm9v\\n", "Zm 9v"}) {
    json f = send_frame();
    f["ciphertext"] = bad;
    EXPECT_EQ(decode_json_error(json::parse(f.dump())), error::invalid_base64) << bad;
  }
}

TEST(Codec, RejectsWrongDirections) {
  std::error_code ec;
  const json msg{{"type", "conversation.message"}, {"conversation_id", 1},   {"seq", 1},
                 {"sender", "worker"},             {"client_msg_id", "abcdefghijklmnop"},
                 {"ciphertext", "AA"},             {"sent_at", 1}};
  (void)decode_from_client(msg.dump(), ec);
  EXPECT_EQ(ec, error::wrong_direction);
  (void)decode_from_server(msg.dump(), ec);
  EXPECT_FALSE(ec);
  (void)decode_from_server(send_frame().dump(), ec);
  EXPECT_EQ(ec, error::wrong_direction);
  (void)decode_from_client(send_frame().dump(), ec);
  EXPECT_FALSE(ec);
}

TEST(Codec, RejectsOverlongStrings) {
  json f = send_frame();
  f["ciphertext"] = base64url_encode(std::string(limits::max_ciphertext_bytes + 1, 'x'));
  EXPECT_EQ(decode_json_error(f), error::too_long);
  f["ciphertext"] = base64url_encode(std::string(limits::max_ciphertext_bytes, 'x'));
  EXPECT_FALSE(decode_json_error(f));
  f = send_frame();
  f["client_msg_id"] = std::string(65, 'a');
  EXPECT_EQ(decode_json_error(f), error::too_long);
  f = send_frame();
  f["rid"] = std::string(65, 'a');
  EXPECT_EQ(decode_json_error(f), error::too_long);
  const json opened{{"type", "conversation.opened"}, {"conversation_id", 1}, {"worker_id", 1},
                    {"display_name", std::string(65, 'e')}};
  EXPECT_EQ(decode_json_error(opened), error::too_long);
  // Limits count bytes of UTF-8: 32 two-byte characters fit in 64 bytes, 33 do not.
  std::string accents;
  for (int i = 0; i < 32; ++i) {
    accents += "\xC3\xA9";
  }
  json ok_name = opened;
  ok_name["display_name"] = accents;
  EXPECT_FALSE(decode_json_error(ok_name));
  ok_name["display_name"] = accents + "\xC3\xA9";
  EXPECT_EQ(decode_json_error(ok_name), error::too_long);
  EXPECT_EQ(decode_error(R"({"type":"auth.beneficiary","identity_key":")" + std::string(key43) +
                         "AAAA" + R"(","signature":"AA"})"),
            error::too_long);  // 33 bytes for a 32-byte key
}

TEST(Codec, RejectsDeepNesting) {
  EXPECT_EQ(decode_error(R"({"type":"sync","cursors":[[[[1]]]]})"), error::too_deep);
  // Depth 4 is parsed, then refused by the schema.
  EXPECT_EQ(decode_error(R"({"type":"sync","cursors":[[[1]]]})"), error::wrong_type);
  EXPECT_EQ(decode_error(std::string(5000, '[') + std::string(5000, ']')), error::too_deep);
}

TEST(Codec, RejectsNumbersOutOfRange) {
  auto with_id = [](const json& v) {
    json f = send_frame();
    f["conversation_id"] = v;
    return decode_json_error(f);
  };
  EXPECT_EQ(with_id(0), error::out_of_range);
  EXPECT_EQ(with_id(-1), error::out_of_range);
  EXPECT_EQ(with_id(limits::max_safe_integer + 1), error::out_of_range);
  EXPECT_FALSE(with_id(limits::max_safe_integer));
  EXPECT_EQ(with_id(std::numeric_limits<std::uint64_t>::max()), error::out_of_range);
  EXPECT_EQ(decode_error(R"({"type":"conversation.end","conversation_id":123456789012345678901234567890})"),
            error::out_of_range);
  EXPECT_EQ(decode_error(R"({"type":"hello","versions":[65536],"role":"worker"})"),
            error::out_of_range);
  EXPECT_EQ(decode_error(R"({"type":"history.get","conversation_id":1,"after_seq":0,"limit":101})"),
            error::out_of_range);
  EXPECT_EQ(decode_error(R"({"type":"keys.low","remaining":-5})"), error::out_of_range);
}

TEST(Codec, RejectsTooManyItems) {
  json versions = json::array();
  for (int i = 1; i <= 9; ++i) {
    versions.push_back(i);
  }
  EXPECT_EQ(decode_json_error(json{{"type", "hello"}, {"versions", versions}, {"role", "worker"}}),
            error::too_many_items);
  json opks = json::array();
  for (int i = 0; i <= 100; ++i) {
    opks.push_back({{"opk_id", i}, {"opk_pub", key43}});
  }
  EXPECT_EQ(decode_json_error(json{{"type", "keys.publish"}, {"identity_key", key43},
                              {"one_time_prekeys", opks}}),
            error::too_many_items);
  opks.erase(opks.begin());
  EXPECT_FALSE(decode_json_error(json{{"type", "keys.publish"}, {"identity_key", key43},
                                 {"one_time_prekeys", opks}}));
  // More JSON values than any v1 frame needs, whatever the schema.
  json many = json::array();
  for (int i = 0; i < 5000; ++i) {
    many.push_back(0);
  }
  EXPECT_EQ(decode_json_error(json{{"type", "hello"}, {"versions", {1}}, {"role", "worker"},
                              {"x", many}}),
            error::too_many_items);
}

TEST(Codec, RejectsOversizedFrames) {
  std::string frame = R"({"type":"ok","rid":"a"})";
  frame.append(limits::max_frame_bytes - frame.size(), ' ');
  EXPECT_FALSE(decode_error(frame));  // exactly the limit, trailing whitespace is fine
  frame += ' ';
  EXPECT_EQ(decode_error(frame), error::frame_too_large);
}

TEST(Codec, FailureLeavesNothingHalfDecoded) {
  json f = send_frame();
  f["ciphertext"] = "!!";
  std::error_code ec;
  const message m = decode(f.dump(), ec);
  EXPECT_EQ(ec, error::invalid_base64);
  EXPECT_EQ(m, message{});
}

TEST(Codec, ErrorsOfDecodeBelongToTheirConditions) {
  EXPECT_EQ(decode_error("{"), condition::malformed);
  EXPECT_EQ(decode_error(std::string(limits::max_frame_bytes + 1, ' ')), condition::limit_exceeded);
}

}  // namespace
}  // namespace relais::protocol
