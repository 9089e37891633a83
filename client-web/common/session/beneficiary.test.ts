import { describe, expect, it } from 'vitest';
import { encodeBase64Url, decodeBase64Url } from '../protocol/base64url.js';
import { concat, utf8 } from '../crypto/bytes.js';
import { orgFingerprint, signWorkerCertificate } from '../crypto/certificate.js';
import { IdentityKeyPair, verifySignature } from '../crypto/keys.js';
import { DeterministicRandom } from '../crypto/random.js';
import type { RatchetSession } from '../crypto/ratchet.js';
import { formatSafetyNumber, safetyNumber } from '../crypto/safety_number.js';
import { seedOf, TestResponder } from '../crypto/testing.js';
import { decodePrechat, openPrechat, openSealed } from '../crypto/sealed.js';
import { FakeSocket, ManualClock, settle } from '../transport/testing.js';
import { BeneficiarySession, SealError, type SessionEvent } from './beneficiary.js';
import { decodeSealedContent } from './sealed_content.js';

const now = 1_767_225_600; // seconds
const org = IdentityKeyPair.generate(new DeterministicRandom(seedOf(900)));
const fingerprint = orgFingerprint(org.publicKey);
const challenge = encodeBase64Url(new Uint8Array(32).fill(7));

const otherOrg = IdentityKeyPair.generate(new DeterministicRandom(seedOf(902)));

/** A worker of the inbox recipients list: her keys and the certificate her bundle carries. */
interface ListedWorker {
  readonly id: number;
  readonly keys: TestResponder;
  /** Absent: `keys.fetch` answers keys_not_found. */
  readonly certificate?: Uint8Array;
}

function listedWorker(id: number, seed: number, signer = org, noKeys = false): ListedWorker {
  const keys = new TestResponder(seed);
  if (noKeys) return { id, keys };
  return {
    id,
    keys,
    certificate: signWorkerCertificate(signer, { workerIdentityKey: keys.identity.publicKey, notBefore: now - 3600, notAfter: now + 3600, displayName: `W${id}` }),
  };
}

/** relaisd's side of one socket, enough for the beneficiary flow, and a worker behind it. */
class FakeServer {
  readonly worker = new TestResponder(31);
  /** What inbox.list_recipients answers (worker 17 is `worker`, the one who takes). */
  listed: ListedWorker[] = [];
  readonly joins: Record<string, unknown>[] = [];
  readonly inbox: Record<string, unknown>[] = [];
  /** inbox.send frames to refuse (with this error) before storing one. */
  refuseInbox = 0;
  readonly inboxIds = new Map<string, number>();
  workerSession: RatchetSession | undefined;
  readonly received: string[] = [];
  readonly backups = new Map<string, { blob: string; version: number }>();
  beneficiaryKey: Uint8Array | undefined;
  seq = 0;
  certificate = signWorkerCertificate(org, {
    workerIdentityKey: this.worker.identity.publicKey,
    notBefore: now - 3600,
    notAfter: now + 3600,
    displayName: 'Camille',
  });
  socket: FakeSocket | undefined;

  attach(s: FakeSocket): void {
    this.socket = s;
    const original = s.send.bind(s);
    s.send = (data: string) => {
      original(data);
      queueMicrotask(() => this.onFrame(JSON.parse(data) as Record<string, unknown>));
    };
    queueMicrotask(() => s.open());
  }

  push(frame: object): void {
    this.socket!.receive(frame);
  }

