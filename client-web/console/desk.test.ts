import { describe, expect, it, vi } from 'vitest';
import {
  DeterministicRandom,
  IdentityKeyPair,
  RatchetSession,
  SealedRecipient,
  sealPrechat,
  sealToWorkers,
  fromBase64Url,
  generateRecoveryKey,
  orgFingerprint,
  signWorkerCertificate,
  toBase64Url,
  utf8,
  verifyTransfer,
} from '../common/crypto/index.js';
import { seedOf } from '../common/crypto/testing.js';
import { Desk } from './desk.js';
import { ServerError, type Frame, type Link } from './link.js';
import { Vault, attachRecovery } from './vault.js';
import { bundleOf } from './testing.js';

const nowS = 1_767_225_600;

/** A Link whose replies come from a handler; it records every frame sent. */
class FakeLink implements Link {
  sent: Frame[] = [];
  push_: (f: Frame) => void = () => {};
  constructor(private readonly answer: (f: Frame) => Frame) {}
  request(frame: Frame): Promise<Frame> {
    this.sent.push(frame);
    try {
      return Promise.resolve(this.answer(frame));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  send(frame: Frame): void {
    this.sent.push(frame);
  }
  onPush(handler: (frame: Frame) => void): void {
    this.push_ = handler;
  }
  ofType(type: string): Frame[] {
    return this.sent.filter((f) => f.type === type);
  }
}

function setup(answer: (f: Frame) => Frame = () => ({ type: 'ok' })) {
  const random = new DeterministicRandom(seedOf(11));
  const vault = Vault.create(random, nowS);
  const org = IdentityKeyPair.generate(random);
  vault.certificate = signWorkerCertificate(org, { workerIdentityKey: vault.identity.publicKey, notBefore: nowS - 60, notAfter: nowS + 86400, displayName: 'Camille' });
  attachRecovery(vault, generateRecoveryKey(random));
  const link = new FakeLink(answer);
  const notified: string[] = [];
  let now = nowS * 1000;
  const clock = { set: (ms: number) => (now = ms) };
  const desk = new Desk(link, vault, { random, now: () => now, notify: (k) => notified.push(k) }, { keystore: (p) => p.slice(), recovery: (p) => p.slice() }, { keystore: 1, recovery: 1 }, workerId);
  const beneficiary = IdentityKeyPair.generate(random);
  return { random, vault, org, link, desk, notified, beneficiary, clock };
}

const workerId = 17;

/** This worker as a beneficiary's client sees her: certificate and signed prekey checked. */
function recipientOf(t: ReturnType<typeof setup>, id = workerId): SealedRecipient {
  return SealedRecipient.verify(id, bundleOf(t.vault, false), t.vault.certificate!, orgFingerprint(t.org.publicKey), nowS);
}

/** An inbox.messages item sealed by `from` to this worker. */
function inboxItem(t: ReturnType<typeof setup>, inboxId: number, from: IdentityKeyPair, plaintext: string): Record<string, unknown> {
  const m = sealToWorkers('inbox', from, [recipientOf(t)], utf8(plaintext), t.random);
  return { inbox_id: inboxId, beneficiary_key: toBase64Url(from.publicKey), ciphertext: toBase64Url(m.ciphertext), wrapped_key: toBase64Url(m.keys[0]!.wrappedKey), received_at: 1_767_200_000_000 + inboxId };
}

function message(conversationId: number, seq: number, ciphertext: Uint8Array): Frame {
  return { type: 'conversation.message', conversation_id: conversationId, seq, sender: 'beneficiary', client_msg_id: 'm' + String(seq).padStart(21, '0'), ciphertext: toBase64Url(ciphertext), sent_at: seq };
}

describe('Desk', () => {
  it('DecryptsTheBeneficiarysFirstMessageAndAnswersIt', async () => {
    let seq = 1;
    const t = setup((f) => (f.type === 'conversation.send' ? { type: 'conversation.ack', conversation_id: 4, client_msg_id: f['client_msg_id'], seq: ++seq, sent_at: 99 } : { type: 'ok' }));
    t.desk.onPush({ type: 'conversation.assigned', conversation_id: 4, beneficiary_key: toBase64Url(t.beneficiary.publicKey), urgent: true, returning: false });
    expect(t.desk.isSecured(4)).toBe(false); // a worker cannot write first (what she writes is held)
    const alice = RatchetSession.initiate(t.beneficiary, bundleOf(t.vault), t.random);
    t.desk.onPush(message(4, 1, alice.encrypt(utf8("j'ai besoin d'aide"))));
    const c = t.vault.conversations.get(4)!;
    expect(c.messages.map((m) => m.text)).toEqual(["j'ai besoin d'aide"]);
    expect(t.vault.oneTimePreKeys.size).toBe(99); // the OPK is gone once used
    expect(t.link.ofType('conversation.delivered').at(-1)).toMatchObject({ conversation_id: 4, up_to_seq: 1 });
    expect(t.desk.isSecured(4)).toBe(true);

    expect(await t.desk.sendText(4, 'je vous écoute')).toBe(true);
    const sent = t.link.ofType('conversation.send')[0]!;
    expect(new TextDecoder().decode(alice.decrypt(fromBase64Url(String(sent['ciphertext'])), nowS))).toBe('je vous écoute');
    expect(c.messages.at(-1)).toMatchObject({ seq: 2, delivery: 'sent' });
    expect(c.messages.at(-1)?.pendingCiphertext).toBeUndefined();
    // The vault was sealed before the ciphertext left (the ratchet had moved on).
    const firstPut = t.link.sent.findIndex((f) => f.type === 'backup.put');
    expect(firstPut).toBeLessThan(t.link.sent.indexOf(sent));

    t.desk.onPush({ type: 'conversation.read', conversation_id: 4, up_to_seq: 2 });
    expect(c.messages.at(-1)?.delivery).toBe('read');
  });

  it('ShowsARedeliveredMessageOnce', () => {
    const t = setup();
    t.desk.onPush({ type: 'conversation.assigned', conversation_id: 5, beneficiary_key: toBase64Url(t.beneficiary.publicKey), urgent: false, returning: false });
    const alice = RatchetSession.initiate(t.beneficiary, bundleOf(t.vault), t.random);
    const frame = message(5, 1, alice.encrypt(utf8('une fois')));
    t.desk.onPush(frame);
    t.desk.onPush(frame);
    expect(t.vault.conversations.get(5)!.messages).toHaveLength(1);
    expect(t.desk.notices).toHaveLength(0);
  });

  it('RefusesAFirstMessageFromAnotherIdentityThanAnnounced', () => {
    const t = setup();
    t.desk.onPush({ type: 'conversation.assigned', conversation_id: 6, beneficiary_key: toBase64Url(t.beneficiary.publicKey), urgent: false, returning: false });
    const impostor = IdentityKeyPair.generate(t.random);
    const alice = RatchetSession.initiate(impostor, bundleOf(t.vault), t.random);
    t.desk.onPush(message(6, 1, alice.encrypt(utf8('...'))));
    expect(t.vault.conversations.get(6)!.messages).toHaveLength(0);
    expect(t.desk.notices.at(-1)).toMatchObject({ kind: 'key_changed', conversationId: 6 });
  });

  it('SaysWhenAMessageCannotBeDecrypted', () => {
    const t = setup();
    t.desk.onPush({ type: 'conversation.assigned', conversation_id: 8, beneficiary_key: toBase64Url(t.beneficiary.publicKey), urgent: false, returning: false });
    const alice = RatchetSession.initiate(t.beneficiary, bundleOf(t.vault), t.random);
    const bytes = alice.encrypt(utf8('abîmé'));
    bytes[bytes.length - 1]! ^= 1;
    t.desk.onPush(message(8, 1, bytes));
    expect(t.desk.notices.at(-1)).toMatchObject({ kind: 'undecryptable', conversationId: 8 });
  });

  it('SignsATransferThatTheBeneficiaryCanVerify', async () => {
    const colleague = IdentityKeyPair.generate(new DeterministicRandom(seedOf(12)));
    let t!: ReturnType<typeof setup>;
    t = setup((f) => {
      if (f.type === 'keys.fetch') {
        const cert = signWorkerCertificate(t.org, { workerIdentityKey: colleague.publicKey, notBefore: nowS - 60, notAfter: nowS + 86400, displayName: 'Nadia' });
        return { type: 'keys.bundle', identity_key: toBase64Url(colleague.publicKey), worker_certificate: toBase64Url(cert) };
      }
      return { type: 'ok' };
    });
    t.desk.onPush({ type: 'conversation.assigned', conversation_id: 42, beneficiary_key: toBase64Url(t.beneficiary.publicKey), urgent: false, returning: false });
    expect(await t.desk.transfer(42, 23)).toBe(true);
    const sent = t.link.ofType('conversation.transfer')[0]!;
    const control = verifyTransfer(fromBase64Url(String(sent['control'])), t.vault.identity.publicKey, utf8('42'));
    expect(control.toWorkerKey).toEqual(colleague.publicKey);
    expect(t.vault.conversations.get(42)!.open).toBe(false);
  });

  it('RefusesATransferToAColleagueOfAnotherOrganisation', async () => {
    const stranger = IdentityKeyPair.generate(new DeterministicRandom(seedOf(13)));
    const otherOrg = IdentityKeyPair.generate(new DeterministicRandom(seedOf(14)));
    const t = setup((f) => {
      if (f.type === 'keys.fetch') {
        const cert = signWorkerCertificate(otherOrg, { workerIdentityKey: stranger.publicKey, notBefore: nowS - 60, notAfter: nowS + 86400, displayName: 'X' });
        return { type: 'keys.bundle', identity_key: toBase64Url(stranger.publicKey), worker_certificate: toBase64Url(cert) };
      }
      return { type: 'ok' };
    });
    t.desk.onPush({ type: 'conversation.assigned', conversation_id: 43, beneficiary_key: toBase64Url(t.beneficiary.publicKey), urgent: false, returning: false });
    expect(await t.desk.transfer(43, 99)).toBe(false);
    expect(t.desk.notices.at(-1)).toMatchObject({ kind: 'transfer_refused', detail: 'untrusted_org_key' });
    expect(t.link.ofType('conversation.transfer')).toHaveLength(0);
    expect(t.vault.conversations.get(43)!.open).toBe(true);
    void orgFingerprint;
  });

  it('RefusesATransferTheServerRefuses', async () => {
    const t = setup((f) => {
      if (f.type === 'keys.fetch') throw new ServerError({ type: 'error', code: 601, name: 'worker_not_found' });
      return { type: 'ok' };
    });
    t.desk.onPush({ type: 'conversation.assigned', conversation_id: 44, beneficiary_key: toBase64Url(t.beneficiary.publicKey), urgent: false, returning: false });
    expect(await t.desk.transfer(44, 77)).toBe(false);
    expect(t.desk.notices.at(-1)).toMatchObject({ kind: 'transfer_refused', detail: 'worker_not_found' });
  });

  it('KeepsNotesPerBeneficiaryAndRefusesOneTooLong', () => {
    const t = setup();
    t.desk.onPush({ type: 'conversation.assigned', conversation_id: 9, beneficiary_key: toBase64Url(t.beneficiary.publicKey), urgent: false, returning: true });
    expect(t.desk.setNote(9, 'a besoin d’un suivi')).toBe(true);
    expect(t.desk.noteFor(9)).toBe('a besoin d’un suivi');
    expect(t.desk.setNote(9, 'x'.repeat(5000))).toBe(false);
    expect(t.desk.noteFor(9)).toBe('a besoin d’un suivi');
    expect(t.desk.notices.at(-1)?.kind).toBe('note_too_long');
  });

  it('NotifiesOnlyOnShiftAndForgetsTheQueueWhenOff', () => {
    const t = setup();
    t.desk.onPush({ type: 'queue.snapshot', total: 1, entries: [{ ticket_id: 1, urgent: false, joined_at: 1, returning: false }] });
    expect(t.notified).toEqual([]);
    t.desk.onPush({ type: 'shift.state', state: 'on', mode: 'manual' });
    t.desk.onPush({ type: 'queue.snapshot', total: 2, entries: [{ ticket_id: 1, urgent: false, joined_at: 1, returning: false }, { ticket_id: 2, urgent: true, joined_at: 2, returning: false }] });
    expect(t.notified).toEqual(['queue']);
    t.desk.onPush({ type: 'shift.state', state: 'off', mode: 'manual' });
    expect(t.desk.queue).toEqual([]);
    t.desk.onPush({ type: 'conversation.assigned', conversation_id: 3, beneficiary_key: 'k', urgent: false, returning: false });
    expect(t.notified).toEqual(['queue']);
  });

  it('SavesBothBlobsWithTheNextVersionsAndRetriesAfterAConflict', async () => {
    let conflicts = 1;
    const t = setup((f) => {
      if (f.type === 'backup.put' && f['kind'] === 'keystore' && conflicts-- > 0) throw new ServerError({ type: 'error', code: 502, name: 'version_conflict' });
      if (f.type === 'backup.get') return { type: 'backup.blob', kind: f['kind'], blob: 'AA', version: 5 };
      return { type: 'ok' };
    });
    await t.desk.saveNow();
    const puts = t.link.ofType('backup.put');
    expect(puts.map((p) => [p['kind'], p['version']])).toEqual([['keystore', 2], ['keystore', 6], ['recovery', 2]]);
    expect(puts[2]!['lookup']).toBe(toBase64Url(t.vault.recovery!.lookupId));
    expect(t.desk.versions).toEqual({ keystore: 6, recovery: 2 });
  });

  it('TakesFromTheQueueAndSaysWhenSomeoneElseWasFaster', async () => {
    const t = setup((f) => {
      if (f.type === 'queue.take' && f['ticket_id'] === 2) throw new ServerError({ type: 'error', code: 501, name: 'already_taken' });
      if (f.type === 'queue.take') return { type: 'conversation.assigned', conversation_id: 10, beneficiary_key: 'k', urgent: false, returning: false };
      if (f.type === 'queue.list') return { type: 'queue.snapshot', total: 0, entries: [] };
      return { type: 'ok' };
    });
    expect(await t.desk.take()).toBe(10);
    expect(t.vault.conversations.get(10)?.open).toBe(true);
    expect(await t.desk.take(2)).toBeUndefined();
    expect(t.desk.notices.at(-1)?.kind).toBe('already_taken');
  });

  it('OpensThePrechatSealedToHerAndShowsItAtTheTop', () => {
    const t = setup();
    const blob = sealPrechat(t.beneficiary, [recipientOf(t)], utf8(JSON.stringify({ kind: 'prechat', text: 'Louise, urgent, rappeler au 06 00 00 00 00' })), t.random);
    t.desk.onPush({ type: 'conversation.assigned', conversation_id: 20, beneficiary_key: toBase64Url(t.beneficiary.publicKey), urgent: true, returning: false, prechat: toBase64Url(blob) });
    expect(t.vault.conversations.get(20)!.prechat).toBe('Louise, urgent, rappeler au 06 00 00 00 00');
    expect(t.desk.notices).toHaveLength(0);
    // relais-cli's free text is shown as it is.
    const free = sealPrechat(t.beneficiary, [recipientOf(t)], utf8('Prénom : Louise'), t.random);
    t.desk.onPush({ type: 'conversation.assigned', conversation_id: 21, beneficiary_key: toBase64Url(t.beneficiary.publicKey), urgent: false, returning: false, prechat: toBase64Url(free) });
    expect(t.vault.conversations.get(21)!.prechat).toBe('Prénom : Louise');
  });

  it('SaysWhenAPrechatCannotBeOpenedButNotForAColleaguesTransferredOne', () => {
    const t = setup();
    const blob = sealPrechat(t.beneficiary, [recipientOf(t)], utf8('à moi'), t.random);
    const other = IdentityKeyPair.generate(t.random);
    // Announced with another identity than the one who sealed it: the wrap does not open.
    t.desk.onPush({ type: 'conversation.assigned', conversation_id: 22, beneficiary_key: toBase64Url(other.publicKey), urgent: false, returning: false, prechat: toBase64Url(blob) });
    expect(t.vault.conversations.get(22)!.prechat).toBeUndefined();
    expect(t.desk.notices.at(-1)).toMatchObject({ kind: 'prechat_unreadable', conversationId: 22, detail: 'authentication_failed' });
    // Sealed to the colleague who handed it over, not to her: nothing to say.
    const notMine = sealPrechat(t.beneficiary, [recipientOf(t, 99)], utf8('pour la collègue'), t.random);
    t.desk.onPush({ type: 'conversation.assigned', conversation_id: 23, beneficiary_key: toBase64Url(t.beneficiary.publicKey), urgent: false, returning: false, transferred_from: 99, prechat: toBase64Url(notMine) });
    expect(t.vault.conversations.get(23)!.prechat).toBeUndefined();
    expect(t.desk.notices).toHaveLength(1);
  });

  it('OpensInboxMessagesAndFeedbackAndMarksWhatCannotBeRead', async () => {
    let t!: ReturnType<typeof setup>;
    const pages: Record<string, unknown>[][] = [];
    t = setup((f) => {
      if (f.type === 'inbox.list') {
        const page = f['after_id'] === undefined ? 0 : 1;
        return { type: 'inbox.messages', items: pages[page], more: page === 0 };
      }
      return { type: 'ok' };
    });
    const b2 = IdentityKeyPair.generate(t.random);
    const broken = inboxItem(t, 4, b2, 'abîmé');
    broken['beneficiary_key'] = toBase64Url(t.beneficiary.publicKey); // not the identity that sealed it
    pages.push([
      inboxItem(t, 1, t.beneficiary, JSON.stringify({ kind: 'message', text: 'Pouvez-vous me rappeler demain ?' })),
      inboxItem(t, 2, b2, JSON.stringify({ kind: 'feedback', rating: 'helped', text: 'Merci' })),
    ]);
    pages.push([inboxItem(t, 3, b2, 'texte libre de relais-cli'), broken]);
    await t.desk.refreshInbox();
    expect(t.link.ofType('inbox.list').map((f) => f['after_id'])).toEqual([undefined, 2]);
    expect(t.desk.inbox.map((i) => [i.inboxId, i.kind, i.text, i.rating, i.unreadable])).toEqual([
      [1, 'message', 'Pouvez-vous me rappeler demain ?', undefined, undefined],
      [2, 'feedback', 'Merci', 'helped', undefined],
      [3, 'message', 'texte libre de relais-cli', undefined, undefined],
      [4, 'message', undefined, undefined, 'authentication_failed'],
    ]);
    expect(t.desk.inbox[0]!.spkId).toBe(t.vault.signedPreKeys[0]!.id);
  });

  it('ReadsTheWeekAheadAndSaysWhenTheServerHasNoSchedule', async () => {
    const week = { type: 'shift.week', time_zone: 'Europe/Paris', from: 1, to: 2, mine: [{ start: 10, end: 20 }], open: [{ start: 10, end: 30 }], closed: [] };
    const t = setup((f) => (f.type === 'shift.schedule' ? week : { type: 'ok' }));
    await t.desk.refreshWeek();
    expect(t.link.ofType('shift.schedule').at(-1)).toMatchObject({ days: 7 });
    expect(t.desk.week).toEqual({ timeZone: 'Europe/Paris', from: 1, to: 2, mine: [{ start: 10, end: 20 }], open: [{ start: 10, end: 30 }], closed: [] });
    const old = setup((f) => {
      if (f.type === 'shift.schedule') throw new ServerError({ type: 'error', code: 703, name: 'internal_error' });
      return { type: 'ok' };
    });
    await old.desk.refreshWeek();
    expect(old.desk.week).toBeUndefined();
    expect(old.desk.notices.at(-1)).toMatchObject({ kind: 'not_supported', detail: 'schedule' });
  });

  it('DismissesAFeedbackAndSaysWhenAColleagueWasFirst', async () => {
    let t!: ReturnType<typeof setup>;
    t = setup((f) => {
      if (f.type === 'inbox.list') return { type: 'inbox.messages', items: [inboxItem(t, 7, t.beneficiary, JSON.stringify({ kind: 'feedback', rating: null, text: '' })), inboxItem(t, 8, t.beneficiary, 'x')], more: false };
      if (f.type === 'inbox.dismiss' && f['inbox_id'] === 8) throw new ServerError({ type: 'error', code: 501, name: 'already_taken' });
      return { type: 'ok' };
    });
    await t.desk.refreshInbox();
    expect(t.desk.inbox[0]).toMatchObject({ kind: 'feedback', rating: null, text: '' });
    expect(await t.desk.dismissInbox(7)).toBe(true);
    expect(t.link.ofType('inbox.dismiss').at(-1)).toMatchObject({ inbox_id: 7 });
    expect(await t.desk.dismissInbox(8)).toBe(false);
    expect(t.desk.inbox).toEqual([]);
    expect(t.desk.notices.at(-1)).toMatchObject({ kind: 'inbox_taken' });
  });

  it('AnswersAnInboxMessageAndSendsTheHeldAnswerWhenSheComesBackAndWrites', async () => {
    let t!: ReturnType<typeof setup>;
    let seq = 1;
    t = setup((f) => {
      if (f.type === 'inbox.list') return { type: 'inbox.messages', items: [inboxItem(t, 5, t.beneficiary, JSON.stringify({ kind: 'message', text: 'Rappelez-moi' }))], more: false };
      if (f.type === 'inbox.answer') return { type: 'conversation.assigned', conversation_id: 30, beneficiary_key: toBase64Url(t.beneficiary.publicKey), urgent: false, returning: false, inbox_id: 5 };
      if (f.type === 'conversation.send') return { type: 'conversation.ack', conversation_id: 30, client_msg_id: f['client_msg_id'], seq: ++seq, sent_at: 99 };
      return { type: 'ok' };
    });
    await t.desk.refreshInbox();
    expect(await t.desk.answerInbox(5)).toBe(30);
    const c = t.vault.conversations.get(30)!;
    expect(c.inboxText).toBe('Rappelez-moi');
    expect(t.desk.inbox).toEqual([]);
    // No session yet: the answer is held (sealed in the vault), nothing goes to the server.
    expect(t.desk.canWrite(30)).toBe(true);
    expect(await t.desk.sendText(30, 'Bonjour, je vous rappelle demain')).toBe(true);
    expect(await t.desk.sendText(30, 'à 10 h')).toBe(true);
    expect(t.link.ofType('conversation.send')).toHaveLength(0);
    expect(c.messages.map((m) => m.delivery)).toEqual(['held', 'held']);
    // She comes back and writes: the session opens and the held answer goes out, in order.
    const alice = RatchetSession.initiate(t.beneficiary, bundleOf(t.vault), t.random);
    t.desk.onPush(message(30, 1, alice.encrypt(utf8('Je suis revenue'))));
    await vi.waitFor(() => expect(t.link.ofType('conversation.send')).toHaveLength(2));
    const got = t.link.ofType('conversation.send').map((f) => new TextDecoder().decode(alice.decrypt(fromBase64Url(String(f['ciphertext'])), nowS)));
    expect(got).toEqual(['Bonjour, je vous rappelle demain', 'à 10 h']);
    await vi.waitFor(() => expect(c.messages.map((m) => [m.sender, m.seq, m.delivery])).toEqual([['beneficiary', 1, undefined], ['worker', 2, 'sent'], ['worker', 3, 'sent']]));
  });

  it('KeepsRetiredSignedPrekeysWhileSealedContentNamesThemAndAtLeast30Days', async () => {
    let t!: ReturnType<typeof setup>;
    let items: Record<string, unknown>[] = [];
    t = setup((f) => (f.type === 'inbox.list' ? { type: 'inbox.messages', items, more: false } : { type: 'ok' }));
    const firstSpk = t.vault.signedPreKeys[0]!.id;
    items = [inboxItem(t, 1, t.beneficiary, 'scellé à la première clé')];
    const day = 86_400;
    // Two rotations: the sealed message names a key that is no longer even the previous one.
    expect(t.vault.rotateSignedPreKeyIfDue(t.random, nowS + 7 * day)).toBe(true);
    expect(t.vault.rotateSignedPreKeyIfDue(t.random, nowS + 14 * day)).toBe(true);
    expect(t.vault.signedPreKeys.map((k) => k.id)).toEqual([firstSpk + 2, firstSpk + 1, firstSpk]);
    // X3DH accepts the current one and one retired less than a week ago; sealed content any held one.
    expect(t.vault.preKeyStore(nowS + 15 * day).signedPreKey(firstSpk + 1)).toBeDefined();
    expect(t.vault.preKeyStore(nowS + 15 * day).signedPreKey(firstSpk)).toBeUndefined();
    expect(t.vault.sealedPreKeyStore().signedPreKey(firstSpk)).toBeDefined();
    t.clock.set((nowS + 60 * day) * 1000);
    await t.desk.refreshInbox();
    expect(t.desk.inbox[0]!.text).toBe('scellé à la première clé');
    // Past 30 days: the one no entry names is deleted, the one still named is kept.
    expect(t.vault.signedPreKeys.map((k) => k.id)).toEqual([firstSpk + 2, firstSpk]);
    // Once answered (no longer listed), it goes too; the vault round trip keeps retirement times.
    items = [];
    const again = Vault.deserialize(t.vault.serialize().bytes);
    expect(again.spkRetiredAt.get(firstSpk)).toBe(nowS + 7 * day);
    await t.desk.refreshInbox();
    expect(t.vault.signedPreKeys.map((k) => k.id)).toEqual([firstSpk + 2]);
    expect(t.vault.sealedPreKeyStore().signedPreKey(firstSpk)).toBeUndefined();
  });

  it('AnnouncesWhatArrivesOnShiftButNotWhatSheDidHerself', async () => {
    const t = setup((f) => {
      if (f.type === 'queue.take') return { type: 'conversation.assigned', conversation_id: 50, beneficiary_key: 'k', urgent: false, returning: false };
      if (f.type === 'queue.list') return { type: 'queue.snapshot', total: 0, entries: [] };
      if (f.type === 'inbox.list') return { type: 'inbox.messages', items: [], more: false };
      if (f.type === 'shift.start') return { type: 'shift.state', state: 'on', mode: 'manual' };
      return { type: 'ok' };
    });
    await t.desk.startShift();
    expect(t.link.ofType('inbox.list')).toHaveLength(1); // messages left while closed are read at the shift's start
    expect(await t.desk.take()).toBe(50);
    expect(t.notified).toEqual([]);
    t.desk.onPush({ type: 'conversation.assigned', conversation_id: 51, beneficiary_key: 'k2', urgent: false, returning: false, transferred_from: 3 });
    t.desk.onPush({ type: 'inbox.count', unread: 1 });
    expect(t.notified).toEqual(['assigned', 'message']);
    // The schedule ends the shift (close 4004): off, and nothing is announced any more.
    t.desk.shiftEndedByServer();
    expect(t.desk.shift.state).toBe('off');
    t.desk.onPush({ type: 'inbox.count', unread: 2 });
    expect(t.notified).toEqual(['assigned', 'message']);
  });
});
