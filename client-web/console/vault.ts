// The worker's keys and records, kept only inside her sealed keystore and recovery blob.
import {
  IdentityKeyPair,
  RatchetSession,
  deriveRecoveryKeys,
  fromBase64Url,
  generateOneTimePreKey,
  generateSignedPreKey,
  labels,
  openBlob,
  openRecoveryBackup,
  argon2id,
  sealBlob,
  sealRecoveryBackup,
  signPreKey,
  splitBlob,
  toBase64Url,
  utf8,
  wipe,
  x25519FromSecret,
  type OneTimePreKey,
  type PreKeyStore,
  type Random,
  type SignedPreKey,
  type SignedPreKeyStore,
} from '../common/crypto/index.js';
import { consoleLimits } from './limits.js';

/** Who wrote a message, as on the wire. */
export type Sender = 'worker' | 'beneficiary';

/** Where a message the worker wrote stands. */
export type Delivery = 'held' | 'pending' | 'sent' | 'delivered' | 'read';

/** One message as the console shows it (plaintext: it lives only in memory and in sealed blobs). */
export interface ShownMessage {
  seq: number;
  sender: Sender;
  text: string;
  sentAt: number;
  clientMsgId: string;
  /** Worker's messages only; `held`: written before the session existed, sent when it opens. */
  delivery?: Delivery;
  /** Worker's unacknowledged messages: the exact ciphertext to resend (the ratchet moved on). */
  pendingCiphertext?: string;
}

/** One conversation of this worker, open or ended. */
export interface ConversationRecord {
  id: number;
  /** The beneficiary's Ed25519 identity key, base64url. */
  beneficiaryKey: string;
  urgent: boolean;
  returning: boolean;
  open: boolean;
  endedReason?: string;
  transferredFrom?: number;
  /** Set once this conversation was handed to a colleague. */
  transferredTo?: number;
  /** Highest seq received or acknowledged (the sync cursor). */
  lastSeq: number;
  /** Serialised ratchet session, base64url; absent until the beneficiary's first message. */
  session?: string;
  /** The pre-chat answers she sealed to this worker (CRYPTO.md §17.8 `text`), once opened. */
  prechat?: string;
  /** The message she left in the inbox that this conversation answers, once opened. */
  inboxText?: string;
  /** The inbox entry this conversation answers. */
  inboxId?: number;
  messages: ShownMessage[];
  openedAt: number;
}

/** A private note about one beneficiary, readable by this worker only. */
export interface Note {
  text: string;
  updatedAt: number;
}

/** A reply the worker wrote once and reuses. */
export interface CannedReply {
  id: string;
  title: string;
  text: string;
}

interface StoredPreKey {
  id: number;
  secret: string;
  signature?: string;
  createdAt?: number;
  /** Signed prekeys after the first: unix seconds it stopped being the current one. */
  retiredAt?: number;
}

interface VaultJson {
  format: 1;
  identitySeed: string;
  signedPreKeys: StoredPreKey[];
  oneTimePreKeys: StoredPreKey[];
  nextOneTimePreKeyId: number;
  nextSignedPreKeyId: number;
  certificate?: string;
  recovery?: { backupKey: string; lookupId: string };
  conversations: ConversationRecord[];
  notes: Record<string, Note>;
  canned: CannedReply[];
}

/** Thrown when a sealed vault's plaintext is not a vault this console wrote. */
export class VaultFormatError extends Error {
  override readonly name = 'VaultFormatError';
}

/**
 * Everything the worker's console must not lose and the server must not read: identity,
 * prekeys, ratchet sessions, conversation history, private notes, canned replies and the
 * recovery blob's key. Serialised as JSON inside the keystore (CRYPTO.md §10) and the recovery
 * blob; never written to browser storage.
 */
export class Vault {
  readonly identity: IdentityKeyPair;
  /**
   * Current signed prekey first, then the retired ones, newest first: kept for initial messages
   * in flight and for content sealed to them that may be unread (CRYPTO.md §11, §17).
   */
  signedPreKeys: SignedPreKey[];
  /** Unix seconds each retired signed prekey (by id) stopped being the current one. */
  readonly spkRetiredAt = new Map<number, number>();
  readonly oneTimePreKeys = new Map<number, OneTimePreKey>();
  nextOneTimePreKeyId: number;
  nextSignedPreKeyId: number;
  spkCreatedAt: number;
  certificate: Uint8Array | undefined;
  recovery: { backupKey: Uint8Array; lookupId: Uint8Array } | undefined;
  readonly conversations = new Map<number, ConversationRecord>();
  readonly notes = new Map<string, Note>();
  canned: CannedReply[] = [];

