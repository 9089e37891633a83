import { messageAssociatedData, openMessage, sealMessage } from './aead.js';
import { ByteReader, concat, equalBytes, u32be, u64be } from './bytes.js';
import { CryptoError, ensure } from './errors.js';
import { hkdf, hmacSha256 } from './hkdf.js';
import { dh, generateX25519, x25519FromSecret, type IdentityKeyPair, type OneTimePreKey, type SignedPreKey, type X25519KeyPair } from './keys.js';
import { labels, limits, wire } from './limits.js';
import { decodeMessage, encodeHeader, encodeMessage, type InitialPrefix, type RatchetMessage } from './message.js';
import type { Random } from './random.js';
import { wipe } from './sodium.js';
import { x3dhInitiate, x3dhRespond, type PreKeyBundle } from './x3dh.js';

/**
 * KDF_RK: HKDF(salt = root key, ikm = DH output, info, 64) -> (new root key, chain key).
 * `info` and `counterStart` are parameters only so that Signal's published vectors apply.
 */
export function kdfRootKey(
  rootKey: Uint8Array,
  dhOutput: Uint8Array,
  info: string = labels.ratchetInfo,
  counterStart: 0 | 1 = 1,
): [Uint8Array, Uint8Array] {
  const out = hkdf(rootKey, dhOutput, info, 64, counterStart);
  const result: [Uint8Array, Uint8Array] = [out.slice(0, 32), out.slice(32, 64)];
  wipe(out);
  return result;
}

/** KDF_CK: (message key = HMAC(ck, 0x01), next chain key = HMAC(ck, 0x02)), Signal's recommendation. */
export function kdfChainKey(chainKey: Uint8Array): [Uint8Array, Uint8Array] {
  return [hmacSha256(chainKey, Uint8Array.of(0x01)), hmacSha256(chainKey, Uint8Array.of(0x02))];
}

/** A stored key for a message that was skipped (lost or still in flight). Immutable once created. */
interface SkippedKey {
  readonly dh: Uint8Array;
  readonly n: number;
  readonly mk: Uint8Array;
  /** Unix seconds when the key was derived; it expires limits.skippedKeyLifetimeSeconds later. */
  readonly storedAt: number;
}

type Role = 'initiator' | 'responder';

/**
 * The whole ratchet state (CRYPTO.md §4.5). Byte arrays in it are never modified in place: a
 * transition installs new arrays, so a working copy can share them with the committed state
 * (see `decrypt`), and wiping happens once a transaction is decided.
 */
interface SessionState {
  role: Role;
  /** AD_x3dh = Encode(IK_A) || Encode(IK_B). */
  ad: Uint8Array;
  dhs: X25519KeyPair;
  rootKey: Uint8Array;
  dhr: Uint8Array | null;
  cks: Uint8Array | null;
  ns: number;
  ckr: Uint8Array | null;
  nr: number;
  pn: number;
  /** A: present while it still sends type 0x01; B: always, the accepted one. */
  initial: InitialPrefix | null;
  /** Ratchet keys of previous receiving chains, oldest first, at most maxReceivingChains - 1. */
  previousChains: Uint8Array[];
  /** Insertion order, at most limits.maxSkippedKeys. */
  skipped: SkippedKey[];
}

/** Every secret array a state references. */
function secretsOf(s: SessionState): Uint8Array[] {
  const out = [s.rootKey, s.dhs.secretKey];
  if (s.cks) out.push(s.cks);
  if (s.ckr) out.push(s.ckr);
  for (const k of s.skipped) out.push(k.mk);
  return out;
}

function cloneState(s: SessionState): SessionState {
  return { ...s, previousChains: [...s.previousChains], skipped: [...s.skipped] };
}

/** Wipes every array of `candidates` that `keep` does not reference. */
function wipeUnreferenced(candidates: Uint8Array[], keep: SessionState): void {
  const live = new Set(secretsOf(keep));
  for (const c of candidates) if (!live.has(c)) wipe(c);
}

