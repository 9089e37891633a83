import { describe, expect, it } from 'vitest';
import { fromHex, toHex, u64be } from './bytes.js';
import { DeterministicRandom, systemRandom } from './random.js';
import { sodium } from './sodium.js';
import { readVectors } from './testing.js';

describe('DeterministicRandom', () => {
  const seed = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');

  it('draw i of n bytes is randombytes_buf_deterministic(n, HMAC-SHA256(seed, u64be(i)))', () => {
    const random = new DeterministicRandom(seed);
    const sizes = [32, 8, 24, 16, 32, 1, 100];
    sizes.forEach((n, i) => {
      const expected = sodium.randombytes_buf_deterministic(n, sodium.crypto_auth_hmacsha256(u64be(i), seed));
      expect(toHex(random.bytes(n))).toBe(toHex(expected));
    });
    expect(random.draws).toBe(sizes.length);
  });

  it('is reproducible and depends on the seed', () => {
    const a = new DeterministicRandom(seed);
    const b = new DeterministicRandom(seed);
    const c = new DeterministicRandom(new Uint8Array(32));
    const x = a.bytes(32);
    expect(toHex(b.bytes(32))).toBe(toHex(x));
    expect(toHex(c.bytes(32))).not.toBe(toHex(x));
    expect(toHex(a.bytes(32))).not.toBe(toHex(x));
  });

  it('copies its seed, so wiping the caller copy changes nothing', () => {
    const s = seed.slice();
    const a = new DeterministicRandom(s);
    s.fill(0);
    expect(toHex(a.bytes(16))).toBe(toHex(new DeterministicRandom(seed).bytes(16)));
  });

  it('refuses a seed that is not 32 bytes', () => {
    expect(() => new DeterministicRandom(new Uint8Array(31))).toThrow(RangeError);
  });
});

describe('systemRandom', () => {
  it('returns the requested length and differs between calls', () => {
    expect(systemRandom.bytes(24)).toHaveLength(24);
    expect(toHex(systemRandom.bytes(32))).not.toBe(toHex(systemRandom.bytes(32)));
  });
});

describe('DeterministicRandom against protocol/vectors/crypto_derivation_vectors.json', () => {
  it('reproduces the draws computed independently in Python', () => {
    const v = readVectors<{ deterministic_rng: { seed: string; draws: { index: number; length: number; output: string }[] } }>(
      'crypto_derivation_vectors.json',
    ).deterministic_rng;
    const random = new DeterministicRandom(fromHex(v.seed));
    for (const d of v.draws) {
      expect(random.draws).toBe(d.index);
      expect(toHex(random.bytes(d.length))).toBe(d.output);
    }
  });
});
