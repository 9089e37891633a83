import { describe, expect, it } from 'vitest';
import { base64UrlDecodedLength, decodeBase64Url, encodeBase64Url } from './base64url.js';

describe('base64url', () => {
  it('round-trips every length and matches Node', () => {
    for (let n = 0; n < 70; n++) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      const text = encodeBase64Url(data);
      expect(text).toBe(Buffer.from(data).toString('base64url'));
      expect(decodeBase64Url(text)).toEqual(data);
      expect(base64UrlDecodedLength(text)).toBe(n);
    }
  });

  it('refuses non-canonical text', () => {
    for (const bad of ['A', 'AB=', 'AB==', 'A+B/', 'AB C', 'é']) {
      expect(base64UrlDecodedLength(bad), bad).toBe(-1);
    }
    expect(base64UrlDecodedLength('AQ')).toBe(1); // 000000 010000: unused bits zero
    expect(base64UrlDecodedLength('AR')).toBe(-1); // unused bits set
    expect(base64UrlDecodedLength('AAE')).toBe(2); // 2 unused bits zero
    expect(base64UrlDecodedLength('AAF')).toBe(-1);
    expect(() => decodeBase64Url('AR')).toThrow(RangeError);
  });
});
