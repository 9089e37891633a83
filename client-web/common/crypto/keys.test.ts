import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './bytes.js';
import {
  IdentityKeyPair,
  dh,
  ed25519PublicToX25519,
  generateOneTimePreKey,
  generateSignedPreKey,
  generateX25519,
  verifySignature,
  verifySignedPreKey,
  x25519FromSecret,
} from './keys.js';
import { DeterministicRandom } from './random.js';
import { sodium } from './sodium.js';
import { codeOf, lowOrderPoints, readVectors } from './testing.js';

interface RfcVectors {
  x25519: { source: string; scalar: string; u: string; output: string }[];
  x25519_iterated: { iterations: number; output: string }[];
  x25519_dh: { alice_private: string; alice_public: string; bob_private: string; bob_public: string; shared: string }[];
  ed25519: { source: string; secret_key: string; public_key: string; message: string; signature: string }[];
}

const vectors = readVectors<RfcVectors>('crypto_rfc_vectors.json');



describe('X25519', () => {
  it.each(vectors.x25519.map((v) => [v.source, v] as const))('matches %s', (_s, v) => {
    expect(toHex(dh(fromHex(v.scalar), fromHex(v.u)))).toBe(v.output);
  });

  it('matches the RFC 7748 §5.2 iterated vectors (1 and 1000 iterations)', () => {
    let k: Uint8Array = fromHex('09'.padEnd(64, '0'));
    let u: Uint8Array = k.slice();
    const results = new Map<number, string>();
    for (let i = 1; i <= 1000; i++) {
      const out = dh(k, u);
      u = k;
      k = out;
      results.set(i, toHex(k));
    }
    for (const v of vectors.x25519_iterated) expect(results.get(v.iterations)).toBe(v.output);
  });

  it('matches RFC 7748 §6.1 (both public keys and the shared secret)', () => {
    for (const v of vectors.x25519_dh) {
      const alice = x25519FromSecret(fromHex(v.alice_private));
      const bob = x25519FromSecret(fromHex(v.bob_private));
      expect(toHex(alice.publicKey)).toBe(v.alice_public);
      expect(toHex(bob.publicKey)).toBe(v.bob_public);
      expect(toHex(dh(alice.secretKey, bob.publicKey))).toBe(v.shared);
      expect(toHex(dh(bob.secretKey, alice.publicKey))).toBe(v.shared);
    }
  });

  it.each(lowOrderPoints)('rejects the low-order point %s', (point) => {
    const pair = generateX25519(new DeterministicRandom(new Uint8Array(32)));
    expect(codeOf(() => dh(pair.secretKey, fromHex(point)))).toBe('invalid_public_key');
  });

  it('rejects a public key of the wrong length', () => {
    expect(codeOf(() => dh(new Uint8Array(32), new Uint8Array(31)))).toBe('invalid_public_key');
    expect(codeOf(() => dh(new Uint8Array(32), new Uint8Array(33)))).toBe('invalid_public_key');
  });

  it('draws exactly one 32-byte value per key pair', () => {
    const random = new DeterministicRandom(new Uint8Array(32).fill(7));
    const pair = generateX25519(random);
    expect(random.draws).toBe(1);
    const replay = new DeterministicRandom(new Uint8Array(32).fill(7));
    expect(toHex(pair.secretKey)).toBe(toHex(replay.bytes(32)));
  });
});

