#include "relais/auth/password_hash.hpp"

#include <sodium.h>

#include <array>

#include "relais/auth/error.hpp"

namespace relais::auth {

// The documented defaults are libsodium's interactive cost for Argon2id.
static_assert(limits::default_argon2_opslimit == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
static_assert(limits::default_argon2_memlimit == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);

namespace {

constexpr std::string_view argon2id_prefix = crypto_pwhash_argon2id_STRPREFIX;

/// A NUL-terminated copy of an encoded hash, or an empty string if it cannot be one
/// (empty, embedded NUL, longer than libsodium's buffer).
std::string c_string_of(std::string_view encoded) {
  if (encoded.empty() || encoded.size() >= crypto_pwhash_STRBYTES ||
      encoded.find('\0') != std::string_view::npos) {
    return {};
  }
  return std::string(encoded);
}

/// A non-null pointer for the password even when it is empty (libsodium and UBSan want one).
const char* password_pointer(std::string_view password) noexcept { return password.empty() ? "" : password.data(); }

}  // namespace

argon2_params argon2_params::cheapest() noexcept {
  return {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
}

bool valid_params(const argon2_params& params) noexcept {
  return params.opslimit >= crypto_pwhash_argon2id_OPSLIMIT_MIN &&
         params.opslimit <= crypto_pwhash_argon2id_OPSLIMIT_MAX &&
         params.memlimit >= crypto_pwhash_argon2id_MEMLIMIT_MIN &&
         params.memlimit <= crypto_pwhash_argon2id_MEMLIMIT_MAX;
}

std::string hash_password(std::string_view password, const argon2_params& params, std::error_code& ec) {
  ec.clear();
  if (!valid_params(params) || password.size() > crypto_pwhash_argon2id_PASSWD_MAX) {
    ec = errc::invalid_input;
    return {};
  }
  if (sodium_init() < 0) {
    ec = errc::hash_failed;
    return {};
  }
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_argon2id_str(out.data(), password_pointer(password), password.size(), params.opslimit,
                                 params.memlimit) != 0) {
    ec = errc::hash_failed;
    return {};
  }
  return std::string(out.data());
}

bool is_well_formed_hash(std::string_view encoded) {
  auto c = c_string_of(encoded);
  if (c.empty() || !encoded.starts_with(argon2id_prefix)) return false;
  // needs_rehash decodes the whole string (parameters, salt, hash) and says -1 if it cannot.
  return crypto_pwhash_argon2id_str_needs_rehash(c.c_str(), limits::default_argon2_opslimit,
                                                 limits::default_argon2_memlimit) != -1;
}

bool needs_rehash(std::string_view encoded, const argon2_params& params) {
  auto c = c_string_of(encoded);
  if (c.empty() || !encoded.starts_with(argon2id_prefix)) return true;
  return crypto_pwhash_argon2id_str_needs_rehash(c.c_str(), params.opslimit, params.memlimit) != 0;
}

bool verify_password_now(std::string_view encoded, std::string_view password) {
  if (!is_well_formed_hash(encoded)) return false;
  auto c = c_string_of(encoded);
  return crypto_pwhash_argon2id_str_verify(c.c_str(), password_pointer(password), password.size()) == 0;
}

}  // namespace relais::auth
