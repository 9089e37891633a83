import { concat } from './bytes.js';
import { CryptoError } from './errors.js';
import { wire } from './limits.js';
import { sodium } from './sodium.js';

/** SHA-512 iterations of Signal's numeric fingerprint. */
const iterations = 5200;

/** One party's 30-digit half: Signal's fingerprint v0 with an empty identifier over the Ed25519 key. */
export function safetyNumberHalf(identityKey: Uint8Array): string {
  if (identityKey.length !== wire.keyBytes) throw new CryptoError('invalid_public_key');
  let h = concat(Uint8Array.of(0x00, 0x00), identityKey);
  for (let i = 0; i < iterations; i++) h = sodium.crypto_hash_sha512(concat(h, identityKey));
  let digits = '';
  for (let chunk = 0; chunk < 6; chunk++) {
    let value = 0;
    // 5 bytes fit exactly in a double (40 bits < 53).
    for (let j = 0; j < 5; j++) value = value * 256 + h[chunk * 5 + j]!;
    digits += String(value % 100000).padStart(5, '0');
  }
  return digits;
}

/** The 60-digit safety number of two identity keys; the same on both sides. */
export function safetyNumber(identityA: Uint8Array, identityB: Uint8Array): string {
  const a = safetyNumberHalf(identityA);
  const b = safetyNumberHalf(identityB);
  return a < b ? a + b : b + a;
}

/** The safety number as 12 groups of 5 digits separated by spaces, as shown to people. */
export function formatSafetyNumber(digits: string): string {
  return digits.match(/.{1,5}/g)?.join(' ') ?? '';
}
