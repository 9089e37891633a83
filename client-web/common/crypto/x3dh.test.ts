import { describe, expect, it } from 'vitest';
import { concat, fromHex, toHex } from './bytes.js';
import { IdentityKeyPair, signPreKey, type X25519KeyPair } from './keys.js';
import { DeterministicRandom } from './random.js';
import { TestResponder, codeOf, lowOrderPoints, seedOf } from './testing.js';
import { x3dhInitiate, x3dhRespond } from './x3dh.js';

describe('X3DH', () => {
  const alice = IdentityKeyPair.generate(new DeterministicRandom(seedOf(100)));

  it('gives both sides the same SK and AD = IK_A || IK_B, with a one-time prekey', () => {
    const bob = new TestResponder(1);
    const x = x3dhInitiate(alice, bob.bundle(), new DeterministicRandom(seedOf(101)));
    expect(x.oneTimePreKeyId).toBe(11);
    const y = x3dhRespond(bob.identity, bob.spk, bob.opk, alice.publicKey, x.ephemeralPublic);
    expect(toHex(y.sharedSecret)).toBe(toHex(x.sharedSecret));
    expect(toHex(x.associatedData)).toBe(toHex(concat(alice.publicKey, bob.identity.publicKey)));
    expect(toHex(y.associatedData)).toBe(toHex(x.associatedData));
  });

  it('works without a one-time prekey (opk_id 0xFFFFFFFF) and then gives another SK', () => {
    const bob = new TestResponder(2, false);
    const x = x3dhInitiate(alice, bob.bundle(), new DeterministicRandom(seedOf(102)));
    expect(x.oneTimePreKeyId).toBe(0xffffffff);
    const y = x3dhRespond(bob.identity, bob.spk, undefined, alice.publicKey, x.ephemeralPublic);
    expect(toHex(y.sharedSecret)).toBe(toHex(x.sharedSecret));
    const withOpk = new TestResponder(2, true);
    const z = x3dhInitiate(alice, withOpk.bundle(), new DeterministicRandom(seedOf(102)));
    expect(toHex(z.sharedSecret)).not.toBe(toHex(x.sharedSecret));
  });

  it('draws exactly one value (EK_A)', () => {
    const random = new DeterministicRandom(seedOf(103));
    x3dhInitiate(alice, new TestResponder(3).bundle(), random);
    expect(random.draws).toBe(1);
  });

  it('refuses a bundle whose SPK signature does not verify', () => {
    const bob = new TestResponder(4);
    const signature = bob.spk.signature.slice();
    signature[10]! ^= 1;
    const random = new DeterministicRandom(seedOf(104));
    expect(codeOf(() => x3dhInitiate(alice, { ...bob.bundle(), signedPreKeySignature: signature }, random))).toBe('authentication_failed');
    expect(codeOf(() => x3dhInitiate(alice, { ...bob.bundle(), signedPreKeyId: 8 }, random))).toBe('authentication_failed');
    expect(random.draws).toBe(0);
  });

  it.each(lowOrderPoints)('refuses a correctly signed low-order SPK or OPK %s', (point) => {
    const bob = new TestResponder(5);
    const lowOrder: X25519KeyPair = { publicKey: fromHex(point), secretKey: new Uint8Array(32) };
    const spk = signPreKey(bob.identity, 7, lowOrder);
    const random = new DeterministicRandom(seedOf(105));
    const bundle = { ...bob.bundle(), signedPreKey: spk.keyPair.publicKey, signedPreKeySignature: spk.signature };
    expect(codeOf(() => x3dhInitiate(alice, bundle, random))).toBe('invalid_public_key');
    expect(codeOf(() => x3dhInitiate(alice, { ...bob.bundle(), oneTimePreKey: fromHex(point) }, random))).toBe('invalid_public_key');
  });

  it('refuses an identity key that does not convert, and a low-order ephemeral key', () => {
    const bob = new TestResponder(6);
    expect(codeOf(() => x3dhRespond(bob.identity, bob.spk, bob.opk, new Uint8Array(32), bob.spk.keyPair.publicKey))).toBe(
      'invalid_public_key',
    );
    expect(codeOf(() => x3dhRespond(bob.identity, bob.spk, bob.opk, alice.publicKey, fromHex(lowOrderPoints[2]!)))).toBe(
      'invalid_public_key',
    );
  });
});