function samePrefix(a: InitialPrefix, b: InitialPrefix): boolean {
  // Evaluate every comparison: which field differs is nobody's business.
  const ik = equalBytes(a.identityKey, b.identityKey);
  const ek = equalBytes(a.ephemeralKey, b.ephemeralKey);
  return ik && ek && a.signedPreKeyId === b.signedPreKeyId && a.oneTimePreKeyId === b.oneTimePreKeyId;
}

/** Where the responder's long-term keys come from (its key store). */
export interface PreKeyStore {
  /** The SPK with this id, or undefined if it is not (or no longer) held. */
  signedPreKey(id: number): SignedPreKey | undefined;
  /** The OPK with this id, or undefined if it is not held or already consumed. */
  oneTimePreKey(id: number): OneTimePreKey | undefined;
}

/** Parameters of `RatchetSession.respond`. */
export interface RespondParams {
  readonly identity: IdentityKeyPair;
  readonly preKeys: PreKeyStore;
  /** The initial message's wire bytes. */
  readonly message: Uint8Array;
  /** Unix seconds (injected clock). */
  readonly now: number;
  readonly random: Random;
}

/** Result of a responder accepting an initiator's first message. */
export interface RespondResult {
  readonly session: RatchetSession;
  readonly plaintext: Uint8Array;
  /** The OPK the caller must now delete, or undefined if none was used. */
  readonly consumedOneTimePreKeyId: number | undefined;
}

/**
 * One Double Ratchet session (Signal's spec, section 3) after X3DH, exactly as CRYPTO.md §4.
 * Decryption is transactional: on any error the state, serialised form included, is unchanged.
 * Randomness (new ratchet keys) comes from the injected `Random`; time from the caller.
 */
export class RatchetSession {
  private state_: SessionState;
  private readonly random_: Random;

  private constructor(state: SessionState, random: Random) {
    this.state_ = state;
    this.random_ = random;
  }

  /**
   * Initiator (A): verifies the bundle's SPK signature, runs X3DH and starts the ratchet.
   * Draws EK_A, then the first ratchet key pair (two 32-byte draws, in that order).
   */
  static initiate(identity: IdentityKeyPair, bundle: PreKeyBundle, random: Random): RatchetSession {
    const x = x3dhInitiate(identity, bundle, random);
    const dhs = generateX25519(random);
    const dhOut = dh(dhs.secretKey, x.remoteSignedPreKey);
    const [rootKey, cks] = kdfRootKey(x.sharedSecret, dhOut);
    wipe(dhOut, x.sharedSecret);
    return new RatchetSession(
      {
        role: 'initiator',
        ad: x.associatedData,
        dhs,
        rootKey,
        dhr: x.remoteSignedPreKey,
        cks,
        ns: 0,
        ckr: null,
        nr: 0,
        pn: 0,
        initial: {
          identityKey: identity.publicKey.slice(),
          ephemeralKey: x.ephemeralPublic,
          signedPreKeyId: x.signedPreKeyId,
          oneTimePreKeyId: x.oneTimePreKeyId,
        },
        previousChains: [],
        skipped: [],
      },
      random,
    );
  }

  /**
   * Responder (B), CRYPTO.md §4.4: creates the session from an initial message and decrypts it.
   * Nothing is kept unless the message authenticates; then the caller deletes the consumed OPK.
   */
  static respond(p: RespondParams): RespondResult {
    const message = decodeMessage(p.message);
    ensure(message.type === wire.typeInitial, 'wrong_message_type');
    const init = message.initial!;
    const spk = p.preKeys.signedPreKey(init.signedPreKeyId);
    ensure(spk !== undefined && spk.id === init.signedPreKeyId, 'unknown_prekey');
    let opk: OneTimePreKey | undefined;
    if (init.oneTimePreKeyId !== wire.noOneTimePreKey) {
      opk = p.preKeys.oneTimePreKey(init.oneTimePreKeyId);
      ensure(opk !== undefined && opk.id === init.oneTimePreKeyId, 'unknown_prekey');
    }
    const x = x3dhRespond(p.identity, spk, opk, init.identityKey, init.ephemeralKey);
    const session = new RatchetSession(
      {
        role: 'responder',
        ad: x.associatedData,
        dhs: x25519FromSecret(spk.keyPair.secretKey),
        rootKey: x.sharedSecret,
        dhr: null,
        cks: null,
        ns: 0,
        ckr: null,
        nr: 0,
        pn: 0,
        initial: init,
        previousChains: [],
        skipped: [],
      },
      p.random,
    );
    try {
      const plaintext = session.decrypt(p.message, p.now);
      return { session, plaintext, consumedOneTimePreKeyId: opk?.id };
    } catch (e) {
      session.destroy();
      throw e;
    }
  }

