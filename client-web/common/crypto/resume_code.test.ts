import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './bytes.js';
import { DeterministicRandom } from './random.js';
import { deriveResumeKeys, generateResumeCode, openResumeBackup, parseResumeCode, sealResumeBackup } from './resume_code.js';
import { sodium } from './sodium.js';
import { codeOf, readVectors, seedOf } from './testing.js';

interface Vector {
  typed: string;
  canonical: string;
  argon2id_salt: string;
  backup_key: string;
  lookup_id: string;
}

const v = readVectors<{ resume_code: Vector }>('crypto_derivation_vectors.json').resume_code;

describe('resume codes', () => {
  it('are 12 Crockford characters in three groups, the top 60 bits of one 8-byte draw', () => {
    const random = new DeterministicRandom(seedOf(1));
    const code = generateResumeCode(random);
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    const draw = new DeterministicRandom(seedOf(1)).bytes(8);
    const top60 = new DataView(draw.buffer).getBigUint64(0) >> 4n;
    const fromCode = [...code.replaceAll('-', '')].reduce((acc, ch) => acc * 32n + BigInt('0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(ch)), 0n);
    expect(fromCode).toBe(top60);
    expect(random.draws).toBe(1);
  });

  it('parse as typed over the phone, and refuse anything else', () => {
    expect(parseResumeCode(v.typed)).toBe(v.canonical);
    expect(parseResumeCode('7K3M-9QXA-2B0Z')).toBe(v.canonical);
    expect(codeOf(() => parseResumeCode('7K3M-9QXA-2B0'))).toBe('bad_code');
    expect(codeOf(() => parseResumeCode('7K3M-9QXA-2B0ZZ'))).toBe('bad_code');
    expect(codeOf(() => parseResumeCode('7K3M-9QXA-2B0U'))).toBe('bad_code');
    expect(codeOf(() => parseResumeCode(''))).toBe('bad_code');
  });

  it('derive the Python vector (Argon2id, fixed salt) and the same keys from any spelling', () => {
    expect(toHex(sodium.crypto_hash_sha256('Relais_Resume_v1').slice(0, 16))).toBe(v.argon2id_salt);
    const keys = deriveResumeKeys(v.typed);
    expect(toHex(keys.backupKey)).toBe(v.backup_key);
    expect(toHex(keys.lookupId)).toBe(v.lookup_id);
  });

  it('seal a backup that only the same code opens', () => {
    const key = fromHex(v.backup_key);
    const blob = sealResumeBackup(key, fromHex('c0ffee'), new DeterministicRandom(seedOf(2)));
    expect(toHex(openResumeBackup(key, blob))).toBe('c0ffee');
    const other = key.slice();
    other[0]! ^= 1;
    expect(codeOf(() => openResumeBackup(other, blob))).toBe('authentication_failed');
    const t = blob.slice();
    t[1]! ^= 1;
    expect(codeOf(() => openResumeBackup(key, t))).toBe('authentication_failed');
    expect(codeOf(() => openResumeBackup(key, blob.slice(0, 20)))).toBe('malformed_input');
  });
});
