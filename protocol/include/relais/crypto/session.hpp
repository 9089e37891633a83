#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <system_error>
#include <vector>

#include "relais/crypto/keys.hpp"
#include "relais/crypto/secure_buffer.hpp"
#include "relais/crypto/x3dh.hpp"

namespace relais::crypto {

/// Message types on the wire (CRYPTO.md §4.1); the same byte goes into the AD.
enum class message_type : std::uint8_t { initial = 0x01, message = 0x02 };

inline constexpr std::uint8_t wire_version = 0x01;
inline constexpr std::size_t header_bytes = 40;

/// The clear ratchet header: sender's ratchet key, previous chain length, message number.
struct ratchet_header {
  public_key dh{};
  std::uint32_t pn = 0;
  std::uint32_t n = 0;
};

/// The X3DH fields an initial message carries in front of its header.
struct initial_prefix {
  public_key initiator_identity{};
  public_key ephemeral{};
  std::uint32_t spk_id = 0;
  std::uint32_t opk_id = no_one_time_prekey;
  [[nodiscard]] bool operator==(const initial_prefix&) const = default;
};

/// A parsed wire message; views point into the wire bytes.
struct parsed_message {
  message_type type = message_type::message;
  std::optional<initial_prefix> prefix;  // set for type 0x01
  ratchet_header header;
  bytes_view header_bytes;
  bytes_view ciphertext;
};

/// Parses any wire message (checks version, type, lengths; CRYPTO.md §4.1 order).
[[nodiscard]] std::error_code parse_message(bytes_view wire, parsed_message& out) noexcept;
/// Parses a message that must be of `expected` type (wrong_message_type otherwise).
[[nodiscard]] std::error_code parse_message_of_type(bytes_view wire, message_type expected,
                                                    parsed_message& out) noexcept;

/// The responder's prekey secrets, looked up by id when an initial message arrives.
class prekey_lookup {
 public:
  virtual ~prekey_lookup() = default;
  [[nodiscard]] virtual const x25519_key_pair* signed_prekey(std::uint32_t id) const = 0;
  [[nodiscard]] virtual const x25519_key_pair* one_time_prekey(std::uint32_t id) const = 0;
};

/// A responder's prekeys held in memory (relais-cli, the bench tool, tests); a console keeps
/// its own in its encrypted keystore. The caller erases a one-time prekey once it was used.
class memory_prekeys final : public prekey_lookup {
 public:
  std::map<std::uint32_t, x25519_key_pair> spks;
  std::map<std::uint32_t, x25519_key_pair> opks;
  [[nodiscard]] const x25519_key_pair* signed_prekey(std::uint32_t id) const override {
    auto it = spks.find(id);
    return it == spks.end() ? nullptr : &it->second;
  }
  [[nodiscard]] const x25519_key_pair* one_time_prekey(std::uint32_t id) const override {
    auto it = opks.find(id);
    return it == opks.end() ? nullptr : &it->second;
  }
};

/// One end of a Double Ratchet conversation (CRYPTO.md §4): encrypts, decrypts transactionally,
/// and serialises to the state format of §4.5 so that it can be stored and backed up.
class session {
 public:
  /// The initiator's session: X3DH with a (verified) bundle; draws EK then the first ratchet key.
  [[nodiscard]] static std::error_code initiate(const identity_key_pair& me, const prekey_bundle& bundle,
                                                random_source& rng, session& out);

  /// The responder's session from a first (type 0x01) message. On success `plaintext` is the
  /// message and `consumed_opk` the OPK id the caller must now delete; on failure nothing changes.
  [[nodiscard]] static std::error_code accept(const identity_key_pair& me, const prekey_lookup& prekeys,
                                              bytes_view wire, random_source& rng, std::uint64_t now,
                                              session& out, bytes& plaintext,
                                              std::optional<std::uint32_t>& consumed_opk);

  /// Encrypts one message (at most limits::max_plaintext bytes).
  [[nodiscard]] std::error_code encrypt(bytes_view plaintext, bytes& wire);

  /// Decrypts one message; transactional: any error leaves the session byte-identical.
  [[nodiscard]] std::error_code decrypt(bytes_view wire, random_source& rng, std::uint64_t now, bytes& plaintext);

  /// The state in format 0x01 (secret: it holds chain and skipped keys).
  [[nodiscard]] secure_buffer serialize() const;
  [[nodiscard]] static std::error_code deserialize(bytes_view state, session& out) noexcept;

  [[nodiscard]] bool is_initiator() const noexcept { return initiator_; }
  [[nodiscard]] public_key own_identity() const noexcept;
  [[nodiscard]] public_key peer_identity() const noexcept;
  [[nodiscard]] std::size_t skipped_key_count() const noexcept { return skipped_.size(); }

 private:
  struct skipped_key {
    public_key dh{};
    std::uint32_t n = 0;
    secret32 mk;
    std::uint64_t stored_at = 0;
  };

  [[nodiscard]] std::error_code decrypt_parsed(const parsed_message& msg, random_source& rng, std::uint64_t now,
                                               bytes& plaintext);
  [[nodiscard]] std::error_code skip_to(std::uint32_t until, std::uint64_t now);
  void drop_chain(const public_key& dh);

  bool initiator_ = true;
  x3dh_associated_data ad_{};
  x25519_key_pair dhs_;
  std::optional<public_key> dhr_;
  secret32 rk_;
  std::optional<secret32> cks_;
  std::optional<secret32> ckr_;
  std::uint32_t ns_ = 0;
  std::uint32_t nr_ = 0;
  std::uint32_t pn_ = 0;
  std::optional<initial_prefix> prefix_;
  std::vector<public_key> previous_chains_;  // oldest first
  std::vector<skipped_key> skipped_;         // insertion order
};

}  // namespace relais::crypto
