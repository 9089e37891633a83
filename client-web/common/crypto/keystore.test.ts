import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './bytes.js';
import {
  deriveRecoveryKeys,
  formatRecoveryKey,
  generateRecoveryKey,
  openKeystore,
  openRecoveryBackup,
  parseRecoveryKey,
  sealKeystore,
  sealRecoveryBackup,
} from './keystore.js';
import { DeterministicRandom } from './random.js';
import { codeOf, readVectors, seedOf } from './testing.js';

interface Vector {
  key: string;
  printed: string;
  blob_key: string;
  lookup_id: string;
}

const v = readVectors<{ recovery_key: Vector }>('crypto_derivation_vectors.json').recovery_key;

describe('passphrase keystore', () => {
  it('is 0x01 || salt (16) || nonce (24) || AEAD, opened by the same passphrase only', () => {
    const random = new DeterministicRandom(seedOf(1));
    const blob = sealKeystore('correct horse battery staple', fromHex('0011223344'), random);
    expect(blob[0]).toBe(1);
    expect(blob).toHaveLength(1 + 16 + 24 + 5 + 16);
    const replay = new DeterministicRandom(seedOf(1));
    expect(toHex(blob.slice(1, 17))).toBe(toHex(replay.bytes(16)));
    expect(toHex(blob.slice(17, 41))).toBe(toHex(replay.bytes(24)));
    expect(toHex(openKeystore('correct horse battery staple', blob))).toBe('0011223344');
    expect(codeOf(() => openKeystore('correct horse battery stapler', blob))).toBe('authentication_failed');
  });

  it('rejects a tampered salt or ciphertext, a wrong version and a truncated blob', () => {
    const blob = sealKeystore('pw', fromHex('00'), new DeterministicRandom(seedOf(2)));
    const salt = blob.slice();
    salt[3]! ^= 1;
    expect(codeOf(() => openKeystore('pw', salt))).toBe('authentication_failed');
    const version = blob.slice();
    version[0] = 2;
    expect(codeOf(() => openKeystore('pw', version))).toBe('unsupported_version');
    expect(codeOf(() => openKeystore('pw', blob.slice(0, 1 + 16 + 24 + 15)))).toBe('malformed_input');
  });
});

describe('recovery key', () => {
  it('prints and derives as the Python vector', () => {
    const key = fromHex(v.key);
    expect(formatRecoveryKey(key)).toBe(v.printed);
    const keys = deriveRecoveryKeys(key);
    expect(toHex(keys.backupKey)).toBe(v.blob_key);
    expect(toHex(keys.lookupId)).toBe(v.lookup_id);
  });

  it('parses typed variants and refuses damaged ones', () => {
    expect(toHex(parseRecoveryKey(v.printed))).toBe(v.key);
    expect(toHex(parseRecoveryKey(v.printed.toLowerCase().replaceAll('-', ' ')))).toBe(v.key);
    expect(toHex(parseRecoveryKey(v.printed.replaceAll('1', 'l').replaceAll('0', 'o')))).toBe(v.key);
    expect(codeOf(() => parseRecoveryKey(v.printed.slice(0, -1)))).toBe('bad_code');
    expect(codeOf(() => parseRecoveryKey(v.printed.slice(0, -1) + 'H'))).toBe('bad_code');
    expect(codeOf(() => parseRecoveryKey(v.printed + 'A'))).toBe('bad_code');
  });

  it('seals a backup only its key opens, with its own label', () => {
    const random = new DeterministicRandom(seedOf(3));
    const key = generateRecoveryKey(random);
    expect(random.draws).toBe(1);
    const { backupKey } = deriveRecoveryKeys(key);
    const blob = sealRecoveryBackup(backupKey, fromHex('abcdef'), random);
    expect(toHex(openRecoveryBackup(backupKey, blob))).toBe('abcdef');
    const { backupKey: other } = deriveRecoveryKeys(new Uint8Array(32));
    expect(codeOf(() => openRecoveryBackup(other, blob))).toBe('authentication_failed');
  });
});