  private onFrame(f: Record<string, unknown>): void {
    const reply = (m: object) => this.push({ ...m, rid: f.rid });
    switch (f.type) {
      case 'hello':
        this.push({ type: 'welcome', version: 1, challenge });
        return;
      case 'auth.beneficiary': {
        const key = decodeBase64Url(f.identity_key as string);
        const input = concat(utf8('Relais_BeneficiaryAuth_v1'), decodeBase64Url(challenge));
        if (!verifySignature(key, input, decodeBase64Url(f.signature as string))) {
          reply({ type: 'error', code: 204, name: 'invalid_signature' });
          return;
        }
        this.beneficiaryKey = key;
        reply({ type: 'auth.ok', role: 'beneficiary' });
        return;
      }
      case 'sync':
        reply({ type: 'sync.done', conversations: this.seq ? [{ conversation_id: 42, last_seq: this.seq, open: true }] : [] });
        return;
      case 'permanence.get':
        reply({ type: 'permanence.status', open: true, availability: 'available', queue_open: true, emergency_numbers: [] });
        return;
      case 'queue.join':
        this.joins.push(f);
        reply({ type: 'queue.position', ticket_id: 5, position: 2, estimated_wait_s: 300 });
        return;
      case 'queue.leave':
        reply({ type: 'ok' });
        return;
      case 'inbox.list_recipients':
        reply({ type: 'inbox.recipients', workers: this.listed.map((w) => ({ worker_id: w.id, display_name: `W${w.id}` })) });
        return;
      case 'inbox.send': {
        if (this.refuseInbox > 0) {
          this.refuseInbox -= 1;
          reply({ type: 'error', code: 701, name: 'server_busy', retry_after_ms: 10 });
          return;
        }
        this.inbox.push(f);
        const id = f.client_msg_id as string;
        if (!this.inboxIds.has(id)) this.inboxIds.set(id, 300 + this.inboxIds.size);
        reply({ type: 'inbox.ack', client_msg_id: id, inbox_id: this.inboxIds.get(id) });
        return;
      }
      case 'keys.fetch': {
        if (f.worker_id !== undefined) {
          const w = this.listed.find((x) => x.id === f.worker_id);
          if (!w || !w.certificate) {
            reply({ type: 'error', code: 605, name: 'keys_not_found' });
            return;
          }
          const wb = w.keys.bundle();
          reply({
            type: 'keys.bundle',
            identity_key: encodeBase64Url(wb.identityKey),
            spk_id: wb.signedPreKeyId,
            spk_pub: encodeBase64Url(wb.signedPreKey),
            spk_signature: encodeBase64Url(wb.signedPreKeySignature),
            worker_certificate: encodeBase64Url(w.certificate),
          });
          return;
        }
        const b = this.worker.bundle();
        reply({
          type: 'keys.bundle',
          identity_key: encodeBase64Url(b.identityKey),
          spk_id: b.signedPreKeyId,
          spk_pub: encodeBase64Url(b.signedPreKey),
          spk_signature: encodeBase64Url(b.signedPreKeySignature),
          ...(b.oneTimePreKey ? { opk_id: b.oneTimePreKeyId, opk_pub: encodeBase64Url(b.oneTimePreKey) } : {}),
          worker_certificate: encodeBase64Url(this.certificate),
        });
        return;
      }
      case 'conversation.send': {
        const wire = decodeBase64Url(f.ciphertext as string);
        let plaintext: Uint8Array;
        if (!this.workerSession) {
          const r = this.worker.accept(wire, now);
          this.workerSession = r.session;
          plaintext = r.plaintext;
        } else {
          plaintext = this.workerSession.decrypt(wire, now);
        }
        this.received.push(new TextDecoder().decode(plaintext));
        this.seq += 1;
        reply({ type: 'conversation.ack', conversation_id: 42, client_msg_id: f.client_msg_id, seq: this.seq, sent_at: 1000 + this.seq });
        return;
      }
      case 'backup.put':
        this.backups.set(f.lookup as string, { blob: f.blob as string, version: f.version as number });
        reply({ type: 'ok' });
        return;
      case 'backup.get': {
        const b = this.backups.get(f.lookup as string);
        reply(b ? { type: 'backup.blob', kind: 'resume', ...b } : { type: 'error', code: 604, name: 'backup_not_found' });
        return;
      }
      case 'conversation.end':
        reply({ type: 'ok' });
        this.push({ type: 'conversation.ended', conversation_id: 42, reason: 'beneficiary' });
        return;
      default:
        return;
    }
  }

  /** The worker writes to the beneficiary. */
  workerSays(textValue: string): void {
    this.seq += 1;
    const ciphertext = this.workerSession!.encrypt(utf8(textValue));
    this.push({
      type: 'conversation.message',
      conversation_id: 42,
      seq: this.seq,
      sender: 'worker',
      client_msg_id: encodeBase64Url(new Uint8Array(16).fill(this.seq)),
      ciphertext: encodeBase64Url(ciphertext),
      sent_at: 2000,
    });
  }
}

function setup(pin = fingerprint, server = new FakeServer()) {
  const clock = new ManualClock();
  (clock as unknown as { now_: number }).now_ = now * 1000;
  const events: SessionEvent[] = [];
  const options = {
    url: 'wss://relais.test/ws',
    orgFingerprint: pin,
    clock,
    random: new DeterministicRandom(seedOf(77)),
    socketFactory: (url: string) => {
      const s = new FakeSocket(url);
      server.attach(s);
      return s;
    },
  };
  const session = new BeneficiarySession(options);
  session.onEvent((e) => events.push(e));
  return { session, server, clock, events, options };
}

