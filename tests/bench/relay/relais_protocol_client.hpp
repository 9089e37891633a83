#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modes.hpp"
#include "relais/crypto/keys.hpp"
#include "relais/crypto/session.hpp"
#include "relais/protocol/messages.hpp"

// The Relais protocol side of relais-bench (PROTOCOL.md): worker login, key publication and
// shift, beneficiary challenge authentication, queue join and take, X3DH and Double Ratchet
// with relais_crypto, then conversation.send / conversation.ack / conversation.message.

namespace relais::bench {

namespace limits {
/// Worker logins in flight at once during a setup (not measured): each waits for Argon2id on
/// relaisd's bounded pool, so more at once only queue there, past the auth timeout on a busy
/// machine.
inline constexpr int worker_logins_at_once = 8;
}  // namespace limits

/// Writes a fresh organisation key seed (64 hex, mode 0600) to `path` and returns the base64url
/// public key relaisd's `[org] public_key` needs; throws std::runtime_error on I/O failure.
[[nodiscard]] std::string make_org_key_file(const std::string& path);
/// Reads the seed written by make_org_key_file; throws std::runtime_error when unreadable.
[[nodiscard]] crypto::identity_key_pair load_org_key_file(const std::string& path);

/// A worker account the bench logs into from several devices (one per link): its identity
/// and prekeys are generated here and published by its first link.
struct worker_account {
  std::string username;
  std::string password;
  crypto::identity_key_pair identity;
  crypto::signed_prekey spk;
  std::vector<crypto::one_time_prekey> opks;
  crypto::bytes certificate;  ///< signed by the organisation key
  std::mutex prekeys_mutex;   ///< devices on several io threads accept first messages
  crypto::memory_prekeys prekeys;

  /// Generates keys (spk and `opk_count` one-time prekeys) and the certificate.
  worker_account(std::string name, std::string password, const crypto::identity_key_pair& org, int opk_count);
};

/// One connection speaking the Relais protocol: decodes every frame, fails the run on an
/// `error` frame, an invalid frame or a close, and hands each frame to a one-shot expectation
/// for its type or else to the traffic handler.
class relais_connection final : public transport_handler {
 public:
  using handler = std::function<void(const protocol::message&)>;

  relais_connection(std::string name, io_pool& pool, unsigned io_index, const endpoint& ep);
  /// Connects and sends `hello` for `role`; `welcomed` receives the welcome.
  void start(std::size_t index, protocol::peer_role role, std::function<void(const protocol::welcome&)> welcomed);
  /// Sends one message.
  void send(const std::string& frame);
  /// The next frame of `type` goes to `h` (once).
  void expect(std::string_view type, handler h);
  /// Frames without an expectation (measured traffic) go to `h`; it returns false for a type
  /// it does not handle.
  void set_traffic(std::function<bool(const protocol::message&)> h) { traffic_ = std::move(h); }
  /// `error` frames `f` returns true for are races the caller handles (a take that found the
  /// queue empty); every other `error` frame stays fatal.
  void set_error_filter(std::function<bool(const protocol::error_message&)> f) { error_filter_ = std::move(f); }
  /// Drops the connection at once, as a lost network would (no closing handshake), and forgets
  /// the pending expectations; start() may open a new one.
  void drop();
  [[nodiscard]] std::size_t queued() const noexcept { return conn_ ? conn_->queued() : 0; }

  void on_open() override;
  void on_frame(std::string_view frame) override;
  void on_closed(const std::string& why) override;

 private:
  std::string name_;
  io_pool& pool_;
  unsigned io_index_;
  endpoint ep_;
  std::shared_ptr<transport> conn_;
  protocol::peer_role role_ = protocol::peer_role::beneficiary;
  std::function<void(const protocol::welcome&)> welcomed_;
  std::vector<std::pair<std::string, handler>> expected_;
  std::function<bool(const protocol::message&)> traffic_;
  std::function<bool(const protocol::error_message&)> error_filter_;
};

/// Opens `conn` (source address number `index`), logs in as `account` from device `device`,
/// publishes the account's keys when `publish` (relaisd reads the identity key at login, so
/// the account's first device publishes before the others log in) and starts a manual shift;
/// `done` once shift.state says "on". Failures are fatal. `conn` and `account` must outlive it.
void worker_login_and_shift(relais_connection& conn, std::size_t index, worker_account& account, std::string device,
                            bool publish, std::function<void()> done);

/// The beneficiary's side of X3DH: checks the bundle's worker certificate against `org` (and
/// that it certifies the bundle's identity key), then starts `out` from the bundle. Failures
/// are fatal, named after `who`.
void initiate_from_bundle(const protocol::keys_bundle& bundle, const crypto::public_key& org,
                          const crypto::identity_key_pair& me, crypto::random_source& rng, crypto::session& out,
                          const std::string& who);

/// Settings shared by every Relais link of a run.
struct relais_run_settings {
  endpoint ep;
  crypto::public_key org_public{};
  std::size_t plaintext_size = 300;
  bool precomputed = false;
  std::string precomputed_ciphertext;  ///< base64url, when precomputed
};

/// One conversation: a beneficiary (side 0) and a worker device (side 1) on one io thread.
/// Setup phases: worker login, key publication and shift.start by the account's first link,
/// then the other devices' logins, beneficiary authentication, queue join and take (one link at a time so that each take gets
/// this link's beneficiary), and with E2E the X3DH handshake (one message each way).
class relais_link final : public bench_link {
 public:
  relais_link(io_pool& pool, unsigned io_index, std::size_t index, worker_account& account, bool publishes,
              const relais_run_settings& settings);

