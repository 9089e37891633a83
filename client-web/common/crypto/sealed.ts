/**
 * "Sealed to workers" (protocol/CRYPTO.md §17): the beneficiary encrypts content once and wraps
 * its key to each worker's signed prekey, for the pre-chat answers of `queue.join` and the
 * closed-hours inbox (`inbox.send`). No one-time prekey is consumed. The C++ twin is
 * protocol/src/crypto/sealed.cpp; both seal byte-identical output from the same randomness.
 */
import { aeadDecrypt, aeadEncrypt } from './aead.js';
import { ByteReader, concat, u32be, u64be, utf8 } from './bytes.js';
import { verifyWorkerCertificate } from './certificate.js';
import { CryptoError, ensure } from './errors.js';
import { hkdf } from './hkdf.js';
import { dh, ed25519PublicToX25519, generateX25519, verifySignedPreKey, type IdentityKeyPair, type SignedPreKey } from './keys.js';
import { limits, wire } from './limits.js';
import type { Random } from './random.js';
import { sodium, wipe } from './sodium.js';
import type { PreKeyBundle } from './x3dh.js';

/** Limits and labels of sealed messages (CRYPTO.md §17.5); the same values as sealed.hpp. */
export const sealedLimits = {
  /** Workers: most recipients of one sealed message (PROTOCOL.md `inbox.send`: 1–16). */
  maxRecipients: 16,
  /** Bytes: largest pre-chat blob (PROTOCOL.md `queue.join.prechat`: 1–4096). */
  maxPrechatBlob: 4096,
  /** Bytes: largest inbox content ciphertext (PROTOCOL.md `inbox.send.ciphertext`: 1–40,960). */
  maxInboxCiphertext: 40960,
  /** Bytes: largest wrapped key accepted in a pre-chat entry (version 1 keys are 85 bytes). */
  maxWrappedKey: 512,
  /** Bytes of a version-1 wrapped key: version || spk_id || ephemeral || AEAD(32 + 16). */
  wrappedKeyBytes: 85,
  /** Bytes a content ciphertext adds to the padded plaintext: version || nonce || tag. */
  contentOverhead: 41,
} as const;

const version = 0x01;
const contentLabel = 'Relais_Sealed_v1';
const keyLabel = 'Relais_SealedKey_v1';
/** Bytes of the wrapped key's clear header: version || spk_id || ephemeral public key. */
const wrappedHeaderBytes = 1 + 4 + 32;
const prechatEntryOverhead = 8 + 2;
const prechatHeaderBytes = 2;
/** The wrap's nonce: all zero, safe because each wrap key (fresh ephemeral key) encrypts one plaintext. */
const zeroNonce = new Uint8Array(wire.nonceBytes);

/** What a sealed message is for; bound into every AEAD so that one never passes for the other. */
export type SealedPurpose = 'prechat' | 'inbox';

const purposeByte: Record<SealedPurpose, number> = { prechat: 0x01, inbox: 0x02 };

/**
 * A worker a beneficiary may seal to. Built only by `SealedRecipient.verify`, so nothing is ever
 * sealed to keys whose certificate and signed-prekey signature were not checked.
 */
export class SealedRecipient {
  private constructor(
    readonly workerId: number,
    readonly identityKey: Uint8Array,
    readonly signedPreKeyId: number,
    readonly signedPreKey: Uint8Array,
    /** The certified display name. */
    readonly displayName: string,
  ) {}

