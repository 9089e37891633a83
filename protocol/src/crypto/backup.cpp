#include "relais/crypto/backup.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <new>

#include "relais/crypto/error.hpp"
#include "relais/crypto/limits.hpp"
#include "relais/crypto/primitives.hpp"

namespace relais::crypto {
namespace {

constexpr std::string_view crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::uint8_t blob_version = 0x01;
constexpr std::size_t resume_code_chars = 12;
constexpr std::size_t recovery_key_chars = 52;
constexpr std::size_t salt_bytes = crypto_pwhash_SALTBYTES;
static_assert(salt_bytes == 16);

// Upper-cases, drops spaces and dashes, maps O->0 and I/L->1; nullopt-like empty on bad chars.
bool normalize(std::string_view typed, std::string& out) {
  out.clear();
  for (char ch : typed) {
    if (ch == ' ' || ch == '-') continue;
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    if (ch == 'O') ch = '0';
    if (ch == 'I' || ch == 'L') ch = '1';
    if (crockford.find(ch) == std::string_view::npos) return false;
    out.push_back(ch);
  }
  return true;
}

std::uint32_t value_of(char ch) { return static_cast<std::uint32_t>(crockford.find(ch)); }

std::string group(std::string_view chars, std::size_t size) {
  std::string out;
  for (std::size_t i = 0; i < chars.size(); i += size) {
    if (i != 0) out += '-';
    out += chars.substr(i, size);
  }
  return out;
}

std::string_view blob_label(blob_kind kind) {
  return kind == blob_kind::resume_backup ? "Relais_Backup_v1" : "Relais_Recovery_v1";
}

bytes label_ad(std::string_view label) {
  bytes ad;
  append(ad, label_bytes(label));
  ad.push_back(blob_version);
  return ad;
}

std::error_code argon2id(std::string_view password, bytes_view salt, std::span<std::uint8_t> out) {
  if (crypto_pwhash(out.data(), out.size(), password.data(), password.size(), salt.data(), limits::argon2_opslimit,
                    limits::argon2_memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return errc::resource_exhausted;
  }
  return {};
}

std::error_code open_with(const secret32& key, bytes_view ad, bytes_view nonce_and_ct, secure_buffer& plaintext) {
  byte_reader in(nonce_and_ct);
  const xnonce nonce = in.take_array<24>();
  const bytes_view ct = in.rest();
  if (!in.ok() || ct.size() < aead_tag_bytes || ct.size() - aead_tag_bytes > limits::max_blob_plaintext) {
    return errc::malformed_input;
  }
  bytes pt;
  if (aead_decrypt(key.view(), nonce, ad, ct, pt)) {
    return errc::authentication_failed;
  }
  plaintext = secure_buffer(pt);
  wipe(pt);
  return {};
}

}  // namespace

std::string generate_resume_code(random_source& rng) {
  std::array<std::uint8_t, 8> r{};
  rng.fill(r);
  const std::uint64_t v = load_u64be(r) >> 4;  // the top 60 bits
  std::string chars;
  for (std::size_t i = 0; i < resume_code_chars; ++i) {
    chars.push_back(crockford[(v >> (55 - 5 * i)) & 31U]);
  }
  return group(chars, 4);
}

std::error_code normalize_resume_code(std::string_view typed, std::string& canonical) {
  std::string c;
  if (!normalize(typed, c) || c.size() != resume_code_chars) {
    return errc::bad_code;
  }
  canonical = std::move(c);
  return {};
}

std::error_code derive_resume_keys(std::string_view canonical_code, backup_keys& out) {
  std::string c;
  if (normalize_resume_code(canonical_code, c) || c != canonical_code) {
    return errc::bad_code;
  }
  const public_key salt_hash = sha256(label_bytes("Relais_Resume_v1"));
  secure_buffer okm(64);
  if (auto ec = argon2id(c, bytes_view(salt_hash).first(salt_bytes), okm.span())) {
    return ec;
  }
  out.key = secret32(okm.view().first(32));
  std::copy_n(okm.data() + 32, 32, out.lookup_id.begin());
  return {};
}

std::string generate_recovery_key(random_source& rng, secret32& key) {
  rng.fill(key.span());
  std::string chars;
  // 256 bits, most significant first, then 4 zero filler bits: 52 characters.
  for (std::size_t i = 0; i < recovery_key_chars; ++i) {
    std::uint32_t v = 0;
    for (std::size_t bit = 0; bit < 5; ++bit) {
      const std::size_t pos = i * 5 + bit;
      const std::uint32_t b = pos < 256 ? (std::uint32_t{key.data()[pos / 8]} >> (7 - pos % 8)) & 1U : 0U;
      v = (v << 1) | b;
    }
    chars.push_back(crockford[v]);
  }
  return group(chars, 4);
}

std::error_code parse_recovery_key(std::string_view printed, secret32& key) {
  std::string c;
  if (!normalize(printed, c) || c.size() != recovery_key_chars) {
    return errc::bad_code;
  }
  if ((value_of(c.back()) & 0x0FU) != 0) {
    return errc::bad_code;  // the 4 filler bits must be zero
  }
  secret32 k;
  for (std::size_t i = 0; i < recovery_key_chars; ++i) {
    const std::uint32_t v = value_of(c[i]);
    for (std::size_t bit = 0; bit < 5; ++bit) {
      const std::size_t pos = i * 5 + bit;
      if (pos < 256 && ((v >> (4 - bit)) & 1U) != 0) {
        k.data()[pos / 8] = static_cast<std::uint8_t>(k.data()[pos / 8] | (1U << (7 - pos % 8)));
      }
    }
  }
  key = k;
  return {};
}

backup_keys derive_recovery_keys(const secret32& recovery_key) {
  backup_keys out;
  (void)hkdf_sha256({}, recovery_key.view(), label_bytes("Relais_Recovery_v1"), out.key.span());
  (void)hkdf_sha256({}, recovery_key.view(), label_bytes("Relais_RecoveryLookup_v1"), out.lookup_id);
  return out;
}

std::error_code seal_blob(blob_kind kind, const secret32& key, bytes_view plaintext, random_source& rng, bytes& blob) {
  if (plaintext.size() > limits::max_blob_plaintext) {
    return errc::malformed_input;
  }
  xnonce nonce{};
  rng.fill(nonce);
  bytes out{blob_version};
  append(out, nonce);
  append(out, aead_encrypt(key.view(), nonce, label_ad(blob_label(kind)), plaintext));
  blob = std::move(out);
  return {};
}

std::error_code open_blob(blob_kind kind, const secret32& key, bytes_view blob, secure_buffer& plaintext) {
  if (blob.empty()) {
    return errc::malformed_input;
  }
  if (blob[0] != blob_version) {
    return errc::unsupported_version;
  }
  return open_with(key, label_ad(blob_label(kind)), blob.subspan(1), plaintext);
}

std::error_code seal_keystore(std::string_view passphrase, bytes_view plaintext, random_source& rng, bytes& blob) {
  if (plaintext.size() > limits::max_blob_plaintext) {
    return errc::malformed_input;
  }
  std::array<std::uint8_t, salt_bytes> salt{};
  rng.fill(salt);
  xnonce nonce{};
  rng.fill(nonce);
  secret32 key;
  if (auto ec = argon2id(passphrase, salt, key.span())) {
    return ec;
  }
  bytes out{blob_version};
  append(out, salt);
  append(out, nonce);
  append(out, aead_encrypt(key.view(), nonce, label_ad("Relais_Keystore_v1"), plaintext));
  blob = std::move(out);
  return {};
}

std::error_code open_keystore(std::string_view passphrase, bytes_view blob, secure_buffer& plaintext) {
  if (blob.empty()) {
    return errc::malformed_input;
  }
  if (blob[0] != blob_version) {
    return errc::unsupported_version;
  }
  if (blob.size() < 1 + salt_bytes + 24 + aead_tag_bytes) {
    return errc::malformed_input;
  }
  secret32 key;
  if (auto ec = argon2id(passphrase, blob.subspan(1, salt_bytes), key.span())) {
    return ec;
  }
  return open_with(key, label_ad("Relais_Keystore_v1"), blob.subspan(1 + salt_bytes), plaintext);
}

}  // namespace relais::crypto
