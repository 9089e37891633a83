import { CryptoError } from './errors.js';
import { sodium } from './sodium.js';

/** Concatenates byte arrays into a new array. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** ASCII/UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** One byte. */
export function u8(value: number): Uint8Array {
  return Uint8Array.of(value & 0xff);
}

/** Big-endian u32. */
export function u32be(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, false);
  return out;
}

/** Big-endian u64 of a non-negative safe integer (unix seconds, counters). */
export function u64be(value: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), false);
  return out;
}

/** Constant-time equality of two byte arrays (lengths compared first, they are public). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && sodium.memcmp(a, b);
}

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  return sodium.to_hex(bytes);
}

/** Parses hex (even length, 0-9a-f any case). */
export function fromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new CryptoError('malformed_input');
  return sodium.from_hex(text);
}

/** base64url without padding, the variant used on the wire (see protocol/PROTOCOL.md). */
export function toBase64Url(bytes: Uint8Array): string {
  return sodium.to_base64(bytes, sodium.base64_variants.URLSAFE_NO_PADDING);
}

/** Parses base64url without padding; anything else is malformed. */
export function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new CryptoError('malformed_input');
  try {
    return sodium.from_base64(text, sodium.base64_variants.URLSAFE_NO_PADDING);
  } catch {
    throw new CryptoError('malformed_input');
  }
}

/** Sequential reader over peer bytes; every read past the end throws `malformed`. */
export class ByteReader {
  private offset_ = 0;

  constructor(private readonly bytes_: Uint8Array) {}

  get remaining(): number {
    return this.bytes_.length - this.offset_;
  }

  /** Returns a copy of the next `n` bytes. */
  take(n: number): Uint8Array {
    if (n < 0 || n > this.remaining) throw new CryptoError('malformed_input');
    const out = this.bytes_.slice(this.offset_, this.offset_ + n);
    this.offset_ += n;
    return out;
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  u32(): number {
    return new DataView(this.take(4).buffer).getUint32(0, false);
  }

  /** A u64 that must fit in a JavaScript safe integer (timestamps, counters). */
  u64(): number {
    const v = new DataView(this.take(8).buffer).getBigUint64(0, false);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CryptoError('malformed_input');
    return Number(v);
  }

  /** The rest of the input. */
  rest(): Uint8Array {
    return this.take(this.remaining);
  }

  /** Throws `malformed` if bytes are left over. */
  end(): void {
    if (this.remaining !== 0) throw new CryptoError('malformed_input');
  }
}
