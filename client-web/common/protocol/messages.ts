/**
 * Every message of the Relais wire protocol v1 (protocol/PROTOCOL.md §6): direction, who may
 * send it, and its fields with their limits. The codec validates against this table and the
 * message types below are derived from it. Role-neutral: the widget and the console share it.
 */
import {
  arrayOf,
  bool,
  bytes,
  digits,
  enumOf,
  id,
  int,
  maxWireInt,
  object,
  opt,
  text,
  time,
  token,
  type Fields,
  type ObjectOf,
} from './schema.js';

/** Who sends a message type: client to server, server to client, or both (receipts, typing). */
export type Direction = 'c2s' | 's2c' | 'both';

/** One entry of the message table. */
export interface MessageSchema {
  readonly dir: Direction;
  readonly fields: Fields;
}

const clientMsgId = () => token(16, 64);
const key32 = () => bytes(32, 32);
const sig64 = () => bytes(64, 64);
const seqOrZero = () => int(0, maxWireInt);
const versions = () => arrayOf(int(1, 65535), 1, 8);
/** PROTOCOL.md §10: a conversation ciphertext is at most 46,080 bytes (45 KiB). */
const conversationCiphertext = () => bytes(1, 46080);
const inboxCiphertext = () => bytes(1, 40960);
const messageFields = {
  seq: id(),
  sender: enumOf(['worker', 'beneficiary']),
  client_msg_id: clientMsgId(),
  ciphertext: conversationCiphertext(),
  sent_at: time(),
} as const;