describe('Ed25519 identity keys', () => {
  it.each(vectors.ed25519.map((v) => [v.source, v] as const))('matches %s', (_s, v) => {
    const identity = IdentityKeyPair.fromSeed(fromHex(v.secret_key));
    expect(toHex(identity.publicKey)).toBe(v.public_key);
    expect(toHex(identity.sign(fromHex(v.message)))).toBe(v.signature);
    expect(verifySignature(identity.publicKey, fromHex(v.message), fromHex(v.signature))).toBe(true);
  });

  it('rejects a signature with one bit flipped, a wrong message or a wrong key', () => {
    const v = vectors.ed25519[1]!;
    const signature = fromHex(v.signature);
    signature[5]! ^= 0x01;
    expect(verifySignature(fromHex(v.public_key), fromHex(v.message), signature)).toBe(false);
    expect(verifySignature(fromHex(v.public_key), fromHex('73'), fromHex(v.signature))).toBe(false);
    expect(verifySignature(fromHex(vectors.ed25519[0]!.public_key), fromHex(v.message), fromHex(v.signature))).toBe(false);
    expect(verifySignature(fromHex(v.public_key), fromHex(v.message), fromHex(v.signature).slice(0, 63))).toBe(false);
  });

  it('uses the same X25519 form as libsodium conversion, and DH agrees both ways', () => {
    const a = IdentityKeyPair.generate(new DeterministicRandom(new Uint8Array(32).fill(1)));
    const b = IdentityKeyPair.generate(new DeterministicRandom(new Uint8Array(32).fill(2)));
    expect(toHex(a.x25519Public)).toBe(toHex(sodium.crypto_scalarmult_base(a.x25519Secret)));
    expect(toHex(dh(a.x25519Secret, b.x25519Public))).toBe(toHex(dh(b.x25519Secret, a.x25519Public)));
  });

  it('rejects an Ed25519 public key that does not convert (small order)', () => {
    expect(codeOf(() => ed25519PublicToX25519(new Uint8Array(32)))).toBe('invalid_public_key');
    expect(codeOf(() => ed25519PublicToX25519(fromHex('01'.padEnd(64, '0'))))).toBe('invalid_public_key');
    expect(codeOf(() => ed25519PublicToX25519(new Uint8Array(31)))).toBe('invalid_public_key');
  });

  it('wipes its secrets on destroy', () => {
    const a = IdentityKeyPair.generate(new DeterministicRandom(new Uint8Array(32).fill(3)));
    a.destroy();
    expect(a.secretKey.every((b) => b === 0)).toBe(true);
    expect(a.x25519Secret.every((b) => b === 0)).toBe(true);
  });
});

describe('prekeys', () => {
  const random = new DeterministicRandom(new Uint8Array(32).fill(9));
  const identity = IdentityKeyPair.generate(random);

  it('signs "Relais_SPK_v1" || id || key and verifies it', () => {
    const spk = generateSignedPreKey(identity, 42, random);
    verifySignedPreKey(identity.publicKey, 42, spk.keyPair.publicKey, spk.signature);
    const message = new Uint8Array([...new TextEncoder().encode('Relais_SPK_v1'), 0, 0, 0, 42, ...spk.keyPair.publicKey]);
    expect(verifySignature(identity.publicKey, message, spk.signature)).toBe(true);
  });

  it('rejects a bad SPK signature, another id, another key or another identity', () => {
    const spk = generateSignedPreKey(identity, 1, random);
    const other = IdentityKeyPair.generate(random);
    const bad = spk.signature.slice();
    bad[0]! ^= 0x80;
    expect(codeOf(() => verifySignedPreKey(identity.publicKey, 1, spk.keyPair.publicKey, bad))).toBe('authentication_failed');
    expect(codeOf(() => verifySignedPreKey(identity.publicKey, 2, spk.keyPair.publicKey, spk.signature))).toBe('authentication_failed');
    expect(codeOf(() => verifySignedPreKey(identity.publicKey, 1, other.x25519Public, spk.signature))).toBe('authentication_failed');
    expect(codeOf(() => verifySignedPreKey(other.publicKey, 1, spk.keyPair.publicKey, spk.signature))).toBe('authentication_failed');
  });

  it('reserves the one-time prekey id 0xFFFFFFFF', () => {
    expect(() => generateOneTimePreKey(0xffffffff, random)).toThrow(RangeError);
    expect(generateOneTimePreKey(0xfffffffe, random).id).toBe(0xfffffffe);
  });
});
