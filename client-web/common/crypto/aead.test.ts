import { describe, expect, it } from 'vitest';
import { aeadDecrypt, aeadEncrypt, messageAssociatedData, openBlob, openMessage, sealBlob, sealMessage } from './aead.js';
import { concat, fromHex, toHex } from './bytes.js';
import { hkdf } from './hkdf.js';
import { DeterministicRandom } from './random.js';
import { codeOf, readVectors } from './testing.js';

interface RfcVectors {
  xchacha20poly1305: { source: string; key: string; nonce: string; aad: string; plaintext: string; ciphertext: string; tag: string }[];
}

const vectors = readVectors<RfcVectors>('crypto_rfc_vectors.json');


describe('XChaCha20-Poly1305', () => {
  it.each(vectors.xchacha20poly1305.map((v) => [v.source, v] as const))('matches %s', (_s, v) => {
    const sealed = aeadEncrypt(fromHex(v.key), fromHex(v.nonce), fromHex(v.plaintext), fromHex(v.aad));
    expect(toHex(sealed)).toBe(v.ciphertext + v.tag);
    expect(toHex(aeadDecrypt(fromHex(v.key), fromHex(v.nonce), sealed, fromHex(v.aad)))).toBe(v.plaintext);
  });

  it('rejects a flipped bit anywhere, a wrong AD, a wrong nonce, or a truncated input', () => {
    const v = vectors.xchacha20poly1305[0]!;
    const key = fromHex(v.key);
    const nonce = fromHex(v.nonce);
    const aad = fromHex(v.aad);
    const sealed = fromHex(v.ciphertext + v.tag);
    for (let i = 0; i < sealed.length; i += 13) {
      const t = sealed.slice();
      t[i]! ^= 0x04;
      expect(codeOf(() => aeadDecrypt(key, nonce, t, aad))).toBe('authentication_failed');
    }
    expect(codeOf(() => aeadDecrypt(key, nonce, sealed, aad.slice(1)))).toBe('authentication_failed');
    const otherNonce = nonce.slice();
    otherNonce[23]! ^= 1;
    expect(codeOf(() => aeadDecrypt(key, otherNonce, sealed, aad))).toBe('authentication_failed');
    expect(codeOf(() => aeadDecrypt(key, nonce, sealed.slice(0, 15), aad))).toBe('authentication_failed');
  });
});

describe('ratchet message sealing', () => {
  const mk = new Uint8Array(32).fill(0x42);
  const ad = messageAssociatedData(0x02, new Uint8Array(64).fill(1), new Uint8Array(40).fill(2));

  it('binds "Relais_v1" || type || AD_x3dh || header (114 bytes)', () => {
    expect(ad).toHaveLength(114);
    expect(new TextDecoder().decode(ad.subarray(0, 9))).toBe('Relais_v1');
    expect(ad[9]).toBe(0x02);
  });

  it('pads to 256-byte blocks: 0 -> 256, 255 -> 256, 256 -> 512 (plus the tag)', () => {
    expect(sealMessage(mk, new Uint8Array(0), ad)).toHaveLength(256 + 16);
    expect(sealMessage(mk, new Uint8Array(255), ad)).toHaveLength(256 + 16);
    expect(sealMessage(mk, new Uint8Array(256), ad)).toHaveLength(512 + 16);
    expect(sealMessage(mk, new Uint8Array(65535), ad)).toHaveLength(65536 + 16);
  });

  it('round-trips and rejects another key, AD or type byte', () => {
    const pt = new TextEncoder().encode('Bonjour, je voudrais parler à quelqu’un.');
    const ct = sealMessage(mk, pt, ad);
    expect(new TextDecoder().decode(openMessage(mk, ct, ad))).toBe('Bonjour, je voudrais parler à quelqu’un.');
    expect(codeOf(() => openMessage(new Uint8Array(32).fill(0x43), ct, ad))).toBe('authentication_failed');
    const otherType = ad.slice();
    otherType[9] = 0x01;
    expect(codeOf(() => openMessage(mk, ct, otherType))).toBe('authentication_failed');
  });

  it('rejects a ciphertext whose padding is invalid, with the same error as a bad tag', () => {
    // 256 zero bytes have no 0x80 marker: the tag verifies, sodium_unpad fails.
    const material = hkdf(new Uint8Array(32), mk, 'Relais_MessageKeys_v1', 56);
    const ct = aeadEncrypt(material.slice(0, 32), material.slice(32, 56), new Uint8Array(256), ad);
    expect(codeOf(() => openMessage(mk, ct, ad))).toBe('authentication_failed');
  });
});

describe('blobs', () => {
  const key = new Uint8Array(32).fill(5);

  it('are 0x01 || nonce (24) || AEAD with AD = label || 0x01', () => {
    const random = new DeterministicRandom(new Uint8Array(32));
    const blob = sealBlob(key, fromHex('00112233'), 'Relais_Backup_v1', random);
    expect(blob[0]).toBe(0x01);
    expect(blob).toHaveLength(1 + 24 + 4 + 16);
    const nonce = blob.slice(1, 25);
    const ad = concat(new TextEncoder().encode('Relais_Backup_v1'), Uint8Array.of(1));
    expect(toHex(aeadDecrypt(key, nonce, blob.slice(25), ad))).toBe('00112233');
    expect(toHex(openBlob(key, blob, 'Relais_Backup_v1'))).toBe('00112233');
  });

  it('rejects another label, a tampered byte, a wrong version or a truncated blob', () => {
    const random = new DeterministicRandom(new Uint8Array(32));
    const blob = sealBlob(key, fromHex('00112233'), 'Relais_Backup_v1', random);
    expect(codeOf(() => openBlob(key, blob, 'Relais_Recovery_v1'))).toBe('authentication_failed');
    const t = blob.slice();
    t[30]! ^= 1;
    expect(codeOf(() => openBlob(key, t, 'Relais_Backup_v1'))).toBe('authentication_failed');
    const v = blob.slice();
    v[0] = 2;
    expect(codeOf(() => openBlob(key, v, 'Relais_Backup_v1'))).toBe('unsupported_version');
    expect(codeOf(() => openBlob(key, blob.slice(0, 1 + 24 + 15), 'Relais_Backup_v1'))).toBe('malformed_input');
    expect(codeOf(() => openBlob(key, new Uint8Array(0), 'Relais_Backup_v1'))).toBe('malformed_input');
  });
});
