import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './bytes.js';
import { IdentityKeyPair } from './keys.js';
import { formatSafetyNumber, safetyNumber, safetyNumberHalf } from './safety_number.js';
import { codeOf, readVectors } from './testing.js';

interface Vector {
  identity_a_seed: string;
  identity_a: string;
  identity_b_seed: string;
  identity_b: string;
  half_a: string;
  half_b: string;
  safety_number: string;
}

const v = readVectors<{ safety_number: Vector }>('crypto_derivation_vectors.json').safety_number;

/** The same algorithm on Node's SHA-512, as an independent check. */
function nodeHalf(ik: Uint8Array): string {
  let h = Buffer.concat([Buffer.from([0, 0]), ik]);
  for (let i = 0; i < 5200; i++) h = createHash('sha512').update(h).update(ik).digest();
  let out = '';
  for (let c = 0; c < 6; c++) out += String(h.readUIntBE(c * 5, 5) % 100000).padStart(5, '0');
  return out;
}

describe('safety numbers', () => {
  it('match the vector computed in Python', () => {
    const a = IdentityKeyPair.fromSeed(fromHex(v.identity_a_seed)).publicKey;
    const b = IdentityKeyPair.fromSeed(fromHex(v.identity_b_seed)).publicKey;
    expect(toHex(a)).toBe(v.identity_a);
    expect(toHex(b)).toBe(v.identity_b);
    expect(safetyNumberHalf(a)).toBe(v.half_a);
    expect(safetyNumberHalf(b)).toBe(v.half_b);
    expect(formatSafetyNumber(safetyNumber(a, b))).toBe(v.safety_number);
  });

  it('are the same on both sides, 60 digits in 12 groups of 5', () => {
    const a = fromHex(v.identity_a);
    const b = fromHex(v.identity_b);
    expect(safetyNumber(a, b)).toBe(safetyNumber(b, a));
    expect(safetyNumber(a, b)).toMatch(/^\d{60}$/);
    expect(formatSafetyNumber(safetyNumber(a, b))).toMatch(/^(\d{5} ){11}\d{5}$/);
  });

  it("agree with Node's SHA-512 on other keys", () => {
    for (let i = 3; i < 6; i++) {
      const ik = IdentityKeyPair.fromSeed(new Uint8Array(32).fill(i)).publicKey;
      expect(safetyNumberHalf(ik)).toBe(nodeHalf(ik));
    }
  });

  it('change when a key changes, and refuse a key of the wrong length', () => {
    const a = fromHex(v.identity_a);
    const other = a.slice();
    other[0]! ^= 1;
    expect(safetyNumber(other, fromHex(v.identity_b))).not.toBe(safetyNumber(a, fromHex(v.identity_b)));
    expect(codeOf(() => safetyNumberHalf(a.slice(1)))).toBe('invalid_public_key');
  });
});
