#include "relais/crypto/x3dh.hpp"

#include <algorithm>
#include <new>

#include "relais/crypto/error.hpp"

namespace relais::crypto {
namespace {

constexpr std::string_view x3dh_info = "Relais_X3DH_v1";

// SK = HKDF(salt = zeros, ikm = 0xFF*32 || DH1 || DH2 || DH3 [|| DH4], info, 32).
std::error_code derive_sk(const secret32& dh1, const secret32& dh2, const secret32& dh3, const secret32* dh4,
                          secret32& sk) {
  secure_buffer ikm(32 * 5);
  std::fill_n(ikm.data(), 32, std::uint8_t{0xFF});
  std::copy_n(dh1.data(), 32, ikm.data() + 32);
  std::copy_n(dh2.data(), 32, ikm.data() + 64);
  std::copy_n(dh3.data(), 32, ikm.data() + 96);
  std::size_t len = 128;
  if (dh4 != nullptr) {
    std::copy_n(dh4->data(), 32, ikm.data() + 128);
    len = 160;
  }
  return hkdf_sha256({}, ikm.view().first(len), label_bytes(x3dh_info), sk.span());
}

void make_ad(const public_key& initiator, const public_key& responder, x3dh_associated_data& ad) {
  std::copy(initiator.begin(), initiator.end(), ad.begin());
  std::copy(responder.begin(), responder.end(), ad.begin() + 32);
}

}  // namespace

std::error_code x3dh_initiate(const identity_key_pair& initiator, const prekey_bundle& bundle, random_source& rng,
                              x3dh_initiator_result& out) {
  if (auto ec = verify_bundle(bundle)) {
    return ec;
  }
  public_key ik_b_x{};
  if (auto ec = ed25519_pk_to_x25519(bundle.identity_key, ik_b_x)) {
    return ec;
  }
  x3dh_initiator_result r;
  r.ephemeral = x25519_key_pair::generate(rng);
  secret32 dh1;
  secret32 dh2;
  secret32 dh3;
  secret32 dh4;
  if (auto ec = x25519(initiator.x25519_secret(), bundle.spk_pub, dh1)) return ec;
  if (auto ec = x25519(r.ephemeral.secret, ik_b_x, dh2)) return ec;
  if (auto ec = x25519(r.ephemeral.secret, bundle.spk_pub, dh3)) return ec;
  if (bundle.opk_id) {
    if (auto ec = x25519(r.ephemeral.secret, bundle.opk_pub, dh4)) return ec;
  }
  if (auto ec = derive_sk(dh1, dh2, dh3, bundle.opk_id ? &dh4 : nullptr, r.shared_secret)) {
    return ec;
  }
  make_ad(initiator.public_key_bytes(), bundle.identity_key, r.ad);
  r.spk_id = bundle.spk_id;
  r.opk_id = bundle.opk_id.value_or(no_one_time_prekey);
  out = std::move(r);
  return {};
}

std::error_code x3dh_respond(const identity_key_pair& responder, const x25519_key_pair& spk,
                             const x25519_key_pair* opk, const public_key& initiator_identity,
                             const public_key& initiator_ephemeral, secret32& shared_secret,
                             x3dh_associated_data& ad) noexcept {
  try {
    public_key ik_a_x{};
    if (auto ec = ed25519_pk_to_x25519(initiator_identity, ik_a_x)) return ec;
    secret32 dh1;
    secret32 dh2;
    secret32 dh3;
    secret32 dh4;
    if (auto ec = x25519(spk.secret, ik_a_x, dh1)) return ec;
    if (auto ec = x25519(responder.x25519_secret(), initiator_ephemeral, dh2)) return ec;
    if (auto ec = x25519(spk.secret, initiator_ephemeral, dh3)) return ec;
    if (opk != nullptr) {
      if (auto ec = x25519(opk->secret, initiator_ephemeral, dh4)) return ec;
    }
    if (auto ec = derive_sk(dh1, dh2, dh3, opk != nullptr ? &dh4 : nullptr, shared_secret)) return ec;
    make_ad(initiator_identity, responder.public_key_bytes(), ad);
    return {};
  } catch (const std::bad_alloc&) {
    return errc::resource_exhausted;
  }
}

}  // namespace relais::crypto
