import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './bytes.js';
import { hkdf } from './hkdf.js';
import { IdentityKeyPair, dh } from './keys.js';
import { decodeMessage, encodeMessage } from './message.js';
import { DeterministicRandom } from './random.js';
import { RatchetSession, inspectSessionState, kdfChainKey, kdfRootKey, peekInitialPrefix } from './ratchet.js';
import { TestResponder, codeOf, establishedPair, lowOrderPoints, readVectors, seedOf, text } from './testing.js';

const now = 1_700_000_000;
const day = 24 * 3600;

interface SignalVectors {
  chain_key_derivation_v3: { seed: string; message_keys_info: string; cipher_key: string; mac_key: string; next_chain_key: string };
  root_key_derivation_v2: {
    root_key: string;
    alice_private: string;
    bob_public: string;
    info: string;
    hkdf_counter_start: number;
    expected_next_root: string;
    expected_next_chain: string;
  };
}

/** Decrypts and asserts that a failure left the serialised state byte-identical; returns the error code. */
function rejects(session: RatchetSession, wire: Uint8Array, at = now): string | undefined {
  const before = toHex(session.serialize());
  const code = codeOf(() => session.decrypt(wire, at));
  expect(toHex(session.serialize())).toBe(before);
  return code;
}

function withHeader(wire: Uint8Array, change: { dh?: Uint8Array; pn?: number; n?: number }): Uint8Array {
  const m = decodeMessage(wire);
  return encodeMessage({
    type: m.type,
    ...(m.initial ? { initial: m.initial } : {}),
    header: { dh: change.dh ?? m.header.dh, pn: change.pn ?? m.header.pn, n: change.n ?? m.header.n },
    ciphertext: m.ciphertext,
  } as Parameters<typeof encodeMessage>[0]);
}

describe("Signal's KDF vectors (libsignal test_ratchet.c)", () => {
  const v = readVectors<SignalVectors>('crypto_signal_kdf_vectors.json');

  it('chain key derivation v3: KDF_CK and the WhisperMessageKeys expansion', () => {
    const c = v.chain_key_derivation_v3;
    const [messageKeySeed, next] = kdfChainKey(fromHex(c.seed));
    expect(toHex(next)).toBe(c.next_chain_key);
    const keys = hkdf(new Uint8Array(32), messageKeySeed, c.message_keys_info, 80);
    expect(toHex(keys.slice(0, 32))).toBe(c.cipher_key);
    expect(toHex(keys.slice(32, 64))).toBe(c.mac_key);
  });

  it('root key derivation v2: KDF_RK with info WhisperRatchet (legacy HKDF counter)', () => {
    const r = v.root_key_derivation_v2;
    const bobPublic = fromHex(r.bob_public);
    expect(bobPublic[0]).toBe(0x05);
    const dhOut = dh(fromHex(r.alice_private), bobPublic.slice(1));
    const [root, chain] = kdfRootKey(fromHex(r.root_key), dhOut, r.info, r.hkdf_counter_start as 0 | 1);
    expect(toHex(root)).toBe(r.expected_next_root);
    expect(toHex(chain)).toBe(r.expected_next_chain);
  });
});