/** The v1 message table, by wire type name. */
export const messageTable = {
  // 6.1 handshake and generic replies
  hello: { dir: 'c2s', fields: { versions: versions(), role: enumOf(['worker', 'beneficiary']), client: opt(text(1, 64)) } },
  welcome: { dir: 's2c', fields: { version: int(1, 65535), challenge: key32(), server: opt(text(1, 64)) } },
  ok: { dir: 's2c', fields: {} },
  error: {
    dir: 's2c',
    fields: {
      code: int(0, 999),
      name: token(1, 64),
      message: opt(text(1, 256)),
      retry_after_ms: opt(int(0, 86_400_000)),
      versions: opt(versions()),
    },
  },
  // 6.2 authentication
  'auth.login': {
    dir: 'c2s',
    fields: { username: text(1, 64), password: text(1, 1024), totp: opt(digits(6, 8)), device: text(1, 64) },
  },
  'auth.resume': { dir: 'c2s', fields: { token: key32() } },
  'auth.beneficiary': { dir: 'c2s', fields: { identity_key: key32(), signature: sig64() } },
  'auth.ok': {
    dir: 's2c',
    fields: {
      role: enumOf(['worker', 'beneficiary']),
      worker_id: opt(id()),
      display_name: opt(text(1, 64)),
      token: opt(key32()),
      token_expires_at: opt(time()),
      totp_enrolled: opt(bool()),
    },
  },
  'auth.logout': { dir: 'c2s', fields: {} },
  'auth.totp_setup': { dir: 'c2s', fields: {} },
  'auth.totp_secret': { dir: 's2c', fields: { otpauth_uri: text(1, 512) } },
  'auth.totp_confirm': { dir: 'c2s', fields: { code: digits(6, 8) } },
  // 6.3 key directory
  'keys.publish': {
    dir: 'c2s',
    fields: {
      identity_key: key32(),
      spk_id: opt(int(0, 4_294_967_295)),
      spk_pub: opt(key32()),
      spk_signature: opt(sig64()),
      one_time_prekeys: opt(arrayOf(object({ opk_id: int(0, 4_294_967_294), opk_pub: key32() }), 1, 100)),
      worker_certificate: opt(bytes(1, 512)),
    },
  },
  'keys.fetch': { dir: 'c2s', fields: { conversation_id: opt(id()), worker_id: opt(id()) } },
  'keys.bundle': {
    dir: 's2c',
    fields: {
      identity_key: key32(),
      spk_id: int(0, 4_294_967_295),
      spk_pub: key32(),
      spk_signature: sig64(),
      opk_id: opt(int(0, 4_294_967_294)),
      opk_pub: opt(key32()),
      worker_certificate: opt(bytes(1, 512)),
    },
  },
  'keys.low': { dir: 's2c', fields: { remaining: int(0, 1_000_000) } },
  // 6.4 permanence
  'permanence.get': { dir: 'c2s', fields: {} },
  'permanence.status': {
    dir: 's2c',
    fields: {
      open: bool(),
      availability: enumOf(['available', 'busy', 'closed']),
      queue_open: bool(),
      workers_on_call: opt(int(0, 10_000)),
      estimated_wait_s: opt(int(0, 604_800)),
      next_opening_at: opt(time()),
      emergency_numbers: arrayOf(
        object({ number: text(1, 32), label_fr: text(1, 128), label_en: text(1, 128), sms: opt(bool()) }),
        0,
        16,
      ),
      contribution_url: opt(text(1, 512)),
    },
  },
  // 6.5 queue
  'queue.join': { dir: 'c2s', fields: { urgent: bool(), prechat: opt(bytes(1, 4096)) } },
  'queue.position': { dir: 's2c', fields: { ticket_id: id(), position: int(1, 1_000_000), estimated_wait_s: int(0, 604_800) } },
  'queue.leave': { dir: 'c2s', fields: {} },
  'queue.timeout': { dir: 's2c', fields: { reason: enumOf(['wait_limit', 'closed']), inbox_available: bool() } },
  'queue.inbox_offer': { dir: 's2c', fields: { reason: enumOf(['long_wait', 'closing', 'queue_full']) } },
  'queue.list': { dir: 'c2s', fields: {} },
  'queue.snapshot': {
    dir: 's2c',
    fields: {
      total: int(0, 1_000_000),
      entries: arrayOf(object({ ticket_id: id(), urgent: bool(), joined_at: time(), returning: bool() }), 0, 50),
    },
  },
  'queue.take': { dir: 'c2s', fields: { ticket_id: opt(id()) } },
  // 6.6 shifts and presence
  'shift.start': { dir: 'c2s', fields: {} },
  'shift.stop': { dir: 'c2s', fields: { handover: opt(enumOf(['colleague', 'end'])) } },
  'shift.holiday': { dir: 'c2s', fields: { enabled: bool(), until: opt(time()) } },
  'shift.state': {
    dir: 's2c',
    fields: {
      state: enumOf(['on', 'off', 'holiday']),
      mode: enumOf(['scheduled', 'manual']),
      ends_at: opt(time()),
      next_start_at: opt(time()),
    },
  },
  'shift.schedule': { dir: 'c2s', fields: { days: opt(int(1, 31)) } },
  'shift.week': {
    dir: 's2c',
    fields: {
      time_zone: text(1, 64),
      from: time(),
      to: time(),
      mine: arrayOf(object({ start: time(), end: time() }), 0, 64),
      open: arrayOf(object({ start: time(), end: time() }), 0, 64),
      closed: arrayOf(object({ start: time(), end: time() }), 0, 64),
    },
  },
  'presence.set': { dir: 'c2s', fields: { status: enumOf(['available', 'busy']), capacity: opt(int(0, 32)) } },
  // 6.7 conversations
  'conversation.assigned': {
    dir: 's2c',
    fields: {
      conversation_id: id(),
      beneficiary_key: key32(),
      urgent: bool(),
      returning: bool(),
      prechat: opt(bytes(1, 4096)),
      transferred_from: opt(id()),
      inbox_id: opt(id()),
    },
  },
  'conversation.opened': { dir: 's2c', fields: { conversation_id: id(), worker_id: id(), display_name: text(1, 64) } },
  'conversation.send': {
    dir: 'c2s',
    fields: { conversation_id: id(), client_msg_id: clientMsgId(), ciphertext: conversationCiphertext() },
  },
  'conversation.ack': {
    dir: 's2c',
    fields: { conversation_id: id(), client_msg_id: clientMsgId(), seq: id(), sent_at: time() },
  },
  'conversation.message': { dir: 's2c', fields: { conversation_id: id(), ...messageFields } },
  'conversation.delivered': { dir: 'both', fields: { conversation_id: id(), up_to_seq: id() } },
  'conversation.read': { dir: 'both', fields: { conversation_id: id(), up_to_seq: id() } },
  'conversation.typing': { dir: 'both', fields: { conversation_id: id(), active: bool() } },
  'conversation.end': { dir: 'c2s', fields: { conversation_id: id() } },
  'conversation.ended': {
    dir: 's2c',
    fields: { conversation_id: id(), reason: enumOf(['worker', 'beneficiary', 'shift_end', 'inactivity']) },
  },
  'conversation.transfer': { dir: 'c2s', fields: { conversation_id: id(), to_worker_id: id(), control: bytes(1, 512) } },
  'conversation.transferred': {
    dir: 's2c',
    fields: {
      conversation_id: id(),
      from_worker_id: id(),
      to_worker_id: id(),
      to_display_name: text(1, 64),
      control: bytes(1, 512),
    },
  },
  // 6.8 history, resume and inbox
  'history.get': { dir: 'c2s', fields: { conversation_id: id(), after_seq: seqOrZero(), limit: opt(int(1, 100)) } },
  'history.page': {
    dir: 's2c',
    fields: { conversation_id: id(), messages: arrayOf(object(messageFields), 0, 100), more: bool() },
  },
  sync: { dir: 'c2s', fields: { cursors: arrayOf(object({ conversation_id: id(), last_seq: seqOrZero() }), 0, 256) } },
  'sync.done': {
    dir: 's2c',
    fields: { conversations: arrayOf(object({ conversation_id: id(), last_seq: seqOrZero(), open: bool() }), 0, 256) },
  },
  'inbox.list_recipients': { dir: 'c2s', fields: {} },
  'inbox.recipients': { dir: 's2c', fields: { workers: arrayOf(object({ worker_id: id(), display_name: text(1, 64) }), 0, 32) } },
  'inbox.send': {
    dir: 'c2s',
    fields: {
      client_msg_id: clientMsgId(),
      ciphertext: inboxCiphertext(),
      recipients: arrayOf(object({ worker_id: id(), wrapped_key: bytes(1, 512) }), 1, 16),
    },
  },
  'inbox.ack': { dir: 's2c', fields: { client_msg_id: clientMsgId(), inbox_id: id() } },
  'inbox.list': { dir: 'c2s', fields: { after_id: opt(id()), limit: opt(int(1, 50)) } },
  'inbox.messages': {
    dir: 's2c',
    fields: {
      items: arrayOf(
        object({
          inbox_id: id(),
          beneficiary_key: key32(),
          ciphertext: inboxCiphertext(),
          wrapped_key: bytes(1, 512),
          received_at: time(),
        }),
        0,
        50,
      ),
      more: bool(),
    },
  },
  'inbox.answer': { dir: 'c2s', fields: { inbox_id: id() } },
  /** A worker takes an entry out of every recipient's unread list without answering (a feedback). Reply `ok`. */
  'inbox.dismiss': { dir: 'c2s', fields: { inbox_id: id() } },
  'inbox.count': { dir: 's2c', fields: { unread: int(0, 1_000_000) } },
  // 6.9 encrypted backups
  'backup.put': {
    dir: 'c2s',
    fields: {
      kind: enumOf(['resume', 'recovery', 'keystore']),
      lookup: opt(key32()),
      blob: bytes(1, 46080),
      version: int(1, maxWireInt),
    },
  },
  'backup.get': { dir: 'c2s', fields: { kind: enumOf(['resume', 'recovery', 'keystore']), lookup: opt(key32()) } },
  'backup.blob': {
    dir: 's2c',
    fields: { kind: enumOf(['resume', 'recovery', 'keystore']), blob: bytes(1, 46080), version: int(1, maxWireInt) },
  },
  'backup.delete': { dir: 'c2s', fields: { kind: enumOf(['resume', 'recovery', 'keystore']), lookup: opt(key32()) } },
} as const satisfies Record<string, MessageSchema>;

/** Every v1 message type name. */
export type MessageType = keyof typeof messageTable;

/** The message of type `T`: its fields at the top level, plus `type` and the optional `rid`. */
export type Message<T extends MessageType> = { type: T; rid?: string } & ObjectOf<(typeof messageTable)[T]['fields']>;

/** Any v1 message, discriminated by `type`. */
export type AnyMessage = { [T in MessageType]: Message<T> }[MessageType];

type TypesWhere<D extends Direction> = {
  [T in MessageType]: (typeof messageTable)[T]['dir'] extends D ? T : never;
}[MessageType];

/** Message types a client may send. */
export type ClientMessageType = TypesWhere<'c2s' | 'both'>;
/** Message types the server sends. */
export type ServerMessageType = TypesWhere<'s2c' | 'both'>;
/** A message a client sends. */
export type ClientMessage = { [T in ClientMessageType]: Message<T> }[ClientMessageType];
/** A message the server sends. */
export type ServerMessage = { [T in ServerMessageType]: Message<T> }[ServerMessageType];

/** True if `type` names a v1 message. */
export function isMessageType(type: string): type is MessageType {
  return Object.prototype.hasOwnProperty.call(messageTable, type);
}
