import { CryptoError } from './errors.js';

/** Crockford's base32 alphabet: no I, L, O, U, so codes read aloud are unambiguous. */
export const crockfordAlphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Encodes `bitCount` bits of `bytes`, most significant first, in Crockford base32 (zero bits pad the last character). */
export function crockfordEncode(bytes: Uint8Array, bitCount = bytes.length * 8): string {
  let out = '';
  for (let bit = 0; bit < bitCount; bit += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const b = bit + j;
      const set = b < bitCount ? (bytes[b >> 3]! >> (7 - (b & 7))) & 1 : 0;
      value = (value << 1) | set;
    }
    out += crockfordAlphabet[value];
  }
  return out;
}

/**
 * Normalises typed Crockford text: ignores case, spaces and dashes, reads O as 0 and I/L as 1.
 * Throws `malformed` on any other character.
 */
export function crockfordNormalize(text: string): string {
  let out = '';
  for (const ch of text.toUpperCase()) {
    if (ch === ' ' || ch === '-') continue;
    const c = ch === 'O' ? '0' : ch === 'I' || ch === 'L' ? '1' : ch;
    if (!crockfordAlphabet.includes(c)) throw new CryptoError('bad_code');
    out += c;
  }
  return out;
}

/** Decodes normalised Crockford text to `byteCount` bytes; the padding bits must be zero. */
export function crockfordDecode(normalized: string, byteCount: number): Uint8Array {
  const bitCount = byteCount * 8;
  if (normalized.length !== Math.ceil(bitCount / 5)) throw new CryptoError('bad_code');
  const out = new Uint8Array(byteCount);
  let bit = 0;
  for (const ch of normalized) {
    const value = crockfordAlphabet.indexOf(ch);
    if (value < 0) throw new CryptoError('bad_code');
    for (let j = 4; j >= 0; j--, bit++) {
      const set = (value >> j) & 1;
      if (bit >= bitCount) {
        if (set) throw new CryptoError('bad_code');
      } else if (set) {
        out[bit >> 3]! |= 0x80 >> (bit & 7);
      }
    }
  }
  return out;
}

/** Groups characters by four with dashes: XXXX-XXXX-XXXX. */
export function groupByFour(text: string): string {
  return text.match(/.{1,4}/g)?.join('-') ?? '';
}
