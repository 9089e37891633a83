// Worker authentication (PROTOCOL.md §5): login with password and TOTP, resume with a session
// token, TOTP enrolment, logout. Answers do not tell whether an account exists: an unknown
// username costs one Argon2id verification against a dummy hash, like a wrong password, and
// every failure is answered after the same added delay.
#include <algorithm>
#include <chrono>

#include "relais/core/session.hpp"
#include "relais/core/permanence.hpp"
#include "relais/crypto/primitives.hpp"
#include "relais/log/log.hpp"
#include "relais/protocol/codec.hpp"
#include "relais/protocol/limits.hpp"

namespace relais::core {

namespace pr = relais::protocol;

namespace {

std::int64_t to_ms(duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

bytes hash_token(std::span<const std::uint8_t> token) {
  auto h = crypto::sha256(crypto::bytes_view(token.data(), token.size()));
  return bytes(reinterpret_cast<const char*>(h.data()), h.size());
}

}  // namespace

void session::on_login(const pr::auth_login& m) {
  if (role_ != pr::peer_role::worker) {
    reply_error(error::forbidden, m.rid);
    count_error();
    return;
  }
  if (auto wait = services_.addresses.try_take(remote_address_, address_action::login)) {
    // Per-address lock: guessing from one address is slowed whatever the account.
    fail_auth(error::account_locked, m.rid, to_ms(*wait));
    return;
  }
  auth_pending_ = true;
  services_.store.find_worker(
      m.username, on_strand([m](session& s, std::error_code ec, worker_account found) mutable {
        std::optional<worker_account> account;
        if (!ec) {
          account = std::move(found);
        } else if (ec != store_errc::not_found) {
          s.auth_pending_ = false;
          s.reply_store_error(ec, m.rid, error::invalid_credentials, error::invalid_credentials);
          return;
        }
        auto hash = account ? account->password_hash : std::string();
        std::string password = m.password;
        s.services_.credentials.verify_password(
            std::move(hash), std::move(password),
            s.on_strand([m, account](session& s2, password_check check) mutable {
              s2.login_checked(std::move(m), std::move(account), check);
            }));
      }));
}

void session::login_checked(pr::auth_login m, std::optional<worker_account> account, password_check check) {
  if (check == password_check::busy) {
    auth_pending_ = false;
    reply_error(error::server_busy, m.rid, "too many logins at once, retry", 1000);
    return;
  }
  auto now_ms = services_.clock.unix_ms();
  if (account && account->locked_until > now_ms) {
    // Locked by earlier failures: refused whatever the password, after the usual delay.
    auto retry = account->locked_until - now_ms;
    auto delay = std::min(services_.settings.failure_delay, services_.settings.max_failure_delay);
    after(delay, [this, rid = m.rid, retry] {
      auth_pending_ = false;
      fail_auth(error::account_locked, rid, std::min<std::int64_t>(retry, pr::limits::max_retry_after_ms));
    });
    return;
  }
  if (check != password_check::match || !account || account->disabled) {
    login_failed(m.rid, std::move(account));
    return;
  }
  if (account->totp_secret.empty()) {
    login_succeeded(m.rid, std::move(*account), std::move(m.device));
    return;
  }
  if (!m.totp) {
    auth_pending_ = false;
    reply_error(error::totp_required, m.rid);
    return;
  }
  auto step = services_.credentials.match_totp(account->totp_secret, *m.totp, services_.clock.unix_seconds());
  if (!step) {
    login_failed(m.rid, std::move(account));
    return;
  }
  auto id = account->id;
  // Each code once: the store refuses a step already used (a replayed or shoulder-surfed code).
  services_.store.consume_totp_step(
      id, *step, on_strand([m, account](session& s, std::error_code ec) mutable {
        if (ec == store_errc::conflict) return s.login_failed(m.rid, std::move(account));
        if (ec) {
          s.auth_pending_ = false;
          return s.reply_store_error(ec, m.rid, error::invalid_credentials, error::invalid_credentials);
        }
        s.login_succeeded(m.rid, std::move(*account), std::move(m.device));
      }));
}

void session::login_failed(const rid_t& rid, std::optional<worker_account> account) {
  const auto& st = services_.settings;
  if (account) {
    auto failures = account->failed_logins + 1;
    unix_ms locked_until = failures >= st.max_failed_logins ? services_.clock.unix_ms() + to_ms(st.lockout) : 0;
    if (locked_until) log::warn("worker_locked", {{"worker", account->id}, {"failures", failures}});
    services_.store.record_login_failure(account->id, locked_until, [](std::error_code, std::int32_t) {});
  }
  // The added delay grows with this connection's failures, never with whether the account
  // exists, so that timing tells nothing (the per-address guard bounds the attempts).
  auto delay = st.failure_delay * (1 << std::min(failed_auth_, 4));
  delay = std::min(delay, st.max_failure_delay);
  after(delay, [this, rid] {
    auth_pending_ = false;
    fail_auth(error::invalid_credentials, rid);
  });
}

void session::login_succeeded(const rid_t& rid, worker_account account, std::string device) {
  services_.store.reset_login_failures(account.id, [](std::error_code) {});
  std::array<std::uint8_t, 32> token{};
  services_.random.fill(token);
  worker_session ws;
  ws.token_hash = hash_token(token);
  ws.worker = account.id;
  ws.device = device;
  ws.created_at = services_.clock.unix_ms();
  ws.expires_at = ws.created_at + to_ms(services_.settings.session_lifetime);
  auto expires = ws.expires_at;
  auto hash = ws.token_hash;
  services_.store.create_session(
      std::move(ws), on_strand([rid, account, device, token, hash, expires](session& s, std::error_code ec,
                                                                           bytes replaced) mutable {
        if (ec) {
          s.auth_pending_ = false;
          return s.reply_store_error(ec, rid, error::invalid_credentials, error::invalid_credentials);
        }
        if (!replaced.empty()) {
          // One session per device: the previous token of this device is gone.
          s.services_.directory.for_each("w:" + std::to_string(account.id), [&](const std::shared_ptr<session>& o) {
            o->revoke(replaced, static_cast<std::uint16_t>(pr::close_code::replaced), "new login on this device");
          });
        }
        s.worker_authenticated(account, hash, device);
        log::info("worker_login", {{"worker", account.id}});
        pr::auth_ok ok;
        ok.rid = rid;
        ok.role = pr::peer_role::worker;
        ok.worker_id = account.id;
        ok.display_name = account.display_name.empty() ? account.username : account.display_name;
        ok.token = pr::encoded_bytes::from_bytes(std::span<const std::uint8_t>(token));
        ok.token_expires_at = expires;
        ok.totp_enrolled = !account.totp_secret.empty();
        s.reply(ok);
        s.after_worker_auth();
      }));
}

void session::worker_authenticated(const worker_account& account, bytes token_hash, std::string device) {
  (void)device;
  auth_pending_ = false;
  worker_ = account.id;
  username_ = account.username;
  display_name_ = account.display_name.empty() ? account.username : account.display_name;
  identity_ = account.identity_key;
  totp_enrolled_ = !account.totp_secret.empty();
  token_hash_ = std::move(token_hash);
  services_.permanence.worker_seen(account);
  // A newer connection of the same device takes over (close 4005 for the older one).
  services_.directory.for_each(directory_key(), [&](const std::shared_ptr<session>& o) {
    o->revoke(token_hash_, static_cast<std::uint16_t>(pr::close_code::replaced), "newer connection of this device");
  });
  became_authenticated();
}

void session::with_identity(const rid_t& rid, std::function<void(session&)> fn) {
  if (!identity_.empty() || role_ != pr::peer_role::worker) return fn(*this);
  services_.store.get_worker(worker_, on_strand([rid, fn](session& s, std::error_code ec, worker_account a) {
    if (ec) return s.reply_store_error(ec, rid, error::worker_not_found, error::worker_not_found);
    if (a.identity_key.empty()) return s.reply_error(error::keys_not_found, rid, "publish your keys first (keys.publish)");
    s.identity_ = a.identity_key;
    fn(s);
  }));
}

void session::on_resume(const pr::auth_resume& m) {
  std::array<std::uint8_t, 32> token{};
  if (role_ != pr::peer_role::worker) {
    reply_error(error::forbidden, m.rid);
    count_error();
    return;
  }
  if (m.token.decode_into(token)) {
    fail_auth(error::invalid_token, m.rid);
    return;
  }
  auth_pending_ = true;
  auto hash = hash_token(token);
  services_.store.find_session(hash, on_strand([rid = m.rid, hash](session& s, std::error_code ec,
                                                                   worker_session ws) mutable {
    auto refuse = [&s, &rid] {
      s.auth_pending_ = false;
      s.fail_auth(error::invalid_token, rid);
    };
    if (ec == store_errc::not_found) return refuse();
    if (ec) {
      s.auth_pending_ = false;
      return s.reply_store_error(ec, rid, error::invalid_token, error::invalid_token);
    }
    if (ws.revoked || ws.expires_at <= s.services_.clock.unix_ms()) return refuse();
    s.services_.store.get_worker(
        ws.worker, s.on_strand([rid, hash, ws](session& s2, std::error_code ec2, worker_account account) mutable {
          if (ec2 || account.disabled) {
            s2.auth_pending_ = false;
            if (ec2 && ec2 != store_errc::not_found) {
              return s2.reply_store_error(ec2, rid, error::invalid_token, error::invalid_token);
            }
            return s2.fail_auth(error::invalid_token, rid);
          }
          s2.worker_authenticated(account, hash, ws.device);
          pr::auth_ok ok;
          ok.rid = rid;
          ok.role = pr::peer_role::worker;
          ok.worker_id = account.id;
          ok.display_name = s2.display_name_;
          ok.token_expires_at = ws.expires_at;
          ok.totp_enrolled = !account.totp_secret.empty();
          s2.reply(ok);
          s2.after_worker_auth();
        }));
  }));
}

void session::on_logout(const pr::auth_logout& m) {
  if (role_ != pr::peer_role::worker) {
    reply_error(error::forbidden, m.rid);
    return;
  }
  services_.store.revoke_session(token_hash_, services_.clock.unix_ms(), on_strand([rid = m.rid](session& s, std::error_code ec) {
    if (ec && ec != store_errc::not_found) return s.reply_store_error(ec, rid, error::invalid_token, error::invalid_token);
    log::info("worker_logout", {{"worker", s.worker_}});
    pr::ok ok;
    ok.rid = rid;
    s.reply(ok);
    s.close_with(pr::close_code::normal, "logged out");
  }));
}

void session::on_totp_setup(const pr::auth_totp_setup& m) {
  if (role_ != pr::peer_role::worker) {
    reply_error(error::forbidden, m.rid);
    return;
  }
  pending_totp_secret_ = services_.credentials.new_totp_secret();  // replaces a pending one
  pr::auth_totp_secret out;
  out.rid = m.rid;
  out.otpauth_uri = services_.credentials.otpauth_uri(pending_totp_secret_, username_, services_.settings.totp_issuer);
  reply(out);
}

void session::on_totp_confirm(const pr::auth_totp_confirm& m) {
  if (role_ != pr::peer_role::worker) {
    reply_error(error::forbidden, m.rid);
    return;
  }
  if (pending_totp_secret_.empty()) {
    reply_error(error::unexpected_message, m.rid, "call auth.totp_setup first");
    return;
  }
  auto step = services_.credentials.match_totp(pending_totp_secret_, m.code, services_.clock.unix_seconds());
  if (!step) {
    reply_error(error::invalid_credentials, m.rid);
    count_error();
    return;
  }
  worker_update u;
  u.id = worker_;
  u.totp_secret = pending_totp_secret_;
  services_.store.update_worker(std::move(u), on_strand([rid = m.rid, step = *step](session& s, std::error_code ec) {
    if (ec) return s.reply_store_error(ec, rid, error::worker_not_found, error::invalid_credentials);
    s.services_.store.consume_totp_step(s.worker_, step, s.on_strand([rid](session& s2, std::error_code ec2) {
      if (ec2 && ec2 != store_errc::conflict) return s2.reply_store_error(ec2, rid, error::worker_not_found, error::invalid_credentials);
      s2.totp_enrolled_ = true;
      s2.pending_totp_secret_.clear();
      log::info("worker_totp_enrolled", {{"worker", s2.worker_}});
      pr::ok ok;
      ok.rid = rid;
      s2.reply(ok);
      s2.after_worker_auth();
    }));
  }));
}

}  // namespace relais::core
