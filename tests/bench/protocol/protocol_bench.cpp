// Decode (parse + validate) and encode of conversation envelopes (issue 3 target: decode of a
// typical ~300-byte conversation.message under 2 us on the 2-core reference machine).
#include <string>
#include <system_error>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "relais/protocol/codec.hpp"

namespace {

namespace rp = relais::protocol;

// Deterministic filler bytes for ciphertexts (content does not matter to the codec).
std::string filler(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>((i * 131 + 7) & 0xFF);
  }
  return s;
}

rp::conversation_message envelope(std::size_t ciphertext_bytes) {
  rp::conversation_message m;
  m.conversation_id = 4211;
  m.seq = 1042;
  m.sender = rp::peer_role::beneficiary;
  m.client_msg_id = "Xk3v9QpL2mN8rT4wYz6bAg";
  m.ciphertext = rp::encoded_bytes::from_bytes(filler(ciphertext_bytes));
  m.sent_at = 1767225600123;
  return m;
}

rp::conversation_send send(std::size_t ciphertext_bytes) {
  rp::conversation_send m;
  m.rid = "m1042";
  m.conversation_id = 4211;
  m.client_msg_id = "Xk3v9QpL2mN8rT4wYz6bAg";
  m.ciphertext = rp::encoded_bytes::from_bytes(filler(ciphertext_bytes));
  return m;
}

// 99 bytes of ciphertext make the typical 300-byte frame of issue 3; 314 bytes is the smallest
// real envelope of CRYPTO.md §4 (one padded block), about 560 bytes on the wire.
constexpr std::size_t typical_ciphertext = 99;
constexpr std::size_t smallest_real_ciphertext = 314;

void decode_frame(benchmark::State& state, const std::string& frame) {
  state.SetLabel(std::to_string(frame.size()) + "-byte frame");
  for (auto _ : state) {
    std::error_code ec;
    rp::message m = rp::decode_from_server(frame, ec);
    benchmark::DoNotOptimize(m);
    if (ec) {
      state.SkipWithError("decode failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frame.size()));
}

void BM_DecodeConversationMessage300(benchmark::State& state) {
  decode_frame(state, rp::encode(envelope(typical_ciphertext)));
}
BENCHMARK(BM_DecodeConversationMessage300);

void BM_DecodeConversationMessageSmallestReal(benchmark::State& state) {
  decode_frame(state, rp::encode(envelope(smallest_real_ciphertext)));
}
BENCHMARK(BM_DecodeConversationMessageSmallestReal);

void BM_DecodeConversationSendFromClient(benchmark::State& state) {
  const std::string frame = rp::encode(send(typical_ciphertext));
  state.SetLabel(std::to_string(frame.size()) + "-byte frame");
  for (auto _ : state) {
    std::error_code ec;
    rp::message m = rp::decode_from_client(frame, ec);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeConversationSendFromClient);

void BM_EncodeConversationMessage300(benchmark::State& state) {
  const rp::conversation_message m = envelope(typical_ciphertext);
  for (auto _ : state) {
    std::string frame = rp::encode(m);
    benchmark::DoNotOptimize(frame);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeConversationMessage300);

void BM_EncodeConversationMessage300Reused(benchmark::State& state) {
  const rp::message m = envelope(typical_ciphertext);
  std::string frame;
  for (auto _ : state) {
    frame.clear();
    rp::encode_to(frame, m);
    benchmark::DoNotOptimize(frame);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeConversationMessage300Reused);

// References: nlohmann-json on the same frame, parse only (no validation, no typed result).
struct null_sax {
  using json = nlohmann::json;
  bool null() { return true; }
  bool boolean(bool /*v*/) { return true; }
  bool number_integer(json::number_integer_t /*v*/) { return true; }
  bool number_unsigned(json::number_unsigned_t /*v*/) { return true; }
  bool number_float(json::number_float_t /*v*/, const std::string& /*s*/) { return true; }
  bool string(std::string& /*v*/) { return true; }
  bool binary(json::binary_t& /*v*/) { return true; }
  bool start_object(std::size_t /*n*/) { return true; }
  bool key(std::string& /*v*/) { return true; }
  bool end_object() { return true; }
  bool start_array(std::size_t /*n*/) { return true; }
  bool end_array() { return true; }
  bool parse_error(std::size_t /*p*/, const std::string& /*t*/,
                   const nlohmann::detail::exception& /*e*/) {
    return false;
  }
};

void BM_ReferenceNlohmannSaxParse300(benchmark::State& state) {
  const std::string frame = rp::encode(envelope(typical_ciphertext));
  null_sax handler;
  for (auto _ : state) {
    const bool ok = nlohmann::json::sax_parse(frame.data(), frame.data() + frame.size(), &handler);
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReferenceNlohmannSaxParse300);

void BM_ReferenceNlohmannDomParse300(benchmark::State& state) {
  const std::string frame = rp::encode(envelope(typical_ciphertext));
  for (auto _ : state) {
    auto value = nlohmann::json::parse(frame);
    benchmark::DoNotOptimize(value);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReferenceNlohmannDomParse300);

}  // namespace

BENCHMARK_MAIN();