const kinds = (events: SessionEvent[]) => events.map((e) => e.kind).filter((k) => k !== 'transport');

describe('BeneficiarySession', () => {
  it('authenticates with its key, joins, holds what is written while waiting, then sends it encrypted to the verified worker', async () => {
    const { session, server, events } = setup();
    session.start();
    await settle();
    await settle();
    expect(session.transportState).toBe('ready');
    expect(server.beneficiaryKey).toEqual(session.identityKey);
    await settle();
    expect(session.permanence?.availability).toBe('available');
    const position = await session.join(true, 'Prénom : Ana');
    expect(position.position).toBe(2);
    session.sendText('Bonjour, je suis là');
    expect(session.waitingMessages.map((m) => m.status)).toEqual(['held']);
    expect(server.received).toEqual([]);

    server.push({ type: 'conversation.opened', conversation_id: 42, worker_id: 17, display_name: 'Camille' });
    for (let i = 0; i < 6; i++) await settle();
    expect(server.received).toEqual(['Prénom : Ana', 'Bonjour, je suis là']);
    const c = session.current!;
    expect(c.worker?.name).toBe('Camille');
    expect(c.worker?.safetyNumber).toBe(formatSafetyNumber(safetyNumber(session.identityKey, server.worker.identity.publicKey)));
    expect(c.messages.map((m) => [m.text, m.status, m.seq])).toEqual([
      ['Prénom : Ana', 'sent', 1],
      ['Bonjour, je suis là', 'sent', 2],
    ]);

    server.workerSays('Bonjour Ana, je vous écoute.');
    expect(c.messages.at(-1)).toMatchObject({ sender: 'worker', text: 'Bonjour Ana, je vous écoute.', seq: 3 });
    expect(server.socket!.last('conversation.delivered')).toMatchObject({ conversation_id: 42, up_to_seq: 3 });
    session.markRead();
    expect(server.socket!.last('conversation.read')).toMatchObject({ up_to_seq: 3 });
    server.push({ type: 'conversation.read', conversation_id: 42, up_to_seq: 2 });
    expect(c.messages.slice(0, 2).map((m) => m.status)).toEqual(['read', 'read']);

    // A replayed message is shown once.
    const count = c.messages.length;
    server.push({ ...server.socket!.sent[0], type: 'conversation.message' } as object); // invalid: ignored by the codec
    expect(c.messages.length).toBe(count);

    await session.end();
    expect(c.open).toBe(false);
    expect(c.endedReason).toBe('beneficiary');
    expect(kinds(events)).toEqual(['status', 'opened', 'secured', 'ended']);
  });

  it('refuses a worker whose certificate is not from the pinned organisation, and sends nothing', async () => {
    const other = orgFingerprint(IdentityKeyPair.generate(new DeterministicRandom(seedOf(901))).publicKey);
    const { session, server, events } = setup(other);
    session.start();
    await settle();
    await settle();
    await session.join(false, null);
    session.sendText('secret');
    server.push({ type: 'conversation.opened', conversation_id: 42, worker_id: 17, display_name: 'Camille' });
    for (let i = 0; i < 6; i++) await settle();
    expect(server.received).toEqual([]);
    expect(session.current?.untrusted).toBe('untrusted_org_key');
    expect(events.find((e) => e.kind === 'untrusted')).toMatchObject({ reason: 'untrusted_org_key' });
    session.sendText('still held');
    expect(server.socket!.sent.filter((f) => f.type === 'conversation.send')).toEqual([]);
  });

  it('refuses an expired certificate and a bundle without one', async () => {
    const server = new FakeServer();
    server.certificate = signWorkerCertificate(org, {
      workerIdentityKey: server.worker.identity.publicKey,
      notBefore: now - 7200,
      notAfter: now - 3600,
      displayName: 'Camille',
    });
    const { session } = setup(fingerprint, server);
    session.start();
    await settle();
    await settle();
    server.push({ type: 'conversation.opened', conversation_id: 42, worker_id: 17, display_name: 'Camille' });
    for (let i = 0; i < 6; i++) await settle();
    expect(session.current?.untrusted).toBe('certificate_not_valid_now');
  });

  it('backs up under a resume code and restores identity, session and history elsewhere', async () => {
    const { session, server, options } = setup();
    session.start();
    await settle();
    await settle();
    await session.join(false, null);
    server.push({ type: 'conversation.opened', conversation_id: 42, worker_id: 17, display_name: 'Camille' });
    for (let i = 0; i < 6; i++) await settle();
    session.sendText('premier message');
    await settle();
    server.workerSays('réponse une');
    const code = await session.createResumeCode();
    expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(server.backups.size).toBe(1);
    const [stored] = [...server.backups.values()];
    expect(stored!.blob).not.toContain('premier');
    const key = session.identityKey.slice();
    session.wipe();

    server.workerSays('réponse deux, pendant l’absence');
    const restored = await BeneficiarySession.restore(options, code.toLowerCase());
    expect(restored.identityKey).toEqual(key);
    restored.start();
    for (let i = 0; i < 6; i++) await settle();
    // The server replays what came after the backup's cursor.
    server.workerSays('réponse trois');
    expect(restored.current!.messages.map((m) => m.text)).toEqual(['premier message', 'réponse une', 'réponse trois']);
    restored.sendText('je suis revenue');
    await settle();
    expect(server.received.at(-1)).toBe('je suis revenue');
  });

  it('fails to restore with an unknown code', async () => {
    const { options } = setup();
    await expect(BeneficiarySession.restore(options, 'ABCD-EFGH-JKMN')).rejects.toMatchObject({ code: 'backup_not_found' });
    await expect(BeneficiarySession.restore(options, 'ABC')).rejects.toMatchObject({ code: 'bad_code' });
  });

  it('wipe() forgets keys and messages and closes the connection', async () => {
    const { session, server } = setup();
    session.start();
    await settle();
    await settle();
    session.sendText('à oublier');
    const identity = (session as unknown as { identity_: IdentityKeyPair }).identity_;
    session.wipe();
    expect(identity.secretKey.every((b) => b === 0)).toBe(true);
    expect(session.waitingMessages).toEqual([]);
    expect(session.transportState).toBe('stopped');
    expect(server.socket!.closed).toBe(1000);
    expect(() => session.identityKey).toThrow();
  });

  describe('sealed to the workers (CRYPTO.md §17)', () => {
    const phone = '06 12 34 56 78';
    function withWorkers() {
      const server = new FakeServer();
      server.listed = [
        { id: 17, keys: server.worker, certificate: server.certificate },
        listedWorker(23, 32),
        listedWorker(29, 33, otherOrg), // certified by another organisation: left out
        listedWorker(31, 34, org, true), // no keys published: left out
      ];
      return setup(fingerprint, server);
    }
    async function ready(session: BeneficiarySession) {
      session.start();
      await settle();
      await settle();
    }
    const opened = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

    it('seals the pre-chat answers in queue.join to the verified workers only; nothing of them goes in clear or as a message', async () => {
      const { session, server } = withWorkers();
      await ready(session);
      await session.join(true, `Prénom : Ana · Rappel au ${phone}`);
      expect(session.prechatDelivery).toBe('sealed');
      const join = server.joins[0]!;
      expect(join.urgent).toBe(true);
      const blob = decodeBase64Url(join.prechat as string);
      expect(decodePrechat(blob).keys.map((k) => k.workerId)).toEqual([17, 23]);
      for (const w of server.listed.slice(0, 2)) {
        const plaintext = openPrechat(w.keys.identity, w.id, w.keys, session.identityKey, blob);
        expect(opened(plaintext)).toBe(`{"kind":"prechat","text":"Prénom : Ana · Rappel au ${phone}"}`);
      }
      const left = server.listed[2]!;
      expect(() => openPrechat(left.keys.identity, left.id, left.keys, session.identityKey, blob)).toThrow(expect.objectContaining({ code: 'unknown_prekey' }));
      // Only the worker's own bundle fetches, never a one-time prekey spent for this.
      expect(server.socket!.sent.filter((f) => f.type === 'keys.fetch').map((f) => f.worker_id)).toEqual([17, 23, 29, 31]);

      session.sendText('Bonjour');
      server.push({ type: 'conversation.opened', conversation_id: 42, worker_id: 17, display_name: 'Camille' });
      for (let i = 0; i < 6; i++) await settle();
      expect(server.received).toEqual(['Bonjour']);
      expect(session.current!.messages.map((m) => m.text)).toEqual(['Bonjour']);
      expect(JSON.stringify(server.socket!.sent)).not.toContain(phone);
    });

    it('falls back to the first encrypted message when no listed worker verifies', async () => {
      const server = new FakeServer();
      server.listed = [listedWorker(29, 33, otherOrg), listedWorker(31, 34, org, true)];
      const { session } = setup(fingerprint, server);
      await ready(session);
      await session.join(false, `Rappel au ${phone}`);
      expect(session.prechatDelivery).toBe('first_message');
      expect(server.joins[0]).not.toHaveProperty('prechat');
      server.push({ type: 'conversation.opened', conversation_id: 42, worker_id: 17, display_name: 'Camille' });
      for (let i = 0; i < 6; i++) await settle();
      expect(server.received).toEqual([`Rappel au ${phone}`]);
      expect(JSON.stringify(server.socket!.sent)).not.toContain(phone);
    });

    it('joins without answers as before', async () => {
      const { session, server } = withWorkers();
      await ready(session);
      await session.join(false, null);
      expect(session.prechatDelivery).toBeNull();
      expect(server.joins[0]).not.toHaveProperty('prechat');
      expect(server.socket!.sent.some((f) => f.type === 'inbox.list_recipients')).toBe(false);
    });

    it('leaves an inbox message every verified worker opens, retried with the same id and ciphertext, and leaves the queue', async () => {
      const { session, server } = withWorkers();
      await ready(session);
      await session.join(false, null);
      server.refuseInbox = 1;
      await expect(session.leaveMessage('Rappelez-moi demain, s’il vous plaît')).rejects.toMatchObject({ code: 'server_busy' });
      expect(session.ticket).not.toBeNull();
      const id = await session.leaveMessage('Rappelez-moi demain, s’il vous plaît');
      expect(id).toBe(300);
      const tries = server.socket!.sent.filter((f) => f.type === 'inbox.send');
      expect(tries).toHaveLength(2);
      expect(tries[1]).toEqual({ ...tries[0], rid: tries[1]!.rid });
      const frame = server.inbox[0]!;
      const recipients = frame.recipients as { worker_id: number; wrapped_key: string }[];
      expect(recipients.map((r) => r.worker_id)).toEqual([17, 23]);
      for (const [i, w] of server.listed.slice(0, 2).entries()) {
        const plaintext = openSealed('inbox', w.keys.identity, w.keys, session.identityKey, decodeBase64Url(recipients[i]!.wrapped_key), decodeBase64Url(frame.ciphertext as string));
        expect(decodeSealedContent(plaintext)).toEqual({ kind: 'message', text: 'Rappelez-moi demain, s’il vous plaît' });
      }
      expect(server.socket!.last('queue.leave')).toBeDefined();
      expect(session.ticket).toBeNull();
      // A new message is a new entry.
      expect(await session.leaveMessage('Autre chose')).toBe(301);
    });

    it('sends the feedback as a sealed inbox entry', async () => {
      const { session, server } = withWorkers();
      await ready(session);
      await session.sendFeedback('helped', '');
      await session.sendFeedback(null, 'Merci');
      const texts = server.inbox.map((frame) => {
        const r = (frame.recipients as { worker_id: number; wrapped_key: string }[])[1]!;
        const w = server.listed[1]!;
        return opened(openSealed('inbox', w.keys.identity, w.keys, session.identityKey, decodeBase64Url(r.wrapped_key), decodeBase64Url(frame.ciphertext as string)));
      });
      expect(texts).toEqual(['{"kind":"feedback","rating":"helped","text":""}', '{"kind":"feedback","rating":null,"text":"Merci"}']);
    });

    it('refuses to seal when nobody is listed, nobody verifies, or the text is too long; nothing is sent', async () => {
      const server = new FakeServer();
      const { session } = setup(fingerprint, server);
      await ready(session);
      await expect(session.leaveMessage('x')).rejects.toEqual(new SealError('no_recipient'));
      server.listed = [listedWorker(29, 33, otherOrg)];
      await expect(session.leaveMessage('x')).rejects.toMatchObject({ code: 'no_verified_recipient' });
      server.listed = [listedWorker(23, 32)];
      await expect(session.leaveMessage('x'.repeat(40_704))).rejects.toMatchObject({ code: 'too_long' });
      expect(server.socket!.sent.some((f) => f.type === 'inbox.send')).toBe(false);
      expect(await session.leaveMessage('x'.repeat(40_600))).toBe(300);
    });
  });
});
