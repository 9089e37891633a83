import { ByteReader, concat, equalBytes, toBase64Url, u64be, utf8 } from './bytes.js';
import { CryptoError, ensure, precondition } from './errors.js';
import { verifySignature, type IdentityKeyPair } from './keys.js';
import { labels, limits, wire } from './limits.js';
import { sodium } from './sodium.js';

/** Org fingerprint: base64url (no padding) of SHA-256(org public key), 43 characters; what the widget snippet pins. */
export function orgFingerprint(orgPublicKey: Uint8Array): string {
  if (orgPublicKey.length !== wire.keyBytes) throw new CryptoError('invalid_public_key');
  return toBase64Url(sodium.crypto_hash_sha256(orgPublicKey));
}

/** The signed content of a worker certificate. */
export interface WorkerCertificate {
  readonly orgPublicKey: Uint8Array;
  /** The worker's Ed25519 identity key. */
  readonly workerIdentityKey: Uint8Array;
  /** Unix seconds, inclusive. */
  readonly notBefore: number;
  /** Unix seconds, inclusive. */
  readonly notAfter: number;
  /** Pseudonymous display name, UTF-8, at most limits.maxDisplayName bytes. */
  readonly displayName: string;
}

const signatureBytes = 64;
const certLabel = utf8(labels.workerCert);

function certificateBody(c: WorkerCertificate): Uint8Array {
  const name = utf8(c.displayName);
  precondition(name.length <= limits.maxDisplayName, 'display name longer than 64 bytes');
  precondition(c.orgPublicKey.length === wire.keyBytes && c.workerIdentityKey.length === wire.keyBytes, 'keys must be 32 bytes');
  precondition(
    Number.isSafeInteger(c.notBefore) && Number.isSafeInteger(c.notAfter) && c.notBefore >= 0 && c.notAfter >= c.notBefore,
    'validity must be 0 <= not_before <= not_after',
  );
  return concat(certLabel, c.orgPublicKey, c.workerIdentityKey, u64be(c.notBefore), u64be(c.notAfter), Uint8Array.of(name.length), name);
}

/** Signs a worker certificate with the org key (relais-cli does this in production; here for tests). */
export function signWorkerCertificate(org: IdentityKeyPair, c: Omit<WorkerCertificate, 'orgPublicKey'>): Uint8Array {
  const body = certificateBody({ ...c, orgPublicKey: org.publicKey });
  return concat(body, org.sign(body));
}

/** Parses certificate bytes without verifying them; `malformed_input` on any structural error. */
export function parseWorkerCertificate(bytes: Uint8Array): { certificate: WorkerCertificate; body: Uint8Array; signature: Uint8Array } {
  const r = new ByteReader(bytes);
  ensure(equalBytes(r.take(certLabel.length), certLabel), 'malformed_input');
  const orgPublicKey = r.take(wire.keyBytes);
  const workerIdentityKey = r.take(wire.keyBytes);
  const notBefore = r.u64();
  const notAfter = r.u64();
  ensure(notBefore <= notAfter, 'malformed_input');
  const nameLength = r.u8();
  ensure(nameLength <= limits.maxDisplayName, 'malformed_input');
  const nameBytes = r.take(nameLength);
  let displayName: string;
  try {
    displayName = new TextDecoder('utf-8', { fatal: true }).decode(nameBytes);
  } catch {
    throw new CryptoError('malformed_input');
  }
  const signature = r.take(signatureBytes);
  r.end();
  return {
    certificate: { orgPublicKey, workerIdentityKey, notBefore, notAfter, displayName },
    body: bytes.slice(0, bytes.length - signatureBytes),
    signature,
  };
}

/**
 * Verifies a worker certificate at unix time `now`, in CRYPTO.md §7's order: fields
 * (`malformed_input`), org key against the pinned fingerprint (`untrusted_org_key`), signature
 * (`authentication_failed`), validity inclusive (`certificate_not_valid_now`). With
 * `expectedWorkerKey`, also that it certifies that key (`authentication_failed`).
 */
export function verifyWorkerCertificate(
  bytes: Uint8Array,
  pinnedOrgFingerprint: string,
  now: number,
  expectedWorkerKey?: Uint8Array,
): WorkerCertificate {
  const { certificate, body, signature } = parseWorkerCertificate(bytes);
  const fingerprint = orgFingerprint(certificate.orgPublicKey);
  ensure(equalBytes(utf8(fingerprint), utf8(pinnedOrgFingerprint)), 'untrusted_org_key');
  ensure(verifySignature(certificate.orgPublicKey, body, signature), 'authentication_failed');
  ensure(now >= certificate.notBefore && now <= certificate.notAfter, 'certificate_not_valid_now');
  if (expectedWorkerKey) ensure(equalBytes(certificate.workerIdentityKey, expectedWorkerKey), 'authentication_failed');
  return certificate;
}
