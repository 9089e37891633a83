#include "relais/protocol/handshake.hpp"

#include <algorithm>
#include <cstring>

#include "relais/protocol/codec.hpp"

namespace relais::protocol {

std::optional<std::int64_t> negotiate_version(std::span<const std::int64_t> offered,
                                              std::span<const std::int64_t> supported) noexcept {
  std::optional<std::int64_t> best;
  for (const std::int64_t v : offered) {
    if (std::find(supported.begin(), supported.end(), v) != supported.end() &&
        (!best || v > *best)) {
      best = v;
    }
  }
  return best;
}

std::array<std::uint8_t, beneficiary_auth_input_bytes> beneficiary_auth_signing_input(
    std::span<const std::uint8_t, 32> challenge) noexcept {
  static_assert(beneficiary_auth_label.size() + 32 == beneficiary_auth_input_bytes);
  std::array<std::uint8_t, beneficiary_auth_input_bytes> input{};
  std::memcpy(input.data(), beneficiary_auth_label.data(), beneficiary_auth_label.size());
  std::memcpy(input.data() + beneficiary_auth_label.size(), challenge.data(), challenge.size());
  return input;
}

std::array<std::uint8_t, beneficiary_auth_input_bytes> beneficiary_auth_signing_input(
    const encoded_bytes& challenge, std::error_code& ec) noexcept {
  std::array<std::uint8_t, 32> raw{};
  if (challenge.size() != raw.size() || challenge.decode_into(raw)) {
    ec = error::invalid_value;
    return {};
  }
  ec.clear();
  return beneficiary_auth_signing_input(std::span<const std::uint8_t, 32>(raw));
}

std::optional<welcome> make_welcome(const hello& h, std::span<const std::uint8_t, 32> challenge,
                                    std::optional<std::string> server_name) {
  const std::optional<std::int64_t> version = negotiate_version(h.versions);
  if (!version) {
    return std::nullopt;
  }
  welcome w;
  w.rid = h.rid;
  w.version = *version;
  w.challenge = encoded_bytes::from_bytes(std::span<const std::uint8_t>(challenge));
  w.server = std::move(server_name);
  return w;
}

error_message make_error(error code, std::optional<std::string> rid,
                         std::optional<std::string> text) {
  error_message e;
  e.rid = std::move(rid);
  e.code = code;
  e.name = std::string(name(code));
  e.message = std::move(text);
  return e;
}

error_message make_unsupported_version(std::optional<std::string> rid,
                                       std::span<const std::int64_t> supported) {
  error_message e = make_error(error::unsupported_version, std::move(rid));
  e.versions = std::vector<std::int64_t>(supported.begin(), supported.end());
  return e;
}

error_message make_decode_error(std::error_code ec, const decode_diagnostics* diagnostics) {
  const bool ours = ec.category() == error_category() && find_error(ec.value()) != nullptr;
  const error code = ours ? static_cast<error>(ec.value()) : error::internal_error;
  std::optional<std::string> rid;
  std::optional<std::string> text;
  if (diagnostics != nullptr) {
    if (!diagnostics->rid.empty()) {
      rid = diagnostics->rid;
    }
    if (!diagnostics->field.empty()) {
      // Field paths are built from schema names and plain tokens only (codec.cpp).
      text = "field " + diagnostics->field;
      if (text->size() > 256) {
        text->resize(256);
      }
    }
  }
  return make_error(code, std::move(rid), std::move(text));
}

std::error_code check_access(access a, bool welcomed, bool authenticated,
                             peer_role role) noexcept {
  if (!welcomed) {
    return a == access::handshake ? std::error_code{} : make_error_code(error::unexpected_message);
  }
  switch (a) {
    case access::handshake: return error::unexpected_message;
    case access::pre_auth:
      return authenticated ? make_error_code(error::unexpected_message) : std::error_code{};
    case access::any: return {};
    case access::authenticated:
      return authenticated ? std::error_code{} : make_error_code(error::auth_required);
    case access::worker:
      if (!authenticated) {
        return error::auth_required;
      }
      return role == peer_role::worker ? std::error_code{} : make_error_code(error::forbidden);
    case access::beneficiary:
      if (!authenticated) {
        return error::auth_required;
      }
      return role == peer_role::beneficiary ? std::error_code{}
                                            : make_error_code(error::forbidden);
    case access::server: return error::wrong_direction;
  }
  return error::internal_error;
}

}  // namespace relais::protocol
