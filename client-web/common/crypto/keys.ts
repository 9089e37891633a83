import { concat, u32be, utf8 } from './bytes.js';
import { CryptoError, ensure, precondition } from './errors.js';
import { labels, wire } from './limits.js';
import type { Random } from './random.js';
import { sodium, wipe } from './sodium.js';

/** An X25519 key pair; the secret is 32 random bytes (libsodium clamps when it uses it). */
export interface X25519KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** The X25519 key pair whose secret is `secretKey` (copied). */
export function x25519FromSecret(secretKey: Uint8Array): X25519KeyPair {
  precondition(secretKey.length === wire.keyBytes, 'X25519 secret key must be 32 bytes');
  return { publicKey: sodium.crypto_scalarmult_base(secretKey), secretKey: secretKey.slice() };
}

/** A fresh X25519 key pair; draws exactly 32 bytes from `random`. */
export function generateX25519(random: Random): X25519KeyPair {
  const secret = random.bytes(wire.keyBytes);
  const pair = x25519FromSecret(secret);
  wipe(secret);
  return pair;
}

/**
 * X25519(secret, public). Rejects a public key of the wrong length and any all-zero output
 * (a low-order point), as libsodium's crypto_scalarmult does in C++.
 */
export function dh(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== wire.keyBytes) throw new CryptoError('invalid_public_key');
  try {
    return sodium.crypto_scalarmult(secretKey, publicKey);
  } catch {
    throw new CryptoError('invalid_public_key');
  }
}

/** Converts an Ed25519 public key to its X25519 form; rejects keys that fail the conversion. */
export function ed25519PublicToX25519(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== wire.keyBytes) throw new CryptoError('invalid_public_key');
  try {
    return sodium.crypto_sign_ed25519_pk_to_curve25519(publicKey);
  } catch {
    throw new CryptoError('invalid_public_key');
  }
}

/** A long-term identity: an Ed25519 key pair and its X25519 form used in X3DH. */
export class IdentityKeyPair {
  /** Ed25519 public key: Encode(IK), what peers pin and certificates sign. */
  readonly publicKey: Uint8Array;
  /** Ed25519 secret key (libsodium's 64-byte seed || public form). */
  readonly secretKey: Uint8Array;
  readonly x25519Public: Uint8Array;
  readonly x25519Secret: Uint8Array;

  private constructor(publicKey: Uint8Array, secretKey: Uint8Array) {
    this.publicKey = publicKey;
    this.secretKey = secretKey;
    this.x25519Public = ed25519PublicToX25519(publicKey);
    this.x25519Secret = sodium.crypto_sign_ed25519_sk_to_curve25519(secretKey);
  }

  /** The identity whose Ed25519 seed is `seed` (32 bytes). */
  static fromSeed(seed: Uint8Array): IdentityKeyPair {
    precondition(seed.length === wire.keyBytes, 'Ed25519 seed must be 32 bytes');
    const pair = sodium.crypto_sign_seed_keypair(seed);
    return new IdentityKeyPair(pair.publicKey, pair.privateKey);
  }

  /** A fresh identity; draws exactly 32 bytes (the Ed25519 seed) from `random`. */
  static generate(random: Random): IdentityKeyPair {
    const seed = random.bytes(wire.keyBytes);
    const identity = IdentityKeyPair.fromSeed(seed);
    wipe(seed);
    return identity;
  }

  /** The 32-byte Ed25519 seed, for key backups (the caller wipes it). */
  seed(): Uint8Array {
    return this.secretKey.slice(0, wire.keyBytes);
  }

  /** Ed25519 signature (64 bytes) over `message`. */
  sign(message: Uint8Array): Uint8Array {
    return sodium.crypto_sign_detached(message, this.secretKey);
  }

  /** Overwrites the secret parts. */
  destroy(): void {
    wipe(this.secretKey, this.x25519Secret);
  }
}

/** Verifies an Ed25519 signature; false on any malformed input. */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== wire.keyBytes || signature.length !== 64) return false;
  try {
    return sodium.crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

/** A signed prekey with its id: an X25519 pair signed by the identity key. */
export interface SignedPreKey {
  readonly id: number;
  readonly keyPair: X25519KeyPair;
  readonly signature: Uint8Array;
}

/** A single-use one-time prekey with its id. */
export interface OneTimePreKey {
  readonly id: number;
  readonly keyPair: X25519KeyPair;
}

/** The bytes an SPK signature covers: "Relais_SPK_v1" || spk_id (u32 BE) || spk_pub. */
export function signedPreKeyMessage(id: number, publicKey: Uint8Array): Uint8Array {
  return concat(utf8(labels.spkSignature), u32be(id), publicKey);
}

function checkId(id: number): void {
  precondition(Number.isInteger(id) && id >= 0 && id <= 0xffffffff, 'prekey id must be a u32');
}

/** Creates a signed prekey; draws exactly 32 bytes from `random`. */
export function generateSignedPreKey(identity: IdentityKeyPair, id: number, random: Random): SignedPreKey {
  checkId(id);
  const keyPair = generateX25519(random);
  return { id, keyPair, signature: identity.sign(signedPreKeyMessage(id, keyPair.publicKey)) };
}

/** Signs an existing X25519 key pair as signed prekey `id`. */
export function signPreKey(identity: IdentityKeyPair, id: number, keyPair: X25519KeyPair): SignedPreKey {
  checkId(id);
  return { id, keyPair, signature: identity.sign(signedPreKeyMessage(id, keyPair.publicKey)) };
}

/** Creates a one-time prekey; draws exactly 32 bytes from `random`. The id 0xFFFFFFFF is reserved. */
export function generateOneTimePreKey(id: number, random: Random): OneTimePreKey {
  checkId(id);
  precondition(id !== wire.noOneTimePreKey, 'prekey id 0xFFFFFFFF is reserved');
  return { id, keyPair: generateX25519(random) };
}

/** Throws `bad_signature` unless `signature` is the identity's signature over the SPK. */
export function verifySignedPreKey(
  identityPublic: Uint8Array,
  id: number,
  publicKey: Uint8Array,
  signature: Uint8Array,
): void {
  checkId(id);
  ensure(verifySignature(identityPublic, signedPreKeyMessage(id, publicKey), signature), 'authentication_failed');
}