  /** Restores a session from `serialize()` output (`malformed_input` if it is not one). */
  static deserialize(bytes: Uint8Array, random: Random): RatchetSession {
    return new RatchetSession(decodeState(bytes), random);
  }

  /** Which side of X3DH this session is. */
  get role(): Role {
    return this.state_.role;
  }

  /** The peer's Ed25519 identity key (for safety numbers and certificate checks). */
  get remoteIdentity(): Uint8Array {
    const { ad, role } = this.state_;
    return role === 'initiator' ? ad.slice(32, 64) : ad.slice(0, 32);
  }

  /** The X3DH parameters of this session's initial messages (undefined once A got a reply). */
  get initialPrefix(): InitialPrefix | undefined {
    return this.state_.initial ?? undefined;
  }

  /** Number of stored skipped message keys (diagnostics and tests). */
  get skippedKeyCount(): number {
    return this.state_.skipped.length;
  }

  /** Encrypts one plaintext (at most 65535 bytes) into wire bytes (CRYPTO.md §4.2). */
  encrypt(plaintext: Uint8Array): Uint8Array {
    const s = this.state_;
    ensure(s.cks !== null, 'no_sending_chain');
    ensure(plaintext.length <= limits.maxPlaintext, 'malformed_input');
    const [mk, nextCk] = kdfChainKey(s.cks);
    const header = { dh: s.dhs.publicKey, pn: s.pn, n: s.ns };
    const headerBytes = encodeHeader(header);
    const initial = s.role === 'initiator' ? s.initial : null;
    const type = initial ? wire.typeInitial : wire.typeMessage;
    let ciphertext: Uint8Array;
    try {
      ciphertext = sealMessage(mk, plaintext, messageAssociatedData(type, s.ad, headerBytes));
    } finally {
      wipe(mk);
    }
    wipe(s.cks);
    s.cks = nextCk;
    s.ns += 1;
    return encodeMessage(initial ? { type: wire.typeInitial, initial, header, ciphertext } : { type: wire.typeMessage, header, ciphertext });
  }

  /**
   * Decrypts wire bytes at unix time `now` (seconds), CRYPTO.md §4.3. Throws CryptoError; after
   * any error the state is byte-identical.
   */
  decrypt(bytes: Uint8Array, now: number): Uint8Array {
    const message = decodeMessage(bytes);
    const s = this.state_;
    if (message.type === wire.typeInitial) {
      ensure(s.role === 'responder', 'wrong_message_type');
      ensure(s.initial !== null && samePrefix(message.initial!, s.initial), 'authentication_failed');
    }
    const work = cloneState(s);
    const created: Uint8Array[] = [];
    try {
      const plaintext = this.decryptInto(work, message, now, created);
      this.state_ = work;
      wipeUnreferenced([...secretsOf(s), ...created], work);
      return plaintext;
    } catch (e) {
      wipeUnreferenced(created, s);
      if (e instanceof CryptoError) throw e;
      throw new CryptoError('authentication_failed');
    }
  }

  /** Serializes the whole state (CRYPTO.md §4.5). It holds secret keys: seal it before it leaves memory. */
  serialize(): Uint8Array {
    return encodeState(this.state_);
  }

  /** Overwrites every secret in the session; the session is unusable afterwards. */
  destroy(): void {
    wipe(...secretsOf(this.state_));
    this.state_.cks = null;
    this.state_.ckr = null;
    this.state_.skipped = [];
  }

