#include "relais/crypto/keys.hpp"

#include <algorithm>

#include "relais/crypto/error.hpp"

namespace relais::crypto {

x25519_key_pair x25519_key_pair::from_secret(bytes_view secret32_bytes) noexcept {
  x25519_key_pair kp;
  kp.secret = secret32(secret32_bytes);
  kp.pub = x25519_base(kp.secret);
  return kp;
}

x25519_key_pair x25519_key_pair::generate(random_source& rng) {
  secret32 s;
  rng.fill(s.span());
  return from_secret(s.view());
}

identity_key_pair identity_key_pair::from_seed(bytes_view seed32) noexcept {
  identity_key_pair kp;
  kp.seed_ = secret32(seed32);
  kp.x_secret_ = ed25519_seed_to_x25519(kp.seed_);
  kp.ed_pub_ = ed25519_public_from_seed(kp.seed_);
  return kp;
}

identity_key_pair identity_key_pair::generate(random_source& rng) {
  secret32 s;
  rng.fill(s.span());
  return from_seed(s.view());
}

bytes signed_prekey_message(std::uint32_t spk_id, const public_key& spk_pub) {
  bytes msg;
  msg.reserve(13 + 4 + 32);
  append(msg, label_bytes("Relais_SPK_v1"));
  append_u32be(msg, spk_id);
  append(msg, spk_pub);
  return msg;
}

signed_prekey make_signed_prekey(const identity_key_pair& identity, std::uint32_t id, random_source& rng) {
  signed_prekey spk;
  spk.id = id;
  spk.key = x25519_key_pair::generate(rng);
  spk.sig = identity.sign(signed_prekey_message(id, spk.key.pub));
  return spk;
}

prekey_bundle make_bundle(const identity_key_pair& identity, const signed_prekey& spk, const one_time_prekey* opk) {
  prekey_bundle b;
  b.identity_key = identity.public_key_bytes();
  b.spk_id = spk.id;
  b.spk_pub = spk.key.pub;
  b.spk_signature = spk.sig;
  if (opk != nullptr) {
    b.opk_id = opk->id;
    b.opk_pub = opk->key.pub;
  }
  return b;
}

std::error_code verify_bundle(const prekey_bundle& bundle) noexcept {
  if (bundle.opk_id && *bundle.opk_id == no_one_time_prekey) {
    return errc::malformed_input;
  }
  public_key x_identity{};
  if (auto ec = ed25519_pk_to_x25519(bundle.identity_key, x_identity)) {
    return ec;
  }
  // Signature first: an unsigned key is not to be used, whatever its form.
  try {
    if (!ed25519_verify(bundle.identity_key, signed_prekey_message(bundle.spk_id, bundle.spk_pub),
                        bundle.spk_signature)) {
      return errc::authentication_failed;
    }
  } catch (...) {
    return errc::resource_exhausted;
  }
  return {};
}

}  // namespace relais::crypto