  [[nodiscard]] unsigned io_index() const noexcept override { return io_index_; }
  [[nodiscard]] std::vector<std::string> phases() const override;
  [[nodiscard]] int phase_concurrency(std::size_t p) const override {
    // Logins wait for Argon2id on relaisd's bounded pool: more at once only queue there, past
    // the auth timeout on a busy machine. Takes one at a time (each must get its beneficiary).
    return p <= 1 ? limits::worker_logins_at_once : p == 3 ? 1 : 0;
  }
  void run_phase(std::size_t p, std::function<void()> done) override;
  void send(int side, std::uint64_t stamp_ns) override;
  [[nodiscard]] bool acked_protocol() const noexcept override { return true; }
  [[nodiscard]] std::size_t queued(int side) const noexcept override;
  /// Messages of other conversations this link's worker connection received because another
  /// device of the same account holds them (every device follows its account's conversations):
  /// server work that a 1:1 relay does not do. 0 when each link has an account of its own.
  /// Read once the io threads are stopped.
  [[nodiscard]] std::uint64_t other_device_copies() const noexcept { return other_device_copies_; }

 private:
  void worker_login(std::function<void()> done);
  void beneficiary_auth(std::function<void()> done);
  void join_and_take(std::function<void()> done);
  /// Waits for this link's queue.take reply, passing over the pushes of the account's other devices' takes.
  void expect_take_reply(std::function<void()> one_more);
  void handshake(std::function<void()> done);
  void expect_first_message(std::function<void()> one_more);
  bool on_traffic(int side, const protocol::message& m);
  [[nodiscard]] std::string next_client_msg_id(int side, std::uint64_t stamp_ns);
  [[nodiscard]] std::string what(int side) const;

  io_pool& pool_;
  unsigned io_index_;
  std::size_t index_;
  worker_account& account_;
  bool publishes_;
  const relais_run_settings& settings_;
  crypto::system_random rng_;
  crypto::identity_key_pair beneficiary_identity_;
  std::unique_ptr<relais_connection> beneficiary_;
  std::unique_ptr<relais_connection> worker_;
  std::int64_t conversation_id_ = 0;
  crypto::session beneficiary_session_;
  crypto::session worker_session_;
  std::array<std::uint64_t, 2> counters_{};
  crypto::bytes plaintext_;
  crypto::bytes scratch_;
  std::uint64_t other_device_copies_ = 0;
};

/// An idle beneficiary for the idle mode: connects and authenticates, then holds.
class relais_idle_beneficiary final : public client_unit {
 public:
  relais_idle_beneficiary(io_pool& pool, unsigned io_index, std::size_t index, const endpoint& ep);
  [[nodiscard]] unsigned io_index() const noexcept override { return io_index_; }
  [[nodiscard]] std::vector<std::string> phases() const override { return {"connect_auth"}; }
  [[nodiscard]] int phase_concurrency(std::size_t) const override { return 0; }
  void run_phase(std::size_t p, std::function<void()> done) override;

 private:
  unsigned io_index_;
  std::size_t index_;
  crypto::identity_key_pair identity_;
  relais_connection conn_;
};

/// A measured message's client_msg_id: "<side><12-digit counter>-<20-digit stamp>" (side 'b'
/// beneficiary, 'w' worker), unique per sender, 34 token characters.
[[nodiscard]] std::string make_client_msg_id(char side, std::uint64_t counter, std::uint64_t stamp_ns);

/// The client_msg_id of a measured message carries its stamp ("b000000000001-<20 digits>");
/// nullopt for another id (setup messages).
[[nodiscard]] std::optional<std::uint64_t> stamp_of_client_msg_id(std::string_view id) noexcept;

/// A ciphertext of a `size`-byte plaintext made once with a throwaway session, base64url.
[[nodiscard]] std::string make_precomputed_ciphertext(std::size_t size);

}  // namespace relais::bench