  private constructor(identity: IdentityKeyPair, spks: SignedPreKey[], spkCreatedAt: number, nextOpk: number, nextSpk: number) {
    this.identity = identity;
    this.signedPreKeys = spks;
    this.spkCreatedAt = spkCreatedAt;
    this.nextOneTimePreKeyId = nextOpk;
    this.nextSignedPreKeyId = nextSpk;
  }

  /** A new worker identity with its first signed prekey and a batch of one-time prekeys. */
  static create(random: Random, nowSeconds: number): Vault {
    const identity = IdentityKeyPair.generate(random);
    const spk = generateSignedPreKey(identity, 1, random);
    const v = new Vault(identity, [spk], nowSeconds, 1, 2);
    v.addOneTimePreKeys(consoleLimits.oneTimePreKeyBatch, random);
    return v;
  }

  /** Generates `count` new one-time prekeys, keeps their secrets and returns them (to publish). */
  addOneTimePreKeys(count: number, random: Random): OneTimePreKey[] {
    const out: OneTimePreKey[] = [];
    for (let i = 0; i < count; i++) {
      const opk = generateOneTimePreKey(this.nextOneTimePreKeyId++, random);
      this.oneTimePreKeys.set(opk.id, opk);
      out.push(opk);
    }
    return out;
  }

  /**
   * Rotates the signed prekey when it is older than a week (CRYPTO.md §11); true if it did. The
   * retired one is kept: `pruneSignedPreKeys` deletes it once nothing sealed to it can be unread.
   */
  rotateSignedPreKeyIfDue(random: Random, nowSeconds: number): boolean {
    if (nowSeconds - this.spkCreatedAt < consoleLimits.spkRotationSeconds) return false;
    const spk = generateSignedPreKey(this.identity, this.nextSignedPreKeyId++, random);
    this.spkRetiredAt.set(this.signedPreKeys[0]!.id, nowSeconds);
    this.signedPreKeys = [spk, ...this.signedPreKeys];
    this.spkCreatedAt = nowSeconds;
    return true;
  }

  /**
   * Deletes the retired signed prekeys that nothing can need any more (CRYPTO.md §11): retired
   * at least 30 days ago and named by no unanswered inbox entry (`stillNamed`: the spk_ids of a
   * complete `inbox.list`; pre-chat blobs wait in the queue for hours at most, well within the
   * 30 days). Returns the ids deleted.
   */
  pruneSignedPreKeys(nowSeconds: number, stillNamed: ReadonlySet<number>): number[] {
    const dropped: number[] = [];
    this.signedPreKeys = this.signedPreKeys.filter((k, i) => {
      if (i === 0) return true;
      const retired = this.spkRetiredAt.get(k.id) ?? 0;
      if (nowSeconds - retired < consoleLimits.retiredSpkKeepSeconds || stillNamed.has(k.id)) return true;
      wipe(k.keyPair.secretKey);
      this.spkRetiredAt.delete(k.id);
      dropped.push(k.id);
      return false;
    });
    return dropped;
  }

  /**
   * What RatchetSession.respond looks prekeys up in: the current signed prekey and the ones
   * retired less than a rotation period ago (initial messages in flight), and the one-time prekeys.
   */
  preKeyStore(nowSeconds: number): PreKeyStore {
    return {
      signedPreKey: (id) =>
        this.signedPreKeys.find((k, i) => k.id === id && (i === 0 || nowSeconds - (this.spkRetiredAt.get(k.id) ?? 0) < consoleLimits.spkRotationSeconds)),
      oneTimePreKey: (id) => this.oneTimePreKeys.get(id),
    };
  }

  /** What sealed content (pre-chat, inbox) is opened with: every signed prekey still held. */
  sealedPreKeyStore(): SignedPreKeyStore {
    return { signedPreKey: (id) => this.signedPreKeys.find((k) => k.id === id) };
  }

