import { argon2id, openBlob, sealBlob, splitBlob } from './aead.js';
import { crockfordDecode, crockfordEncode, crockfordNormalize, groupByFour } from './base32.js';
import { utf8 } from './bytes.js';
import { CryptoError, precondition } from './errors.js';
import { hkdf } from './hkdf.js';
import { labels } from './limits.js';
import type { Random } from './random.js';
import { wipe } from './sodium.js';

const saltBytes = 16;

function passphraseKey(passphrase: string, salt: Uint8Array): Uint8Array {
  precondition(passphrase.length > 0, 'empty passphrase');
  return argon2id(32, utf8(passphrase), salt);
}

/**
 * Seals a worker's serialized keys under a passphrase:
 * 0x01 || salt (16, random) || nonce (24) || AEAD(Argon2id(passphrase, salt), AD = "Relais_Keystore_v1" || 0x01).
 */
export function sealKeystore(passphrase: string, plaintext: Uint8Array, random: Random): Uint8Array {
  const salt = random.bytes(saltBytes);
  const key = passphraseKey(passphrase, salt);
  try {
    return sealBlob(key, plaintext, labels.keystoreAd, random, salt);
  } finally {
    wipe(key);
  }
}

/** Opens a keystore; `authentication_failed` for a wrong passphrase or a tampered blob. */
export function openKeystore(passphrase: string, blob: Uint8Array): Uint8Array {
  const { prefix: salt } = splitBlob(blob, saltBytes);
  const key = passphraseKey(passphrase, salt);
  try {
    return openBlob(key, blob, labels.keystoreAd, saltBytes);
  } finally {
    wipe(key);
  }
}

/** Characters of a recovery key: 256 bits in Crockford base32. */
const recoveryKeyChars = 52;

/** A new 32-byte recovery key (one 32-byte draw); the caller shows it once and wipes it. */
export function generateRecoveryKey(random: Random): Uint8Array {
  return random.bytes(32);
}

/** The recovery key as 52 Crockford characters in groups of four, for printing. */
export function formatRecoveryKey(recoveryKey: Uint8Array): string {
  precondition(recoveryKey.length === 32, 'recovery key must be 32 bytes');
  return groupByFour(crockfordEncode(recoveryKey));
}

/** Parses a typed recovery key (case, spaces, dashes, O/I/L tolerated); `bad_code` otherwise. */
export function parseRecoveryKey(text: string): Uint8Array {
  const normalized = crockfordNormalize(text);
  if (normalized.length !== recoveryKeyChars) throw new CryptoError('bad_code');
  return crockfordDecode(normalized, 32);
}

/** What a recovery key derives: the blob key and the lookup id the server indexes the blob by. */
export interface RecoveryKeys {
  readonly backupKey: Uint8Array;
  readonly lookupId: Uint8Array;
}

/** HKDF(zeros, recovery key, "Relais_Recovery_v1" / "Relais_RecoveryLookup_v1", 32). */
export function deriveRecoveryKeys(recoveryKey: Uint8Array): RecoveryKeys {
  precondition(recoveryKey.length === 32, 'recovery key must be 32 bytes');
  const zeros = new Uint8Array(32);
  return {
    backupKey: hkdf(zeros, recoveryKey, labels.recoveryInfo, 32),
    lookupId: hkdf(zeros, recoveryKey, labels.recoveryLookupInfo, 32),
  };
}

/** Seals the worker's key backup under the recovery key's backup key. */
export function sealRecoveryBackup(backupKey: Uint8Array, plaintext: Uint8Array, random: Random): Uint8Array {
  return sealBlob(backupKey, plaintext, labels.recoveryAd, random);
}

/** Opens a recovery backup; `malformed_input` or `authentication_failed`. */
export function openRecoveryBackup(backupKey: Uint8Array, blob: Uint8Array): Uint8Array {
  return openBlob(backupKey, blob, labels.recoveryAd);
}