  /**
   * Checks a worker's bundle from `keys.fetch {worker_id}`: the certificate against the pinned org
   * fingerprint at `now` (CRYPTO.md §7 errors), that it certifies the bundle's identity key, and
   * the SPK signature (`authentication_failed`). The bundle's one-time prekey is ignored.
   */
  static verify(workerId: number, bundle: PreKeyBundle, certificate: Uint8Array, pinnedOrgFingerprint: string, now: number): SealedRecipient {
    ensure(Number.isSafeInteger(workerId) && workerId >= 0, 'malformed_input');
    const cert = verifyWorkerCertificate(certificate, pinnedOrgFingerprint, now, bundle.identityKey);
    verifySignedPreKey(bundle.identityKey, bundle.signedPreKeyId, bundle.signedPreKey, bundle.signedPreKeySignature);
    ensure(bundle.signedPreKey.length === wire.keyBytes, 'invalid_public_key');
    return new SealedRecipient(workerId, bundle.identityKey.slice(), bundle.signedPreKeyId, bundle.signedPreKey.slice(), cert.displayName);
  }
}

/** One recipient's wrapped content key. */
export interface SealedKey {
  readonly workerId: number;
  readonly wrappedKey: Uint8Array;
}

/** Content encrypted once and its key wrapped for each recipient (the fields of `inbox.send`). */
export interface SealedMessage {
  readonly ciphertext: Uint8Array;
  readonly keys: readonly SealedKey[];
}

/** Where the worker's signed-prekey secrets come from (current and previous ones, CRYPTO.md §11). */
export interface SignedPreKeyStore {
  signedPreKey(id: number): SignedPreKey | undefined;
}

function contentAd(purpose: SealedPurpose, beneficiary: Uint8Array): Uint8Array {
  return concat(utf8(contentLabel), Uint8Array.of(purposeByte[purpose]), beneficiary);
}

function keyAd(purpose: SealedPurpose, worker: Uint8Array, beneficiary: Uint8Array, content: Uint8Array, header: Uint8Array): Uint8Array {
  return concat(utf8(keyLabel), Uint8Array.of(purposeByte[purpose]), worker, beneficiary, sodium.crypto_hash_sha256(content), header);
}

function wrapKey(dhEphemeral: Uint8Array, dhStatic: Uint8Array): Uint8Array {
  const ikm = concat(dhEphemeral, dhStatic);
  const key = hkdf(new Uint8Array(32), ikm, keyLabel, 32);
  wipe(ikm, dhEphemeral, dhStatic);
  return key;
}

function contentLimit(purpose: SealedPurpose): number {
  return purpose === 'inbox' ? sealedLimits.maxInboxCiphertext : sealedLimits.maxPrechatBlob;
}

/** Bytes: the longest pre-chat plaintext that fits in 4096 bytes with `recipients` recipients. */
export function maxPrechatPlaintext(recipients: number): number {
  const fixed = prechatHeaderBytes + sealedLimits.contentOverhead + recipients * (prechatEntryOverhead + sealedLimits.wrappedKeyBytes);
  if (fixed + limits.padBlock > sealedLimits.maxPrechatBlob) return 0;
  // sodium_pad always adds at least one byte: k blocks carry at most 256k - 1 bytes.
  return Math.floor((sealedLimits.maxPrechatBlob - fixed) / limits.padBlock) * limits.padBlock - 1;
}

/** Bytes: the longest inbox plaintext whose ciphertext fits in 40,960 bytes (40,703). */
export function maxInboxPlaintext(): number {
  return Math.floor((sealedLimits.maxInboxCiphertext - sealedLimits.contentOverhead) / limits.padBlock) * limits.padBlock - 1;
}

/**
 * Seals `plaintext` from `beneficiary` to 1..16 distinct recipients. Random draws: content key
 * (32), content nonce (24), then one ephemeral key (32) per recipient in order. `malformed_input`
 * for no, too many or repeated recipients, or a plaintext too long for the purpose's limit.
 */
