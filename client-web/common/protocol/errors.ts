/**
 * The error codes (PROTOCOL.md §8) and close codes (§9) of protocol v1, and what a client does
 * about them. The codec also uses the malformed/limit codes for what it refuses locally.
 */

/** The condition of an error code (its hundreds): what a client can do about it. */
export type ErrorCondition =
  | 'malformed'
  | 'unauthorized'
  | 'limit_exceeded'
  | 'unsupported_version'
  | 'conflict'
  | 'not_found'
  | 'unavailable';

/** Every v1 error code by name. */
export const errorCodes = {
  malformed_json: 100,
  not_an_object: 101,
  missing_type: 102,
  unknown_type: 103,
  wrong_type: 104,
  missing_field: 105,
  unknown_field: 106,
  duplicate_field: 107,
  invalid_value: 108,
  invalid_base64: 109,
  wrong_direction: 110,
  unexpected_message: 111,
  binary_frame: 112,
  auth_required: 200,
  invalid_credentials: 201,
  totp_required: 202,
  invalid_token: 203,
  invalid_signature: 204,
  forbidden: 205,
  account_locked: 206,
  frame_too_large: 300,
  too_long: 301,
  too_deep: 302,
  out_of_range: 303,
  too_many_items: 304,
  rate_limited: 305,
  queue_full: 306,
  unsupported_version: 400,
  already_in_queue: 500,
  already_taken: 501,
  version_conflict: 502,
  conversation_ended: 503,
  off_shift: 504,
  sequence_ahead: 505,
  not_in_queue: 506,
  conversation_not_found: 600,
  worker_not_found: 601,
  ticket_not_found: 602,
  inbox_not_found: 603,
  backup_not_found: 604,
  keys_not_found: 605,
  queue_empty: 606,
  permanence_closed: 700,
  server_busy: 701,
  shutting_down: 702,
  internal_error: 703,
} as const;

/** An error name of PROTOCOL.md §8. */
export type ErrorName = keyof typeof errorCodes;

const conditionByHundred: Record<number, ErrorCondition> = {
  1: 'malformed',
  2: 'unauthorized',
  3: 'limit_exceeded',
  4: 'unsupported_version',
  5: 'conflict',
  6: 'not_found',
  7: 'unavailable',
};

/** The condition of a code, or undefined for a code v1 does not define. */
export function errorCondition(code: number): ErrorCondition | undefined {
  return conditionByHundred[Math.floor(code / 100)];
}

/** The name of a v1 code, or undefined. */
export function errorName(code: number): ErrorName | undefined {
  for (const [name, value] of Object.entries(errorCodes)) {
    if (value === code) return name as ErrorName;
  }
  return undefined;
}

/** WebSocket close codes of PROTOCOL.md §9. 1006 is the browser's "closed without a close frame". */
export const closeCodes = {
  normal: 1000,
  going_away: 1001,
  unsupported_data: 1003,
  abnormal: 1006,
  invalid_payload: 1007,
  policy_violation: 1008,
  message_too_big: 1009,
  internal_error: 1011,
  try_again_later: 1013,
  auth_timeout: 4000,
  unsupported_version: 4001,
  auth_failed: 4002,
  session_revoked: 4003,
  shift_ended: 4004,
  replaced: 4005,
} as const;

/**
 * What a client does after a close (§9): `reconnect` with backoff and `sync`; `login` asks the
 * person to authenticate again; `update` means this client is too old; `stop` ends quietly
 * (a newer connection took over, or the client closed it itself); `shift_ended` tells a worker
 * her shift is over.
 */
export type CloseAction = 'reconnect' | 'login' | 'update' | 'stop' | 'shift_ended';

/** The action for a close code. Unknown codes and abnormal closes reconnect. */
export function closeAction(code: number): CloseAction {
  switch (code) {
    case closeCodes.normal:
    case closeCodes.replaced:
      return 'stop';
    case closeCodes.unsupported_version:
      return 'update';
    case closeCodes.auth_failed:
    case closeCodes.session_revoked:
      return 'login';
    case closeCodes.shift_ended:
      return 'shift_ended';
    default:
      // 1001, 1011, 1013 by the spec; 1006 (network loss), 4000 (auth too slow, e.g. a
      // suspended tab) and 1008/1009 are retried too, with backoff so a broken client does
      // not hammer the server.
      return 'reconnect';
  }
}