describe('RatchetSession exchange', () => {
  it('sends type 0x01 until the initiator hears back, then type 0x02, both ways', () => {
    const responder = new TestResponder(1);
    const aliceRandom = new DeterministicRandom(seedOf(2));
    const alice = RatchetSession.initiate(IdentityKeyPair.generate(aliceRandom), responder.bundle(), aliceRandom);
    const first = alice.encrypt(text.encode('Bonjour'));
    const second = alice.encrypt(text.encode('Vous êtes là ?'));
    expect(first[1]).toBe(0x01);
    expect(second[1]).toBe(0x01);
    expect(peekInitialPrefix(first)?.oneTimePreKeyId).toBe(11);

    const { session: bob, plaintext } = responder.accept(second, now);
    expect(text.decode(plaintext)).toBe('Vous êtes là ?');
    expect(responder.opk).toBeUndefined();
    expect(text.decode(bob.decrypt(first, now))).toBe('Bonjour');

    const reply = bob.encrypt(text.encode('Oui, je vous écoute.'));
    expect(reply[1]).toBe(0x02);
    expect(text.decode(alice.decrypt(reply, now))).toBe('Oui, je vous écoute.');
    expect(alice.initialPrefix).toBeUndefined();
    const third = alice.encrypt(text.encode('Merci'));
    expect(third[1]).toBe(0x02);
    expect(text.decode(bob.decrypt(third, now))).toBe('Merci');
    expect(toHex(bob.remoteIdentity)).toBe(toHex(decodeMessage(first).initial!.identityKey));
    expect(toHex(alice.remoteIdentity)).toBe(toHex(responder.identity.publicKey));
  });

  it('handles reordering inside a chain and across DH ratchet steps', () => {
    const { alice, bob } = establishedPair(3);
    const a = [0, 1, 2, 3].map((i) => alice.encrypt(text.encode(`a${i}`)));
    expect(text.decode(bob.decrypt(a[3]!, now))).toBe('a3');
    const b = [0, 1].map((i) => bob.encrypt(text.encode(`b${i}`)));
    expect(text.decode(alice.decrypt(b[1]!, now))).toBe('b1');
    const a2 = alice.encrypt(text.encode('a-next'));
    expect(text.decode(bob.decrypt(a2, now))).toBe('a-next');
    expect(text.decode(bob.decrypt(a[1]!, now))).toBe('a1');
    expect(text.decode(alice.decrypt(b[0]!, now))).toBe('b0');
    expect(text.decode(bob.decrypt(a[0]!, now))).toBe('a0');
    expect(text.decode(bob.decrypt(a[2]!, now))).toBe('a2');
    expect(bob.skippedKeyCount).toBe(0);
    expect(alice.skippedKeyCount).toBe(0);
  });

  it('carries empty and maximal plaintexts, and refuses a larger one', () => {
    const { alice, bob } = establishedPair(4);
    expect(bob.decrypt(alice.encrypt(new Uint8Array(0)), now)).toHaveLength(0);
    const big = new Uint8Array(65535).fill(0x61);
    expect(toHex(bob.decrypt(alice.encrypt(big), now))).toBe(toHex(big));
    expect(codeOf(() => alice.encrypt(new Uint8Array(65536)))).toBe('malformed_input');
  });

  it('survives serialisation at any point', () => {
    const { alice, bob } = establishedPair(5);
    const pending = alice.encrypt(text.encode('late'));
    const random = new DeterministicRandom(seedOf(55));
    const bob2 = RatchetSession.deserialize(bob.serialize(), random);
    expect(toHex(bob2.serialize())).toBe(toHex(bob.serialize()));
    const reply = bob2.encrypt(text.encode('after restore'));
    expect(text.decode(alice.decrypt(reply, now))).toBe('after restore');
    expect(text.decode(bob2.decrypt(pending, now))).toBe('late');
  });
});

