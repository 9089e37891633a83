#include "relais/crypto/sealed.hpp"

#include <algorithm>
#include <array>
#include <new>
#include <set>

#include "relais/crypto/certificate.hpp"
#include "relais/crypto/error.hpp"
#include "relais/crypto/limits.hpp"
#include "relais/crypto/primitives.hpp"

namespace relais::crypto {
namespace {

constexpr std::uint8_t sealed_version = 0x01;
constexpr std::string_view content_label = "Relais_Sealed_v1";
constexpr std::string_view key_label = "Relais_SealedKey_v1";
/// Bytes of the wrapped key's clear header: version || spk_id || ephemeral public key.
constexpr std::size_t wrapped_header_bytes = 1 + 4 + 32;
/// Bytes of a pre-chat entry besides its wrapped key: worker id (8) || length (2).
constexpr std::size_t prechat_entry_overhead = 8 + 2;
/// Bytes of the pre-chat blob header: version || count.
constexpr std::size_t prechat_header_bytes = 2;

bytes content_ad(sealed_purpose purpose, const public_key& beneficiary) {
  bytes ad;
  append(ad, label_bytes(content_label));
  ad.push_back(static_cast<std::uint8_t>(purpose));
  append(ad, beneficiary);
  return ad;
}

// AD of a wrap: label || purpose || IK_w || IK_b || SHA-256(content ciphertext) || header.
bytes key_ad(sealed_purpose purpose, const public_key& worker, const public_key& beneficiary, bytes_view content,
             bytes_view header) {
  bytes ad;
  append(ad, label_bytes(key_label));
  ad.push_back(static_cast<std::uint8_t>(purpose));
  append(ad, worker);
  append(ad, beneficiary);
  append(ad, sha256(content));
  append(ad, header);
  return ad;
}

// wrap key = HKDF(salt = zeros, ikm = DH(eph, SPK_w) || DH(IK_b, SPK_w), info = key label, 32).
std::error_code wrap_key(const secret32& dh_ephemeral, const secret32& dh_static, secret32& out) {
  secure_buffer ikm(64);
  std::copy_n(dh_ephemeral.data(), 32, ikm.data());
  std::copy_n(dh_static.data(), 32, ikm.data() + 32);
  return hkdf_sha256({}, ikm.view(), label_bytes(key_label), out.span());
}

std::size_t content_limit(sealed_purpose purpose) {
  return purpose == sealed_purpose::inbox ? limits::max_inbox_ciphertext : limits::max_prechat_blob;
}

// The wrap's AEAD nonce: all zero. Safe because every wrap key encrypts exactly one plaintext:
// it is derived from a fresh ephemeral key drawn for this wrap alone.
constexpr xnonce zero_nonce{};

std::error_code check_content(sealed_purpose purpose, bytes_view ciphertext) {
  if (ciphertext.empty()) return errc::malformed_input;
  if (ciphertext[0] != sealed_version) return errc::unsupported_version;
  if (ciphertext.size() < sealed_content_overhead + limits::pad_block || ciphertext.size() > content_limit(purpose) ||
      (ciphertext.size() - sealed_content_overhead) % limits::pad_block != 0) {
    return errc::malformed_input;
  }
  return {};
}

std::error_code seal_checked(sealed_purpose purpose, const identity_key_pair& beneficiary,
                             std::span<const sealed_recipient> recipients, bytes_view plaintext, random_source& rng,
                             sealed_message& out) {
  if (recipients.empty() || recipients.size() > limits::max_sealed_recipients) return errc::malformed_input;
  std::set<std::uint64_t> ids;
  for (const auto& r : recipients) {
    if (!ids.insert(r.worker_id()).second) return errc::malformed_input;
  }
  const std::size_t padded_size = (plaintext.size() / limits::pad_block + 1) * limits::pad_block;
  if (sealed_content_overhead + padded_size > content_limit(purpose)) return errc::malformed_input;

  secret32 content_key;
  rng.fill(content_key.span());
  xnonce nonce{};
  rng.fill(nonce);
  sealed_message m;
  m.ciphertext.push_back(sealed_version);
  append(m.ciphertext, nonce);
  bytes padded = pad(plaintext, limits::pad_block);
  bytes sealed = aead_encrypt(content_key.view(), nonce, content_ad(purpose, beneficiary.public_key_bytes()), padded);
  wipe(padded);
  append(m.ciphertext, sealed);

  for (const auto& r : recipients) {
    const x25519_key_pair eph = x25519_key_pair::generate(rng);
    secret32 dh_e;
    secret32 dh_s;
    if (auto ec = x25519(eph.secret, r.spk_pub(), dh_e)) return ec;
    if (auto ec = x25519(beneficiary.x25519_secret(), r.spk_pub(), dh_s)) return ec;
    secret32 k;
    if (auto ec = wrap_key(dh_e, dh_s, k)) return ec;
    sealed_key entry;
    entry.worker_id = r.worker_id();
    entry.wrapped_key.push_back(sealed_version);
    append_u32be(entry.wrapped_key, r.spk_id());
    append(entry.wrapped_key, eph.pub);
    const bytes ad =
        key_ad(purpose, r.identity_key(), beneficiary.public_key_bytes(), m.ciphertext, entry.wrapped_key);
    append(entry.wrapped_key, aead_encrypt(k.view(), zero_nonce, ad, content_key.view()));
    m.keys.push_back(std::move(entry));
  }
  out = std::move(m);
  return {};
}

}  // namespace

std::error_code verify_sealed_recipient(std::uint64_t worker_id, const prekey_bundle& bundle, bytes_view certificate,
                                        const public_key& pinned_org_key, std::uint64_t now, sealed_recipient& out) {
  try {
    worker_certificate cert;
    if (auto ec = verify_worker_certificate(certificate, pinned_org_key, now, cert)) return ec;
    if (cert.worker_identity != bundle.identity_key) return errc::authentication_failed;
    prekey_bundle without_opk = bundle;
    without_opk.opk_id.reset();  // never used here: a queue must not drain one-time prekeys
    if (auto ec = verify_bundle(without_opk)) return ec;
    sealed_recipient r;
    r.worker_id_ = worker_id;
    r.identity_key_ = bundle.identity_key;
    r.spk_id_ = bundle.spk_id;
    r.spk_pub_ = bundle.spk_pub;
    r.display_name_ = std::move(cert.display_name);
    out = std::move(r);
    return {};
  } catch (const std::bad_alloc&) {
    return errc::resource_exhausted;
  }
}

std::error_code seal_to_workers(sealed_purpose purpose, const identity_key_pair& beneficiary,
                                std::span<const sealed_recipient> recipients, bytes_view plaintext, random_source& rng,
                                sealed_message& out) {
  try {
    return seal_checked(purpose, beneficiary, recipients, plaintext, rng, out);
  } catch (const std::bad_alloc&) {
    return errc::resource_exhausted;
  }
}

std::error_code open_sealed(sealed_purpose purpose, const identity_key_pair& worker, const prekey_lookup& prekeys,
                            const public_key& beneficiary_identity, bytes_view wrapped_key, bytes_view ciphertext,
                            bytes& plaintext) {
  try {
    // 1. The wrapped key's structure, 2. the content's: nothing secret is touched before both parse.
    if (wrapped_key.empty()) return errc::malformed_input;
    if (wrapped_key[0] != sealed_version) return errc::unsupported_version;
    if (wrapped_key.size() != sealed_wrapped_key_bytes) return errc::malformed_input;
    if (auto ec = check_content(purpose, ciphertext)) return ec;
    byte_reader in(wrapped_key);
    (void)in.take_u8();
    const std::uint32_t spk_id = in.take_u32be();
    const public_key eph = in.take_array<32>();
    const bytes_view wrapped = in.rest();
    // 3. Which signed prekey; 4. the two DH (a low-order point is invalid_public_key).
    const x25519_key_pair* spk = prekeys.signed_prekey(spk_id);
    if (spk == nullptr) return errc::unknown_prekey;
    public_key beneficiary_x{};
    if (auto ec = ed25519_pk_to_x25519(beneficiary_identity, beneficiary_x)) return ec;
    secret32 dh_e;
    secret32 dh_s;
    if (auto ec = x25519(spk->secret, eph, dh_e)) return ec;
    if (auto ec = x25519(spk->secret, beneficiary_x, dh_s)) return ec;
    secret32 k;
    if (auto ec = wrap_key(dh_e, dh_s, k)) return ec;
    // 5. The wrap (binds both identities and the content), 6. the content.
    const bytes ad = key_ad(purpose, worker.public_key_bytes(), beneficiary_identity, ciphertext,
                            wrapped_key.first(wrapped_header_bytes));
    bytes content_key;
    if (aead_decrypt(k.view(), zero_nonce, ad, wrapped, content_key) || content_key.size() != 32) {
      wipe(content_key);
      return errc::authentication_failed;
    }
    byte_reader c(ciphertext);
    (void)c.take_u8();
    const xnonce nonce = c.take_array<24>();
    bytes padded;
    const auto ec = aead_decrypt(content_key, nonce, content_ad(purpose, beneficiary_identity), c.rest(), padded);
    wipe(content_key);
    if (ec || unpad(padded, limits::pad_block)) {
      wipe(padded);
      return errc::authentication_failed;
    }
    plaintext = std::move(padded);
    return {};
  } catch (const std::bad_alloc&) {
    return errc::resource_exhausted;
  }
}

std::error_code encode_prechat(const sealed_message& message, bytes& blob) {
  try {
    if (message.keys.empty() || message.keys.size() > limits::max_sealed_recipients) return errc::malformed_input;
    bytes out;
    out.push_back(sealed_version);
    out.push_back(static_cast<std::uint8_t>(message.keys.size()));
    std::set<std::uint64_t> ids;
    for (const auto& k : message.keys) {
      if (k.wrapped_key.empty() || k.wrapped_key.size() > limits::max_wrapped_key || !ids.insert(k.worker_id).second) {
        return errc::malformed_input;
      }
      append_u64be(out, k.worker_id);
      out.push_back(static_cast<std::uint8_t>(k.wrapped_key.size() >> 8));
      out.push_back(static_cast<std::uint8_t>(k.wrapped_key.size() & 0xFFU));
      append(out, k.wrapped_key);
    }
    if (message.ciphertext.empty()) return errc::malformed_input;
    append(out, message.ciphertext);
    if (out.size() > limits::max_prechat_blob) return errc::malformed_input;
    blob = std::move(out);
    return {};
  } catch (const std::bad_alloc&) {
    return errc::resource_exhausted;
  }
}

std::error_code decode_prechat(bytes_view blob, sealed_message& out) {
  try {
    if (blob.empty()) return errc::malformed_input;
    if (blob[0] != sealed_version) return errc::unsupported_version;
    if (blob.size() > limits::max_prechat_blob) return errc::malformed_input;
    byte_reader in(blob);
    (void)in.take_u8();
    const std::size_t count = in.take_u8();
    if (!in.ok() || count == 0 || count > limits::max_sealed_recipients) return errc::malformed_input;
    sealed_message m;
    std::set<std::uint64_t> ids;
    for (std::size_t i = 0; i < count; ++i) {
      sealed_key k;
      k.worker_id = in.take_u64be();
      const std::size_t len = in.take_u16be();
      const bytes_view wrapped = in.take(len);
      if (!in.ok() || len == 0 || len > limits::max_wrapped_key || !ids.insert(k.worker_id).second) {
        return errc::malformed_input;
      }
      k.wrapped_key.assign(wrapped.begin(), wrapped.end());
      m.keys.push_back(std::move(k));
    }
    const bytes_view content = in.rest();
    if (!in.ok() || content.empty()) return errc::malformed_input;
    m.ciphertext.assign(content.begin(), content.end());
    out = std::move(m);
    return {};
  } catch (const std::bad_alloc&) {
    return errc::resource_exhausted;
  }
}

std::error_code seal_prechat(const identity_key_pair& beneficiary, std::span<const sealed_recipient> recipients,
                             bytes_view plaintext, random_source& rng, bytes& blob) {
  if (plaintext.size() > max_prechat_plaintext(recipients.size())) return errc::malformed_input;
  sealed_message m;
  if (auto ec = seal_to_workers(sealed_purpose::prechat, beneficiary, recipients, plaintext, rng, m)) return ec;
  return encode_prechat(m, blob);
}

std::error_code open_prechat(const identity_key_pair& worker, std::uint64_t worker_id, const prekey_lookup& prekeys,
                             const public_key& beneficiary_identity, bytes_view blob, bytes& plaintext) {
  sealed_message m;
  if (auto ec = decode_prechat(blob, m)) return ec;
  auto it = std::find_if(m.keys.begin(), m.keys.end(), [&](const sealed_key& k) { return k.worker_id == worker_id; });
  if (it == m.keys.end()) return errc::unknown_prekey;  // not sealed to this worker
  return open_sealed(sealed_purpose::prechat, worker, prekeys, beneficiary_identity, it->wrapped_key, m.ciphertext,
                     plaintext);
}

std::size_t max_prechat_plaintext(std::size_t recipients) noexcept {
  const std::size_t fixed = prechat_header_bytes + sealed_content_overhead +
                            recipients * (prechat_entry_overhead + sealed_wrapped_key_bytes);
  if (fixed + limits::pad_block > limits::max_prechat_blob) return 0;
  // sodium_pad always adds at least one byte: k blocks carry at most 256k - 1 bytes.
  return (limits::max_prechat_blob - fixed) / limits::pad_block * limits::pad_block - 1;
}

std::size_t max_inbox_plaintext() noexcept {
  return (limits::max_inbox_ciphertext - sealed_content_overhead) / limits::pad_block * limits::pad_block - 1;
}

}  // namespace relais::crypto