  /** The decrypt algorithm of CRYPTO.md §4.3 on a working copy. */
  private decryptInto(work: SessionState, message: RatchetMessage, now: number, created: Uint8Array[]): Uint8Array {
    const { header } = message;
    work.skipped = work.skipped.filter((k) => now <= k.storedAt + limits.skippedKeyLifetimeSeconds);

    let mk: Uint8Array;
    let ratcheted = false;
    const index = work.skipped.findIndex((k) => k.n === header.n && equalBytes(k.dh, header.dh));
    if (index >= 0) {
      mk = work.skipped[index]!.mk;
      work.skipped.splice(index, 1);
    } else if (work.ckr !== null && work.dhr !== null && equalBytes(header.dh, work.dhr)) {
      if (header.n < work.nr) throw new CryptoError('duplicate_message');
      if (header.n - work.nr > limits.maxSkip) throw new CryptoError('too_many_skipped');
      skipMessageKeys(work, header.n, now, created);
      mk = stepReceivingChain(work, created);
    } else if (work.previousChains.some((c) => equalBytes(c, header.dh))) {
      throw new CryptoError('duplicate_message');
    } else {
      if (work.ckr !== null && work.dhr !== null) {
        if (header.pn > work.nr && header.pn - work.nr > limits.maxSkip) throw new CryptoError('too_many_skipped');
        skipMessageKeys(work, header.pn, now, created);
        work.previousChains.push(work.dhr);
        while (work.previousChains.length > limits.maxReceivingChains - 1) {
          const dropped = work.previousChains.shift()!;
          work.skipped = work.skipped.filter((k) => !equalBytes(k.dh, dropped));
        }
      }
      if (header.n > limits.maxSkip) throw new CryptoError('too_many_skipped');
      const dhOut = dh(work.dhs.secretKey, header.dh);
      const [rootKey, ckr] = kdfRootKey(work.rootKey, dhOut);
      wipe(dhOut);
      created.push(rootKey, ckr);
      work.rootKey = rootKey;
      work.ckr = ckr;
      work.dhr = header.dh;
      work.pn = work.ns;
      work.ns = 0;
      work.nr = 0;
      work.cks = null;
      skipMessageKeys(work, header.n, now, created);
      mk = stepReceivingChain(work, created);
      ratcheted = true;
    }

    const plaintext = openMessage(mk, message.ciphertext, messageAssociatedData(message.type, work.ad, message.headerBytes));

    if (ratcheted) {
      // The sending half of DHRatchet runs only now that the message authenticated, so a
      // forged header never consumes randomness (CRYPTO.md §4.3).
      const dhs = generateX25519(this.random_);
      created.push(dhs.secretKey);
      const dhOut = dh(dhs.secretKey, work.dhr!);
      const [rootKey, cks] = kdfRootKey(work.rootKey, dhOut);
      wipe(dhOut);
      created.push(rootKey, cks);
      work.dhs = dhs;
      work.rootKey = rootKey;
      work.cks = cks;
    }
    if (work.role === 'initiator') work.initial = null;
    return plaintext;
  }
}

/** One KDF_CK step of the receiving chain; returns the message key (wiped by the transaction). */
function stepReceivingChain(work: SessionState, created: Uint8Array[]): Uint8Array {
  const [mk, ckr] = kdfChainKey(work.ckr!);
  created.push(mk, ckr);
  work.ckr = ckr;
  work.nr += 1;
  return mk;
}

/** skip(until): stores the keys of messages Nr..until-1 of the current receiving chain. */
function skipMessageKeys(work: SessionState, until: number, now: number, created: Uint8Array[]): void {
  if (work.ckr === null || work.dhr === null) return;
  while (work.nr < until) {
    const [mk, ckr] = kdfChainKey(work.ckr);
    created.push(mk, ckr);
    work.skipped.push({ dh: work.dhr, n: work.nr, mk, storedAt: now });
    work.ckr = ckr;
    work.nr += 1;
  }
  if (work.skipped.length > limits.maxSkippedKeys) {
    work.skipped.splice(0, work.skipped.length - limits.maxSkippedKeys);
  }
}

const stateFormat = 0x01;
const flagDhr = 0x01;
const flagCks = 0x02;
const flagCkr = 0x04;
const flagInitial = 0x08;

