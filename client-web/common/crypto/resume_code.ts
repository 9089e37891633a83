import { argon2id, openBlob, sealBlob } from './aead.js';
import { utf8 } from './bytes.js';
import { crockfordEncode, crockfordNormalize, groupByFour } from './base32.js';
import { CryptoError } from './errors.js';
import { labels } from './limits.js';
import type { Random } from './random.js';
import { sodium, wipe } from './sodium.js';

/** Characters in a resume code (60 bits). */
const resumeCodeChars = 12;

/**
 * A new resume code, XXXX-XXXX-XXXX: 60 random bits (the first 60 bits of one 8-byte draw)
 * in Crockford base32. Short enough to read aloud over the phone.
 */
export function generateResumeCode(random: Random): string {
  const bytes = random.bytes(8);
  const code = crockfordEncode(bytes, 60);
  wipe(bytes);
  return groupByFour(code);
}

/** Normalises a typed resume code to its 12 characters; `bad_code` if it cannot be one. */
export function parseResumeCode(text: string): string {
  const normalized = crockfordNormalize(text);
  if (normalized.length !== resumeCodeChars) throw new CryptoError('bad_code');
  return normalized;
}

/** What a resume code derives: the backup key (secret) and the lookup id the server indexes the blob by. */
export interface ResumeKeys {
  readonly backupKey: Uint8Array;
  readonly lookupId: Uint8Array;
}

/** Argon2id(code, salt = SHA-256("Relais_Resume_v1")[0..16], ops 3, 64 MiB) -> 64 bytes split in two. */
export function deriveResumeKeys(code: string): ResumeKeys {
  const normalized = parseResumeCode(code);
  const salt = sodium.crypto_hash_sha256(utf8(labels.resumeSalt)).slice(0, 16);
  const out = argon2id(64, utf8(normalized), salt);
  const keys = { backupKey: out.slice(0, 32), lookupId: out.slice(32, 64) };
  wipe(out);
  return keys;
}

/** Seals a serialized backup under the resume code's backup key. */
export function sealResumeBackup(backupKey: Uint8Array, plaintext: Uint8Array, random: Random): Uint8Array {
  return sealBlob(backupKey, plaintext, labels.backupAd, random);
}

/** Opens a resume backup; `malformed_input` or `authentication_failed` (wrong key, tampered blob). */
export function openResumeBackup(backupKey: Uint8Array, blob: Uint8Array): Uint8Array {
  return openBlob(backupKey, blob, labels.backupAd);
}
