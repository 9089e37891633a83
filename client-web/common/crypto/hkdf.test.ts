import { hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './bytes.js';
import { hkdf, hkdfExpand, hkdfExtract, hmacSha256 } from './hkdf.js';
import { readVectors } from './testing.js';

interface RfcVectors {
  hmac_sha256: { source: string; key: string; data: string; mac: string }[];
  hkdf_sha256: { source: string; ikm: string; salt: string; info: string; length: number; prk: string; okm: string }[];
}

const vectors = readVectors<RfcVectors>('crypto_rfc_vectors.json');

describe('hmacSha256', () => {
  it.each(vectors.hmac_sha256.map((v) => [v.source, v] as const))('matches %s', (_source, v) => {
    expect(toHex(hmacSha256(fromHex(v.key), fromHex(v.data)))).toBe(v.mac);
  });

  it('has every RFC 4231 full-length case the file promises', () => {
    expect(vectors.hmac_sha256.length).toBeGreaterThanOrEqual(6);
  });
});

describe('hkdf', () => {
  it.each(vectors.hkdf_sha256.map((v) => [v.source, v] as const))('matches %s', (_source, v) => {
    const prk = hkdfExtract(fromHex(v.salt), fromHex(v.ikm));
    expect(toHex(prk)).toBe(v.prk);
    expect(toHex(hkdfExpand(prk, fromHex(v.info), v.length))).toBe(v.okm);
    expect(toHex(hkdf(fromHex(v.salt), fromHex(v.ikm), fromHex(v.info), v.length))).toBe(v.okm);
  });

  it('covers RFC 5869 A.1 to A.3', () => {
    expect(vectors.hkdf_sha256.map((v) => v.source)).toEqual(['RFC 5869 A.1', 'RFC 5869 A.2', 'RFC 5869 A.3']);
  });

  it('treats an empty salt as 32 zero bytes', () => {
    const ikm = fromHex('0b0b0b');
    expect(toHex(hkdf(new Uint8Array(0), ikm, 'x', 32))).toBe(toHex(hkdf(new Uint8Array(32), ikm, 'x', 32)));
  });

  it("agrees with Node's HKDF on many lengths and inputs", () => {
    for (let length = 1; length <= 200; length += 7) {
      const salt = Uint8Array.from({ length: length % 40 }, (_, i) => i * 3);
      const ikm = Uint8Array.from({ length: 20 + (length % 13) }, (_, i) => 255 - i);
      const info = Uint8Array.from({ length: length % 17 }, (_, i) => i);
      const expected = new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
      expect(toHex(hkdf(salt, ikm, info, length))).toBe(toHex(expected));
    }
  });

  it('accepts exactly 1..255*32 output bytes', () => {
    const prk = new Uint8Array(32);
    expect(hkdfExpand(prk, new Uint8Array(0), 255 * 32)).toHaveLength(8160);
    expect(() => hkdfExpand(prk, new Uint8Array(0), 255 * 32 + 1)).toThrow(RangeError);
    expect(() => hkdfExpand(prk, new Uint8Array(0), -1)).toThrow(RangeError);
  });

  it('with counter start 0 (libsignal v2) differs from the RFC', () => {
    const a = hkdf(new Uint8Array(32), new Uint8Array(32), 'x', 64, 0);
    const b = hkdf(new Uint8Array(32), new Uint8Array(32), 'x', 64, 1);
    expect(toHex(a)).not.toBe(toHex(b));
  });
});
