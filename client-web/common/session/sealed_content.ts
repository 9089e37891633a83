/**
 * What a beneficiary writes inside a message sealed to the workers (protocol/CRYPTO.md §17.8):
 * one JSON object, so that a pre-chat, a message left in the inbox and a feedback can be told
 * apart only after opening (the server sees one kind of blob). Both clients write and read the
 * same objects; a reader shows `text` as plain text, never as markup.
 */
import { utf8 } from '../crypto/bytes.js';

/** The person's answer to "did this conversation help you?"; null when she chose none. */
export type FeedbackRating = 'helped' | 'somewhat' | 'not_helped' | null;

/** The plaintext of a sealed message, by purpose (pre-chat 0x01, inbox 0x02). */
export type SealedContent =
  | { readonly kind: 'prechat'; readonly text: string }
  | { readonly kind: 'message'; readonly text: string }
  | { readonly kind: 'feedback'; readonly rating: FeedbackRating; readonly text: string };

/** The UTF-8 JSON bytes, members in the order of CRYPTO.md §17.8. */
export function encodeSealedContent(content: SealedContent): Uint8Array {
  const ordered =
    content.kind === 'feedback'
      ? { kind: content.kind, rating: content.rating, text: content.text }
      : { kind: content.kind, text: content.text };
  return utf8(JSON.stringify(ordered));
}

const ratings: readonly FeedbackRating[] = ['helped', 'somewhat', 'not_helped', null];

/**
 * Reads an opened plaintext. Anything that is not one of the objects above (an older client,
 * relais-cli's free text, bytes that are not UTF-8) is shown as it is, as a message.
 */
export function decodeSealedContent(plaintext: Uint8Array): SealedContent {
  const raw = new TextDecoder('utf-8', { fatal: false }).decode(plaintext);
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return { kind: 'message', text: raw };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { kind: 'message', text: raw };
  const o = v as Record<string, unknown>;
  if (typeof o.text !== 'string') return { kind: 'message', text: raw };
  if (o.kind === 'prechat' || o.kind === 'message') return { kind: o.kind, text: o.text };
  if (o.kind === 'feedback' && ratings.includes(o.rating as FeedbackRating)) {
    return { kind: 'feedback', rating: o.rating as FeedbackRating, text: o.text };
  }
  return { kind: 'message', text: raw };
}