export function sealToWorkers(
  purpose: SealedPurpose,
  beneficiary: IdentityKeyPair,
  recipients: readonly SealedRecipient[],
  plaintext: Uint8Array,
  random: Random,
): SealedMessage {
  ensure(recipients.length >= 1 && recipients.length <= sealedLimits.maxRecipients, 'malformed_input');
  ensure(new Set(recipients.map((r) => r.workerId)).size === recipients.length, 'malformed_input');
  const paddedSize = (Math.floor(plaintext.length / limits.padBlock) + 1) * limits.padBlock;
  ensure(sealedLimits.contentOverhead + paddedSize <= contentLimit(purpose), 'malformed_input');

  const contentKey = random.bytes(32);
  const nonce = random.bytes(wire.nonceBytes);
  const padded = sodium.pad(plaintext, limits.padBlock);
  const ciphertext = concat(Uint8Array.of(version), nonce, aeadEncrypt(contentKey, nonce, padded, contentAd(purpose, beneficiary.publicKey)));
  wipe(padded);
  try {
    const keys = recipients.map((r): SealedKey => {
      const eph = generateX25519(random);
      try {
        const k = wrapKey(dh(eph.secretKey, r.signedPreKey), dh(beneficiary.x25519Secret, r.signedPreKey));
        const header = concat(Uint8Array.of(version), u32be(r.signedPreKeyId), eph.publicKey);
        const ad = keyAd(purpose, r.identityKey, beneficiary.publicKey, ciphertext, header);
        const wrapped = aeadEncrypt(k, zeroNonce, contentKey, ad);
        wipe(k);
        return { workerId: r.workerId, wrappedKey: concat(header, wrapped) };
      } finally {
        wipe(eph.secretKey);
      }
    });
    return { ciphertext, keys };
  } finally {
    wipe(contentKey);
  }
}

/**
 * A worker opens content with her wrapped key, her signed-prekey secrets (by the wrapped key's
 * spk_id; one-time prekeys are never used) and the beneficiary identity key the server showed.
 * Errors in CRYPTO.md §17.4 order; every tag failure is `authentication_failed`.
 */
export function openSealed(
  purpose: SealedPurpose,
  worker: IdentityKeyPair,
  preKeys: SignedPreKeyStore,
  beneficiaryIdentity: Uint8Array,
  wrappedKey: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  // 1. The wrapped key's structure, 2. the content's: nothing secret is touched before both parse.
  ensure(wrappedKey.length >= 1, 'malformed_input');
  ensure(wrappedKey[0] === version, 'unsupported_version');
  ensure(wrappedKey.length === sealedLimits.wrappedKeyBytes, 'malformed_input');
  ensure(ciphertext.length >= 1, 'malformed_input');
  ensure(ciphertext[0] === version, 'unsupported_version');
  ensure(
    ciphertext.length >= sealedLimits.contentOverhead + limits.padBlock &&
      ciphertext.length <= contentLimit(purpose) &&
      (ciphertext.length - sealedLimits.contentOverhead) % limits.padBlock === 0,
    'malformed_input',
  );
  const r = new ByteReader(wrappedKey);
  r.u8();
  const spkId = r.u32();
  const ephemeral = r.take(32);
  const wrapped = r.rest();
  // 3. Which signed prekey; 4. the two DH (a low-order point is invalid_public_key).
  const spk = preKeys.signedPreKey(spkId);
  if (!spk) throw new CryptoError('unknown_prekey');
  const beneficiaryX = ed25519PublicToX25519(beneficiaryIdentity);
  const k = wrapKey(dh(spk.keyPair.secretKey, ephemeral), dh(spk.keyPair.secretKey, beneficiaryX));
  // 5. The wrap (binds both identities and the content), 6. the content.
  const ad = keyAd(purpose, worker.publicKey, beneficiaryIdentity, ciphertext, wrappedKey.subarray(0, wrappedHeaderBytes));
  let contentKey: Uint8Array;
  try {
    contentKey = aeadDecrypt(k, zeroNonce, wrapped, ad);
  } finally {
    wipe(k);
  }
  try {
    ensure(contentKey.length === 32, 'authentication_failed');
    const nonce = ciphertext.subarray(1, 1 + wire.nonceBytes);
    const padded = aeadDecrypt(contentKey, nonce, ciphertext.subarray(1 + wire.nonceBytes), contentAd(purpose, beneficiaryIdentity));
    try {
      return sodium.unpad(padded, limits.padBlock);
    } catch {
      throw new CryptoError('authentication_failed');
    } finally {
      wipe(padded);
    }
  } finally {
    wipe(contentKey);
  }
}

