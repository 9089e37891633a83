import { describe, expect, it } from 'vitest';
import { concat, toHex, u32be } from './bytes.js';
import { decodeMessage, encodeHeader, encodeMessage } from './message.js';
import { codeOf } from './testing.js';

const header = { dh: new Uint8Array(32).fill(0xaa), pn: 3, n: 258 };
const ciphertext = new Uint8Array(256 + 16).fill(0xcc);
const initial = {
  identityKey: new Uint8Array(32).fill(1),
  ephemeralKey: new Uint8Array(32).fill(2),
  signedPreKeyId: 7,
  oneTimePreKeyId: 0xffffffff,
};

describe('ratchet message wire bytes', () => {
  it('encodes the header as dh || u32be(pn) || u32be(n)', () => {
    expect(toHex(encodeHeader(header))).toBe('aa'.repeat(32) + '00000003' + '00000102');
  });

  it('lays out type 0x02 as 01 02 || header || ciphertext', () => {
    const bytes = encodeMessage({ type: 0x02, header, ciphertext });
    expect(toHex(bytes)).toBe(toHex(concat(Uint8Array.of(1, 2), encodeHeader(header), ciphertext)));
    const m = decodeMessage(bytes);
    expect(m.type).toBe(0x02);
    expect(m.initial).toBeUndefined();
    expect(m.header).toEqual(header);
    expect(toHex(m.ciphertext)).toBe(toHex(ciphertext));
  });

  it('lays out type 0x01 as 01 01 || IK_A || EK_A || spk_id || opk_id || header || ciphertext', () => {
    const bytes = encodeMessage({ type: 0x01, initial, header, ciphertext });
    const expected = concat(
      Uint8Array.of(1, 1),
      initial.identityKey,
      initial.ephemeralKey,
      u32be(7),
      u32be(0xffffffff),
      encodeHeader(header),
      ciphertext,
    );
    expect(toHex(bytes)).toBe(toHex(expected));
    expect(decodeMessage(bytes).initial).toEqual(initial);
  });

  it('checks in CRYPTO.md order: length, version, type, then sizes', () => {
    const good = encodeMessage({ type: 0x02, header, ciphertext });
    expect(codeOf(() => decodeMessage(new Uint8Array(0)))).toBe('malformed_input');
    expect(codeOf(() => decodeMessage(Uint8Array.of(1)))).toBe('malformed_input');
    expect(codeOf(() => decodeMessage(Uint8Array.of(2, 2)))).toBe('unsupported_version');
    expect(codeOf(() => decodeMessage(Uint8Array.of(1, 3)))).toBe('wrong_message_type');
    expect(codeOf(() => decodeMessage(Uint8Array.of(1, 0)))).toBe('wrong_message_type');
    expect(codeOf(() => decodeMessage(Uint8Array.of(1, 2)))).toBe('malformed_input');
    const v = good.slice();
    v[0] = 0;
    expect(codeOf(() => decodeMessage(v))).toBe('unsupported_version');
  });

  it('rejects every truncation of a valid message', () => {
    for (const bytes of [
      encodeMessage({ type: 0x02, header, ciphertext }),
      encodeMessage({ type: 0x01, initial, header, ciphertext }),
    ]) {
      for (let n = 0; n < bytes.length; n++) expect(codeOf(() => decodeMessage(bytes.slice(0, n)))).toBeDefined();
    }
  });

  it('accepts ciphertexts of 256*k + 16 bytes for 1 <= k <= 256 only', () => {
    const of = (length: number) => codeOf(() => decodeMessage(encodeMessage({ type: 0x02, header, ciphertext: new Uint8Array(length) })));
    expect(of(256 + 16)).toBeUndefined();
    expect(of(65536 + 16)).toBeUndefined();
    expect(of(16)).toBe('malformed_input');
    expect(of(256 + 15)).toBe('malformed_input');
    expect(of(256 + 17)).toBe('malformed_input');
    expect(of(65536 + 256 + 16)).toBe('malformed_input');
  });

  it('rejects a message of one type relabelled as the other (the lengths can never align)', () => {
    for (const k of [1, 2, 3, 256]) {
      const asMessage = encodeMessage({ type: 0x02, header, ciphertext: new Uint8Array(256 * k + 16) });
      asMessage[1] = 0x01;
      expect(codeOf(() => decodeMessage(asMessage))).toBe('malformed_input');
      const asInitial = encodeMessage({ type: 0x01, initial, header, ciphertext: new Uint8Array(256 * k + 16) });
      asInitial[1] = 0x02;
      expect(codeOf(() => decodeMessage(asInitial))).toBe('malformed_input');
    }
  });
});