describe('RatchetSession bad input leaves the state byte-identical', () => {
  it('rejects a flipped bit in the ciphertext, the header or the type-0x01 prefix', () => {
    const responder = new TestResponder(10);
    const aliceRandom = new DeterministicRandom(seedOf(11));
    const alice = RatchetSession.initiate(IdentityKeyPair.generate(aliceRandom), responder.bundle(), aliceRandom);
    const { session: bob } = responder.accept(alice.encrypt(text.encode('first')), now);
    const initial = alice.encrypt(text.encode('second initial'));
    for (let i = 2; i < initial.length; i += 7) {
      const t = initial.slice();
      t[i]! ^= 0x01;
      expect(rejects(bob, t)).toBeDefined();
    }
    expect(text.decode(bob.decrypt(initial, now))).toBe('second initial');

    bob.encrypt(text.encode('x'));
    const reply = bob.encrypt(text.encode('reply'));
    for (let i = 2; i < reply.length; i += 5) {
      const t = reply.slice();
      t[i]! ^= 0x80;
      const code = rejects(alice, t);
      expect(['authentication_failed', 'invalid_public_key', 'too_many_skipped', 'duplicate_message']).toContain(code);
    }
    expect(text.decode(alice.decrypt(reply, now))).toBe('reply');
  });

  it('rejects a header with another n or pn in the current chain (the AD binds the header)', () => {
    const { alice, bob } = establishedPair(12);
    const m = alice.encrypt(text.encode('m'));
    expect(rejects(bob, withHeader(m, { n: 5 }))).toBe('authentication_failed');
    expect(rejects(bob, withHeader(m, { pn: 9 }))).toBe('authentication_failed');
    expect(text.decode(bob.decrypt(m, now))).toBe('m');
  });

  it('rejects a message under other associated data (other identity keys)', () => {
    const { alice, bob } = establishedPair(13);
    const m = alice.encrypt(text.encode('m'));
    const state = bob.serialize();
    state[2 + 40]! ^= 1; // a byte of AD_x3dh (IK_A), right after format and role
    const other = RatchetSession.deserialize(state, new DeterministicRandom(seedOf(1)));
    expect(rejects(other, m)).toBe('authentication_failed');
    expect(text.decode(bob.decrypt(m, now))).toBe('m');
  });

  it('reports a replay as duplicate_message: current chain, skipped key used, previous chain, initial message', () => {
    const responder = new TestResponder(14);
    const aliceRandom = new DeterministicRandom(seedOf(15));
    const alice = RatchetSession.initiate(IdentityKeyPair.generate(aliceRandom), responder.bundle(), aliceRandom);
    const i0 = alice.encrypt(text.encode('i0'));
    const i1 = alice.encrypt(text.encode('i1'));
    const { session: bob } = responder.accept(i1, now);
    expect(rejects(bob, i1)).toBe('duplicate_message');
    bob.decrypt(i0, now);
    expect(rejects(bob, i0)).toBe('duplicate_message');
    alice.decrypt(bob.encrypt(text.encode('r')), now);
    const m = alice.encrypt(text.encode('m'));
    bob.decrypt(m, now);
    expect(rejects(bob, m)).toBe('duplicate_message');
    expect(rejects(bob, i1)).toBe('duplicate_message');
    // A replayed first message to a fresh responder whose OPK was deleted: unknown_prekey.
    expect(codeOf(() => responder.accept(i0, now))).toBe('unknown_prekey');
  });

  it('rejects an initial message of another X3DH run on an existing session', () => {
    const responder = new TestResponder(16);
    const r1 = new DeterministicRandom(seedOf(17));
    const alice = RatchetSession.initiate(IdentityKeyPair.generate(r1), responder.bundle(), r1);
    const { session: bob } = responder.accept(alice.encrypt(text.encode('a')), now);
    const r2 = new DeterministicRandom(seedOf(18));
    const mallory = RatchetSession.initiate(IdentityKeyPair.generate(r2), { ...responder.bundle() }, r2);
    expect(rejects(bob, mallory.encrypt(text.encode('m')))).toBe('authentication_failed');
  });

  it('rejects more than MAX_SKIP messages ahead, and accepts exactly MAX_SKIP', () => {
    const { alice, bob } = establishedPair(19);
    const m = alice.encrypt(text.encode('m'));
    expect(rejects(bob, withHeader(m, { n: 1 + 1001 }))).toBe('too_many_skipped');
    let last = m;
    for (let i = 0; i < 1000; i++) last = alice.encrypt(text.encode(`m${i}`));
    expect(text.decode(bob.decrypt(last, now))).toBe('m999');
    expect(bob.skippedKeyCount).toBe(1000);
    expect(text.decode(bob.decrypt(m, now))).toBe('m');
  });

  it('rejects a new chain announcing too many messages in the old chain (pn) or the new one (n)', () => {
    const { alice, bob } = establishedPair(20);
    bob.decrypt(alice.encrypt(text.encode('x')), now);
    alice.decrypt(bob.encrypt(text.encode('y')), now);
    const next = alice.encrypt(text.encode('new chain'));
    expect(rejects(bob, withHeader(next, { pn: 2 + 1001 }))).toBe('too_many_skipped');
    expect(rejects(bob, withHeader(next, { n: 1001 }))).toBe('too_many_skipped');
    expect(text.decode(bob.decrypt(next, now))).toBe('new chain');
  });

  it.each(lowOrderPoints)('rejects the low-order ratchet key %s without consuming randomness', (point) => {
    const { alice, bob, responder } = establishedPair(21);
    const m = alice.encrypt(text.encode('m'));
    const draws = responder.random.draws;
    expect(rejects(bob, withHeader(m, { dh: fromHex(point) }))).toBe('invalid_public_key');
    expect(responder.random.draws).toBe(draws);
  });

  it('rejects a forged new ratchet key without consuming randomness', () => {
    const { alice, bob, responder } = establishedPair(22);
    const m = alice.encrypt(text.encode('m'));
    const draws = responder.random.draws;
    const forged = withHeader(m, { dh: IdentityKeyPair.generate(new DeterministicRandom(seedOf(3))).x25519Public });
    expect(rejects(bob, forged)).toBe('authentication_failed');
    expect(responder.random.draws).toBe(draws);
  });

  it('rejects wrong versions and types: an initial message to the initiator, an unknown type', () => {
    const { alice, bob } = establishedPair(23);
    const initial = alice.encrypt(text.encode('still initial'));
    expect(initial[1]).toBe(0x01);
    expect(rejects(alice, initial)).toBe('wrong_message_type');
    const t = initial.slice();
    t[1] = 0x03;
    expect(rejects(bob, t)).toBe('wrong_message_type');
    const v = initial.slice();
    v[0] = 0x02;
    expect(rejects(bob, v)).toBe('unsupported_version');
  });

  it('rejects every truncation and an oversized message', () => {
    const { alice, bob } = establishedPair(24);
    bob.decrypt(alice.encrypt(text.encode('x')), now);
    alice.decrypt(bob.encrypt(text.encode('y')), now);
    const m = alice.encrypt(text.encode('z'));
    for (let n = 0; n < m.length; n += 3) expect(rejects(bob, m.slice(0, n))).toBeDefined();
    const big = new Uint8Array(m.length + 65536);
    big.set(m);
    expect(rejects(bob, big)).toBe('malformed_input');
    expect(text.decode(bob.decrypt(m, now))).toBe('z');
  });

  it('responder: unknown SPK or OPK, tampered first message, nothing kept', () => {
    const responder = new TestResponder(25);
    const r = new DeterministicRandom(seedOf(26));
    const alice = RatchetSession.initiate(IdentityKeyPair.generate(r), responder.bundle(), r);
    const first = alice.encrypt(text.encode('first'));
    const noSpk = { signedPreKey: () => undefined, oneTimePreKey: () => responder.opk };
    const noOpk = { signedPreKey: (id: number) => responder.signedPreKey(id), oneTimePreKey: () => undefined };
    const base = { identity: responder.identity, message: first, now, random: responder.random };
    expect(codeOf(() => RatchetSession.respond({ ...base, preKeys: noSpk }))).toBe('unknown_prekey');
    expect(codeOf(() => RatchetSession.respond({ ...base, preKeys: noOpk }))).toBe('unknown_prekey');
    const tampered = first.slice();
    tampered[tampered.length - 1]! ^= 1;
    const draws = responder.random.draws;
    expect(codeOf(() => responder.accept(tampered, now))).toBe('authentication_failed');
    expect(responder.opk).toBeDefined();
    expect(responder.random.draws).toBe(draws);
    const asMessage = bobMessageLike(first);
    expect(codeOf(() => responder.accept(asMessage, now))).toBe('wrong_message_type');
    expect(text.decode(responder.accept(first, now).plaintext)).toBe('first');
  });

  it('refuses a serialised state with bad lengths, flags or counts', () => {
    const { bob } = establishedPair(27);
    const good = bob.serialize();
    const random = new DeterministicRandom(seedOf(1));
    expect(codeOf(() => RatchetSession.deserialize(good.slice(0, good.length - 1), random))).toBe('malformed_input');
    expect(codeOf(() => RatchetSession.deserialize(new Uint8Array([...good, 0]), random))).toBe('malformed_input');
    const version = good.slice();
    version[0] = 2;
    expect(codeOf(() => RatchetSession.deserialize(version, random))).toBe('malformed_input');
    const role = good.slice();
    role[1] = 2;
    expect(codeOf(() => RatchetSession.deserialize(role, random))).toBe('malformed_input');
    const flags = good.slice();
    flags[2 + 64 + 96] = 0x10;
    expect(codeOf(() => RatchetSession.deserialize(flags, random))).toBe('malformed_input');
  });
});

