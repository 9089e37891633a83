#include "relais/crypto/session.hpp"

#include <algorithm>
#include <new>

#include "relais/crypto/error.hpp"
#include "relais/crypto/limits.hpp"
#include "relais/crypto/ratchet_kdf.hpp"

namespace relais::crypto {
namespace {

constexpr std::string_view ad_label = "Relais_v1";
constexpr std::size_t initial_prefix_bytes = 32 + 32 + 4 + 4;
constexpr std::uint8_t state_format = 0x01;
constexpr std::uint8_t flag_dhr = 0x01;
constexpr std::uint8_t flag_cks = 0x02;
constexpr std::uint8_t flag_ckr = 0x04;
constexpr std::uint8_t flag_prefix = 0x08;

bytes build_ad(message_type type, const x3dh_associated_data& x3dh_ad, bytes_view header) {
  bytes ad;
  ad.reserve(ad_label.size() + 1 + x3dh_ad.size() + header.size());
  append(ad, label_bytes(ad_label));
  ad.push_back(static_cast<std::uint8_t>(type));
  append(ad, x3dh_ad);
  append(ad, header);
  return ad;
}

void append_header(bytes& out, const ratchet_header& h) {
  append(out, h.dh);
  append_u32be(out, h.pn);
  append_u32be(out, h.n);
}

}  // namespace

std::error_code parse_message(bytes_view wire, parsed_message& out) noexcept {
  if (wire.size() < 2) {
    return errc::malformed_input;
  }
  if (wire[0] != wire_version) {
    return errc::unsupported_version;
  }
  if (wire[1] != static_cast<std::uint8_t>(message_type::initial) &&
      wire[1] != static_cast<std::uint8_t>(message_type::message)) {
    return errc::wrong_message_type;
  }
  parsed_message msg;
  msg.type = static_cast<message_type>(wire[1]);
  byte_reader in(wire.subspan(2));
  if (msg.type == message_type::initial) {
    initial_prefix p;
    p.initiator_identity = in.take_array<32>();
    p.ephemeral = in.take_array<32>();
    p.spk_id = in.take_u32be();
    p.opk_id = in.take_u32be();
    msg.prefix = p;
  }
  msg.header_bytes = in.take(header_bytes);
  if (!in.ok()) {
    return errc::malformed_input;
  }
  byte_reader h(msg.header_bytes);
  msg.header.dh = h.take_array<32>();
  msg.header.pn = h.take_u32be();
  msg.header.n = h.take_u32be();
  msg.ciphertext = in.rest();
  const std::size_t ct = msg.ciphertext.size();
  if (ct < limits::pad_block + aead_tag_bytes || (ct - aead_tag_bytes) % limits::pad_block != 0 ||
      ct - aead_tag_bytes > limits::max_plaintext + 1) {
    return errc::malformed_input;
  }
  out = msg;
  return {};
}

std::error_code parse_message_of_type(bytes_view wire, message_type expected, parsed_message& out) noexcept {
  parsed_message msg;
  if (auto ec = parse_message(wire, msg)) {
    return ec;
  }
  if (msg.type != expected) {
    return errc::wrong_message_type;
  }
  out = msg;
  return {};
}

std::error_code session::initiate(const identity_key_pair& me, const prekey_bundle& bundle, random_source& rng,
                                  session& out) {
  x3dh_initiator_result x3dh;
  if (auto ec = x3dh_initiate(me, bundle, rng, x3dh)) {
    return ec;
  }
  session s;
  s.initiator_ = true;
  s.ad_ = x3dh.ad;
  s.dhs_ = x25519_key_pair::generate(rng);
  s.dhr_ = bundle.spk_pub;
  secret32 dh_out;
  if (auto ec = x25519(s.dhs_.secret, bundle.spk_pub, dh_out)) {
    return ec;
  }
  secret32 cks;
  if (auto ec = kdf_rk(x3dh.shared_secret, dh_out, ratchet_info, s.rk_, cks)) {
    return ec;
  }
  s.cks_ = cks;
  s.prefix_ = initial_prefix{me.public_key_bytes(), x3dh.ephemeral.pub, x3dh.spk_id, x3dh.opk_id};
  out = std::move(s);
  return {};
}

std::error_code session::accept(const identity_key_pair& me, const prekey_lookup& prekeys, bytes_view wire,
                                random_source& rng, std::uint64_t now, session& out, bytes& plaintext,
                                std::optional<std::uint32_t>& consumed_opk) {
  parsed_message msg;
  if (auto ec = parse_message_of_type(wire, message_type::initial, msg)) {
    return ec;
  }
  const initial_prefix& p = *msg.prefix;
  const x25519_key_pair* spk = prekeys.signed_prekey(p.spk_id);
  if (spk == nullptr) {
    return errc::unknown_prekey;
  }
  const x25519_key_pair* opk = nullptr;
  if (p.opk_id != no_one_time_prekey) {
    opk = prekeys.one_time_prekey(p.opk_id);
    if (opk == nullptr) {
      return errc::unknown_prekey;
    }
  }
  session s;
  s.initiator_ = false;
  secret32 sk;
  if (auto ec = x3dh_respond(me, *spk, opk, p.initiator_identity, p.ephemeral, sk, s.ad_)) {
    return ec;
  }
  s.dhs_ = *spk;
  s.rk_ = sk;
  s.prefix_ = p;
  bytes pt;
  if (auto ec = s.decrypt_parsed(msg, rng, now, pt)) {
    return ec;
  }
  out = std::move(s);
  plaintext = std::move(pt);
  consumed_opk = opk != nullptr ? std::optional<std::uint32_t>(p.opk_id) : std::nullopt;
  return {};
}

std::error_code session::encrypt(bytes_view plaintext, bytes& wire) {
  if (!cks_) {
    return errc::no_sending_chain;
  }
  if (plaintext.size() > limits::max_plaintext || ns_ == UINT32_MAX) {
    return errc::malformed_input;
  }
  secret32 mk;
  secret32 next;
  kdf_ck(*cks_, mk, next);
  const ratchet_header h{dhs_.pub, pn_, ns_};
  const message_type type = (initiator_ && prefix_) ? message_type::initial : message_type::message;

  bytes out;
  out.reserve(2 + initial_prefix_bytes + header_bytes + plaintext.size() + limits::pad_block + aead_tag_bytes);
  out.push_back(wire_version);
  out.push_back(static_cast<std::uint8_t>(type));
  if (type == message_type::initial) {
    append(out, prefix_->initiator_identity);
    append(out, prefix_->ephemeral);
    append_u32be(out, prefix_->spk_id);
    append_u32be(out, prefix_->opk_id);
  }
  bytes header;
  append_header(header, h);
  append(out, header);

  message_keys keys;
  derive_message_keys(mk, keys);
  bytes padded = pad(plaintext, limits::pad_block);
  append(out, aead_encrypt(keys.key.view(), keys.nonce, build_ad(type, ad_, header), padded));
  wipe(padded);

  cks_ = next;
  ++ns_;
  wire = std::move(out);
  return {};
}

std::error_code session::decrypt(bytes_view wire, random_source& rng, std::uint64_t now, bytes& plaintext) {
  parsed_message msg;
  if (auto ec = parse_message(wire, msg)) {
    return ec;
  }
  if (msg.type == message_type::initial) {
    if (initiator_) {
      return errc::wrong_message_type;
    }
    if (!prefix_ || *msg.prefix != *prefix_) {
      return errc::authentication_failed;
    }
  }
  // Transactional: all work happens on a copy, committed only once the tag has verified.
  session work = *this;
  bytes pt;
  if (auto ec = work.decrypt_parsed(msg, rng, now, pt)) {
    return ec;
  }
  *this = std::move(work);
  plaintext = std::move(pt);
  return {};
}

std::error_code session::skip_to(std::uint32_t until, std::uint64_t now) {
  if (!ckr_ || !dhr_) {
    return {};
  }
  while (nr_ < until) {
    skipped_key k;
    secret32 next;
    kdf_ck(*ckr_, k.mk, next);
    k.dh = *dhr_;
    k.n = nr_;
    k.stored_at = now;
    skipped_.push_back(std::move(k));
    if (skipped_.size() > limits::max_skipped_keys) {
      skipped_.erase(skipped_.begin());
    }
    ckr_ = next;
    ++nr_;
  }
  return {};
}

void session::drop_chain(const public_key& dh) {
  std::erase_if(skipped_, [&](const skipped_key& k) { return k.dh == dh; });
}

std::error_code session::decrypt_parsed(const parsed_message& msg, random_source& rng, std::uint64_t now,
                                        bytes& plaintext) {
  std::erase_if(skipped_, [now](const skipped_key& k) {
    return now > k.stored_at && now - k.stored_at > limits::skipped_key_max_age_s;
  });
  const ratchet_header& h = msg.header;
  secret32 mk;
  bool stepped = false;
  auto stored = std::find_if(skipped_.begin(), skipped_.end(),
                             [&](const skipped_key& k) { return k.n == h.n && k.dh == h.dh; });
  if (stored != skipped_.end()) {
    mk = stored->mk;
    skipped_.erase(stored);
  } else if (ckr_ && dhr_ && *dhr_ == h.dh) {
    if (h.n < nr_) {
      return errc::duplicate_message;
    }
    if (h.n - nr_ > limits::max_skip) {
      return errc::too_many_skipped;
    }
    (void)skip_to(h.n, now);
    secret32 next;
    kdf_ck(*ckr_, mk, next);
    ckr_ = next;
    ++nr_;
  } else if (std::find(previous_chains_.begin(), previous_chains_.end(), h.dh) != previous_chains_.end()) {
    return errc::duplicate_message;
  } else {
    if (ckr_ && h.pn > nr_ && h.pn - nr_ > limits::max_skip) {
      return errc::too_many_skipped;
    }
    if (h.n > limits::max_skip) {
      return errc::too_many_skipped;
    }
    secret32 dh_out;
    if (auto ec = x25519(dhs_.secret, h.dh, dh_out)) {
      return ec;
    }
    if (ckr_) {
      (void)skip_to(h.pn, now);
      previous_chains_.push_back(*dhr_);
      if (previous_chains_.size() > limits::max_receiving_chains - 1) {
        drop_chain(previous_chains_.front());
        previous_chains_.erase(previous_chains_.begin());
      }
    }
    secret32 ckr;
    if (auto ec = kdf_rk(rk_, dh_out, ratchet_info, rk_, ckr)) {
      return ec;
    }
    ckr_ = ckr;
    dhr_ = h.dh;
    pn_ = ns_;
    ns_ = 0;
    nr_ = 0;
    cks_.reset();
    (void)skip_to(h.n, now);
    secret32 next;
    kdf_ck(*ckr_, mk, next);
    ckr_ = next;
    ++nr_;
    stepped = true;
  }

  message_keys keys;
  derive_message_keys(mk, keys);
  bytes pt;
  if (auto ec = aead_decrypt(keys.key.view(), keys.nonce, build_ad(msg.type, ad_, msg.header_bytes), msg.ciphertext,
                             pt)) {
    return errc::authentication_failed;
  }
  if (auto ec = unpad(pt, limits::pad_block)) {
    wipe(pt);
    return errc::authentication_failed;
  }
  if (stepped) {
    // Drawn only now, after the tag verified: a forged message never consumes randomness.
    dhs_ = x25519_key_pair::generate(rng);
    secret32 dh_out;
    if (auto ec = x25519(dhs_.secret, *dhr_, dh_out)) {
      return ec;
    }
    secret32 cks;
    if (auto ec = kdf_rk(rk_, dh_out, ratchet_info, rk_, cks)) {
      return ec;
    }
    cks_ = cks;
  }
  if (initiator_) {
    prefix_.reset();
  }
  plaintext = std::move(pt);
  return {};
}

public_key session::own_identity() const noexcept {
  public_key k{};
  std::copy_n(ad_.begin() + (initiator_ ? 0 : 32), 32, k.begin());
  return k;
}

public_key session::peer_identity() const noexcept {
  public_key k{};
  std::copy_n(ad_.begin() + (initiator_ ? 32 : 0), 32, k.begin());
  return k;
}

secure_buffer session::serialize() const {
  bytes out;
  out.reserve(300 + previous_chains_.size() * 32 + skipped_.size() * 76);
  out.push_back(state_format);
  out.push_back(initiator_ ? 0x00 : 0x01);
  append(out, ad_);
  append(out, dhs_.secret.view());
  append(out, dhs_.pub);
  append(out, rk_.view());
  std::uint8_t flags = 0;
  if (dhr_) flags |= flag_dhr;
  if (cks_) flags |= flag_cks;
  if (ckr_) flags |= flag_ckr;
  if (prefix_) flags |= flag_prefix;
  out.push_back(flags);
  if (dhr_) append(out, *dhr_);
  if (cks_) append(out, cks_->view());
  append_u32be(out, ns_);
  if (ckr_) append(out, ckr_->view());
  append_u32be(out, nr_);
  append_u32be(out, pn_);
  if (prefix_) {
    append(out, prefix_->initiator_identity);
    append(out, prefix_->ephemeral);
    append_u32be(out, prefix_->spk_id);
    append_u32be(out, prefix_->opk_id);
  }
  out.push_back(static_cast<std::uint8_t>(previous_chains_.size()));
  for (const auto& dh : previous_chains_) append(out, dh);
  out.push_back(static_cast<std::uint8_t>(skipped_.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(skipped_.size()));
  for (const auto& k : skipped_) {
    append(out, k.dh);
    append_u32be(out, k.n);
    append(out, k.mk.view());
    append_u64be(out, k.stored_at);
  }
  secure_buffer result(out);
  wipe(out);
  return result;
}

std::error_code session::deserialize(bytes_view state, session& out) noexcept {
  try {
    byte_reader in(state);
    session s;
    if (in.take_u8() != state_format) {
      return in.ok() ? errc::unsupported_version : errc::malformed_input;
    }
    const std::uint8_t role = in.take_u8();
    if (role > 1) return errc::malformed_input;
    s.initiator_ = role == 0;
    s.ad_ = in.take_array<64>();
    s.dhs_ = x25519_key_pair::from_secret(in.take(32));
    const public_key dhs_pub = in.take_array<32>();
    s.rk_ = secret32(in.take(32));
    const std::uint8_t flags = in.take_u8();
    if ((flags & ~(flag_dhr | flag_cks | flag_ckr | flag_prefix)) != 0) return errc::malformed_input;
    if ((flags & flag_ckr) != 0 && (flags & flag_dhr) == 0) return errc::malformed_input;
    if ((flags & flag_dhr) != 0) s.dhr_ = in.take_array<32>();
    if ((flags & flag_cks) != 0) s.cks_ = secret32(in.take(32));
    s.ns_ = in.take_u32be();
    if ((flags & flag_ckr) != 0) s.ckr_ = secret32(in.take(32));
    s.nr_ = in.take_u32be();
    s.pn_ = in.take_u32be();
    if ((flags & flag_prefix) != 0) {
      initial_prefix p;
      p.initiator_identity = in.take_array<32>();
      p.ephemeral = in.take_array<32>();
      p.spk_id = in.take_u32be();
      p.opk_id = in.take_u32be();
      s.prefix_ = p;
    }
    const std::size_t chains = in.take_u8();
    if (chains > limits::max_receiving_chains - 1) return errc::malformed_input;
    for (std::size_t i = 0; i < chains && in.ok(); ++i) s.previous_chains_.push_back(in.take_array<32>());
    const std::size_t count = in.take_u16be();
    if (count > limits::max_skipped_keys) return errc::malformed_input;
    for (std::size_t i = 0; i < count && in.ok(); ++i) {
      skipped_key k;
      k.dh = in.take_array<32>();
      k.n = in.take_u32be();
      k.mk = secret32(in.take(32));
      k.stored_at = in.take_u64be();
      s.skipped_.push_back(std::move(k));
    }
    if (!in.ok() || !in.at_end() || dhs_pub != s.dhs_.pub) return errc::malformed_input;
    out = std::move(s);
    return {};
  } catch (const std::bad_alloc&) {
    return errc::resource_exhausted;
  }
}

}  // namespace relais::crypto
