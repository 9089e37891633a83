#include "relais/net/tls_setup.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <system_error>

namespace relais::net {
namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

struct file_closer {
  void operator()(FILE* f) const noexcept { std::fclose(f); }
};
using file_ptr = std::unique_ptr<FILE, file_closer>;

bool add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX v3{};
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool looks_like_ip(const std::string& name) {
  return name.find(':') != std::string::npos ||
         name.find_first_not_of("0123456789.") == std::string::npos;
}

}  // namespace

bool certificate_expires_within(const std::filesystem::path& pem_file, long seconds) {
  file_ptr f(std::fopen(pem_file.c_str(), "r"));
  if (!f) return true;
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) {
    ERR_clear_error();
    return true;
  }
  time_t limit = std::time(nullptr) + seconds;
  return X509_cmp_time(X509_get0_notAfter(cert.get()), &limit) <= 0;
}

bool configure_server_context(SSL_CTX* ctx, const certificate_files& files, std::string& error) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  // The server's order decides (scanners flag a missing order), with ChaCha20 promoted for
  // clients that put it first: phones without AES instructions.
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
  if (SSL_CTX_set_cipher_list(ctx, intermediate_tls12_ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, tls13_ciphersuites) != 1) {
    error = "TLS cipher configuration failed: " + openssl_error();
    return false;
  }
  if (SSL_CTX_set1_groups_list(ctx, "X25519:prime256v1:secp384r1") != 1) {
    error = "TLS group configuration failed: " + openssl_error();
    return false;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, files.certificate.c_str()) != 1) {
    error = "cannot load TLS certificate " + files.certificate.string() + ": " + openssl_error();
    return false;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = "cannot load TLS private key " + files.private_key.string() + ": " + openssl_error();
    return false;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    error = "TLS private key " + files.private_key.string() + " does not match certificate " +
            files.certificate.string();
    ERR_clear_error();
    return false;
  }
  return true;
}

bool ensure_self_signed(const std::filesystem::path& dir, const std::string& extra_name, certificate_files& out,
                        bool& created, std::string& error) {
  out.certificate = dir / "cert.pem";
  out.private_key = dir / "key.pem";
  created = false;
  std::error_code ec;
  if (std::filesystem::exists(out.certificate, ec) && std::filesystem::exists(out.private_key, ec)) {
    if (!certificate_expires_within(out.certificate, 7L * 24 * 3600)) return true;
    // An expiring self-signed certificate is replaced rather than served until it fails.
    std::filesystem::remove(out.certificate, ec);
    std::filesystem::remove(out.private_key, ec);
  }

  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "cannot create " + dir.string() + ": " + ec.message();
    return false;
  }

  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  if (!key || !cert) {
    error = "cannot generate a TLS key: " + openssl_error();
    return false;
  }
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) {
    error = "no randomness for the certificate serial: " + openssl_error();
    return false;
  }
  serial[0] &= 0x7f;  // a positive serial number
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(BN_bin2bn(serial, sizeof serial, nullptr), &BN_free);
  X509_set_version(cert.get(), 2);
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  // 397 days: the longest validity browsers accept for a TLS server certificate.
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 397L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Relais (self-signed)"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  std::string san = "DNS:localhost,IP:127.0.0.1,IP:::1";
  if (!extra_name.empty() && extra_name != "localhost" && extra_name != "127.0.0.1" && extra_name != "::1") {
    san += (looks_like_ip(extra_name) ? ",IP:" : ",DNS:") + extra_name;
  }
  if (!add_extension(cert.get(), NID_subject_alt_name, san.c_str()) ||
      !add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_extension(cert.get(), NID_ext_key_usage, "serverAuth") ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    error = "cannot build the self-signed certificate: " + openssl_error();
    return false;
  }

  // The key is written 0600 from the start: never world-readable even for an instant.
  auto tmp_key = out.private_key;
  tmp_key += ".tmp";
  auto tmp_cert = out.certificate;
  tmp_cert += ".tmp";
  {
    auto old_mask = ::umask(077);
    file_ptr kf(std::fopen(tmp_key.c_str(), "wx"));
    ::umask(old_mask);
    if (!kf || PEM_write_PrivateKey(kf.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      error = "cannot write " + tmp_key.string();
      std::filesystem::remove(tmp_key, ec);
      return false;
    }
    file_ptr cf(std::fopen(tmp_cert.c_str(), "w"));
    if (!cf || PEM_write_X509(cf.get(), cert.get()) != 1) {
      error = "cannot write " + tmp_cert.string();
      std::filesystem::remove(tmp_key, ec);
      std::filesystem::remove(tmp_cert, ec);
      return false;
    }
  }
  std::filesystem::rename(tmp_key, out.private_key, ec);
  if (!ec) std::filesystem::rename(tmp_cert, out.certificate, ec);
  if (ec) {
    error = "cannot install the self-signed certificate in " + dir.string() + ": " + ec.message();
    return false;
  }
  created = true;
  return true;
}

std::string certificate_fingerprint_sha256(const std::filesystem::path& pem_file) {
  file_ptr f(std::fopen(pem_file.c_str(), "r"));
  if (!f) return {};
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) {
    ERR_clear_error();
    return {};
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert.get(), EVP_sha256(), md, &len) != 1) return {};
  std::string out;
  static constexpr char hex[] = "0123456789ABCDEF";
  for (unsigned int i = 0; i < len; ++i) {
    if (i) out.push_back(':');
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 0xf]);
  }
  return out;
}

}  // namespace relais::net