/** A type-0x02 wire built from an initial message's header and ciphertext. */
function bobMessageLike(initial: Uint8Array): Uint8Array {
  const m = decodeMessage(initial);
  return encodeMessage({ type: 0x02, header: m.header, ciphertext: m.ciphertext });
}

describe('RatchetSession limits', () => {
  it('expires skipped keys after 30 days (then a late message is a duplicate) and keeps them before', () => {
    const { alice, bob } = establishedPair(30);
    const late = [0, 1].map((i) => alice.encrypt(text.encode(`late${i}`)));
    bob.decrypt(alice.encrypt(text.encode('now')), now);
    expect(bob.skippedKeyCount).toBe(2);
    expect(text.decode(bob.decrypt(late[0]!, now + 30 * day))).toBe('late0');
    expect(rejects(bob, late[1]!, now + 30 * day + 1)).toBe('duplicate_message');
    bob.decrypt(alice.encrypt(text.encode('purge')), now + 30 * day + 1);
    expect(bob.skippedKeyCount).toBe(0);
  });

  it('stores at most 2000 skipped keys, evicting the oldest', () => {
    const { alice, bob } = establishedPair(31);
    const firstLost: Uint8Array[] = [];
    for (let chain = 0; chain < 3; chain++) {
      let last: Uint8Array = new Uint8Array(0);
      for (let i = 0; i < 1001; i++) {
        last = alice.encrypt(text.encode(`c${chain}m${i}`));
        if (i === 0) firstLost.push(last);
      }
      expect(text.decode(bob.decrypt(last, now))).toBe(`c${chain}m1000`);
      alice.decrypt(bob.encrypt(text.encode('ack')), now);
    }
    expect(bob.skippedKeyCount).toBe(2000);
    expect(rejects(bob, firstLost[0]!)).toBe('duplicate_message');
    expect(text.decode(bob.decrypt(firstLost[2]!, now))).toBe('c2m0');
  });

  it('remembers 5 receiving chains: a chain older than that is forgotten with its keys', () => {
    const { alice, bob } = establishedPair(32);
    const lost: Uint8Array[] = [];
    for (let step = 0; step < 6; step++) {
      lost.push(alice.encrypt(text.encode(`lost${step}`)));
      bob.decrypt(alice.encrypt(text.encode(`seen${step}`)), now);
      alice.decrypt(bob.encrypt(text.encode(`ack${step}`)), now);
    }
    expect(inspectSessionState(bob.serialize()).previousChains).toBe(4);
    // lost[0]'s chain (Bob's first receiving chain) was dropped: its ratchet key is unknown now,
    // so the message reads as a new ratchet step and fails to authenticate.
    expect(rejects(bob, lost[0]!)).toBe('authentication_failed');
    for (let step = 1; step < 6; step++) expect(text.decode(bob.decrypt(lost[step]!, now))).toBe(`lost${step}`);
    expect(bob.skippedKeyCount).toBe(0);
  });
});

