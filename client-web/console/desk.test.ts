import { describe, expect, it } from 'vitest';
import {
  DeterministicRandom,
  IdentityKeyPair,
  RatchetSession,
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
  const desk = new Desk(link, vault, { random, now: () => nowS * 1000, notify: (k) => notified.push(k) }, { keystore: (p) => p.slice(), recovery: (p) => p.slice() }, { keystore: 1, recovery: 1 });
  const beneficiary = IdentityKeyPair.generate(random);
  return { random, vault, org, link, desk, notified, beneficiary };
}

function message(conversationId: number, seq: number, ciphertext: Uint8Array): Frame {
  return { type: 'conversation.message', conversation_id: conversationId, seq, sender: 'beneficiary', client_msg_id: 'm' + String(seq).padStart(21, '0'), ciphertext: toBase64Url(ciphertext), sent_at: seq };
}

describe('Desk', () => {
  it('DecryptsTheBeneficiarysFirstMessageAndAnswersIt', async () => {
    let seq = 1;
    const t = setup((f) => (f.type === 'conversation.send' ? { type: 'conversation.ack', conversation_id: 4, client_msg_id: f['client_msg_id'], seq: ++seq, sent_at: 99 } : { type: 'ok' }));
    t.desk.onPush({ type: 'conversation.assigned', conversation_id: 4, beneficiary_key: toBase64Url(t.beneficiary.publicKey), urgent: true, returning: false });
    expect(t.desk.canWrite(4)).toBe(false); // a worker cannot write first
    const alice = RatchetSession.initiate(t.beneficiary, bundleOf(t.vault), t.random);
    t.desk.onPush(message(4, 1, alice.encrypt(utf8("j'ai besoin d'aide"))));
    const c = t.vault.conversations.get(4)!;
    expect(c.messages.map((m) => m.text)).toEqual(["j'ai besoin d'aide"]);
    expect(t.vault.oneTimePreKeys.size).toBe(99); // the OPK is gone once used
    expect(t.link.ofType('conversation.delivered').at(-1)).toMatchObject({ conversation_id: 4, up_to_seq: 1 });
    expect(t.desk.canWrite(4)).toBe(true);

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
});
