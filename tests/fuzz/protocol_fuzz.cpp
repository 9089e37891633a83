// libFuzzer target for relais_protocol's decoder (issue 3). Properties checked:
//  1. decode() never crashes, leaks or hits undefined behaviour (ASan, UBSan);
//  2. the internal JSON parser accepts exactly what nlohmann-json accepts, except where our
//     limits (depth, value count, frame size) or our stricter rules (no byte-order mark, a
//     NUL byte does not end the input) apply;
//  3. a frame that decodes re-encodes into a frame that decodes to the same message, and
//     encoding is stable (encode(decode(encode(m))) == encode(m));
//  4. the directed decoders agree with the message's origin.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "json_tree.hpp"
#include "relais/protocol/codec.hpp"
#include "relais/protocol/error.hpp"
#include "relais/protocol/limits.hpp"

namespace {

namespace rp = relais::protocol;

[[noreturn]] void finding(const char* what) {
  // A message on stderr, then abort: libFuzzer saves the input as a crash artifact.
  std::fputs(what, stderr);
  std::fputc('\n', stderr);
  std::abort();
}

bool number_overflow(std::string_view frame) {
  try {
    (void)nlohmann::json::parse(frame.begin(), frame.end());
  } catch (const nlohmann::json::out_of_range& e) {
    return e.id == 406;  // "number overflow parsing"
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  return false;
}

void check_json_parser(std::string_view frame) {
  if (frame.size() > rp::limits::max_frame_bytes) {
    return;
  }
  static rp::detail::json_tree tree;
  const std::error_code ec =
      tree.parse(frame, rp::limits::max_depth, rp::limits::max_json_values);
  if (ec == rp::error::too_deep || ec == rp::error::too_many_items ||
      frame.starts_with("\xEF\xBB\xBF")) {
    return;  // our limits, or nlohmann's BOM tolerance
  }
  const bool ours = !ec;
  if (frame.find('\0') != std::string_view::npos) {
    // nlohmann stops at a NUL byte as if the input ended there; a raw NUL is never valid
    // JSON (not even inside a string), so we must reject it.
    if (ours) {
      finding("json_tree accepts a raw NUL byte");
    }
    return;
  }
  const bool theirs = nlohmann::json::accept(frame.begin(), frame.end());
  if (ours && !theirs && number_overflow(frame)) {
    // nlohmann refuses numbers that overflow a double (1e400); RFC 8259 §9 lets parsers
    // limit number ranges, and v1 has no fractional numbers, so the codec refuses them later.
    return;
  }
  if (ours != theirs) {
    finding(ours ? "json_tree accepts what nlohmann rejects"
                 : "json_tree rejects what nlohmann accepts");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  check_json_parser(frame);

  std::error_code ec;
  rp::decode_diagnostics diagnostics;
  const rp::message m = rp::decode(frame, ec, &diagnostics);
  if (ec) {
    if (ec.category() != rp::error_category() || rp::find_error(ec.value()) == nullptr) {
      finding("decode returned an error outside the protocol table");
    }
    if (m != rp::message{}) {
      finding("a failed decode returned a non-empty message");
    }
    return 0;
  }

  const std::string encoded = rp::encode(m);
  std::error_code ec2;
  const rp::message again = rp::decode(encoded, ec2);
  if (ec2) {
    finding("a decoded message does not decode after re-encoding");
  }
  if (again != m) {
    finding("re-encoding changed the message");
  }
  if (rp::encode(again) != encoded) {
    finding("encoding is not stable");
  }
  std::error_code from_client;
  std::error_code from_server;
  (void)rp::decode_from_client(frame, from_client);
  (void)rp::decode_from_server(frame, from_server);
  const rp::origin o = rp::origin_of(m);
  if ((from_client == rp::error::wrong_direction) != (o == rp::origin::server) ||
      (from_server == rp::error::wrong_direction) != (o == rp::origin::client)) {
    finding("directed decoders disagree with the message's origin");
  }
  return 0;
}
