// Golden transcripts (CRYPTO.md §12, format in the shared construction): a seeded exchange that
// one implementation writes and the other replays byte for byte. Test and script code only:
// not exported from index.ts.
import { fromBase64Url, fromHex, toBase64Url, toHex } from './bytes.js';
import { CryptoError } from './errors.js';
import { IdentityKeyPair, signPreKey, x25519FromSecret, type OneTimePreKey, type SignedPreKey } from './keys.js';
import { DeterministicRandom } from './random.js';
import { RatchetSession, type PreKeyStore } from './ratchet.js';
import { sodium } from './sodium.js';
import type { PreKeyBundle } from './x3dh.js';

export type Party = 'alice' | 'bob';

export interface SendEvent {
  op: 'send';
  from: Party;
  index: number;
  plaintext: string;
  wire: string;
}

export interface DeliverEvent {
  op: 'deliver';
  to: Party;
  index: number;
  expect: 'ok' | 'duplicate' | 'error';
}

/** The JSON layout of protocol/vectors/ratchet_transcript_<cpp|ts>.json. */
export interface Transcript {
  description: string;
  generator: 'cpp' | 'ts';
  alice_identity_seed: string;
  bob_identity_seed: string;
  bob_spk_id: number;
  bob_spk_secret: string;
  bob_opk_id: number;
  bob_opk_secret: string;
  alice_rng_seed: string;
  bob_rng_seed: string;
  events: (SendEvent | DeliverEvent)[];
}

/** Unix seconds used for every decryption: skipped keys never expire inside a transcript. */
export const transcriptTime = 1_700_000_000;

/** The two parties of a transcript, built from its seeds exactly as both implementations do. */
class Parties implements PreKeyStore {
  readonly aliceRandom: DeterministicRandom;
  readonly bobRandom: DeterministicRandom;
  readonly bobIdentity: IdentityKeyPair;
  readonly spk: SignedPreKey;
  opk: OneTimePreKey | undefined;
  readonly alice: RatchetSession;
  bob: RatchetSession | undefined;

  constructor(t: Omit<Transcript, 'events' | 'description' | 'generator'>) {
    this.aliceRandom = new DeterministicRandom(fromHex(t.alice_rng_seed));
    this.bobRandom = new DeterministicRandom(fromHex(t.bob_rng_seed));
    const aliceIdentity = IdentityKeyPair.fromSeed(fromHex(t.alice_identity_seed));
    this.bobIdentity = IdentityKeyPair.fromSeed(fromHex(t.bob_identity_seed));
    this.spk = signPreKey(this.bobIdentity, t.bob_spk_id, x25519FromSecret(fromHex(t.bob_spk_secret)));
    this.opk = { id: t.bob_opk_id, keyPair: x25519FromSecret(fromHex(t.bob_opk_secret)) };
    const bundle: PreKeyBundle = {
      identityKey: this.bobIdentity.publicKey,
      signedPreKeyId: this.spk.id,
      signedPreKey: this.spk.keyPair.publicKey,
      signedPreKeySignature: this.spk.signature,
      oneTimePreKeyId: this.opk.id,
      oneTimePreKey: this.opk.keyPair.publicKey,
    };
    this.alice = RatchetSession.initiate(aliceIdentity, bundle, this.aliceRandom);
  }

  signedPreKey(id: number): SignedPreKey | undefined {
    return id === this.spk.id ? this.spk : undefined;
  }

  oneTimePreKey(id: number): OneTimePreKey | undefined {
    return this.opk?.id === id ? this.opk : undefined;
  }

  encrypt(from: Party, plaintext: Uint8Array): Uint8Array {
    const session = from === 'alice' ? this.alice : this.bob;
    if (!session) throw new Error('bob cannot send before he has a session');
    return session.encrypt(plaintext);
  }

  /** Decrypts for `to`; Bob's first initial message creates his session (and consumes the OPK). */
  decrypt(to: Party, wire: Uint8Array): Uint8Array {
    if (to === 'alice') return this.alice.decrypt(wire, transcriptTime);
    if (this.bob) return this.bob.decrypt(wire, transcriptTime);
    const r = RatchetSession.respond({ identity: this.bobIdentity, preKeys: this, message: wire, now: transcriptTime, random: this.bobRandom });
    if (r.consumedOneTimePreKeyId !== undefined) this.opk = undefined;
    this.bob = r.session;
    return r.plaintext;
  }

  state(to: Party): string {
    const session = to === 'alice' ? this.alice : this.bob;
    return session ? toHex(session.serialize()) : '';
  }
}

