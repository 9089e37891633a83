#pragma once

#include <memory>
#include <system_error>
#include <utility>

#include "connection.hpp"
#include "engine.hpp"
#include "relais/core/store.hpp"

// Glue between the typed core::store calls and the engine's untyped operations: the result
// lives in a shared slot filled by `apply` on the store thread and handed to the caller's
// handler once the outcome (commit or failure) is known.

namespace relais::store::detail {

template <typename T, typename Apply>
operation make_operation(core::store_handler<T> done, Apply apply) {
  auto slot = std::make_shared<T>();
  return operation{
      [slot, apply = std::move(apply)](connection& c) mutable { return apply(c, *slot); },
      [slot, done = std::move(done)](std::error_code ec) {
        // On failure the handler gets a default value, never a half-filled one.
        done(ec, ec ? T{} : std::move(*slot));
      }};
}

template <typename Apply>
operation make_operation(core::store_done_handler done, Apply apply) {
  return operation{[apply = std::move(apply)](connection& c) mutable { return apply(c); },
                   std::move(done)};
}

template <typename T, typename Apply>
void write_op(engine& e, core::store_handler<T> done, Apply apply) {
  e.submit_write(make_operation<T>(std::move(done), std::move(apply)));
}

/// A write that changes nothing when it fails on its own: no savepoint (see operation).
template <typename T, typename Apply>
void write_op_unguarded(engine& e, core::store_handler<T> done, Apply apply) {
  auto op = make_operation<T>(std::move(done), std::move(apply));
  op.needs_savepoint = false;
  e.submit_write(std::move(op));
}

template <typename Apply>
void write_op(engine& e, core::store_done_handler done, Apply apply) {
  e.submit_write(make_operation(std::move(done), std::move(apply)));
}

template <typename T, typename Apply>
void read_op(engine& e, core::store_handler<T> done, Apply apply) {
  e.submit_read(make_operation<T>(std::move(done), std::move(apply)));
}

/// Fails with `code` unless the last statement changed at least one row.
inline std::error_code require_change(connection& c, core::store_errc code) {
  return c.changes() > 0 ? std::error_code{} : make_error_code(code);
}

}  // namespace relais::store::detail
