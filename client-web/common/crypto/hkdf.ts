import { concat, utf8 } from './bytes.js';
import { sodium, wipe } from './sodium.js';

const hashBytes = 32;

/** HMAC-SHA256(key, message) on libsodium's crypto_auth_hmacsha256 (any key length). */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  // libsodium.js's one-shot call insists on a 32-byte key; the streaming API takes any length
  // (longer keys are hashed first, as RFC 2104 says). Same result for 32-byte keys, one call fewer.
  if (key.length === sodium.crypto_auth_hmacsha256_KEYBYTES) return sodium.crypto_auth_hmacsha256(message, key);
  const state = sodium.crypto_auth_hmacsha256_init(key);
  sodium.crypto_auth_hmacsha256_update(state, message);
  return sodium.crypto_auth_hmacsha256_final(state);
}

/** HKDF-Extract (RFC 5869 §2.2); an empty salt means 32 zero bytes. */
export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return hmacSha256(salt.length === 0 ? new Uint8Array(hashBytes) : salt, ikm);
}

/**
 * HKDF-Expand (RFC 5869 §2.3), at most 255 * 32 bytes. `counterStart` is 1 as in the RFC; 0 only
 * reproduces libsignal's legacy "v2" HKDF, whose published root-key vector uses it.
 */
export function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number, counterStart: 0 | 1 = 1): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 255 * hashBytes) {
    throw new RangeError('HKDF output length out of range');
  }
  const out = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let i = counterStart, offset = 0; offset < length; i++) {
    const input = concat(previous, info, Uint8Array.of(i));
    const block = hmacSha256(prk, input);
    wipe(previous, input);
    out.set(block.subarray(0, Math.min(hashBytes, length - offset)), offset);
    offset += hashBytes;
    previous = block;
  }
  wipe(previous);
  return out;
}

/** HKDF-SHA256 (RFC 5869); `info` is a parameter so Signal's published vectors apply. */
export function hkdf(
  salt: Uint8Array,
  ikm: Uint8Array,
  info: Uint8Array | string,
  length: number,
  counterStart: 0 | 1 = 1,
): Uint8Array {
  const prk = hkdfExtract(salt, ikm);
  const out = hkdfExpand(prk, typeof info === 'string' ? utf8(info) : info, length, counterStart);
  wipe(prk);
  return out;
}
