#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "relais/crypto/keys.hpp"
#include "relais/crypto/session.hpp"

/// What `relais-cli chat --state DIR` keeps between runs: identity, prekeys, ratchet sessions,
/// cursors, unacknowledged ciphertexts and the worker's token. A test tool: the keys are stored
/// unencrypted (files of mode 0600 in a folder of mode 0700).
namespace relais::cli {

/// A message encrypted and sent, kept until the server acknowledges it (PROTOCOL.md §7: the
/// sender keeps it and resends it with the same client_msg_id after a reconnect).
struct unacked_message {
  std::string client_msg_id;
  std::string ciphertext;  // base64url wire bytes: a resend must repeat them exactly
};

/// One conversation as this client knows it.
struct conversation_state {
  std::int64_t id = 0;
  bool open = true;
  std::string peer_key;  // base64url identity key: the beneficiary's (worker side) or the worker's (after its bundle)
  std::int64_t worker_id = 0;
  std::string display_name;
  std::optional<crypto::session> session;
  /// Every seq up to here was processed (received and shown, or our own acknowledged message);
  /// the cursor sent in `sync`.
  std::int64_t contiguous_seq = 0;
  /// Processed seqs above contiguous_seq (a gap waits for a replay); with contiguous_seq, the
  /// dedup set of "exactly once display".
  std::set<std::int64_t> seqs_above;
  std::vector<unacked_message> unacked;
  /// Plaintext lines typed before a session exists (the beneficiary waits for the worker's
  /// bundle, the worker for the first message: a responder cannot send first).
  std::vector<std::string> held;
  /// Beneficiary side, after a verified transfer (CRYPTO.md §8): the identity key (base64url) the
  /// next worker's bundle must carry; empty otherwise.
  std::string expected_worker_key;
  /// Worker side: this conversation was transferred to us, so the messages before our session
  /// were sealed to the previous worker and are not ours to read.
  bool transferred_in = false;

  [[nodiscard]] bool seen(std::int64_t seq) const { return seq <= contiguous_seq || seqs_above.count(seq) != 0; }
  void mark_seen(std::int64_t seq);
};

/// The whole persistent state of one chat identity.
struct chat_state {
  std::string role;  // "worker" or "beneficiary": a state folder serves one role only
  std::optional<crypto::identity_key_pair> identity;
  std::string token;  // worker session token, base64url
  // Worker keys (CRYPTO.md §11): the current SPK, the one-time prekeys not yet consumed, the
  // next OPK id to hand out, the certificate, and whether the server has the bundle.
  crypto::memory_prekeys prekeys;
  std::uint32_t spk_id = 0;
  std::uint32_t next_opk_id = 1;
  std::string certificate;
  bool published = false;
  std::map<std::int64_t, conversation_state> conversations;
  std::int64_t current = 0;
  std::vector<std::string> held;  // lines typed before any conversation exists
};

/// A state folder: created with mode 0700, locked (one process at a time), read and written
/// atomically (write a temporary file, fsync, rename) so that a kill never leaves half a state.
class state_store {
 public:
  state_store() = default;
  ~state_store();
  state_store(const state_store&) = delete;
  state_store& operator=(const state_store&) = delete;

  /// Opens (creating) `dir` and loads its state; an empty `dir` keeps everything in memory.
  /// False with `error` set when the folder is in use, unreadable or its state damaged.
  [[nodiscard]] bool open(const std::string& dir, chat_state& state, std::string& error);
  /// Writes the state; false with `error` set on an I/O failure.
  [[nodiscard]] bool save(const chat_state& state, std::string& error) const;

 private:
  std::string dir_;
  int lock_fd_ = -1;
};

}  // namespace relais::cli
