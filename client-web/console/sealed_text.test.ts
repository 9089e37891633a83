import { describe, expect, it } from 'vitest';
import { utf8 } from '../common/crypto/index.js';
import { readSealedText } from './sealed_text.js';

describe('Sealed plaintext (CRYPTO.md §17.8)', () => {
  it('ReadsTheThreeKinds', () => {
    expect(readSealedText(utf8('{"kind":"prechat","text":"Louise"}'), 'prechat')).toEqual({ kind: 'prechat', text: 'Louise' });
    expect(readSealedText(utf8('{"kind":"message","text":"Rappelez-moi"}'), 'inbox')).toEqual({ kind: 'message', text: 'Rappelez-moi' });
    expect(readSealedText(utf8('{"kind":"feedback","rating":"not_helped","text":"Trop long"}'), 'inbox')).toEqual({ kind: 'feedback', rating: 'not_helped', text: 'Trop long' });
  });

  it('ShowsAnythingElseAsItIsAsAMessage', () => {
    expect(readSealedText(utf8('Bonsoir, rappelez-moi'), 'inbox')).toEqual({ kind: 'message', text: 'Bonsoir, rappelez-moi' });
    expect(readSealedText(utf8('42'), 'inbox')).toEqual({ kind: 'message', text: '42' });
    expect(readSealedText(utf8('{"kind":"feedback"}'), 'prechat')).toEqual({ kind: 'prechat', text: '{"kind":"feedback"}' });
    expect(readSealedText(utf8('{"kind":"message","text":3}'), 'inbox')).toEqual({ kind: 'message', text: '{"kind":"message","text":3}' });
    expect(readSealedText(Uint8Array.of(0x61, 0xff), 'inbox')).toEqual({ kind: 'message', text: 'a\ufffd' });
  });

  it('KeepsAFeedbackWithAnUnknownOrMissingRatingAsUnrated', () => {
    expect(readSealedText(utf8('{"kind":"feedback","rating":"great"}'), 'inbox')).toEqual({ kind: 'feedback', rating: null, text: '' });
    expect(readSealedText(utf8('{"kind":"feedback","rating":null,"text":""}'), 'inbox')).toEqual({ kind: 'feedback', rating: null, text: '' });
  });
});
