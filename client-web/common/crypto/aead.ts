import { ByteReader, concat, utf8 } from './bytes.js';
import { CryptoError, precondition } from './errors.js';
import { hkdf } from './hkdf.js';
import { labels, limits, wire } from './limits.js';
import type { Random } from './random.js';
import { sodium, wipe } from './sodium.js';

/** XChaCha20-Poly1305-IETF encryption; the caller owns key and nonce. */
export function aeadEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  return sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key);
}

/** XChaCha20-Poly1305-IETF decryption; every failure is `authentication_failed`. */
export function aeadDecrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array {
  if (ciphertext.length < wire.tagBytes) throw new CryptoError('authentication_failed');
  try {
    return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext, ad, nonce, key);
  } catch {
    throw new CryptoError('authentication_failed');
  }
}

/** Expands a ratchet message key into the AEAD key (32 bytes) and nonce (24 bytes). */
function messageKeys(mk: Uint8Array): { key: Uint8Array; nonce: Uint8Array; material: Uint8Array } {
  const material = hkdf(new Uint8Array(32), mk, labels.messageKeysInfo, 56);
  return { key: material.subarray(0, 32), nonce: material.subarray(32, 56), material };
}

/** Pads (sodium_pad, 256-byte blocks) and encrypts one ratchet message under message key `mk`. */
export function sealMessage(mk: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  const { key, nonce, material } = messageKeys(mk);
  const padded = sodium.pad(plaintext, limits.padBlock);
  try {
    return aeadEncrypt(key, nonce, padded, ad);
  } finally {
    wipe(material, padded);
  }
}

/** Decrypts and unpads one ratchet message; any failure (tag, padding) is `authentication_failed`. */
export function openMessage(mk: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array {
  const { key, nonce, material } = messageKeys(mk);
  try {
    const padded = aeadDecrypt(key, nonce, ciphertext, ad);
    try {
      return sodium.unpad(padded, limits.padBlock);
    } catch {
      throw new CryptoError('authentication_failed');
    } finally {
      wipe(padded);
    }
  } finally {
    wipe(material);
  }
}

/** Associated data of a ratchet message: "Relais_v1" || type || AD_x3dh || header. */
export function messageAssociatedData(type: number, x3dhAd: Uint8Array, headerBytes: Uint8Array): Uint8Array {
  return concat(utf8(labels.messageAd), Uint8Array.of(type), x3dhAd, headerBytes);
}

/**
 * Seals an opaque blob (resume backup, keystore, recovery backup):
 * 0x01 || nonce (24, drawn from `random`) || AEAD(key, nonce, AD = label || 0x01, plaintext).
 * `prefix` goes between the version byte and the nonce (the keystore's salt) and is authenticated
 * only through the key it derives.
 */
export function sealBlob(
  key: Uint8Array,
  plaintext: Uint8Array,
  adLabel: string,
  random: Random,
  prefix: Uint8Array = new Uint8Array(0),
): Uint8Array {
  precondition(plaintext.length <= limits.maxBlobPlaintext, 'blob plaintext too large');
  const nonce = random.bytes(wire.nonceBytes);
  const ad = concat(utf8(adLabel), Uint8Array.of(wire.blobVersion));
  return concat(Uint8Array.of(wire.blobVersion), prefix, nonce, aeadEncrypt(key, nonce, plaintext, ad));
}

/** Argon2id (crypto_pwhash ALG_ARGON2ID13, opslimit 3, 64 MiB); `resource_exhausted` if wasm memory runs out. */
export function argon2id(length: number, password: Uint8Array, salt: Uint8Array): Uint8Array {
  try {
    return sodium.crypto_pwhash(
      length,
      password,
      salt,
      limits.argon2OpsLimit,
      limits.argon2MemLimit,
      sodium.crypto_pwhash_ALG_ARGON2ID13,
    );
  } catch {
    throw new CryptoError('resource_exhausted');
  }
}

/** Splits a blob into prefix, nonce and ciphertext: `unsupported_version`, or `malformed_input` if too short or too long. */
export function splitBlob(
  blob: Uint8Array,
  prefixBytes: number,
): { prefix: Uint8Array; nonce: Uint8Array; ciphertext: Uint8Array } {
  const r = new ByteReader(blob);
  if (blob.length < 1) throw new CryptoError('malformed_input');
  if (r.u8() !== wire.blobVersion) throw new CryptoError('unsupported_version');
  const prefix = r.take(prefixBytes);
  const nonce = r.take(wire.nonceBytes);
  const ciphertext = r.rest();
  if (ciphertext.length < wire.tagBytes || ciphertext.length > limits.maxBlobPlaintext + wire.tagBytes) {
    throw new CryptoError('malformed_input');
  }
  return { prefix, nonce, ciphertext };
}

/** Opens a blob sealed by `sealBlob` with the same label; `authentication_failed` on a wrong key or tampering. */
export function openBlob(key: Uint8Array, blob: Uint8Array, adLabel: string, prefixBytes = 0): Uint8Array {
  const { nonce, ciphertext } = splitBlob(blob, prefixBytes);
  const ad = concat(utf8(adLabel), Uint8Array.of(wire.blobVersion));
  return aeadDecrypt(key, nonce, ciphertext, ad);
}