/** Serialised session state, format 0x01 (CRYPTO.md §4.5, the same bytes as C++). */
function encodeState(s: SessionState): Uint8Array {
  const flags = (s.dhr ? flagDhr : 0) | (s.cks ? flagCks : 0) | (s.ckr ? flagCkr : 0) | (s.initial ? flagInitial : 0);
  const parts: Uint8Array[] = [
    Uint8Array.of(stateFormat, s.role === 'initiator' ? 0 : 1),
    s.ad,
    s.dhs.secretKey,
    s.dhs.publicKey,
    s.rootKey,
    Uint8Array.of(flags),
  ];
  if (s.dhr) parts.push(s.dhr);
  if (s.cks) parts.push(s.cks);
  parts.push(u32be(s.ns));
  if (s.ckr) parts.push(s.ckr);
  parts.push(u32be(s.nr), u32be(s.pn));
  if (s.initial) {
    const p = s.initial;
    parts.push(p.identityKey, p.ephemeralKey, u32be(p.signedPreKeyId), u32be(p.oneTimePreKeyId));
  }
  parts.push(Uint8Array.of(s.previousChains.length), ...s.previousChains);
  parts.push(Uint8Array.of(s.skipped.length >> 8, s.skipped.length & 0xff));
  for (const k of s.skipped) parts.push(k.dh, u32be(k.n), k.mk, u64be(k.storedAt));
  return concat(...parts);
}

function decodeState(bytes: Uint8Array): SessionState {
  const r = new ByteReader(bytes);
  const key = (): Uint8Array => r.take(wire.keyBytes);
  ensure(r.u8() === stateFormat, 'malformed_input');
  const roleCode = r.u8();
  ensure(roleCode <= 1, 'malformed_input');
  const ad = r.take(2 * wire.keyBytes);
  const dhs = { secretKey: key(), publicKey: key() };
  const rootKey = key();
  const flags = r.u8();
  ensure((flags & ~(flagDhr | flagCks | flagCkr | flagInitial)) === 0, 'malformed_input');
  const dhr = flags & flagDhr ? key() : null;
  const cks = flags & flagCks ? key() : null;
  const ns = r.u32();
  const ckr = flags & flagCkr ? key() : null;
  const nr = r.u32();
  const pn = r.u32();
  const initial: InitialPrefix | null =
    flags & flagInitial
      ? { identityKey: key(), ephemeralKey: key(), signedPreKeyId: r.u32(), oneTimePreKeyId: r.u32() }
      : null;
  const chainCount = r.u8();
  ensure(chainCount <= limits.maxReceivingChains - 1, 'malformed_input');
  const previousChains: Uint8Array[] = [];
  for (let i = 0; i < chainCount; i++) previousChains.push(key());
  const skippedCount = (r.u8() << 8) | r.u8();
  ensure(skippedCount <= limits.maxSkippedKeys, 'malformed_input');
  const skipped: SkippedKey[] = [];
  for (let i = 0; i < skippedCount; i++) {
    const dhKey = key();
    const n = r.u32();
    const mk = key();
    skipped.push({ dh: dhKey, n, mk, storedAt: r.u64() });
  }
  r.end();
  return {
    role: roleCode === 0 ? 'initiator' : 'responder',
    ad,
    dhs,
    rootKey,
    dhr,
    cks,
    ns,
    ckr,
    nr,
    pn,
    initial,
    previousChains,
    skipped,
  };
}

/** A read-only view of a serialised state, for tests that check what a state retains. */
export function inspectSessionState(bytes: Uint8Array): {
  rootKey: Uint8Array;
  sendingChainKey: Uint8Array | null;
  receivingChainKey: Uint8Array | null;
  skippedMessageKeys: Uint8Array[];
  previousChains: number;
} {
  const s = decodeState(bytes);
  return {
    rootKey: s.rootKey,
    sendingChainKey: s.cks,
    receivingChainKey: s.ckr,
    skippedMessageKeys: s.skipped.map((k) => k.mk),
    previousChains: s.previousChains.length,
  };
}

/** Parses only what a responder needs to pick its prekeys (undefined for a type 0x02 message). */
export function peekInitialPrefix(bytes: Uint8Array): InitialPrefix | undefined {
  return decodeMessage(bytes).initial;
}
