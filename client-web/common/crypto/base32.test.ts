import { describe, expect, it } from 'vitest';
import { crockfordDecode, crockfordEncode, crockfordNormalize, groupByFour } from './base32.js';
import { fromHex, toHex } from './bytes.js';
import { codeOf } from './testing.js';

describe('Crockford base32', () => {
  it('encodes most significant bits first and pads the last character with zero bits', () => {
    expect(crockfordEncode(fromHex('00'))).toBe('00');
    expect(crockfordEncode(fromHex('ff'))).toBe('ZW');
    expect(crockfordEncode(fromHex('ffffffffffffffff'), 60)).toBe('ZZZZZZZZZZZZ');
    expect(crockfordEncode(fromHex('0123456789abcdef'), 60)).toBe('04HMASW9NF6Y');
  });

  it('normalises case, spaces, dashes and the look-alikes O, I, L', () => {
    expect(crockfordNormalize('ab-cd ef')).toBe('ABCDEF');
    expect(crockfordNormalize('oOiIlL')).toBe('001111');
    expect(codeOf(() => crockfordNormalize('U'))).toBe('bad_code');
    expect(codeOf(() => crockfordNormalize('A_B'))).toBe('bad_code');
    expect(codeOf(() => crockfordNormalize('É'))).toBe('bad_code');
  });

  it('round-trips bytes and refuses non-zero filler bits or a wrong length', () => {
    const bytes = fromHex('6465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f80818283');
    const text = crockfordEncode(bytes);
    expect(text).toHaveLength(52);
    expect(toHex(crockfordDecode(text, 32))).toBe(toHex(bytes));
    expect(codeOf(() => crockfordDecode(text.slice(0, 51) + '1', 32))).toBe('bad_code');
    expect(codeOf(() => crockfordDecode(text.slice(0, 51), 32))).toBe('bad_code');
  });

  it('groups by four', () => {
    expect(groupByFour('ABCDEFGHJKMN')).toBe('ABCD-EFGH-JKMN');
  });
});
