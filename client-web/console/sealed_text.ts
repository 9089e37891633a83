// What a sealed plaintext says (CRYPTO.md §17.8): a JSON object with `kind` and `text`, so that a
// feedback and a message are told apart only after opening. Anything else (older clients,
// relais-cli's free text) is shown as it is, as a message. The text is always shown as plain
// text, never as markup.

/** How a beneficiary rated the help, in a feedback. */
export type FeedbackRating = 'helped' | 'somewhat' | 'not_helped';

/** An opened pre-chat blob or inbox entry. */
export type SealedText =
  | { kind: 'prechat'; text: string }
  | { kind: 'message'; text: string }
  | { kind: 'feedback'; rating: FeedbackRating | null; text: string };

const ratings = new Set<string>(['helped', 'somewhat', 'not_helped']);

/** Reads a sealed plaintext (UTF-8 bytes); invalid UTF-8 is replaced, never thrown. */
export function readSealedText(plaintext: Uint8Array, purpose: 'prechat' | 'inbox'): SealedText {
  const raw = new TextDecoder('utf-8').decode(plaintext);
  let j: unknown;
  try {
    j = JSON.parse(raw);
  } catch {
    return purpose === 'prechat' ? { kind: 'prechat', text: raw } : { kind: 'message', text: raw };
  }
  if (j !== null && typeof j === 'object' && !Array.isArray(j)) {
    const o = j as Record<string, unknown>;
    const text = typeof o['text'] === 'string' ? o['text'] : undefined;
    if (purpose === 'prechat' && o['kind'] === 'prechat' && text !== undefined) return { kind: 'prechat', text };
    if (purpose === 'inbox' && o['kind'] === 'message' && text !== undefined) return { kind: 'message', text };
    if (purpose === 'inbox' && o['kind'] === 'feedback') {
      const r = o['rating'];
      return { kind: 'feedback', rating: typeof r === 'string' && ratings.has(r) ? (r as FeedbackRating) : null, text: text ?? '' };
    }
  }
  // Valid JSON but not one of ours (a number, or free text that happens to parse): as it is.
  return purpose === 'prechat' ? { kind: 'prechat', text: raw } : { kind: 'message', text: raw };
}
