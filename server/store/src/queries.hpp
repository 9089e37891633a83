#pragma once

// The permanence's read queries whose plan matters (they run on every inbox.list, inbox.count
// push, queue change and returning beneficiary). Kept here rather than inline so that the
// tests check the plan of the very text the store runs (EXPLAIN QUERY PLAN: index searches,
// no table scan).

namespace relais::store::detail::queries {

/// Waiting entries: counted over a partial index of waiting entries; no table row is read
/// (count(*) needs no column and the index implies state = 0).
inline constexpr const char* count_waiting = "SELECT count(*) FROM queue_entries WHERE state = 0";

/// A worker's unread inbox entries after an id: one range of inbox_recipients_by_worker
/// (worker_id, unread = 1, entry_id > after), then each entry by its primary key. CROSS JOIN
/// fixes that order. ?1 worker, ?2 after_id, ?3 limit. Columns: inbox_columns, wrapped_key.
inline constexpr const char* list_inbox_for_worker =
    "SELECT e.id, e.beneficiary_key, e.envelope, e.created_at, e.state, e.worker_id, "
    "e.conversation_id, e.updated_at, e.client_msg_id, r.wrapped_key "
    "FROM inbox_recipients r CROSS JOIN inbox_entries e ON e.id = r.entry_id "
    "WHERE r.worker_id = ?1 AND r.unread = 1 AND r.entry_id > ?2 AND e.state = 0 "
    "ORDER BY r.entry_id LIMIT ?3";

/// A worker's unread inbox entries, counted in the same index range (covering: no table row).
inline constexpr const char* count_unread_inbox =
    "SELECT count(*) FROM inbox_recipients WHERE worker_id = ?1 AND unread = 1";

/// The workers who took part in a beneficiary's conversations, most recent first: the
/// beneficiary's conversations from conversations_by_beneficiary, then each one's participants
/// from the primary key range (conversation_id, ...). Removed accounts (worker_id nulled) drop
/// out. ?1 beneficiary key, ?2 limit.
inline constexpr const char* list_followers =
    "SELECT p.worker_id FROM conversations c CROSS JOIN participants p "
    "ON p.conversation_id = c.id "
    "WHERE c.beneficiary_key = ?1 AND p.role = 1 AND p.worker_id IS NOT NULL "
    "GROUP BY p.worker_id ORDER BY max(p.joined_at) DESC, p.worker_id LIMIT ?2";

}  // namespace relais::store::detail::queries
