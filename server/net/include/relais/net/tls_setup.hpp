#pragma once

#include <filesystem>
#include <string>

using SSL_CTX = struct ssl_ctx_st;

namespace relais::net {

/// Mozilla's "intermediate" TLS 1.2 cipher list (server-side configuration generator, v5.7):
/// forward-secret AEAD suites only, wide enough for the old phones and tablets of seniors.
inline constexpr const char* intermediate_tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr const char* tls13_ciphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// Paths of a certificate chain and its private key, both PEM.
struct certificate_files {
  std::filesystem::path certificate;
  std::filesystem::path private_key;
};

/// Configures a server context: TLS 1.2 and 1.3 only, the intermediate cipher list, no
/// compression, no renegotiation, no session tickets (forward secrecy of resumed sessions),
/// and loads the certificate chain and key. On failure returns false and says why in `error`,
/// naming the file.
[[nodiscard]] bool configure_server_context(SSL_CTX* ctx, const certificate_files& files, std::string& error);

/// True if the first certificate in a PEM file expires within `seconds` (or cannot be read).
[[nodiscard]] bool certificate_expires_within(const std::filesystem::path& pem_file, long seconds);

/// Returns the files of the self-signed certificate kept in `dir` (cert.pem, key.pem),
/// creating them on first use or when they expire within a week: ECDSA P-256, valid 397 days, for localhost, 127.0.0.1 and ::1
/// plus `extra_names` (DNS names or IP addresses). `created` says whether it was made now.
[[nodiscard]] bool ensure_self_signed(const std::filesystem::path& dir, const std::string& extra_name,
                                      certificate_files& out, bool& created, std::string& error);

/// The SHA-256 fingerprint of the first certificate in a PEM file, as colon-separated hex
/// (what browsers show); empty on error.
[[nodiscard]] std::string certificate_fingerprint_sha256(const std::filesystem::path& pem_file);

}  // namespace relais::net