  /** Deletes a one-time prekey once the initial message that used it authenticated. */
  consumeOneTimePreKey(id: number | undefined): void {
    if (id === undefined) return;
    const k = this.oneTimePreKeys.get(id);
    if (k) wipe(k.keyPair.secretKey);
    this.oneTimePreKeys.delete(id);
  }

  /** The `keys.publish` frame fields (without type/rid): identity, current SPK, certificate, OPKs. */
  publishFields(oneTimePreKeys: OneTimePreKey[], withSignedPreKey: boolean): Record<string, unknown> {
    const f: Record<string, unknown> = { identity_key: toBase64Url(this.identity.publicKey) };
    if (withSignedPreKey) {
      const spk = this.signedPreKeys[0]!;
      f['spk_id'] = spk.id;
      f['spk_pub'] = toBase64Url(spk.keyPair.publicKey);
      f['spk_signature'] = toBase64Url(spk.signature);
    }
    if (oneTimePreKeys.length > 0) {
      f['one_time_prekeys'] = oneTimePreKeys.map((k) => ({ opk_id: k.id, opk_pub: toBase64Url(k.keyPair.publicKey) }));
    }
    if (this.certificate) f['worker_certificate'] = toBase64Url(this.certificate);
    return f;
  }

  /** A conversation's ratchet session, or undefined before the beneficiary's first message. */
  session(conversationId: number, random: Random): RatchetSession | undefined {
    const c = this.conversations.get(conversationId);
    if (!c?.session) return undefined;
    return RatchetSession.deserialize(fromBase64Url(c.session), random);
  }

  /** Stores a session's new state in its conversation. */
  saveSession(conversationId: number, session: RatchetSession): void {
    const c = this.conversations.get(conversationId);
    if (c) c.session = toBase64Url(session.serialize());
  }

  /** Sets or (with empty text) removes the note about a beneficiary; false if the text is too long. */
  setNote(beneficiaryKey: string, text: string, nowMs: number): boolean {
    if (utf8(text).length > consoleLimits.maxNoteBytes) return false;
    if (text.trim() === '') this.notes.delete(beneficiaryKey);
    else this.notes.set(beneficiaryKey, { text, updatedAt: nowMs });
    return true;
  }

  /** JSON bytes of the vault, trimmed to fit `maxBytes` by dropping the oldest ended conversations' messages. */
  serialize(maxBytes = consoleLimits.maxVaultPlaintext): { bytes: Uint8Array; trimmed: boolean } {
    let trimmed = false;
    for (;;) {
      const bytes = utf8(JSON.stringify(this.toJson()));
      if (bytes.length <= maxBytes) return { bytes, trimmed };
      const ended = [...this.conversations.values()].filter((c) => !c.open && c.messages.length > 0).sort((a, b) => a.openedAt - b.openedAt);
      const oldest = ended[0];
      if (!oldest) return { bytes, trimmed };
      oldest.messages = [];
      trimmed = true;
    }
  }

  private toJson(): VaultJson {
    const seed = this.identity.seed();
    const json: VaultJson = {
      format: 1,
      identitySeed: toBase64Url(seed),
      signedPreKeys: this.signedPreKeys.map((k, i) => ({
        id: k.id,
        secret: toBase64Url(k.keyPair.secretKey),
        signature: toBase64Url(k.signature),
        ...(i === 0 ? { createdAt: this.spkCreatedAt } : { retiredAt: this.spkRetiredAt.get(k.id) ?? 0 }),
      })),
      oneTimePreKeys: [...this.oneTimePreKeys.values()].map((k) => ({ id: k.id, secret: toBase64Url(k.keyPair.secretKey) })),
      nextOneTimePreKeyId: this.nextOneTimePreKeyId,
      nextSignedPreKeyId: this.nextSignedPreKeyId,
      conversations: [...this.conversations.values()],
      notes: Object.fromEntries(this.notes),
      canned: this.canned,
    };
    wipe(seed);
    if (this.certificate) json.certificate = toBase64Url(this.certificate);
    if (this.recovery) json.recovery = { backupKey: toBase64Url(this.recovery.backupKey), lookupId: toBase64Url(this.recovery.lookupId) };
    return json;
  }

