#include "relais/crypto/certificate.hpp"

#include "relais/crypto/encoding.hpp"
#include "relais/crypto/error.hpp"
#include "relais/crypto/limits.hpp"

namespace relais::crypto {
namespace {

constexpr std::string_view cert_label = "Relais_WorkerCert_v1";
constexpr std::string_view transfer_label = "Relais_Transfer_v1";

bytes cert_body(const worker_certificate& c) {
  bytes b;
  append(b, label_bytes(cert_label));
  append(b, c.org_key);
  append(b, c.worker_identity);
  append_u64be(b, c.not_before);
  append_u64be(b, c.not_after);
  b.push_back(static_cast<std::uint8_t>(c.display_name.size()));
  append(b, label_bytes(c.display_name));
  return b;
}

bytes transfer_body(const transfer_message& t) {
  bytes b;
  append(b, label_bytes(transfer_label));
  b.push_back(static_cast<std::uint8_t>(t.conversation_id.size()));
  append(b, label_bytes(t.conversation_id));
  append(b, t.from_worker);
  append(b, t.to_worker);
  append_u64be(b, t.issued_at);
  return b;
}

bool label_matches(byte_reader& in, std::string_view label) {
  const bytes_view got = in.take(label.size());
  return in.ok() && std::equal(got.begin(), got.end(), label_bytes(label).begin());
}

}  // namespace

std::string org_fingerprint(const public_key& org_key) { return to_base64url(sha256(org_key)); }

std::error_code sign_worker_certificate(const identity_key_pair& org, const worker_certificate& cert, bytes& out) {
  if (cert.display_name.size() > limits::max_display_name || cert.not_before > cert.not_after ||
      cert.org_key != org.public_key_bytes()) {
    return errc::malformed_input;
  }
  bytes b = cert_body(cert);
  append(b, org.sign(b));
  out = std::move(b);
  return {};
}

std::error_code verify_worker_certificate(bytes_view cert_bytes, const public_key& pinned_org_key, std::uint64_t now,
                                          worker_certificate& out) {
  byte_reader in(cert_bytes);
  if (!label_matches(in, cert_label)) {
    return errc::malformed_input;
  }
  worker_certificate c;
  c.org_key = in.take_array<32>();
  c.worker_identity = in.take_array<32>();
  c.not_before = in.take_u64be();
  c.not_after = in.take_u64be();
  const std::size_t name_len = in.take_u8();
  const bytes_view name = in.take(name_len);
  const std::size_t body_len = cert_bytes.size() - in.remaining();
  const signature sig = in.take_array<64>();
  if (!in.ok() || !in.at_end() || name_len > limits::max_display_name || c.not_before > c.not_after) {
    return errc::malformed_input;
  }
  c.display_name.assign(name.begin(), name.end());
  if (c.org_key != pinned_org_key) {
    return errc::untrusted_org_key;
  }
  if (!ed25519_verify(c.org_key, cert_bytes.first(body_len), sig)) {
    return errc::authentication_failed;
  }
  if (now < c.not_before || now > c.not_after) {
    return errc::certificate_not_valid_now;
  }
  out = std::move(c);
  return {};
}

std::error_code sign_transfer(const identity_key_pair& from, const transfer_message& transfer, bytes& out) {
  if (transfer.conversation_id.empty() || transfer.conversation_id.size() > limits::max_conversation_id ||
      transfer.from_worker != from.public_key_bytes()) {
    return errc::malformed_input;
  }
  bytes b = transfer_body(transfer);
  append(b, from.sign(b));
  out = std::move(b);
  return {};
}

std::error_code verify_transfer(bytes_view message, const public_key& current_worker, transfer_message& out) {
  byte_reader in(message);
  if (!label_matches(in, transfer_label)) {
    return errc::malformed_input;
  }
  transfer_message t;
  const std::size_t id_len = in.take_u8();
  const bytes_view id = in.take(id_len);
  t.from_worker = in.take_array<32>();
  t.to_worker = in.take_array<32>();
  t.issued_at = in.take_u64be();
  const std::size_t body_len = message.size() - in.remaining();
  const signature sig = in.take_array<64>();
  if (!in.ok() || !in.at_end() || id_len == 0) {
    return errc::malformed_input;
  }
  t.conversation_id.assign(id.begin(), id.end());
  // Only the worker the widget currently talks to may hand the conversation over.
  if (t.from_worker != current_worker || !ed25519_verify(current_worker, message.first(body_len), sig)) {
    return errc::authentication_failed;
  }
  out = std::move(t);
  return {};
}

}  // namespace relais::crypto
