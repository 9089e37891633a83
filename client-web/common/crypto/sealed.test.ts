import { writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from './bytes.js';
import { orgFingerprint, signWorkerCertificate } from './certificate.js';
import { IdentityKeyPair, signPreKey, x25519FromSecret, type SignedPreKey } from './keys.js';
import { DeterministicRandom } from './random.js';
import {
  SealedRecipient,
  decodePrechat,
  encodePrechat,
  maxInboxPlaintext,
  maxPrechatPlaintext,
  openPrechat,
  openSealed,
  sealPrechat,
  sealToWorkers,
  sealedLimits,
  type SealedMessage,
  type SealedPurpose,
} from './sealed.js';
import { codeOf, lowOrderPoints, readVectors, vectorPath } from './testing.js';
import type { PreKeyBundle } from './x3dh.js';

/** Unix seconds: the "now" of every test and vector (2026-01-01T00:00:00Z). */
const now = 1_767_225_600;

/** A worker with her identity, one signed prekey, her certificate and her bundle. */
interface TestWorker {
  readonly id: number;
  readonly identity: IdentityKeyPair;
  spks: Map<number, SignedPreKey>;
  readonly certificate: Uint8Array;
  readonly bundle: PreKeyBundle;
  signedPreKey(id: number): SignedPreKey | undefined;
}

function makeWorker(org: IdentityKeyPair, id: number, identitySeed: Uint8Array, spkId: number, spkSecret: Uint8Array, name: string): TestWorker {
  const identity = IdentityKeyPair.fromSeed(identitySeed);
  const spk = signPreKey(identity, spkId, x25519FromSecret(spkSecret));
  const certificate = signWorkerCertificate(org, {
    workerIdentityKey: identity.publicKey,
    notBefore: now - 86400,
    notAfter: now + 365 * 86400,
    displayName: name,
  });
  const w: TestWorker = {
    id,
    identity,
    spks: new Map([[spkId, spk]]),
    certificate,
    bundle: { identityKey: identity.publicKey, signedPreKeyId: spkId, signedPreKey: spk.keyPair.publicKey, signedPreKeySignature: spk.signature },
    signedPreKey(i: number) {
      return this.spks.get(i);
    },
  };
  return w;
}

/** The vectors' world: RNG(32 x 0x17) draws the org seed, the beneficiary seed, then per worker her identity seed and SPK secret. */
function makeWorld(): { org: IdentityKeyPair; beneficiary: IdentityKeyPair; workers: TestWorker[] } {
  const rng = new DeterministicRandom(new Uint8Array(32).fill(0x17));
  const org = IdentityKeyPair.fromSeed(rng.bytes(32));
  const beneficiary = IdentityKeyPair.fromSeed(rng.bytes(32));
  const workers: TestWorker[] = [];
  for (let i = 0; i < 17; i++) {
    const seed = rng.bytes(32);
    const spkSecret = rng.bytes(32);
    workers.push(makeWorker(org, 101 + i, seed, 0x01020300 + i, spkSecret, `Travailleuse ${i + 1}`));
  }
  return { org, beneficiary, workers };
}

const world = makeWorld();
const pinned = orgFingerprint(world.org.publicKey);

function recipientOf(w: TestWorker): SealedRecipient {
  return SealedRecipient.verify(w.id, w.bundle, w.certificate, pinned, now);
}

// ------------------------------------------------------------------ shared vectors (CRYPTO.md §17.6)

interface VectorCase {
  name: string;
  purpose: SealedPurpose;
  rng_seed: string;
  recipients: number[];
  plaintext: string;
  blob?: string;
  ciphertext?: string;
  keys?: { worker_id: number; wrapped_key: string }[];
}
interface Mutation {
  name: string;
  opener: number;
  wrong_beneficiary: boolean;
  expect: string;
  xor_offset?: number;
  truncate_to?: number;
}
interface Vectors {
  description: string;
  generator: string;
  now: number;
  setup_seed: string;
  org_seed: string;
  beneficiary_seed: string;
  workers: {
    worker_id: number;
    identity_seed: string;
    identity_key: string;
    spk_id: number;
    spk_secret: string;
    spk_pub: string;
    spk_signature: string;
    certificate: string;
  }[];
  cases: VectorCase[];
  prechat_mutations: Mutation[];
}

function vectorCases(): { name: string; purpose: SealedPurpose; recipients: number[]; plaintext: Uint8Array }[] {
  const longest = new Uint8Array(maxPrechatPlaintext(16));
  for (let i = 0; i < longest.length; i++) longest[i] = i % 251;
  let letter = '';
  while (utf8(letter).length < 700) letter += "Bonsoir, je n'ai pas pu attendre, je vous écris pour ma fille. ";
  return [
    {
      name: 'prechat_two_workers',
      purpose: 'prechat',
      recipients: [0, 1],
      plaintext: utf8('Prénom : Louise\nMotif : je me sens seule depuis le décès de mon mari.\nJe préfère être rappelée le matin.'),
    },
    { name: 'prechat_sixteen_workers_longest', purpose: 'prechat', recipients: [...Array(16).keys()], plaintext: longest },
    { name: 'inbox_three_workers', purpose: 'inbox', recipients: [2, 0, 5], plaintext: utf8(letter) },
    { name: 'inbox_one_worker_empty', purpose: 'inbox', recipients: [3], plaintext: new Uint8Array(0) },
  ];
}

function mutations(blobSize: number): Mutation[] {
  // Layout of case 0: see sealed_test.cpp (entry 0 at 2..96, entry 1 at 97..191, content at 192).
  const m = (name: string, opener: number, expect: string, extra: Partial<Mutation> = {}): Mutation => ({
    name,
    opener,
    wrong_beneficiary: false,
    expect,
    ...extra,
  });
  return [
    m('blob_version', 0, 'unsupported_version', { xor_offset: 0 }),
    m('count_too_large', 0, 'malformed_input', { xor_offset: 1 }),
    m('wrapped_key_version', 0, 'unsupported_version', { xor_offset: 12 }),
    m('spk_id', 0, 'unknown_prekey', { xor_offset: 16 }),
    m('ephemeral_key', 0, 'authentication_failed', { xor_offset: 20 }),
    m('wrapped_key_ciphertext', 0, 'authentication_failed', { xor_offset: 60 }),
    m('wrapped_key_tag', 0, 'authentication_failed', { xor_offset: 96 }),
    m('other_entry_keeps_this_one_valid', 0, 'ok', { xor_offset: 150 }),
    m('content_version', 0, 'unsupported_version', { xor_offset: 192 }),
    m('content_nonce', 0, 'authentication_failed', { xor_offset: 200 }),
    m('content_body', 0, 'authentication_failed', { xor_offset: 300 }),
    m('content_tag', 0, 'authentication_failed', { xor_offset: blobSize - 1 }),
    m('truncated_by_one', 0, 'malformed_input', { truncate_to: blobSize - 1 }),
    m('truncated_in_entry', 0, 'malformed_input', { truncate_to: 50 }),
    m('not_a_recipient', 16, 'unknown_prekey'),
    m('wrong_beneficiary_identity', 1, 'authentication_failed', { wrong_beneficiary: true }),
  ];
}

function generateVectors(generator: string): Vectors {
  const cases = vectorCases().map((c, index): VectorCase => {
    const seed = new Uint8Array(32).fill(0x20 + index);
    const rng = new DeterministicRandom(seed);
    const rs = c.recipients.map((i) => recipientOf(world.workers[i]!));
    const out: VectorCase = {
      name: c.name,
      purpose: c.purpose,
      rng_seed: toHex(seed),
      recipients: c.recipients.map((i) => world.workers[i]!.id),
      plaintext: toHex(c.plaintext),
    };
    if (c.purpose === 'prechat') {
      out.blob = toHex(sealPrechat(world.beneficiary, rs, c.plaintext, rng));
    } else {
      const m = sealToWorkers(c.purpose, world.beneficiary, rs, c.plaintext, rng);
      out.ciphertext = toHex(m.ciphertext);
      out.keys = m.keys.map((k) => ({ worker_id: k.workerId, wrapped_key: toHex(k.wrappedKey) }));
    }
    return out;
  });
  const blobSize = fromHex(cases[0]!.blob!).length;
  return {
    description:
      "Sealed-to-workers vectors (CRYPTO.md §17.6): every worker can open what was sealed to her; each language regenerates its own file byte for byte and opens the other's.",
    generator,
    now,
    setup_seed: toHex(new Uint8Array(32).fill(0x17)),
    org_seed: toHex(world.org.seed()),
    beneficiary_seed: toHex(world.beneficiary.seed()),
    workers: world.workers.map((w) => ({
      worker_id: w.id,
      identity_seed: toHex(w.identity.seed()),
      identity_key: toHex(w.identity.publicKey),
      spk_id: w.bundle.signedPreKeyId,
      spk_secret: toHex(w.spks.get(w.bundle.signedPreKeyId)!.keyPair.secretKey),
      spk_pub: toHex(w.bundle.signedPreKey),
      spk_signature: toHex(w.bundle.signedPreKeySignature),
      certificate: toHex(w.certificate),
    })),
    cases,
    prechat_mutations: mutations(blobSize).map((m) => ({ ...m, opener: world.workers[m.opener]!.id })),
  };
}

/** Opens every case of a vector file with this implementation; the first mismatch, or undefined. */
function checkVectors(v: Vectors): string | undefined {
  if (v.org_seed !== toHex(world.org.seed())) return 'setup differs: org seed';
  const byId = new Map(world.workers.map((w) => [w.id, w]));
  for (const [i, jw] of v.workers.entries()) {
    const w = world.workers[i]!;
    if (jw.certificate !== toHex(w.certificate) || jw.spk_pub !== toHex(w.bundle.signedPreKey)) return `worker ${i} keys differ`;
  }
  for (const c of v.cases) {
    for (const id of c.recipients) {
      const w = byId.get(id)!;
      let pt: Uint8Array;
      try {
        if (c.purpose === 'prechat') {
          pt = openPrechat(w.identity, w.id, w, world.beneficiary.publicKey, fromHex(c.blob!));
        } else {
          const k = c.keys!.find((x) => x.worker_id === id)!;
          pt = openSealed('inbox', w.identity, w, world.beneficiary.publicKey, fromHex(k.wrapped_key), fromHex(c.ciphertext!));
        }
      } catch (e) {
        return `${c.name}: worker ${id} cannot open: ${String(e)}`;
      }
      if (toHex(pt) !== c.plaintext) return `${c.name}: worker ${id} got another plaintext`;
    }
  }
  // Same deterministic inputs, same bytes: this implementation seals exactly what the other did.
  if (!isDeepStrictEqual(generateVectors(v.generator).cases, v.cases)) return 'sealing the same inputs gives other bytes';
  const blob = fromHex(v.cases[0]!.blob!);
  for (const m of v.prechat_mutations) {
    let b = blob.slice();
    if (m.xor_offset !== undefined) b[m.xor_offset]! ^= 0x10;
    if (m.truncate_to !== undefined) b = b.slice(0, m.truncate_to);
    const w = byId.get(m.opener)!;
    const ben = m.wrong_beneficiary ? world.workers[16]!.identity.publicKey : world.beneficiary.publicKey;
    const got = codeOf(() => openPrechat(w.identity, w.id, w, ben, b)) ?? 'ok';
    if (got !== m.expect) return `mutation ${m.name}: expected ${m.expect}, got ${got}`;
  }
  return undefined;
}

describe('sealed vectors', () => {
  it('sealed_vectors_ts.json is exactly what this implementation generates', () => {
    const fresh = generateVectors('ts');
    // Maintainers only: RELAIS_REGENERATE_VECTORS=1 npx vitest run common/crypto/sealed.test.ts
    if (process.env['RELAIS_REGENERATE_VECTORS']) writeFileSync(vectorPath('sealed_vectors_ts.json'), `${JSON.stringify(fresh, null, 2)}\n`);
    expect(readVectors<Vectors>('sealed_vectors_ts.json')).toEqual(fresh);
  });

  it('opens sealed_vectors_ts.json', () => {
    expect(checkVectors(readVectors<Vectors>('sealed_vectors_ts.json'))).toBeUndefined();
  });

  it('opens what C++ sealed (sealed_vectors_cpp.json)', () => {
    const cpp = readVectors<Vectors>('sealed_vectors_cpp.json');
    expect(cpp.generator).toBe('cpp');
    expect(checkVectors(cpp)).toBeUndefined();
  });

  it('the checker catches a changed byte and a wrong expectation', () => {
    const v = readVectors<Vectors>('sealed_vectors_cpp.json');
    const changed = structuredClone(v);
    const ct = changed.cases[2]!.ciphertext!;
    changed.cases[2]!.ciphertext = ct.slice(0, 100) + (ct[100] === '0' ? '1' : '0') + ct.slice(101);
    expect(checkVectors(changed)).toMatch(/inbox_three_workers/);
    const wrong = structuredClone(v);
    wrong.prechat_mutations[0]!.expect = 'ok';
    expect(checkVectors(wrong)).toMatch(/blob_version/);
  });
});

// ------------------------------------------------------------------ behaviour and failure modes

function seal(purpose: SealedPurpose, indexes: number[], text: string): SealedMessage {
  return sealToWorkers(purpose, world.beneficiary, indexes.map((i) => recipientOf(world.workers[i]!)), utf8(text), new DeterministicRandom(new Uint8Array(32).fill(0x42)));
}

function open(purpose: SealedPurpose, worker: number, wrapped: Uint8Array, ciphertext: Uint8Array, beneficiary = world.beneficiary.publicKey): Uint8Array {
  const w = world.workers[worker]!;
  return openSealed(purpose, w.identity, w, beneficiary, wrapped, ciphertext);
}

function flip(b: Uint8Array, i: number, mask = 0x01): Uint8Array {
  const out = b.slice();
  out[i]! ^= mask;
  return out;
}

describe('sealed to workers', () => {
  it('each recipient opens the same content', () => {
    const m = seal('inbox', [0, 1, 2], 'Bonjour, pouvez-vous me rappeler ?');
    expect(m.keys.map((k) => k.workerId)).toEqual([101, 102, 103]);
    for (let i = 0; i < 3; i++) {
      expect(m.keys[i]!.wrappedKey).toHaveLength(sealedLimits.wrappedKeyBytes);
      expect(new TextDecoder().decode(open('inbox', i, m.keys[i]!.wrappedKey, m.ciphertext))).toBe('Bonjour, pouvez-vous me rappeler ?');
    }
    expect(m.ciphertext).toHaveLength(sealedLimits.contentOverhead + 256);
  });

  it('draws the documented randomness', () => {
    const rng = new DeterministicRandom(new Uint8Array(32).fill(0x42));
    const m = sealToWorkers('inbox', world.beneficiary, [0, 1, 2].map((i) => recipientOf(world.workers[i]!)), new Uint8Array(0), rng);
    expect(rng.draws).toBe(5);
    const again = new DeterministicRandom(new Uint8Array(32).fill(0x42));
    again.bytes(32);
    expect(toHex(m.ciphertext.subarray(1, 25))).toBe(toHex(again.bytes(24)));
  });

  it('rejects the wrong worker', () => {
    const m = seal('inbox', [0], 'pour la travailleuse 1');
    const other = world.workers[1]!;
    const mine = world.workers[0]!;
    // Worker 2 holding a prekey under worker 1's spk_id, then worker 1's very prekey: neither opens.
    const withOwnKey = { signedPreKey: () => other.spks.get(other.bundle.signedPreKeyId) };
    expect(codeOf(() => openSealed('inbox', other.identity, withOwnKey, world.beneficiary.publicKey, m.keys[0]!.wrappedKey, m.ciphertext))).toBe(
      'authentication_failed',
    );
    expect(codeOf(() => openSealed('inbox', other.identity, mine, world.beneficiary.publicKey, m.keys[0]!.wrappedKey, m.ciphertext))).toBe(
      'authentication_failed',
    );
  });

  it('rejects a tampered wrapped key', () => {
    const m = seal('inbox', [0], 'message');
    for (let i = 5; i < sealedLimits.wrappedKeyBytes; i++) {
      const code = codeOf(() => open('inbox', 0, flip(m.keys[0]!.wrappedKey, i), m.ciphertext));
      expect(code === 'authentication_failed' || (i < 37 && code === 'invalid_public_key'), `byte ${i}: ${code}`).toBe(true);
    }
  });

  it('rejects tampered content, and content re-encrypted by someone who knows the key', () => {
    const m = seal('inbox', [0], 'message');
    for (const i of [1, 24, 25, 200, m.ciphertext.length - 1]) {
      expect(codeOf(() => open('inbox', 0, m.keys[0]!.wrappedKey, flip(m.ciphertext, i, 0x80)))).toBe('authentication_failed');
    }
    const other = seal('inbox', [0], 'autre contenu');
    expect(codeOf(() => open('inbox', 0, m.keys[0]!.wrappedKey, other.ciphertext))).toBe('authentication_failed');
  });

  it('rejects the wrong beneficiary identity', () => {
    const m = seal('inbox', [0], 'message');
    expect(codeOf(() => open('inbox', 0, m.keys[0]!.wrappedKey, m.ciphertext, world.workers[16]!.identity.publicKey))).toBe('authentication_failed');
    expect(codeOf(() => open('inbox', 0, m.keys[0]!.wrappedKey, m.ciphertext, new Uint8Array(32)))).toBe('invalid_public_key');
  });

  it('rejects truncated input', () => {
    const m = seal('inbox', [0], 'message');
    const w = m.keys[0]!.wrappedKey;
    for (const n of [0, 1, 37, w.length - 1]) expect(codeOf(() => open('inbox', 0, w.slice(0, n), m.ciphertext)), `key ${n}`).toBe('malformed_input');
    expect(codeOf(() => open('inbox', 0, Uint8Array.of(...w, 0), m.ciphertext))).toBe('malformed_input');
    for (const n of [0, 1, 41, m.ciphertext.length - 1]) expect(codeOf(() => open('inbox', 0, w, m.ciphertext.slice(0, n))), `content ${n}`).toBe('malformed_input');
  });

  it('rejects an unknown version', () => {
    const m = seal('inbox', [0], 'message');
    const w = m.keys[0]!.wrappedKey.slice();
    w[0] = 2;
    expect(codeOf(() => open('inbox', 0, w, m.ciphertext))).toBe('unsupported_version');
    const c = m.ciphertext.slice();
    c[0] = 2;
    expect(codeOf(() => open('inbox', 0, m.keys[0]!.wrappedKey, c))).toBe('unsupported_version');
    const blob = sealPrechat(world.beneficiary, [recipientOf(world.workers[0]!)], utf8('x'), new DeterministicRandom(new Uint8Array(32).fill(1)));
    blob[0] = 0;
    const w0 = world.workers[0]!;
    expect(codeOf(() => openPrechat(w0.identity, w0.id, w0, world.beneficiary.publicKey, blob))).toBe('unsupported_version');
  });

  it('opens with a previous signed prekey until it is deleted, then rejects the unknown spk_id', () => {
    const m = seal('inbox', [0], 'message');
    const w0 = world.workers[0]!;
    const spks = new Map(w0.spks);
    const store = { signedPreKey: (id: number) => spks.get(id) };
    spks.set(w0.bundle.signedPreKeyId + 1, signPreKey(w0.identity, w0.bundle.signedPreKeyId + 1, x25519FromSecret(new Uint8Array(32).fill(0x99))));
    expect(() => openSealed('inbox', w0.identity, store, world.beneficiary.publicKey, m.keys[0]!.wrappedKey, m.ciphertext)).not.toThrow();
    spks.delete(w0.bundle.signedPreKeyId);
    expect(codeOf(() => openSealed('inbox', w0.identity, store, world.beneficiary.publicKey, m.keys[0]!.wrappedKey, m.ciphertext))).toBe('unknown_prekey');
  });

  it('rejects low-order ephemeral keys', () => {
    const m = seal('inbox', [0], 'message');
    for (const p of lowOrderPoints) {
      const w = m.keys[0]!.wrappedKey.slice();
      w.set(fromHex(p), 5);
      expect(codeOf(() => open('inbox', 0, w, m.ciphertext))).toBe('invalid_public_key');
    }
  });

  it('rejects content of the other purpose', () => {
    const m = seal('prechat', [0], 'réponses');
    expect(codeOf(() => open('inbox', 0, m.keys[0]!.wrappedKey, m.ciphertext))).toBe('authentication_failed');
    expect(() => open('prechat', 0, m.keys[0]!.wrappedKey, m.ciphertext)).not.toThrow();
  });

  it('refuses recipients that do not verify', () => {
    const w = world.workers[0]!;
    const other = IdentityKeyPair.fromSeed(new Uint8Array(32).fill(9));
    expect(codeOf(() => SealedRecipient.verify(w.id, w.bundle, w.certificate, orgFingerprint(other.publicKey), now))).toBe('untrusted_org_key');
    expect(codeOf(() => SealedRecipient.verify(w.id, w.bundle, w.certificate, pinned, now + 400 * 86400))).toBe('certificate_not_valid_now');
    expect(codeOf(() => SealedRecipient.verify(w.id, w.bundle, world.workers[1]!.certificate, pinned, now))).toBe('authentication_failed');
    const swapped = { ...w.bundle, signedPreKey: world.workers[1]!.bundle.signedPreKey };
    expect(codeOf(() => SealedRecipient.verify(w.id, swapped, w.certificate, pinned, now))).toBe('authentication_failed');
    expect(codeOf(() => SealedRecipient.verify(w.id, w.bundle, new Uint8Array(10), pinned, now))).toBe('malformed_input');
    const r = SealedRecipient.verify(w.id, { ...w.bundle, oneTimePreKeyId: 5, oneTimePreKey: world.workers[2]!.bundle.signedPreKey }, w.certificate, pinned, now);
    expect(r.displayName).toBe('Travailleuse 1');
    expect(r.signedPreKeyId).toBe(w.bundle.signedPreKeyId);
  });

  it('refuses bad recipient lists', () => {
    const rng = new DeterministicRandom(new Uint8Array(32).fill(3));
    const rs = (ids: number[]) => ids.map((i) => recipientOf(world.workers[i]!));
    expect(codeOf(() => sealToWorkers('inbox', world.beneficiary, [], new Uint8Array(0), rng))).toBe('malformed_input');
    expect(codeOf(() => sealToWorkers('inbox', world.beneficiary, rs([0, 1, 0]), new Uint8Array(0), rng))).toBe('malformed_input');
    const seventeen = rs([...Array(17).keys()]);
    expect(codeOf(() => sealToWorkers('inbox', world.beneficiary, seventeen, new Uint8Array(0), rng))).toBe('malformed_input');
    expect(codeOf(() => sealToWorkers('inbox', world.beneficiary, seventeen.slice(0, 16), new Uint8Array(0), rng))).toBeUndefined();
  });

  it('plaintext limits fit exactly', () => {
    expect(maxPrechatPlaintext(1)).toBe(3839);
    expect(maxPrechatPlaintext(16)).toBe(2303);
    expect(maxInboxPlaintext()).toBe(40703);
    for (const n of [1, 16]) {
      const rs = world.workers.slice(0, n).map(recipientOf);
      const rng = new DeterministicRandom(new Uint8Array(32).fill(4));
      const blob = sealPrechat(world.beneficiary, rs, new Uint8Array(maxPrechatPlaintext(n)).fill(97), rng);
      expect(blob.length).toBeLessThanOrEqual(sealedLimits.maxPrechatBlob);
      expect(blob.length + 256).toBeGreaterThan(sealedLimits.maxPrechatBlob);
      expect(codeOf(() => sealPrechat(world.beneficiary, rs, new Uint8Array(maxPrechatPlaintext(n) + 1), rng))).toBe('malformed_input');
    }
    const rng = new DeterministicRandom(new Uint8Array(32).fill(5));
    const one = [recipientOf(world.workers[0]!)];
    expect(sealToWorkers('inbox', world.beneficiary, one, new Uint8Array(maxInboxPlaintext()), rng).ciphertext).toHaveLength(40745);
    expect(codeOf(() => sealToWorkers('inbox', world.beneficiary, one, new Uint8Array(maxInboxPlaintext() + 1), rng))).toBe('malformed_input');
  });

  it('a pre-chat blob opens only for its recipients', () => {
    const blob = sealPrechat(world.beneficiary, [3, 7].map((i) => recipientOf(world.workers[i]!)), utf8('urgence : non'), new DeterministicRandom(new Uint8Array(32).fill(6)));
    expect(blob).toHaveLength(2 + 2 * (10 + 85) + 41 + 256);
    for (const i of [3, 7]) {
      const w = world.workers[i]!;
      expect(new TextDecoder().decode(openPrechat(w.identity, w.id, w, world.beneficiary.publicKey, blob))).toBe('urgence : non');
    }
    const notAddressed = world.workers[4]!;
    expect(codeOf(() => openPrechat(notAddressed.identity, notAddressed.id, notAddressed, world.beneficiary.publicKey, blob))).toBe('unknown_prekey');
  });

  it('decodePrechat rejects malformed blobs', () => {
    const blob = sealPrechat(world.beneficiary, [0, 1].map((i) => recipientOf(world.workers[i]!)), utf8('x'), new DeterministicRandom(new Uint8Array(32).fill(7)));
    expect(() => decodePrechat(blob)).not.toThrow();
    const withByte = (offset: number, value: number) => {
      const b = blob.slice();
      b[offset] = value;
      return codeOf(() => decodePrechat(b));
    };
    expect(withByte(1, 0)).toBe('malformed_input');
    expect(withByte(1, 17)).toBe('malformed_input');
    expect(withByte(1, 3)).toBe('malformed_input');
    expect(withByte(10, 0xff)).toBe('malformed_input');
    const zeroLength = blob.slice();
    zeroLength[10] = 0;
    zeroLength[11] = 0;
    expect(codeOf(() => decodePrechat(zeroLength))).toBe('malformed_input');
    const sameIds = blob.slice();
    sameIds.set(blob.subarray(2, 10), 97);
    expect(codeOf(() => decodePrechat(sameIds))).toBe('malformed_input');
    expect(codeOf(() => decodePrechat(blob.slice(0, 192)))).toBe('malformed_input');
    const oversize = new Uint8Array(sealedLimits.maxPrechatBlob + 1);
    oversize.set(blob);
    expect(codeOf(() => decodePrechat(oversize))).toBe('malformed_input');
    expect(codeOf(() => decodePrechat(new Uint8Array(0)))).toBe('malformed_input');
  });

  it('encodePrechat refuses what does not fit', () => {
    const m = seal('prechat', [0], 'x');
    expect(() => encodePrechat(m)).not.toThrow();
    expect(codeOf(() => encodePrechat({ ...m, ciphertext: new Uint8Array(sealedLimits.maxPrechatBlob) }))).toBe('malformed_input');
    expect(codeOf(() => encodePrechat({ ...m, keys: [{ workerId: 101, wrappedKey: new Uint8Array(0) }] }))).toBe('malformed_input');
    expect(codeOf(() => encodePrechat({ ...m, keys: [] }))).toBe('malformed_input');
  });
});
