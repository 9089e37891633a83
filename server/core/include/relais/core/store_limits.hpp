#pragma once

#include <cstddef>

namespace relais::core::limits {

/// Most messages one page read returns (messages). Bounds the memory of one read and the
/// size of one resume burst; a client with a longer backlog pages on.
inline constexpr std::size_t max_page_messages = 1000;

/// Largest envelope the store accepts (bytes). Protocol frames are capped lower (64 KiB by
/// default, issue 6); this is the store's own backstop so that one row stays reasonable.
inline constexpr std::size_t max_stored_envelope_bytes = 1024 * 1024;

/// Largest opaque blob the store accepts for a backup, pre-chat answers or a prekey bundle
/// (bytes). Net enforces tighter configured limits; this is the backstop.
inline constexpr std::size_t max_stored_blob_bytes = 4 * 1024 * 1024;

/// Most one-time prekeys accepted in one upload (keys): a client tops up in batches of 100.
inline constexpr std::size_t max_one_time_prekeys_per_upload = 1000;

/// Most revocations one list_revoked_since returns before the rows sharing the last time
/// (rows). relaisd polls once a second; a burst larger than this is read over a few polls.
inline constexpr std::size_t max_revocations_per_read = 1000;

/// Most recipients one inbox entry may name (workers). PROTOCOL.md inbox.send allows 16; the
/// store's backstop is the size of the recipient list the server offers (inbox.recipients).
inline constexpr std::size_t max_stored_inbox_recipients = 32;

/// Largest wrapped content key of one inbox recipient (bytes). PROTOCOL.md allows 512; the
/// store's backstop keeps one entry's recipient rows small.
inline constexpr std::size_t max_stored_wrapped_key_bytes = 4096;

/// Most workers list_followers returns (workers), most recent first: continuity offers a
/// returning beneficiary to the workers who followed them, and a long-followed person has
/// had only a few.
inline constexpr std::size_t max_followers = 16;

}  // namespace relais::core::limits
