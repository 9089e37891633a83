import { describe, expect, it } from 'vitest';
import { ByteReader, concat, equalBytes, fromBase64Url, fromHex, toBase64Url, toHex, u32be, u64be } from './bytes.js';
import { codeOf } from './testing.js';


describe('bytes', () => {
  it('encodes big-endian integers', () => {
    expect(toHex(u32be(0x01020304))).toBe('01020304');
    expect(toHex(u32be(0xffffffff))).toBe('ffffffff');
    expect(toHex(u64be(1_700_000_000))).toBe('000000006553f100');
  });

  it('concatenates and compares', () => {
    expect(toHex(concat(fromHex('01'), new Uint8Array(0), fromHex('0203')))).toBe('010203');
    expect(equalBytes(fromHex('0102'), fromHex('0102'))).toBe(true);
    expect(equalBytes(fromHex('0102'), fromHex('0103'))).toBe(false);
    expect(equalBytes(fromHex('0102'), fromHex('010200'))).toBe(false);
  });

  it('uses base64url without padding and rejects anything else', () => {
    expect(toBase64Url(fromHex('fbff'))).toBe('-_8');
    expect(toHex(fromBase64Url('-_8'))).toBe('fbff');
    expect(codeOf(() => fromBase64Url('+/8='))).toBe('malformed_input');
    expect(codeOf(() => fromBase64Url('-_8='))).toBe('malformed_input');
    expect(codeOf(() => fromHex('abc'))).toBe('malformed_input');
    expect(codeOf(() => fromHex('zz'))).toBe('malformed_input');
  });

  it('reads fields and refuses to read past the end or leave bytes over', () => {
    const r = new ByteReader(fromHex('01000000020000000000000003ff'));
    expect(r.u8()).toBe(1);
    expect(r.u32()).toBe(2);
    expect(r.u64()).toBe(3);
    expect(codeOf(() => r.end())).toBe('malformed_input');
    expect(codeOf(() => r.take(2))).toBe('malformed_input');
    expect(toHex(r.rest())).toBe('ff');
    r.end();
    expect(codeOf(() => new ByteReader(fromHex('ffffffffffffffff')).u64())).toBe('malformed_input');
  });
});