describe('RatchetSession security properties', () => {
  it('forward secrecy: a used message key and replaced chain keys are gone from the state', () => {
    const { alice, bob } = establishedPair(40);
    const m0 = alice.encrypt(text.encode('m0'));
    bob.decrypt(alice.encrypt(text.encode('m1')), now);
    const before = inspectSessionState(bob.serialize());
    expect(before.skippedMessageKeys).toHaveLength(1);
    const usedKey = toHex(before.skippedMessageKeys[0]!);
    const oldChain = toHex(before.receivingChainKey!);
    bob.decrypt(m0, now);
    bob.decrypt(alice.encrypt(text.encode('m2')), now);
    const after = toHex(bob.serialize());
    expect(after.includes(usedKey)).toBe(false);
    expect(after.includes(oldChain)).toBe(false);
  });

  it('post-compromise recovery: a stolen state stops working once the victim has a fresh ratchet key in use', () => {
    const { alice, bob } = establishedPair(41);
    const thief = RatchetSession.deserialize(bob.serialize(), new DeterministicRandom(seedOf(666)));
    const before = alice.encrypt(text.encode('before'));
    expect(text.decode(thief.decrypt(before, now))).toBe('before');
    bob.decrypt(before, now);
    // Bob still sends with the ratchet key the thief stole, so Alice's next chain is exposed...
    alice.decrypt(bob.encrypt(text.encode('reply on the stolen key')), now);
    const exposed = alice.encrypt(text.encode('exposed'));
    expect(text.decode(thief.decrypt(exposed, now))).toBe('exposed');
    // ...until Bob ratchets to a key drawn after the theft and Alice answers on it.
    bob.decrypt(exposed, now);
    alice.decrypt(bob.encrypt(text.encode('fresh key')), now);
    const healed = alice.encrypt(text.encode('healed'));
    expect(codeOf(() => thief.decrypt(healed, now))).toBe('authentication_failed');
    expect(text.decode(bob.decrypt(healed, now))).toBe('healed');
  });

  it('property: random permutation, loss and duplication in many seeded sessions', () => {
    for (let seed = 100; seed < 130; seed++) {
      const rng = mulberry32(seed);
      const { alice, bob } = establishedPair(seed);
      const parties = { alice, bob };
      let delivered = 0;
      for (let round = 0; round < 12; round++) {
        const fromAlice = rng() < 0.5;
        const sender = fromAlice ? parties.alice : parties.bob;
        const receiver = fromAlice ? parties.bob : parties.alice;
        const sent = Array.from({ length: 1 + Math.floor(rng() * 8) }, (_, i) => {
          const pt = `${seed}/${round}/${i}`;
          return { pt, wire: sender.encrypt(text.encode(pt)), seen: false };
        });
        const queue = sent.filter(() => rng() > 0.2);
        for (const item of [...queue]) if (rng() < 0.3) queue.push(item);
        shuffle(queue, rng);
        for (const item of queue) {
          if (item.seen) {
            expect(rejects(receiver, item.wire)).toBe('duplicate_message');
          } else {
            expect(text.decode(receiver.decrypt(item.wire, now))).toBe(item.pt);
            item.seen = true;
            delivered++;
          }
        }
      }
      // Not desynchronised: both directions still work.
      expect(text.decode(bob.decrypt(alice.encrypt(text.encode('end-a')), now))).toBe('end-a');
      expect(text.decode(alice.decrypt(bob.encrypt(text.encode('end-b')), now))).toBe('end-b');
      expect(delivered).toBeGreaterThan(0);
    }
  });
});

/** Small seeded PRNG for the property tests' choices (not for keys). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], rng: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
