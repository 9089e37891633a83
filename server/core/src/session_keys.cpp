// The key directory (PROTOCOL.md §6.3) and the encrypted backups (§6.9). The server checks
// every signature before it stores a key, hands each one-time prekey out at most once (the
// store's claim is atomic), and keeps backups as opaque blobs with versions.
#include <chrono>
#include <cstring>

#include "relais/core/permanence.hpp"
#include "relais/core/session.hpp"
#include "relais/crypto/certificate.hpp"
#include "relais/crypto/keys.hpp"
#include "relais/crypto/primitives.hpp"
#include "relais/log/log.hpp"

namespace relais::core {

namespace pr = relais::protocol;

namespace {

/// The stored bundle: u32be spk_id || spk_pub (32) || spk_signature (64) || certificate.
/// Only the server reads it back; the client always gets the fields of keys.bundle.
bytes pack_bundle(std::uint32_t spk_id, const std::string& spk_pub, const std::string& sig, const std::string& cert) {
  bytes out;
  out.reserve(4 + spk_pub.size() + sig.size() + cert.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((spk_id >> shift) & 0xFFU));
  out += spk_pub;
  out += sig;
  out += cert;
  return out;
}

struct unpacked_bundle {
  std::uint32_t spk_id = 0;
  std::string spk_pub;
  std::string spk_signature;
  std::string certificate;
};

std::optional<unpacked_bundle> unpack_bundle(const bytes& b) {
  if (b.size() < 4 + 32 + 64) return std::nullopt;
  unpacked_bundle u;
  for (std::size_t i = 0; i < 4; ++i) u.spk_id = (u.spk_id << 8) | static_cast<std::uint8_t>(b[i]);
  u.spk_pub = b.substr(4, 32);
  u.spk_signature = b.substr(36, 64);
  u.certificate = b.substr(100);
  return u;
}

crypto::bytes_view view(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

void session::on_keys_publish(const pr::keys_publish& m) {
  auto identity = m.identity_key.decode();
  if (identity.size() != 32) return reply_error(error::invalid_value, m.rid, "identity_key");
  const bool is_worker = role_ == pr::peer_role::worker;
  if (!is_worker && identity != identity_) {
    // A beneficiary publishes for the identity it proved, nothing else.
    reply_error(error::forbidden, m.rid, "identity_key is not the authenticated one");
    return;
  }
  const bool has_spk = m.spk_id.has_value();
  if (has_spk != m.spk_pub.has_value() || has_spk != m.spk_signature.has_value()) {
    return reply_error(error::missing_field, m.rid, "spk_id, spk_pub and spk_signature come together");
  }
  if (!is_worker && m.worker_certificate) return reply_error(error::forbidden, m.rid, "worker_certificate");
  if (!has_spk && !m.one_time_prekeys) return reply_error(error::missing_field, m.rid, "spk_id");
  if (is_worker && !identity_.empty() && identity != identity_ && !has_spk) {
    return reply_error(error::missing_field, m.rid, "a new identity needs its signed prekey");
  }

  crypto::public_key id_key{};
  std::memcpy(id_key.data(), identity.data(), 32);
  std::optional<prekey_bundle> bundle;
  if (has_spk) {
    auto spk_pub = m.spk_pub->decode();
    auto sig = m.spk_signature->decode();
    crypto::public_key spk{};
    crypto::signature signature{};
    if (spk_pub.size() != 32 || sig.size() != 64) return reply_error(error::invalid_value, m.rid, "spk");
    std::memcpy(spk.data(), spk_pub.data(), 32);
    std::memcpy(signature.data(), sig.data(), 64);
    auto spk_id = static_cast<std::uint32_t>(*m.spk_id);
    auto message = crypto::signed_prekey_message(spk_id, spk);
    if (!crypto::ed25519_verify(id_key, message, signature)) {
      reply_error(error::invalid_signature, m.rid, "spk_signature");
      count_error();
      return;
    }
    std::string cert;
    if (is_worker) {
      // A worker's keys are trusted by beneficiaries through the organisation's signature:
      // the server refuses what the widget would refuse anyway.
      if (!m.worker_certificate) return reply_error(error::missing_field, m.rid, "worker_certificate");
      if (!services_.settings.org_public_key) {
        return reply_error(error::invalid_signature, m.rid, "no organisation key configured ([org] public_key)");
      }
      cert = m.worker_certificate->decode();
      crypto::worker_certificate parsed;
      auto now = static_cast<std::uint64_t>(services_.clock.unix_seconds());
      if (crypto::verify_worker_certificate(view(cert), *services_.settings.org_public_key, now, parsed) ||
          parsed.worker_identity != id_key) {
        reply_error(error::invalid_signature, m.rid, "worker_certificate");
        count_error();
        return;
      }
    }
    bundle = prekey_bundle{identity, pack_bundle(spk_id, spk_pub, sig, cert), services_.clock.unix_ms()};
  }
  std::vector<one_time_prekey> opks;
  if (m.one_time_prekeys) {
    opks.reserve(m.one_time_prekeys->size());
    for (const auto& k : *m.one_time_prekeys) {
      auto pub = k.opk_pub.decode();
      if (pub.size() != 32) return reply_error(error::invalid_value, m.rid, "opk_pub");
      opks.push_back({k.opk_id, std::move(pub)});
    }
  }

  // Writes in order: the bundle, the worker's identity, then the one-time prekeys.
  auto add_opks = [identity, opks = std::move(opks)](session& s, const rid_t& rid) mutable {
    auto done_ok = [](session& s2, const rid_t& r, std::int64_t remaining) {
      pr::ok ok;
      ok.rid = r;
      s2.reply(ok);
      if (remaining < s2.services_.settings.low_prekeys_threshold) {
        pr::keys_low low;
        low.remaining = remaining;
        s2.reply(low);
      }
    };
    if (opks.empty()) {
      s.services_.store.count_one_time_prekeys(identity, s.on_strand([rid, done_ok](session& s2, std::error_code ec,
                                                                                    std::int64_t n) {
        if (ec) return s2.reply_store_error(ec, rid, error::keys_not_found, error::invalid_value);
        done_ok(s2, rid, n);
      }));
      return;
    }
    s.services_.store.add_one_time_prekeys(
        identity, std::move(opks), s.on_strand([rid, done_ok](session& s2, std::error_code ec, std::int64_t n) {
          if (ec == store_errc::not_found) return s2.reply_error(error::missing_field, rid, "publish spk_id first");
          if (ec == store_errc::already_exists) return s2.reply_error(error::invalid_value, rid, "opk_id already used");
          if (ec) return s2.reply_store_error(ec, rid, error::keys_not_found, error::invalid_value);
          done_ok(s2, rid, n);
        }));
  };
  if (!bundle) return add_opks(*this, m.rid);
  services_.store.publish_bundle(
      std::move(*bundle), on_strand([rid = m.rid, identity, is_worker, add_opks](session& s, std::error_code ec) mutable {
        if (ec) return s.reply_store_error(ec, rid, error::keys_not_found, error::invalid_value);
        if (!is_worker || identity == s.identity_) return add_opks(s, rid);
        worker_update u;
        u.id = s.worker_;
        u.identity_key = identity;
        s.services_.store.update_worker(
            std::move(u), s.on_strand([rid, identity, add_opks](session& s2, std::error_code ec2) mutable {
              if (ec2) return s2.reply_store_error(ec2, rid, error::worker_not_found, error::invalid_value);
              s2.identity_ = identity;
              s2.services_.permanence.identity_published(s2.worker_, identity);
              log::info("worker_identity_published", {{"worker", s2.worker_}});
              add_opks(s2, rid);
            }));
      }));
}

void session::on_keys_fetch(const pr::keys_fetch& m) {
  if (m.conversation_id.has_value() == m.worker_id.has_value()) {
    return reply_error(m.conversation_id ? error::invalid_value : error::missing_field, m.rid,
                       "exactly one of conversation_id and worker_id");
  }
  if (m.worker_id) {
    services_.store.get_worker(*m.worker_id, on_strand([rid = m.rid](session& s, std::error_code ec, worker_account a) {
      if (ec) return s.reply_store_error(ec, rid, error::worker_not_found, error::worker_not_found);
      if (a.disabled) return s.reply_error(error::worker_not_found, rid);
      if (a.identity_key.empty()) return s.reply_error(error::keys_not_found, rid);
      s.claim_for(rid, a.identity_key, "w:" + std::to_string(a.id));
    }));
    return;
  }
  with_conversation(*m.conversation_id, m.rid, false, [this, rid = m.rid](tracked_conversation& c) {
    // The peer: the beneficiary for a worker, the current worker for the beneficiary.
    for (const auto& p : c.participants) {
      if (p.left_at != 0 || p.identity_key == identity_) continue;
      return claim_for(rid, p.identity_key, key_of(p));
    }
    reply_error(error::keys_not_found, rid);
  });
}

void session::claim_for(const rid_t& rid, bytes identity, std::string owner_key) {
  services_.store.claim_bundle(
      identity, on_strand([rid, owner_key](session& s, std::error_code ec, claimed_bundle claimed) {
        if (ec) return s.reply_store_error(ec, rid, error::keys_not_found, error::keys_not_found);
        auto u = unpack_bundle(claimed.bundle.bundle);
        if (!u) {
          log::error("stored_bundle_unreadable", {});
          return s.reply_error(error::internal_error, rid);
        }
        pr::keys_bundle out;
        out.rid = rid;
        out.identity_key = pr::encoded_bytes::from_bytes(claimed.bundle.identity_key);
        out.spk_id = u->spk_id;
        out.spk_pub = pr::encoded_bytes::from_bytes(u->spk_pub);
        out.spk_signature = pr::encoded_bytes::from_bytes(u->spk_signature);
        if (claimed.one_time) {
          out.opk_id = claimed.one_time->key_id;
          out.opk_pub = pr::encoded_bytes::from_bytes(claimed.one_time->public_key);
        }
        if (!u->certificate.empty()) out.worker_certificate = pr::encoded_bytes::from_bytes(u->certificate);
        s.reply(out);
        if (claimed.one_time && claimed.remaining < s.services_.settings.low_prekeys_threshold) {
          s.notify_low(owner_key, claimed.remaining);
        }
      }));
}

void session::notify_low(const std::string& owner_key, std::int64_t remaining) {
  pr::keys_low low;
  low.remaining = remaining;
  auto frame = std::make_shared<const std::string>(pr::encode(low));
  services_.directory.for_each(owner_key, [&](const std::shared_ptr<session>& o) { o->deliver_push(frame); });
}

// ---------------------------------------------------------------- backups

std::optional<bytes> session::backup_id(pr::backup_kind kind, const std::optional<pr::encoded_bytes>& lookup,
                                        const rid_t& rid) {
  // Kinds live in separate namespaces of the store's lookup ids.
  if (kind == pr::backup_kind::keystore) {
    if (lookup) {
      reply_error(error::invalid_value, rid, "keystore takes no lookup");
      return std::nullopt;
    }
    if (!authenticated_ || role_ != pr::peer_role::worker) {
      reply_error(authenticated_ ? error::forbidden : error::auth_required, rid);
      return std::nullopt;
    }
    return "keystore:" + std::to_string(worker_);
  }
  if (!lookup) {
    reply_error(error::missing_field, rid, "lookup");
    return std::nullopt;
  }
  auto raw = lookup->decode();
  if (raw.size() != 32) {
    reply_error(error::invalid_value, rid, "lookup");
    return std::nullopt;
  }
  return std::string(kind == pr::backup_kind::resume ? "resume:" : "recovery:") + raw;
}

void session::on_backup_put(const pr::backup_put& m) {
  auto id = backup_id(m.kind, m.lookup, m.rid);
  if (!id) return;
  if (m.version < 1) return reply_error(error::out_of_range, m.rid, "version");
  backup_blob b;
  b.lookup_id = std::move(*id);
  b.blob = m.blob.decode();
  b.version = m.version;
  b.updated_at = services_.clock.unix_ms();
  services_.store.put_backup(std::move(b), on_strand([rid = m.rid](session& s, std::error_code ec) {
    if (ec) return s.reply_store_error(ec, rid, error::backup_not_found, error::version_conflict);
    pr::ok ok;
    ok.rid = rid;
    s.reply(ok);  // durable: the store acknowledged after its commit
  }));
}

void session::on_backup_get(const pr::backup_get& m) {
  auto id = backup_id(m.kind, m.lookup, m.rid);
  if (!id) return;
  if (auto wait = services_.addresses.try_take(remote_address_, address_action::backup_get)) {
    // Resume codes are guessed online only: attempts per address are few.
    reply_error(error::rate_limited, m.rid, "too many backup requests",
                std::chrono::duration_cast<std::chrono::milliseconds>(*wait).count());
    return;
  }
  services_.store.get_backup(*id, on_strand([rid = m.rid, kind = m.kind](session& s, std::error_code ec, backup_blob b) {
    if (ec) return s.reply_store_error(ec, rid, error::backup_not_found, error::backup_not_found);
    pr::backup_blob out;
    out.rid = rid;
    out.kind = kind;
    out.blob = pr::encoded_bytes::from_bytes(b.blob);
    out.version = b.version;
    s.reply(out);
  }));
}

void session::on_backup_delete(const pr::backup_delete& m) {
  auto id = backup_id(m.kind, m.lookup, m.rid);
  if (!id) return;
  services_.store.delete_backup(*id, on_strand([rid = m.rid](session& s, std::error_code ec) {
    // Deleting is idempotent: nothing stored is success too.
    if (ec && ec != store_errc::not_found) return s.reply_store_error(ec, rid, error::backup_not_found, error::backup_not_found);
    pr::ok ok;
    ok.rid = rid;
    s.reply(ok);
  }));
}

}  // namespace relais::core