/** Replays a transcript with this implementation; returns a description of the first mismatch, or undefined. */
export function replayTranscript(t: Transcript): string | undefined {
  const parties = new Parties(t);
  const sent = new Map<number, { plaintext: string; wire: Uint8Array }>();
  for (const [position, e] of t.events.entries()) {
    const where = `event ${position} (${e.op} ${e.index})`;
    if (e.op === 'send') {
      if (sent.has(e.index)) return `${where}: index sent twice`;
      const wire = parties.encrypt(e.from, fromHex(e.plaintext));
      const actual = toBase64Url(wire);
      if (actual !== e.wire) return `${where}: wire differs\n  expected ${e.wire.slice(0, 120)}...\n  actual   ${actual.slice(0, 120)}...`;
      sent.set(e.index, { plaintext: e.plaintext, wire: fromBase64Url(e.wire) });
      continue;
    }
    const message = sent.get(e.index);
    if (!message) return `${where}: delivered before it was sent`;
    const before = parties.state(e.to);
    let plaintext: Uint8Array | undefined;
    let code: string | undefined;
    try {
      plaintext = parties.decrypt(e.to, message.wire);
    } catch (err) {
      if (!(err instanceof CryptoError)) throw err;
      code = err.code;
    }
    if (e.expect === 'ok') {
      if (code) return `${where}: expected ok, got ${code}`;
      if (toHex(plaintext!) !== message.plaintext) return `${where}: plaintext differs`;
    } else {
      if (!code) return `${where}: expected ${e.expect}, but it decrypted`;
      if (e.expect === 'duplicate' && code !== 'duplicate_message') return `${where}: expected duplicate_message, got ${code}`;
      if (e.expect === 'error' && code === 'duplicate_message') return `${where}: expected an error other than duplicate_message`;
      if (parties.state(e.to) !== before) return `${where}: state changed after a rejected message`;
    }
  }
  return undefined;
}

/** Small seeded PRNG for the scenario's choices (which message, when); keys use DeterministicRandom. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedHex(label: string): string {
  return toHex(sodium.crypto_hash_sha256(`Relais transcript ts: ${label}`));
}

/** A message waiting in the network, with how many rounds it may still be held back. */
interface InFlight {
  index: number;
  to: Party;
  patience: number;
}

/**
 * Generates the TypeScript golden transcript: `messageCount` messages in both directions, in
 * rounds. Each round one side (or both, crossing) sends a burst; the network then delivers a
 * shuffled part of what is in flight, holds some back for up to two rounds (out-of-order across
 * DH ratchet steps, within MAX_SKIP and the 5 remembered chains), loses some, and re-delivers
 * some already delivered (duplicates).
 */
