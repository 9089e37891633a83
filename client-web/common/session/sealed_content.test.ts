import { describe, expect, it } from 'vitest';
import { utf8 } from '../crypto/bytes.js';
import { decodeSealedContent, encodeSealedContent } from './sealed_content.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('sealed content (CRYPTO.md §17.8)', () => {
  it('writes each kind as the JSON object of the table, members in its order', () => {
    expect(text(encodeSealedContent({ kind: 'prechat', text: 'Prénom : Ana · urgent' }))).toBe('{"kind":"prechat","text":"Prénom : Ana · urgent"}');
    expect(text(encodeSealedContent({ kind: 'message', text: 'Rappelez-moi "demain"\nmerci' }))).toBe('{"kind":"message","text":"Rappelez-moi \\"demain\\"\\nmerci"}');
    expect(text(encodeSealedContent({ kind: 'feedback', rating: 'not_helped', text: '' }))).toBe('{"kind":"feedback","rating":"not_helped","text":""}');
    expect(text(encodeSealedContent({ kind: 'feedback', rating: null, text: 'Merci' }))).toBe('{"kind":"feedback","rating":null,"text":"Merci"}');
    // Members given in another order, or extra ones, are not written.
    const odd = { text: 'x', rating: 'helped', kind: 'feedback', extra: 1 } as unknown as Parameters<typeof encodeSealedContent>[0];
    expect(text(encodeSealedContent(odd))).toBe('{"kind":"feedback","rating":"helped","text":"x"}');
  });

  it('reads back what it writes', () => {
    for (const c of [
      { kind: 'prechat', text: 'a' },
      { kind: 'message', text: '<b>pas de balise</b>' },
      { kind: 'feedback', rating: 'somewhat', text: 'b' },
      { kind: 'feedback', rating: null, text: '' },
    ] as const) {
      expect(decodeSealedContent(encodeSealedContent(c))).toEqual(c);
    }
  });

  it('shows anything else as it is, as a message', () => {
    for (const raw of ['Bonsoir, texte libre de relais-cli', '["message","x"]', '{"kind":"message"}', '{"kind":"other","text":"x"}',
      '{"kind":"feedback","rating":"great","text":"x"}', '{"kind":"feedback","text":"x"}', 'null', '42', '{"kind":"message","text":7}']) {
      expect(decodeSealedContent(utf8(raw))).toEqual({ kind: 'message', text: raw });
    }
    // Bytes that are not UTF-8 are shown with replacement characters, never thrown on.
    expect(decodeSealedContent(Uint8Array.of(0x41, 0xff, 0x42))).toEqual({ kind: 'message', text: 'A\uFFFDB' });
  });
});
