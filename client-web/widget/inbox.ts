/**
 * The state logic of the screens that seal to the workers (leave a message, feedback at the
 * end) and of the choices the status and waiting screens offer; no DOM, so that it is tested
 * on its own.
 */
import type { StringKey } from '../common/i18n/strings.js';
import type { Message } from '../common/protocol/messages.js';
import type { FeedbackRating } from '../common/session/sealed_content.js';

/** The feedback buttons, in order, with the rating each one sends (CRYPTO.md §17.8). */
export const feedbackChoices: readonly { readonly rating: Exclude<FeedbackRating, null>; readonly label: StringKey }[] = [
  { rating: 'helped', label: 'end.feedback_yes' },
  { rating: 'somewhat', label: 'end.feedback_some' },
  { rating: 'not_helped', label: 'end.feedback_no' },
];

/** Characters of a comment at the end: a few sentences; the sealed limit is far above. */
export const feedbackMaxChars = 2000;
/** Characters of an inbox message: 8,000 characters stay under the 40,703 bytes of CRYPTO.md §17.5 even as 4-byte UTF-8. */
export const inboxMaxChars = 8000;

/** What the feedback form sends, or null when there is nothing to send (no rating, no comment). */
export function feedbackToSend(rating: FeedbackRating, comment: string): { rating: FeedbackRating; text: string } | null {
  const text = comment.trim().slice(0, feedbackMaxChars);
  if (rating === null && text === '') return null;
  return { rating, text };
}

/** The inbox box starts with what the person wrote while waiting: nothing typed is lost. */
export function prefillFromWaiting(messages: readonly { readonly text: string }[]): string {
  return messages.map((m) => m.text).join('\n\n').slice(0, inboxMaxChars);
}

/** The sentence for a failure to leave a message or feedback (SealError or RequestError codes). */
export function sealFailureKey(code: string | undefined): StringKey {
  switch (code) {
    case 'no_recipient':
    case 'no_verified_recipient':
      return 'inbox.unavailable';
    case 'too_long':
      return 'inbox.too_long';
    case 'disconnected':
    case 'timeout':
    case 'stopped':
    case 'server_busy':
    case 'shutting_down':
      return 'inbox.retry';
    case 'rate_limited':
      return 'error.rate_limited';
    default:
      return 'error.generic';
  }
}

/** Which ways forward the status screen offers. */
export function statusActions(s: Message<'permanence.status'> | null): { start: boolean; leaveMessage: boolean } {
  // No status from the server: offer to start; joining says if it is closed or full.
  if (!s) return { start: true, leaveMessage: false };
  const canJoin = s.open && s.queue_open;
  return { start: canJoin, leaveMessage: !canJoin };
}

/** The waiting screen's sentence when the server offers the inbox or ends the wait. */
export function waitingOfferKey(
  e: { kind: 'inbox_offer'; offer: Message<'queue.inbox_offer'> } | { kind: 'queue_timeout'; timeout: Message<'queue.timeout'> },
): StringKey {
  if (e.kind === 'inbox_offer') return e.offer.reason === 'queue_full' ? 'waiting.queue_full_offer' : e.offer.reason === 'closing' ? 'waiting.inbox_closing' : 'waiting.inbox_offer';
  return e.timeout.reason === 'closed' ? 'waiting.timeout_closed' : 'waiting.timeout_wait';
}

/** True when a refused `queue.join` should lead to the inbox (closed, or the queue is full). */
export function joinRefusalOffersInbox(code: string | undefined): boolean {
  return code === 'permanence_closed' || code === 'queue_full';
}
