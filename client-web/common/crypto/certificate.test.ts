import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './bytes.js';
import { orgFingerprint, parseWorkerCertificate, signWorkerCertificate, verifyWorkerCertificate } from './certificate.js';
import { IdentityKeyPair } from './keys.js';
import { codeOf, readVectors } from './testing.js';

interface Vectors {
  org_fingerprint: { org_public_key: string; fingerprint: string };
  worker_certificate: {
    org_seed: string;
    org_public_key: string;
    worker_identity: string;
    not_before: number;
    not_after: number;
    display_name: string;
    certificate: string;
  };
}

const v = readVectors<Vectors>('crypto_derivation_vectors.json');
const c = v.worker_certificate;
const org = IdentityKeyPair.fromSeed(fromHex(c.org_seed));
const pinned = orgFingerprint(org.publicKey);
const fields = { workerIdentityKey: fromHex(c.worker_identity), notBefore: c.not_before, notAfter: c.not_after, displayName: c.display_name };

describe('org fingerprint', () => {
  it('is base64url(SHA-256(org key)), 43 characters, as computed in Python', () => {
    const f = orgFingerprint(fromHex(v.org_fingerprint.org_public_key));
    expect(f).toBe(v.org_fingerprint.fingerprint);
    expect(f).toHaveLength(43);
  });
});

describe('worker certificates', () => {
  it('are signed byte for byte as the Python vector', () => {
    expect(toHex(org.publicKey)).toBe(c.org_public_key);
    expect(toHex(signWorkerCertificate(org, fields))).toBe(c.certificate);
  });

  it('verify against the pinned fingerprint inside the validity period (inclusive)', () => {
    const cert = fromHex(c.certificate);
    for (const now of [c.not_before, c.not_before + 1, c.not_after]) {
      const parsed = verifyWorkerCertificate(cert, pinned, now, fromHex(c.worker_identity));
      expect(parsed.displayName).toBe('Aïcha B.');
    }
  });

  it('are not valid before not_before or after not_after', () => {
    const cert = fromHex(c.certificate);
    expect(codeOf(() => verifyWorkerCertificate(cert, pinned, c.not_before - 1))).toBe('certificate_not_valid_now');
    expect(codeOf(() => verifyWorkerCertificate(cert, pinned, c.not_after + 1))).toBe('certificate_not_valid_now');
  });

  it('are refused under another pinned organisation, even if well signed', () => {
    const otherOrg = IdentityKeyPair.fromSeed(new Uint8Array(32).fill(8));
    const cert = signWorkerCertificate(otherOrg, fields);
    expect(codeOf(() => verifyWorkerCertificate(cert, pinned, c.not_before))).toBe('untrusted_org_key');
    expect(codeOf(() => verifyWorkerCertificate(fromHex(c.certificate), orgFingerprint(otherOrg.publicKey), c.not_before))).toBe(
      'untrusted_org_key',
    );
  });

  it('reject a bad signature, a changed field, or a certificate for another worker', () => {
    const cert = fromHex(c.certificate);
    const badSig = cert.slice();
    badSig[badSig.length - 1]! ^= 1;
    expect(codeOf(() => verifyWorkerCertificate(badSig, pinned, c.not_before))).toBe('authentication_failed');
    const otherWorker = cert.slice();
    otherWorker[20 + 32 + 3]! ^= 1;
    expect(codeOf(() => verifyWorkerCertificate(otherWorker, pinned, c.not_before))).toBe('authentication_failed');
    const longer = cert.slice();
    longer[20 + 64 + 8 + 7]! += 1; // not_after + 1 second
    expect(codeOf(() => verifyWorkerCertificate(longer, pinned, c.not_before))).toBe('authentication_failed');
    expect(codeOf(() => verifyWorkerCertificate(cert, pinned, c.not_before, fromHex(v.org_fingerprint.org_public_key)))).toBe(
      'authentication_failed',
    );
  });

  it('reject malformed bytes: truncation, trailing bytes, wrong label, long name, bad UTF-8, inverted validity', () => {
    const cert = fromHex(c.certificate);
    for (let n = 0; n < cert.length; n += 9) expect(codeOf(() => verifyWorkerCertificate(cert.slice(0, n), pinned, c.not_before))).toBe('malformed_input');
    expect(codeOf(() => parseWorkerCertificate(new Uint8Array([...cert, 0])))).toBe('malformed_input');
    const label = cert.slice();
    label[0] = 0x72;
    expect(codeOf(() => parseWorkerCertificate(label))).toBe('malformed_input');
    const nameLength = 20 + 64 + 16;
    const long = cert.slice();
    long[nameLength] = 65;
    expect(codeOf(() => parseWorkerCertificate(long))).toBe('malformed_input');
    const utf8 = cert.slice();
    utf8[nameLength + 2] = 0xff;
    expect(codeOf(() => parseWorkerCertificate(utf8))).toBe('malformed_input');
    const inverted = signWorkerCertificate(org, { ...fields, notBefore: 5, notAfter: 5 });
    inverted[20 + 64 + 7] = 6;
    expect(codeOf(() => parseWorkerCertificate(inverted))).toBe('malformed_input');
  });

  it('refuse to sign a display name over 64 bytes', () => {
    expect(() => signWorkerCertificate(org, { ...fields, displayName: 'é'.repeat(33) })).toThrow(RangeError);
    expect(parseWorkerCertificate(signWorkerCertificate(org, { ...fields, displayName: 'é'.repeat(32) })).certificate.displayName).toBe(
      'é'.repeat(32),
    );
  });
});