  /** Rebuilds a vault from `serialize()` bytes; VaultFormatError if they are not one. */
  static deserialize(bytes: Uint8Array): Vault {
    let j: VaultJson;
    try {
      j = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as VaultJson;
    } catch {
      throw new VaultFormatError('not a console vault');
    }
    if (j === null || typeof j !== 'object' || j.format !== 1 || typeof j.identitySeed !== 'string' || !Array.isArray(j.signedPreKeys) || j.signedPreKeys.length === 0) {
      throw new VaultFormatError('not a console vault (format 1)');
    }
    try {
      const seed = fromBase64Url(j.identitySeed);
      const identity = IdentityKeyPair.fromSeed(seed);
      wipe(seed);
      const spks = j.signedPreKeys.map((k) => signPreKey(identity, k.id, x25519FromSecret(fromBase64Url(k.secret))));
      const v = new Vault(identity, spks, j.signedPreKeys[0]!.createdAt ?? 0, j.nextOneTimePreKeyId, j.nextSignedPreKeyId);
      // A vault written before retirement times were kept: its previous key retired with the current one's creation.
      for (const k of j.signedPreKeys.slice(1)) v.spkRetiredAt.set(k.id, k.retiredAt ?? v.spkCreatedAt);
      for (const k of j.oneTimePreKeys) v.oneTimePreKeys.set(k.id, { id: k.id, keyPair: x25519FromSecret(fromBase64Url(k.secret)) });
      if (j.certificate) v.certificate = fromBase64Url(j.certificate);
      if (j.recovery) v.recovery = { backupKey: fromBase64Url(j.recovery.backupKey), lookupId: fromBase64Url(j.recovery.lookupId) };
      for (const c of j.conversations ?? []) v.conversations.set(c.id, c);
      for (const [k, n] of Object.entries(j.notes ?? {})) v.notes.set(k, n);
      v.canned = j.canned ?? [];
      return v;
    } catch (e) {
      if (e instanceof VaultFormatError) throw e;
      throw new VaultFormatError('damaged console vault');
    }
  }

  /** Overwrites every secret key held in memory. */
  destroy(): void {
    this.identity.destroy();
    for (const k of this.signedPreKeys) wipe(k.keyPair.secretKey);
    for (const k of this.oneTimePreKeys.values()) wipe(k.keyPair.secretKey);
    if (this.recovery) wipe(this.recovery.backupKey);
  }
}

/** The passphrase-derived key of a keystore, kept in memory while unlocked so saves cost no Argon2id. */
export interface KeystoreKey {
  readonly salt: Uint8Array;
  readonly key: Uint8Array;
}

const keystoreSaltBytes = 16;

/** Derives a keystore key from a passphrase: a fresh salt, or the salt of an existing blob. */
export function keystoreKey(passphrase: string, random: Random, existingBlob?: Uint8Array): KeystoreKey {
  const salt = existingBlob ? splitBlob(existingBlob, keystoreSaltBytes).prefix : random.bytes(keystoreSaltBytes);
  return { salt, key: argon2id(32, utf8(passphrase), salt) };
}

/** Seals vault bytes as a keystore blob (CRYPTO.md §10: 0x01 || salt || nonce || AEAD). */
export function sealVault(k: KeystoreKey, plaintext: Uint8Array, random: Random): Uint8Array {
  return sealBlob(k.key, plaintext, labels.keystoreAd, random, k.salt);
}

/** Opens a keystore blob; CryptoError `authentication_failed` for a wrong passphrase. */
export function openVault(k: KeystoreKey, blob: Uint8Array): Uint8Array {
  return openBlob(k.key, blob, labels.keystoreAd, keystoreSaltBytes);
}

/** Gives the vault a recovery blob key from a fresh recovery key (shown once, never kept). */
export function attachRecovery(vault: Vault, recoveryKey: Uint8Array): void {
  const keys = deriveRecoveryKeys(recoveryKey);
  vault.recovery = { backupKey: keys.backupKey, lookupId: keys.lookupId };
}

/** Seals vault bytes for the recovery blob. */
export function sealRecovery(vault: Vault, plaintext: Uint8Array, random: Random): Uint8Array | undefined {
  return vault.recovery ? sealRecoveryBackup(vault.recovery.backupKey, plaintext, random) : undefined;
}

/** Opens a recovery blob with the typed recovery key's derived keys. */
export function openRecovery(backupKey: Uint8Array, blob: Uint8Array): Uint8Array {
  return openRecoveryBackup(backupKey, blob);
}
