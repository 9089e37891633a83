import { describe, expect, it } from 'vitest';
import { t } from '../common/i18n/strings.js';
import type { Message } from '../common/protocol/messages.js';
import {
  feedbackChoices, feedbackMaxChars, feedbackToSend, inboxMaxChars, joinRefusalOffersInbox, prefillFromWaiting, sealFailureKey,
  statusActions, waitingOfferKey,
} from './inbox.js';

const status = (open: boolean, queueOpen: boolean): Message<'permanence.status'> => ({
  type: 'permanence.status', open, availability: open ? 'available' : 'closed', queue_open: queueOpen, emergency_numbers: [],
});

describe('screens that seal to the workers', () => {
  it('offers to start when the queue is open, to leave a message when closed or full', () => {
    expect(statusActions(status(true, true))).toEqual({ start: true, leaveMessage: false });
    expect(statusActions(status(true, false))).toEqual({ start: false, leaveMessage: true });
    expect(statusActions(status(false, false))).toEqual({ start: false, leaveMessage: true });
    expect(statusActions(null)).toEqual({ start: true, leaveMessage: false });
    expect(joinRefusalOffersInbox('queue_full')).toBe(true);
    expect(joinRefusalOffersInbox('permanence_closed')).toBe(true);
    expect(joinRefusalOffersInbox('already_in_queue')).toBe(false);
    expect(joinRefusalOffersInbox(undefined)).toBe(false);
  });

  it('says why the inbox is offered while waiting', () => {
    const offer = (reason: Message<'queue.inbox_offer'>['reason']) => waitingOfferKey({ kind: 'inbox_offer', offer: { type: 'queue.inbox_offer', reason } });
    const timeout = (reason: Message<'queue.timeout'>['reason']) =>
      waitingOfferKey({ kind: 'queue_timeout', timeout: { type: 'queue.timeout', reason, inbox_available: true } });
    expect([offer('long_wait'), offer('closing'), offer('queue_full'), timeout('closed'), timeout('wait_limit')]).toEqual([
      'waiting.inbox_offer', 'waiting.inbox_closing', 'waiting.queue_full_offer', 'waiting.timeout_closed', 'waiting.timeout_wait',
    ]);
  });

  it('sends feedback only with a rating or a comment, trimmed and bounded', () => {
    expect(feedbackChoices.map((c) => c.rating)).toEqual(['helped', 'somewhat', 'not_helped']);
    expect(feedbackChoices.map((c) => t('fr', c.label))).toEqual(['Oui', 'Un peu', 'Non']);
    expect(feedbackToSend(null, '   ')).toBeNull();
    expect(feedbackToSend('helped', '')).toEqual({ rating: 'helped', text: '' });
    expect(feedbackToSend(null, '  merci  ')).toEqual({ rating: null, text: 'merci' });
    expect(feedbackToSend('not_helped', 'x'.repeat(feedbackMaxChars + 5))!.text).toHaveLength(feedbackMaxChars);
  });

  it('starts the inbox box with what was written while waiting', () => {
    expect(prefillFromWaiting([])).toBe('');
    expect(prefillFromWaiting([{ text: 'Bonjour' }, { text: 'Je peux attendre' }])).toBe('Bonjour\n\nJe peux attendre');
    expect(prefillFromWaiting([{ text: 'y'.repeat(inboxMaxChars) }, { text: 'z' }])).toHaveLength(inboxMaxChars);
    // 8,000 four-byte characters in the JSON object stay within the sealed inbox limit (40,703 bytes).
    expect(new TextEncoder().encode(JSON.stringify({ kind: 'message', text: '😀'.repeat(inboxMaxChars / 2) })).length).toBeLessThanOrEqual(40_703);
  });

  it('turns every failure into a sentence with a way forward', () => {
    expect(sealFailureKey('no_recipient')).toBe('inbox.unavailable');
    expect(sealFailureKey('no_verified_recipient')).toBe('inbox.unavailable');
    expect(sealFailureKey('too_long')).toBe('inbox.too_long');
    for (const c of ['disconnected', 'timeout', 'stopped', 'server_busy', 'shutting_down']) expect(sealFailureKey(c)).toBe('inbox.retry');
    expect(sealFailureKey('rate_limited')).toBe('error.rate_limited');
    expect(sealFailureKey('worker_not_found')).toBe('error.generic');
    expect(sealFailureKey(undefined)).toBe('error.generic');
    for (const lang of ['fr', 'en'] as const) expect(t(lang, 'inbox.retry')).not.toBe('');
  });
});
