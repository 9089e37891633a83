#include "relais/core/connection.hpp"

#include <cstddef>

#include "relais/crypto/primitives.hpp"
#include "relais/protocol/codec.hpp"
#include "relais/protocol/error.hpp"
#include "relais/protocol/handshake.hpp"

namespace relais::core {

namespace pr = relais::protocol;

namespace {

std::uint16_t code_of(pr::close_code c) { return static_cast<std::uint16_t>(c); }

}  // namespace

connection::connection(const clock& clock, random_source& random, connection_limits limits)
    : clock_(clock), random_(random), limits_(limits),
      errors_(limits.max_errors_per_minute / 60.0, limits.max_errors_per_minute) {}

effects connection::open() {
  opened_at_ = clock_.now();
  effects out;
  out.timer = limits_.auth_timeout;
  return out;
}

effects connection::on_timer() {
  effects out;
  if (!authenticated_ && !closing_ && clock_.now() - opened_at_ >= limits_.auth_timeout) {
    closing_ = true;
    out.close = close_request{code_of(pr::close_code::auth_timeout), "authentication timeout"};
  }
  return out;
}

void connection::reply_error(pr::error code, const std::optional<std::string>& rid, effects& out,
                             std::optional<std::string> text) {
  out.frames.push_back(pr::encode(pr::make_error(code, rid, std::move(text))));
}

void connection::count_error(effects& out) {
  // A buggy client is told what is wrong for each frame; a flood of bad frames is abuse.
  if (!errors_.try_take(clock_.now()) && !out.close) {
    closing_ = true;
    out.close = close_request{code_of(pr::close_code::policy_violation), "too many protocol errors"};
  }
}

effects connection::on_frame(std::string_view frame) {
  effects out;
  if (closing_) return out;
  std::error_code ec;
  pr::decode_diagnostics diag;
  auto m = pr::decode_from_client(frame, ec, &diag);
  if (ec) {
    out.frames.push_back(pr::encode(pr::make_decode_error(ec, &diag)));
    if (!welcomed()) {
      // Nothing valid before `hello` deserves patience (PROTOCOL.md §4.1).
      closing_ = true;
      out.close = close_request{code_of(pr::close_code::policy_violation), "first frame must be hello"};
    } else {
      count_error(out);
    }
    return out;
  }
  handle(m, out);
  return out;
}

void connection::handle(const pr::message& m, effects& out) {
  const auto& rid = pr::rid_of(m);
  if (const auto* h = std::get_if<pr::hello>(&m)) {
    if (welcomed()) {
      reply_error(pr::error::unexpected_message, rid, out);
      count_error(out);
      return;
    }
    on_hello(*h, out);
    return;
  }
  if (!welcomed()) {
    reply_error(pr::error::unexpected_message, rid, out);
    closing_ = true;
    out.close = close_request{code_of(pr::close_code::policy_violation), "first frame must be hello"};
    return;
  }
  if (auto denied = pr::check_access(pr::access_of(m), welcomed(), authenticated_, role_)) {
    reply_error(static_cast<pr::error>(denied.value()), rid, out);
    count_error(out);
    return;
  }
  if (const auto* a = std::get_if<pr::auth_beneficiary>(&m)) {
    on_auth_beneficiary(*a, out);
    return;
  }
  if (std::holds_alternative<pr::auth_login>(m) || std::holds_alternative<pr::auth_resume>(m)) {
    // No worker account or session exists in this version of relaisd (accounts come with
    // the relay core): every login is, truthfully, an unknown account or token.
    fail_auth(std::holds_alternative<pr::auth_login>(m) ? pr::error::invalid_credentials : pr::error::invalid_token,
              rid, out);
    return;
  }
  // Valid, allowed, but not served by this relaisd yet (relay, permanence: issues 6 and 7).
  reply_error(pr::error::internal_error, rid, out, "not served by this relaisd version");
}

void connection::on_hello(const pr::hello& h, effects& out) {
  std::array<std::uint8_t, 32> challenge{};
  random_.fill(challenge);
  auto w = pr::make_welcome(h, challenge, std::string("relaisd"));
  if (!w) {
    out.frames.push_back(pr::encode(pr::make_unsupported_version(h.rid)));
    closing_ = true;
    out.close = close_request{code_of(pr::close_code::unsupported_version), "unsupported version"};
    return;
  }
  challenge_ = challenge;
  version_ = w->version;
  role_ = h.role;
  out.frames.push_back(pr::encode(*w));
}

void connection::on_auth_beneficiary(const pr::auth_beneficiary& a, effects& out) {
  if (role_ != pr::peer_role::beneficiary) {
    reply_error(pr::error::forbidden, a.rid, out);
    count_error(out);
    return;
  }
  crypto::public_key key{};
  crypto::signature sig{};
  if (a.identity_key.decode_into(key) || a.signature.decode_into(sig)) {
    fail_auth(pr::error::invalid_signature, a.rid, out);
    return;
  }
  auto input = pr::beneficiary_auth_signing_input(challenge_);
  if (!crypto::ed25519_verify(key, input, sig)) {
    fail_auth(pr::error::invalid_signature, a.rid, out);
    return;
  }
  authenticated_ = true;
  identity_ = key;
  challenge_.fill(0);  // one proof per connection
  pr::auth_ok ok;
  ok.rid = a.rid;
  ok.role = pr::peer_role::beneficiary;
  out.frames.push_back(pr::encode(ok));
}

void connection::fail_auth(pr::error code, const std::optional<std::string>& rid, effects& out) {
  reply_error(code, rid, out);
  if (++failed_auth_ >= limits_.max_failed_auth) {
    closing_ = true;
    out.close = close_request{code_of(pr::close_code::auth_failed), "too many failed authentications"};
  }
}

}  // namespace relais::core