/**
 * The pre-chat blob: 0x01 || count || count x (u64be worker_id || u16be length || wrapped key) ||
 * content ciphertext. `malformed_input` if it would exceed 4096 bytes or the message is invalid.
 */
export function encodePrechat(message: SealedMessage): Uint8Array {
  const { keys, ciphertext } = message;
  ensure(keys.length >= 1 && keys.length <= sealedLimits.maxRecipients, 'malformed_input');
  ensure(new Set(keys.map((k) => k.workerId)).size === keys.length, 'malformed_input');
  const parts: Uint8Array[] = [Uint8Array.of(version, keys.length)];
  for (const k of keys) {
    ensure(k.wrappedKey.length >= 1 && k.wrappedKey.length <= sealedLimits.maxWrappedKey, 'malformed_input');
    ensure(Number.isSafeInteger(k.workerId) && k.workerId >= 0, 'malformed_input');
    parts.push(u64be(k.workerId), Uint8Array.of(k.wrappedKey.length >> 8, k.wrappedKey.length & 0xff), k.wrappedKey);
  }
  ensure(ciphertext.length >= 1, 'malformed_input');
  parts.push(ciphertext);
  const blob = concat(...parts);
  ensure(blob.length <= sealedLimits.maxPrechatBlob, 'malformed_input');
  return blob;
}

/** Parses a pre-chat blob (structure only; nothing is decrypted). */
export function decodePrechat(blob: Uint8Array): SealedMessage {
  ensure(blob.length >= 1, 'malformed_input');
  ensure(blob[0] === version, 'unsupported_version');
  ensure(blob.length <= sealedLimits.maxPrechatBlob, 'malformed_input');
  const r = new ByteReader(blob);
  r.u8();
  const count = r.u8();
  ensure(count >= 1 && count <= sealedLimits.maxRecipients, 'malformed_input');
  const keys: SealedKey[] = [];
  const ids = new Set<number>();
  for (let i = 0; i < count; i++) {
    const workerId = r.u64();
    const length = (r.u8() << 8) | r.u8();
    ensure(length >= 1 && length <= sealedLimits.maxWrappedKey, 'malformed_input');
    const wrappedKey = r.take(length);
    ensure(!ids.has(workerId), 'malformed_input');
    ids.add(workerId);
    keys.push({ workerId, wrappedKey });
  }
  const ciphertext = r.rest();
  ensure(ciphertext.length >= 1, 'malformed_input');
  return { ciphertext, keys };
}

/** `sealToWorkers` (purpose prechat) then `encodePrechat`. */
export function sealPrechat(beneficiary: IdentityKeyPair, recipients: readonly SealedRecipient[], plaintext: Uint8Array, random: Random): Uint8Array {
  ensure(plaintext.length <= maxPrechatPlaintext(recipients.length), 'malformed_input');
  return encodePrechat(sealToWorkers('prechat', beneficiary, recipients, plaintext, random));
}

/** `decodePrechat`, then `openSealed` with this worker's entry (none: `unknown_prekey`). */
export function openPrechat(
  worker: IdentityKeyPair,
  workerId: number,
  preKeys: SignedPreKeyStore,
  beneficiaryIdentity: Uint8Array,
  blob: Uint8Array,
): Uint8Array {
  const m = decodePrechat(blob);
  const mine = m.keys.find((k) => k.workerId === workerId);
  if (!mine) throw new CryptoError('unknown_prekey'); // not sealed to this worker
  return openSealed('prechat', worker, preKeys, beneficiaryIdentity, mine.wrappedKey, m.ciphertext);
}
