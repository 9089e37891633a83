#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include "relais/crypto/random.hpp"
#include "relais/crypto/secure_buffer.hpp"

/// Resume codes, recovery keys and the encrypted blobs they unlock (CRYPTO.md §9, §10).
namespace relais::crypto {

/// What a code derives: the blob key and the id the server indexes the blob by.
struct backup_keys {
  secret32 key;
  public_key lookup_id{};
};

/// A new resume code (one 8-byte RNG draw), shown "XXXX-XXXX-XXXX".
[[nodiscard]] std::string generate_resume_code(random_source& rng);
/// Normalises a typed code to its 12 canonical characters; bad_code if it is not one.
[[nodiscard]] std::error_code normalize_resume_code(std::string_view typed, std::string& canonical);
/// Argon2id (opslimit 3, 64 MiB) of the canonical code; resource_exhausted without memory.
[[nodiscard]] std::error_code derive_resume_keys(std::string_view canonical_code, backup_keys& out);

/// A new recovery key (one 32-byte RNG draw) and its printable form (52 chars, 13 groups).
[[nodiscard]] std::string generate_recovery_key(random_source& rng, secret32& key);
/// Parses a printed recovery key; bad_code on a wrong length, character or filler bits.
[[nodiscard]] std::error_code parse_recovery_key(std::string_view printed, secret32& key);
/// HKDF of the recovery key into the blob key and lookup id.
[[nodiscard]] backup_keys derive_recovery_keys(const secret32& recovery_key);

/// Which blob: the AD label differs so that one kind can never be opened as another.
enum class blob_kind { resume_backup, recovery };

/// 0x01 || nonce (24, one RNG draw) || AEAD(key, nonce, AD = label || 0x01, plaintext).
[[nodiscard]] std::error_code seal_blob(blob_kind kind, const secret32& key, bytes_view plaintext, random_source& rng,
                                        bytes& blob);
[[nodiscard]] std::error_code open_blob(blob_kind kind, const secret32& key, bytes_view blob, secure_buffer& plaintext);

/// Keystore under a passphrase: 0x01 || salt (16) || nonce (24) || AEAD(AD = "Relais_Keystore_v1" || 0x01).
[[nodiscard]] std::error_code seal_keystore(std::string_view passphrase, bytes_view plaintext, random_source& rng,
                                            bytes& blob);
[[nodiscard]] std::error_code open_keystore(std::string_view passphrase, bytes_view blob, secure_buffer& plaintext);

}  // namespace relais::crypto
