/**
 * Validating codec for protocol v1 frames (PROTOCOL.md §2, §3). `decodeFrame` checks a server
 * frame against the message table and returns an error name of §8 instead of throwing (peer
 * input is never exceptional); `encodeFrame` checks what this client is about to send and
 * throws `ProtocolError` (a bug in our own code).
 *
 * Differences from the C++ decoder, because JSON.parse is what browsers offer: duplicate members
 * are not detected (the last one wins) and `1.0` reads as the integer 1. Both only matter
 * against a hostile server, which can send any valid frame anyway.
 */
import { base64UrlDecodedLength } from './base64url.js';
import type { ErrorName } from './errors.js';
import {
  isMessageType,
  messageTable,
  type AnyMessage,
  type ClientMessage,
  type Direction,
  type MessageSchema,
  type ServerMessage,
} from './messages.js';
import { maxWireInt, type Fields, type Spec } from './schema.js';

/** Protocol limits that are not per field (PROTOCOL.md §10). */
export const protocolLimits = {
  /** Bytes of payload per WebSocket message. */
  frameBytes: 65_536,
  /** The frame object is depth 1; the deepest v1 message reaches 3. */
  maxDepth: 4,
  /** JSON values per frame; bounds parser work whatever the schema. */
  maxValues: 4_096,
  /** The only protocol version this client speaks. */
  version: 1,
} as const;

/** A frame that failed validation: the §8 error name and where. */
export interface DecodeFailure {
  readonly ok: false;
  readonly error: ErrorName;
  /** Member path and reason, for logs; never contains content. */
  readonly detail: string;
}

/** The outcome of `decodeFrame`. */
export type DecodeResult<M> = { readonly ok: true; readonly message: M } | DecodeFailure;

/** A message this client built does not follow PROTOCOL.md: a bug, not peer input. */
export class ProtocolError extends Error {
  readonly code: ErrorName;
  constructor(code: ErrorName, detail: string) {
    super(`${code}: ${detail}`);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

const encoder = new TextEncoder();
const ridPattern = /^[A-Za-z0-9_-]{1,64}$/;
const tokenPattern = /^[A-Za-z0-9_-]*$/;
const digitsPattern = /^[0-9]*$/;
// U+0000-U+001F and U+007F (PROTOCOL.md §3 "text").
// eslint-disable-next-line no-control-regex
const controlPattern = /[\u0000-\u001f\u007f]/;
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

class Failure {
  constructor(
    readonly error: ErrorName,
    readonly detail: string,
  ) {}
}

function fail(error: ErrorName, detail: string): never {
  throw new Failure(error, detail);
}

function utf8Length(s: string): number {
  return encoder.encode(s).length;
}

function checkShape(value: unknown, depth: number, counter: { n: number }): void {
  counter.n += 1;
  if (counter.n > protocolLimits.maxValues) fail('too_many_items', 'more than 4096 JSON values');
  if (depth > protocolLimits.maxDepth) fail('too_deep', 'nesting deeper than 4');
  if (Array.isArray(value)) {
    for (const v of value) checkShape(v, depth + 1, counter);
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) checkShape(v, depth + 1, counter);
  }
}

function checkValue(spec: Spec, value: unknown, path: string): void {
  if (value === null) fail('wrong_type', `${path} is null`);
  switch (spec.k) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) fail('wrong_type', `${path} is not an integer`);
      if (value < 0 || value > maxWireInt || value < spec.min || value > spec.max) fail('out_of_range', `${path} out of range`);
      return;
    case 'bool':
      if (typeof value !== 'boolean') fail('wrong_type', `${path} is not a boolean`);
      return;
    case 'text': {
      if (typeof value !== 'string') fail('wrong_type', `${path} is not a string`);
      if (controlPattern.test(value)) fail('invalid_value', `${path} has a control character`);
      if (loneSurrogate.test(value)) fail('malformed_json', `${path} has a lone surrogate`);
      const n = utf8Length(value);
      if (n > spec.max) fail('too_long', `${path} too long`);
      if (n < spec.min) fail('invalid_value', `${path} too short`);
      return;
    }
    case 'token':
    case 'digits': {
      if (typeof value !== 'string') fail('wrong_type', `${path} is not a string`);
      const pattern = spec.k === 'token' ? tokenPattern : digitsPattern;
      if (!pattern.test(value)) fail('invalid_value', `${path} has characters outside its set`);
      if (value.length > spec.max) fail('too_long', `${path} too long`);
      if (value.length < spec.min) fail('invalid_value', `${path} too short`);
      return;
    }
    case 'bytes': {
      if (typeof value !== 'string') fail('wrong_type', `${path} is not a string`);
      const n = base64UrlDecodedLength(value);
      if (n < 0) fail('invalid_base64', `${path} is not canonical base64url`);
      if (n > spec.max) fail('too_long', `${path} too long`);
      if (n < spec.min) fail('invalid_value', `${path} too short`);
      return;
    }
    case 'enum':
      if (typeof value !== 'string') fail('wrong_type', `${path} is not a string`);
      if (!spec.values.includes(value)) fail('invalid_value', `${path} is not one of its values`);
      return;
    case 'array':
      if (!Array.isArray(value)) fail('wrong_type', `${path} is not an array`);
      if (value.length > spec.max) fail('too_many_items', `${path} has too many items`);
      if (value.length < spec.min) fail('invalid_value', `${path} has too few items`);
      value.forEach((item, i) => checkValue(spec.of, item, `${path}[${i}]`));
      return;
    case 'object':
      if (typeof value !== 'object' || Array.isArray(value)) fail('wrong_type', `${path} is not an object`);
      checkFields(spec.fields, value as Record<string, unknown>, path, false);
      return;
  }
}