export function generateTranscript(messageCount = 1000, scenarioSeed = 20260423): Transcript {
  const header = {
    alice_identity_seed: seedHex('alice identity'),
    bob_identity_seed: seedHex('bob identity'),
    bob_spk_id: 7,
    bob_spk_secret: seedHex('bob spk'),
    bob_opk_id: 1001,
    bob_opk_secret: seedHex('bob opk'),
    alice_rng_seed: seedHex('alice rng'),
    bob_rng_seed: seedHex('bob rng'),
  };
  const parties = new Parties(header);
  const rng = mulberry32(scenarioSeed);
  const events: (SendEvent | DeliverEvent)[] = [];
  const plaintexts: string[] = [];
  const delivered = new Set<number>();
  let inFlight: InFlight[] = [];
  let next = 0;

  const send = (from: Party): void => {
    const r = rng();
    const length = r < 0.05 ? 0 : r < 0.9 ? Math.floor(rng() * 120) : 256 + Math.floor(rng() * 400);
    const plaintext = Uint8Array.from({ length }, () => Math.floor(rng() * 256));
    const wire = parties.encrypt(from, plaintext);
    plaintexts.push(toHex(plaintext));
    events.push({ op: 'send', from, index: next, plaintext: toHex(plaintext), wire: toBase64Url(wire) });
    inFlight.push({ index: next, to: from === 'alice' ? 'bob' : 'alice', patience: 2 });
    next++;
  };

  /** Delivers and records; `expect` undefined records whatever happens (old replays). */
  const deliver = (f: InFlight, expect: DeliverEvent['expect'] | undefined): void => {
    const wire = fromBase64Url((events.find((e) => e.op === 'send' && e.index === f.index) as SendEvent).wire);
    let code: string | undefined;
    try {
      parties.decrypt(f.to, wire);
    } catch (err) {
      if (!(err instanceof CryptoError)) throw err;
      code = err.code;
    }
    const actual = code === undefined ? 'ok' : code === 'duplicate_message' ? 'duplicate' : 'error';
    if (expect !== undefined && actual !== expect) {
      throw new Error(`generator: message ${f.index} to ${f.to} gave ${code ?? 'ok'}, planned ${expect}`);
    }
    if (expect === undefined && actual === 'ok') throw new Error(`generator: replay of ${f.index} decrypted`);
    events.push({ op: 'deliver', to: f.to, index: f.index, expect: actual });
    if (actual === 'ok') delivered.add(f.index);
  };

  let round = 0;
  while (next < messageCount) {
    const budget = messageCount - next;
    // The first round is Alice's (Bob has no session before her first message arrives).
    const mode = round === 0 || parties.bob === undefined ? 'alice' : rng() < 0.15 ? 'both' : round % 2 === 1 ? 'bob' : 'alice';
    const burst = (): number => Math.min(budget, rng() < 0.04 ? 40 + Math.floor(rng() * 60) : 1 + Math.floor(rng() * 9));
    if (mode === 'both') {
      const a = burst();
      for (let i = 0; i < a && next < messageCount; i++) send('alice');
      const b = burst();
      for (let i = 0; i < b && next < messageCount; i++) send('bob');
    } else {
      const n = burst();
      for (let i = 0; i < n; i++) send(mode);
    }

    // The network: shuffle what is in flight, then lose, hold back or deliver each message.
    shuffle(inFlight, rng);
    const keep: InFlight[] = [];
    const duplicates: InFlight[] = [];
    for (const f of inFlight) {
      const r = rng();
      if (round > 0 && r < 0.06) continue; // lost
      if (r < 0.2 && f.patience > 0) {
        keep.push({ ...f, patience: f.patience - 1 });
        continue;
      }
      deliver(f, 'ok');
      if (rng() < 0.08) duplicates.push(f);
    }
    for (const f of duplicates) deliver(f, 'duplicate');
    // Replays of something delivered earlier, possibly long ago: a duplicate while its chain is
    // remembered, an authentication failure once the chain is forgotten (CRYPTO.md §4.3).
    if (delivered.size > 0 && rng() < 0.3) {
      const old = [...delivered][Math.floor(rng() * delivered.size)]!;
      const from = (events.find((e) => e.op === 'send' && e.index === old) as SendEvent).from;
      deliver({ index: old, to: from === 'alice' ? 'bob' : 'alice', patience: 0 }, undefined);
    }
    inFlight = keep;
    round++;
  }
  // Drain what is still held back, so the end of the transcript exercises old chains too.
  shuffle(inFlight, rng);
  for (const f of inFlight) deliver(f, 'ok');

  return {
    description:
      'Relais golden ratchet transcript written by the TypeScript implementation (client-web/common/crypto/transcript.ts, `npm run vectors`). ' +
      'Replay: build Alice (X3DH initiator) and Bob from the seeds (identities are Ed25519 seeds; Bob signs his SPK; each party has its own ' +
      'deterministic RNG, CRYPTO.md §6); on "send", encrypt the hex plaintext and compare with the base64url wire; on "deliver", decrypt the ' +
      'wire of message `index` at unix time 1700000000 (Bob\'s first initial message creates his session and consumes the OPK): "ok" must give ' +
      'the plaintext, "duplicate" must fail with duplicate_message and "error" with another error, both leaving the state byte-identical.',
    generator: 'ts',
    ...header,
    events,
  };
}

function shuffle<T>(items: T[], rng: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

/** Counts that show a transcript exercises what it must (for the tests' sanity checks). */
export function transcriptStats(t: Transcript): {
  sent: Record<Party, number>;
  delivered: number;
  duplicates: number;
  lost: number;
  outOfOrder: number;
  ratchetKeys: Record<Party, number>;
  initialMessages: number;
} {
  const sent = { alice: 0, bob: 0 };
  const ratchetKeys = { alice: new Set<string>(), bob: new Set<string>() };
  const from = new Map<number, Party>();
  let initialMessages = 0;
  for (const e of t.events) {
    if (e.op !== 'send') continue;
    sent[e.from]++;
    from.set(e.index, e.from);
    const wire = fromBase64Url(e.wire);
    if (wire[1] === 0x01) initialMessages++;
    const headerAt = wire[1] === 0x01 ? 2 + 72 : 2;
    ratchetKeys[e.from].add(toHex(wire.slice(headerAt, headerAt + 32)));
  }
  const ok = new Set<number>();
  let duplicates = 0;
  let outOfOrder = 0;
  const highest: Record<Party, number> = { alice: -1, bob: -1 };
  for (const e of t.events) {
    if (e.op !== 'deliver') continue;
    if (e.expect === 'duplicate') duplicates++;
    if (e.expect !== 'ok') continue;
    ok.add(e.index);
    const sender = from.get(e.index)!;
    if (e.index < highest[sender]) outOfOrder++;
    highest[sender] = Math.max(highest[sender], e.index);
  }
  return {
    sent,
    delivered: ok.size,
    duplicates,
    lost: sent.alice + sent.bob - ok.size,
    outOfOrder,
    ratchetKeys: { alice: ratchetKeys.alice.size, bob: ratchetKeys.bob.size },
    initialMessages,
  };
}
