#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include "relais/protocol/messages.hpp"

// Parse + validate + serialise protocol v1 frames (PROTOCOL.md §2). Decoding is strict and
// all-or-nothing: a frame either yields a message whose every field respects limits.hpp, or
// an error code of error.hpp (malformed, limit_exceeded conditions) and an empty message.
// Sans-I/O: no sockets, no clock, no allocation beyond the result (a per-thread scratch
// buffer is reused between calls).

namespace relais::protocol {

/// Where decoding stopped, for the `error` reply and logs (never for content: it names
/// fields, not values).
struct decode_diagnostics {
  std::string rid;    ///< the frame's `rid` if it was a valid one, else empty
  std::string type;   ///< the frame's `type` if it was a string of at most 64 bytes
  std::string field;  ///< path of the offending member ("one_time_prekeys[3].opk_pub")
};

/// Decodes any v1 message, whichever side sends it. On failure `ec` is set and the result
/// is a default `message` that must not be used.
[[nodiscard]] message decode(std::string_view frame, std::error_code& ec,
                             decode_diagnostics* diagnostics = nullptr);

/// Decodes a frame received by the server: server-only types are error::wrong_direction.
[[nodiscard]] message decode_from_client(std::string_view frame, std::error_code& ec,
                                         decode_diagnostics* diagnostics = nullptr);

/// Decodes a frame received by a client: client-only types are error::wrong_direction.
[[nodiscard]] message decode_from_server(std::string_view frame, std::error_code& ec,
                                         decode_diagnostics* diagnostics = nullptr);

/// Serialises a message as one compact JSON object (`type` first, then the fields in the
/// order of PROTOCOL.md, absent optionals omitted). Never fails: text is escaped, invalid
/// UTF-8 in text fields is replaced by U+FFFD. It does not check limits: build messages from
/// validated input or from the server's own bounded state (the tests round-trip).
[[nodiscard]] std::string encode(const message& m);

/// Same, without building a `message` first (no copy of the fields).
template <message_type T>
[[nodiscard]] std::string encode(const T& m);

/// Appends the encoding of `m` to `out` (reuse one buffer on hot paths).
void encode_to(std::string& out, const message& m);

}  // namespace relais::protocol