function checkFields(fields: Fields, obj: Record<string, unknown>, path: string, ignoreUnknown: boolean): void {
  for (const [name, value] of Object.entries(obj)) {
    if (path === '' && (name === 'type' || name === 'rid')) continue;
    const spec = fields[name];
    if (!spec) {
      if (ignoreUnknown) continue;
      fail('unknown_field', `${path}${name} is not a member`);
    }
    checkValue(spec, value, `${path}${name}`);
  }
  for (const [name, spec] of Object.entries(fields)) {
    if (!('opt' in spec && spec.opt) && !(name in obj)) fail('missing_field', `${path}${name} is missing`);
  }
}

function checkMessage(obj: Record<string, unknown>, accept: readonly Direction[]): AnyMessage {
  if (typeof obj.type !== 'string') fail('missing_type', 'no type member');
  const type = obj.type;
  if (!isMessageType(type)) fail('unknown_type', `unknown type ${type.slice(0, 40)}`);
  const schema: MessageSchema = messageTable[type];
  if (!accept.includes(schema.dir)) fail('wrong_direction', `${type} is not sent this way`);
  if ('rid' in obj && (typeof obj.rid !== 'string' || !ridPattern.test(obj.rid))) fail('invalid_value', 'rid');
  // hello is the negotiation itself: its unknown members are ignored (§2).
  checkFields(schema.fields, obj, '', type === 'hello');
  checkConsistency(type, obj);
  return obj as AnyMessage;
}

/** Rules across members that the table cannot say (§6). */
function checkConsistency(type: string, obj: Record<string, unknown>): void {
  if (type === 'keys.bundle' && ('opk_id' in obj) !== ('opk_pub' in obj)) {
    fail('missing_field', 'opk_id and opk_pub come together');
  }
  if (type === 'keys.fetch') {
    const n = Number('conversation_id' in obj) + Number('worker_id' in obj);
    if (n === 0) fail('missing_field', 'conversation_id or worker_id');
    if (n === 2) fail('invalid_value', 'both conversation_id and worker_id');
  }
}

function decodeWith<M>(frame: string, accept: readonly Direction[]): DecodeResult<M> {
  try {
    if (utf8Length(frame) > protocolLimits.frameBytes) fail('frame_too_large', 'frame over 65536 bytes');
    let value: unknown;
    try {
      value = JSON.parse(frame);
    } catch {
      fail('malformed_json', 'not JSON');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('not_an_object', 'not an object');
    checkShape(value, 1, { n: 0 });
    return { ok: true, message: checkMessage(value as Record<string, unknown>, accept) as M };
  } catch (e) {
    if (e instanceof Failure) return { ok: false, error: e.error, detail: e.detail };
    throw e;
  }
}

/** Decodes and validates one frame received from the server. */
export function decodeFrame(frame: string): DecodeResult<ServerMessage> {
  return decodeWith<ServerMessage>(frame, ['s2c', 'both']);
}

/** Decodes and validates one frame as a server would (tests, tools): client-to-server types. */
export function decodeClientFrame(frame: string): DecodeResult<ClientMessage> {
  return decodeWith<ClientMessage>(frame, ['c2s', 'both']);
}

/** Validates a message this client sends and serialises it; throws ProtocolError if invalid. */
export function encodeFrame(message: ClientMessage): string {
  const frame = JSON.stringify(message);
  const result = decodeClientFrame(frame);
  if (!result.ok) throw new ProtocolError(result.error, result.detail);
  return frame;
}
