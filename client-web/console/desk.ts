// The worker's desk: shift, queue, conversations, notes, transfers and inbox, on top of a Link
// and the sealed Vault. No DOM here: the screens (view.ts) read this state and call these
// methods, so the behaviour is unit-tested without a browser.
import {
  CryptoError,
  RatchetSession,
  fromBase64Url,
  openPrechat,
  openSealed,
  orgFingerprint,
  parseWorkerCertificate,
  peekInitialPrefix,
  signTransfer,
  toBase64Url,
  utf8,
  verifyWorkerCertificate,
  type Random,
} from '../common/crypto/index.js';
import { consoleLimits } from './limits.js';
import { readSealedText, type FeedbackRating } from './sealed_text.js';
import { LinkClosedError, ServerError, type Frame, type Link } from './link.js';
import type { ConversationRecord, ShownMessage } from './vault.js';
import { Vault } from './vault.js';

/** The worker's on-call state as relaisd last told it. */
export interface ShiftView {
  state: 'on' | 'off' | 'holiday';
  mode: 'scheduled' | 'manual';
  endsAt?: number;
  nextStartAt?: number;
}

/** One waiting beneficiary in the queue snapshot. */
export interface QueueEntryView {
  ticketId: number;
  urgent: boolean;
  joinedAt: number;
  returning: boolean;
}

/** An interval of absolute time, [start, end), in ms. */
export interface Span {
  start: number;
  end: number;
}

/** The coming days as the schedule says (shift.week, PROTOCOL.md §6.6). */
export interface WeekView {
  timeZone: string;
  from: number;
  to: number;
  /** Her scheduled on-call windows. */
  mine: Span[];
  /** When the permanence is open by schedule, whoever is on call. */
  open: Span[];
  /** Local days closed by an exception (public holiday, closure). */
  closed: Span[];
}

function spans(v: unknown): Span[] {
  return Array.isArray(v) ? (v as Record<string, unknown>[]).map((x) => ({ start: Number(x['start']), end: Number(x['end']) })) : [];
}

/** One inbox entry, decrypted when possible (CRYPTO.md §17.8). */
export interface InboxEntryView {
  inboxId: number;
  beneficiaryKey: string;
  receivedAt: number;
  /** The signed prekey its wrapped key names (clear bytes 1..4), for the retention rule. */
  spkId: number | undefined;
  kind: 'message' | 'feedback';
  text?: string;
  rating?: FeedbackRating | null;
  /** Why it could not be opened (a CryptoError code); it can still be answered. */
  unreadable?: string;
}

/** What the desk tells the screens; `kind` names a sentence of the string catalogue. */
export interface DeskNotice {
  kind:
    | 'key_changed'
    | 'undecryptable'
    | 'send_failed'
    | 'transfer_refused'
    | 'note_too_long'
    | 'vault_trimmed'
    | 'save_failed'
    | 'off_shift'
    | 'queue_empty'
    | 'already_taken'
    | 'inbox_taken'
    | 'prechat_unreadable'
    | 'held_full'
    | 'not_supported';
  conversationId?: number;
  detail?: string;
}

/** Clocks and randomness the desk uses, injected for tests. */
export interface DeskEnv {
  random: Random;
  /** Milliseconds since the epoch. */
  now(): number;
  /** Called when a desktop notification and sound are due; the desk calls it only on shift. */
  notify(kind: 'queue' | 'assigned' | 'message'): void;
}

/** The backup versions the desk last wrote (PROTOCOL.md §6.9: n replaces n-1). */
export interface BackupVersions {
  keystore: number;
  recovery: number;
}

/** Seals the vault for the server: keystore and recovery blobs (vault.ts). */
export interface VaultSealer {
  keystore(plaintext: Uint8Array): Uint8Array;
  recovery(plaintext: Uint8Array): Uint8Array | undefined;
}

function newClientMsgId(random: Random): string {
  return toBase64Url(random.bytes(16));
}

/**
 * The worker's desk after unlock. Every change of state calls the listeners; every change
 * worth keeping schedules a save of the sealed vault (debounced).
 */
export class Desk {
  readonly vault: Vault;
  shift: ShiftView = { state: 'off', mode: 'manual' };
  queue: QueueEntryView[] = [];
  queueTotal = 0;
  inbox: InboxEntryView[] = [];
  inboxUnread = 0;
  /** The week ahead, once read (shift.week). */
  week: WeekView | undefined;
  /** Conversations whose beneficiary is typing now. */
  readonly typing = new Set<number>();
  readonly notices: DeskNotice[] = [];
  private readonly listeners_ = new Set<() => void>();
  private saveTimer_: ReturnType<typeof setTimeout> | undefined;
  private saving_: Promise<void> = Promise.resolve();
  private uploads_ = 0;
  private readonly link_: Link;
  private readonly env_: DeskEnv;
  private readonly sealer_: VaultSealer;
  versions: BackupVersions;
  /** This worker's id (auth.ok): her entry in a pre-chat blob. */
  readonly workerId: number;

  constructor(link: Link, vault: Vault, env: DeskEnv, sealer: VaultSealer, versions: BackupVersions, workerId = 0) {
    this.link_ = link;
    this.vault = vault;
    this.env_ = env;
    this.sealer_ = sealer;
    this.versions = versions;
    this.workerId = workerId;
    link.onPush((f) => this.onPush(f));
  }

  /** Registers a listener called after every change; returns its removal. */
  subscribe(listener: () => void): () => void {
    this.listeners_.add(listener);
    return () => this.listeners_.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners_) l();
  }

  private notice(n: DeskNotice): void {
    this.notices.push(n);
    if (this.notices.length > 20) this.notices.shift();
    this.changed();
  }

  /** True while the worker is on call: the only time sounds and notifications are allowed. */
  get onShift(): boolean {
    return this.shift.state === 'on';
  }

  /** Open conversations, oldest first. */
  openConversations(): ConversationRecord[] {
    return [...this.vault.conversations.values()].filter((c) => c.open).sort((a, b) => a.openedAt - b.openedAt);
  }

  /** Ended or transferred conversations, newest first. */
  pastConversations(): ConversationRecord[] {
    return [...this.vault.conversations.values()].filter((c) => !c.open).sort((a, b) => b.openedAt - a.openedAt);
  }

  // ---- connection ------------------------------------------------------------------------

  /** After every (re)authentication: resend unacknowledged messages, then sync every conversation. */
  async resume(): Promise<void> {
    for (const c of this.vault.conversations.values()) {
      for (const m of c.messages) if (m.pendingCiphertext) void this.transmit(c, m);
    }
    const cursors = [...this.vault.conversations.values()].filter((c) => c.open).slice(0, 256).map((c) => ({ conversation_id: c.id, last_seq: c.lastSeq }));
    const done = await this.link_.request({ type: 'sync', cursors });
    const convs = Array.isArray(done['conversations']) ? (done['conversations'] as { conversation_id: number; last_seq: number; open: boolean }[]) : [];
    for (const s of convs) {
      const c = this.vault.conversations.get(s.conversation_id);
      if (c && !s.open && c.open) {
        c.open = false;
        c.session = undefined;
      } else if (!c && s.open) {
        // Opened while this device was away: the beneficiary's key arrives with its first message.
        this.vault.conversations.set(s.conversation_id, newRecord(s.conversation_id, '', false, false, this.env_.now()));
      }
    }
    await this.refreshShift();
    await this.refreshWeek().catch(() => undefined);
    this.changed();
    this.scheduleSave();
  }

  /** Reads the schedule of the coming week (her windows, opening hours, closed days). */
  async refreshWeek(): Promise<void> {
    try {
      const r = await this.link_.request({ type: 'shift.schedule', days: 7 });
      this.week = { timeZone: String(r['time_zone']), from: Number(r['from']), to: Number(r['to']), mine: spans(r['mine']), open: spans(r['open']), closed: spans(r['closed']) };
      this.changed();
    } catch (e) {
      if (e instanceof LinkClosedError) return; // read again after reconnecting
      if (e instanceof ServerError && e.errorName === 'internal_error') {
        this.notice({ kind: 'not_supported', detail: 'schedule' });
        return;
      }
      throw e;
    }
  }

  private async refreshShift(): Promise<void> {
    // No shift.get in PROTOCOL.md v1: the queue listing tells whether the worker is on call
    // (workers off shift get no pushes); the shift state itself comes with start/stop replies
    // and shift.state pushes.
    if (this.onShift) {
      await this.refreshQueue();
      await this.refreshInbox().catch(() => undefined);
    }
  }

  // ---- pushes ----------------------------------------------------------------------------

  /** Handles one server push. Public for tests. */
  onPush(f: Frame): void {
    switch (f.type) {
      case 'conversation.assigned':
        this.onAssigned(f);
        break;
      case 'conversation.message':
        this.onMessage(f);
        break;
      case 'conversation.delivered':
      case 'conversation.read':
        this.onReceipt(f);
        break;
      case 'conversation.typing':
        if (f['active'] === true) this.typing.add(Number(f['conversation_id']));
        else this.typing.delete(Number(f['conversation_id']));
        this.changed();
        break;
      case 'conversation.ended':
        this.onEnded(Number(f['conversation_id']), String(f['reason']));
        break;
      case 'conversation.transferred':
        this.onTransferred(f);
        break;
      case 'queue.snapshot':
        this.onSnapshot(f);
        break;
      case 'shift.state':
        this.onShiftState(f);
        // The schedule moved her on or off: the week ahead has moved on too.
        void this.refreshWeek().catch(() => undefined);
        break;
      case 'inbox.count': {
        const before = this.inboxUnread;
        this.inboxUnread = Number(f['unread']);
        if (this.inboxUnread !== before && this.onShift) {
          if (this.inboxUnread > before) this.env_.notify('message');
          void this.refreshInbox().catch(() => undefined);
        }
        this.changed();
        break;
      }
      case 'keys.low':
        void this.replenishPreKeys();
        break;
      default:
        break;
    }
  }

  /** A conversation given to her: by a push (transfer, automatic assignment: announced) or as the reply to her own take/answer (not announced). */
  private onAssigned(f: Frame, ownAction = false): void {
    const id = Number(f['conversation_id']);
    const existing = this.vault.conversations.get(id);
    const rec = existing ?? newRecord(id, String(f['beneficiary_key']), f['urgent'] === true, f['returning'] === true, this.env_.now());
    rec.beneficiaryKey = String(f['beneficiary_key']);
    rec.open = true;
    if (typeof f['transferred_from'] === 'number') rec.transferredFrom = f['transferred_from'];
    if (typeof f['prechat'] === 'string' && rec.prechat === undefined) this.openPrechatOf(rec, f['prechat'], rec.transferredFrom !== undefined);
    if (typeof f['inbox_id'] === 'number') {
      rec.inboxId = f['inbox_id'];
      const entry = this.inbox.find((i) => i.inboxId === rec.inboxId);
      if (entry?.text !== undefined && rec.inboxText === undefined) rec.inboxText = entry.text;
    }
    this.vault.conversations.set(id, rec);
    if (this.onShift && !ownAction && !existing?.open) this.env_.notify('assigned');
    this.changed();
    this.scheduleSave();
  }

  /** Opens the pre-chat answers sealed to this worker (CRYPTO.md §17); a notice if they cannot be read. */
  private openPrechatOf(c: ConversationRecord, blob: string, transferred: boolean): void {
    try {
      const plaintext = openPrechat(this.vault.identity, this.workerId, this.vault.sealedPreKeyStore(), fromBase64Url(c.beneficiaryKey), fromBase64Url(blob));
      c.prechat = readSealedText(plaintext, 'prechat').text;
      plaintext.fill(0);
    } catch (e) {
      const code = e instanceof CryptoError ? e.code : 'error';
      // A transferred conversation's pre-chat was sealed to the first worker, not to her.
      if (transferred && code === 'unknown_prekey') return;
      this.notice({ kind: 'prechat_unreadable', conversationId: c.id, detail: code });
    }
  }

  private onMessage(f: Frame): void {
    const id = Number(f['conversation_id']);
    const seq = Number(f['seq']);
    let c = this.vault.conversations.get(id);
    if (!c) {
      c = newRecord(id, '', false, false, this.env_.now());
      this.vault.conversations.set(id, c);
    }
    if (c.messages.some((m) => m.seq === seq)) return; // at-least-once delivery: shown once
    const base = { seq, sentAt: Number(f['sent_at']), clientMsgId: String(f['client_msg_id']) };
    if (f['sender'] === 'worker') {
      // Our own message copied to this device: the ratchet cannot decrypt what it sent.
      this.insertMessage(c, { ...base, sender: 'worker', text: '', delivery: 'sent' });
    } else {
      const text = this.decrypt(c, fromBase64Url(String(f['ciphertext'])));
      if (text === undefined) {
        this.bumpCursor(c, seq);
        return;
      }
      this.insertMessage(c, { ...base, sender: 'beneficiary', text });
      if (this.onShift) this.env_.notify('message');
    }
    this.bumpCursor(c, seq);
    this.link_.send({ type: 'conversation.delivered', conversation_id: id, up_to_seq: c.lastSeq });
    this.changed();
    if (c.session && c.messages.some((m) => m.delivery === 'held')) void this.flushHeld(c);
    else this.scheduleSave();
  }

  /**
   * Sends what the worker wrote before the session existed (an inbox answer, a first word),
   * in order, now that the beneficiary's first message opened it — as relais-cli does.
   */
  private async flushHeld(c: ConversationRecord): Promise<void> {
    const held = c.messages.filter((m) => m.delivery === 'held');
    const session = this.vault.session(c.id, this.env_.random);
    if (!session || held.length === 0) return;
    try {
      for (const m of held) {
        m.pendingCiphertext = toBase64Url(session.encrypt(utf8(m.text)));
        m.delivery = 'pending';
      }
      this.vault.saveSession(c.id, session);
    } finally {
      session.destroy();
    }
    this.changed();
    await this.saveNow();
    for (const m of held) if (m.pendingCiphertext) await this.transmit(c, m);
  }

  /** Decrypts a beneficiary's ciphertext; undefined (with a notice) if it cannot be read. */
  private decrypt(c: ConversationRecord, bytes: Uint8Array): string | undefined {
    const now = Math.floor(this.env_.now() / 1000);
    try {
      const prefix = peekInitialPrefix(bytes);
      let session = this.vault.session(c.id, this.env_.random);
      let plaintext: Uint8Array;
      if (prefix && (!session || !sameInitial(session, prefix.identityKey, prefix.ephemeralKey))) {
        const key = toBase64Url(prefix.identityKey);
        if (c.beneficiaryKey !== '' && key !== c.beneficiaryKey) {
          // The server announced one identity and a message claims another: never accept silently.
          this.notice({ kind: 'key_changed', conversationId: c.id });
          return undefined;
        }
        c.beneficiaryKey = key;
        const r = RatchetSession.respond({ identity: this.vault.identity, preKeys: this.vault.preKeyStore(now), message: bytes, now, random: this.env_.random });
        this.vault.consumeOneTimePreKey(r.consumedOneTimePreKeyId);
        session?.destroy();
        session = r.session;
        plaintext = r.plaintext;
      } else {
        if (!session) throw new CryptoError('wrong_message_type');
        plaintext = session.decrypt(bytes, now);
      }
      this.vault.saveSession(c.id, session);
      session.destroy();
      return new TextDecoder().decode(plaintext);
    } catch (e) {
      if (e instanceof CryptoError && e.code === 'duplicate_message') return undefined;
      this.notice({ kind: 'undecryptable', conversationId: c.id, detail: e instanceof CryptoError ? e.code : 'error' });
      return undefined;
    }
  }

  private insertMessage(c: ConversationRecord, m: ShownMessage): void {
    c.messages.push(m);
    c.messages.sort((a, b) => (a.seq || Number.MAX_SAFE_INTEGER) - (b.seq || Number.MAX_SAFE_INTEGER));
  }

  private bumpCursor(c: ConversationRecord, seq: number): void {
    if (seq > c.lastSeq) c.lastSeq = seq;
  }

  private onReceipt(f: Frame): void {
    const c = this.vault.conversations.get(Number(f['conversation_id']));
    if (!c) return;
    const upTo = Number(f['up_to_seq']);
    const level = f.type === 'conversation.read' ? 'read' : 'delivered';
    for (const m of c.messages) {
      if (m.sender !== 'worker' || m.seq === 0 || m.seq > upTo) continue;
      if (level === 'read' || m.delivery !== 'read') m.delivery = level;
    }
    this.changed();
  }

  private onEnded(id: number, reason: string): void {
    const c = this.vault.conversations.get(id);
    if (!c) return;
    c.open = false;
    c.endedReason = reason;
    c.session = undefined; // CRYPTO.md §11: a closed conversation deletes its session
    this.typing.delete(id);
    this.changed();
    this.scheduleSave();
  }

  private onTransferred(f: Frame): void {
    const c = this.vault.conversations.get(Number(f['conversation_id']));
    if (!c) return;
    c.open = false;
    c.transferredTo = Number(f['to_worker_id']);
    c.endedReason = 'transferred';
    c.session = undefined;
    this.changed();
    this.scheduleSave();
  }

  private onSnapshot(f: Frame): void {
    const entries = Array.isArray(f['entries']) ? (f['entries'] as Record<string, unknown>[]) : [];
    const before = new Set(this.queue.map((q) => q.ticketId));
    this.queue = entries.map((e) => ({ ticketId: Number(e['ticket_id']), urgent: e['urgent'] === true, joinedAt: Number(e['joined_at']), returning: e['returning'] === true }));
    this.queueTotal = Number(f['total'] ?? this.queue.length);
    if (this.onShift && this.queue.some((q) => !before.has(q.ticketId))) this.env_.notify('queue');
    this.changed();
  }

  /** The schedule ended her shift and relaisd closed her connections (4004): she is off, said so, nothing more arrives. */
  shiftEndedByServer(): void {
    this.onShiftState({ type: 'shift.state', state: 'off', mode: 'scheduled' });
  }

  private onShiftState(f: Frame): void {
    const s: ShiftView = { state: f['state'] as ShiftView['state'], mode: f['mode'] as ShiftView['mode'] };
    if (typeof f['ends_at'] === 'number') s.endsAt = f['ends_at'];
    if (typeof f['next_start_at'] === 'number') s.nextStartAt = f['next_start_at'];
    this.shift = s;
    if (!this.onShift) {
      // Off means off: nothing about the queue is shown or announced.
      this.queue = [];
      this.queueTotal = 0;
      this.typing.clear();
    }
    this.changed();
  }

  // ---- actions ---------------------------------------------------------------------------

  /** Starts a manual shift. */
  async startShift(): Promise<void> {
    this.onShiftState(await this.link_.request({ type: 'shift.start' }));
    await this.refreshQueue();
    // Messages left while closed wait for this moment (CRYPTO.md §17: opened here, in the console).
    await this.refreshInbox().catch(() => undefined);
  }

  /** Stops the shift; open conversations are handed over or ended as chosen. */
  async stopShift(handover?: 'colleague' | 'end'): Promise<void> {
    const f: Frame = { type: 'shift.stop' };
    if (handover) f['handover'] = handover;
    this.onShiftState(await this.link_.request(f));
  }

  /** Holiday mode on or off (until a time, or until turned off). */
  async setHoliday(enabled: boolean, until?: number): Promise<void> {
    const f: Frame = { type: 'shift.holiday', enabled };
    if (until !== undefined) f['until'] = until;
    this.onShiftState(await this.link_.request(f));
  }

  /** Availability and capacity for automatic assignment. */
  async setPresence(status: 'available' | 'busy', capacity?: number): Promise<void> {
    const f: Frame = { type: 'presence.set', status };
    if (capacity !== undefined) f['capacity'] = capacity;
    await this.link_.request(f);
  }

  /** Reads the queue (also done when relaisd pushes no snapshots). */
  async refreshQueue(): Promise<void> {
    try {
      this.onSnapshot(await this.link_.request({ type: 'queue.list' }));
    } catch (e) {
      if (!(e instanceof ServerError || e instanceof LinkClosedError)) throw e;
    }
  }

  /** Takes the next waiting beneficiary, or the chosen ticket; returns the conversation id. */
  async take(ticketId?: number): Promise<number | undefined> {
    const f: Frame = { type: 'queue.take' };
    if (ticketId !== undefined) f['ticket_id'] = ticketId;
    try {
      const assigned = await this.link_.request(f);
      this.onAssigned(assigned, true);
      await this.refreshQueue();
      return Number(assigned['conversation_id']);
    } catch (e) {
      if (e instanceof ServerError && (e.errorName === 'off_shift' || e.errorName === 'queue_empty' || e.errorName === 'already_taken')) {
        this.notice({ kind: e.errorName });
        await this.refreshQueue();
        return undefined;
      }
      throw e;
    }
  }

  /** True when the worker can write in this conversation (sent now, or held until the session exists). */
  canWrite(conversationId: number): boolean {
    const c = this.vault.conversations.get(conversationId);
    return !!c && c.open;
  }

  /** True once the beneficiary's first message opened the session: what she writes goes out at once. */
  isSecured(conversationId: number): boolean {
    const c = this.vault.conversations.get(conversationId);
    return !!c && c.open && !!c.session;
  }

  /**
   * Encrypts and sends a message; it is kept (and resent) until acknowledged. Before the
   * beneficiary's first message there is no session (a worker cannot write first): the text is
   * held, sealed in the vault, and sent when it arrives. False if it cannot be sent or held.
   */
  async sendText(conversationId: number, text: string): Promise<boolean> {
    const c = this.vault.conversations.get(conversationId);
    if (!c || !c.open || utf8(text).length > consoleLimits.maxMessageBytes || text.trim() === '') return false;
    const session = this.vault.session(c.id, this.env_.random);
    if (!session) {
      if (c.messages.filter((m) => m.delivery === 'held').length >= consoleLimits.maxHeldMessages) {
        this.notice({ kind: 'held_full', conversationId });
        return false;
      }
      c.messages.push({ seq: 0, sender: 'worker', text, sentAt: this.env_.now(), clientMsgId: newClientMsgId(this.env_.random), delivery: 'held' });
      this.changed();
      await this.saveNow();
      return true;
    }
    let ciphertext: Uint8Array;
    try {
      ciphertext = session.encrypt(utf8(text));
    } catch {
      session.destroy();
      return false;
    }
    this.vault.saveSession(c.id, session);
    session.destroy();
    const m: ShownMessage = { seq: 0, sender: 'worker', text, sentAt: this.env_.now(), clientMsgId: newClientMsgId(this.env_.random), delivery: 'pending', pendingCiphertext: toBase64Url(ciphertext) };
    c.messages.push(m);
    this.changed();
    // The ratchet has moved on: the new state and the ciphertext are sealed before they leave.
    await this.saveNow();
    await this.transmit(c, m);
    return true;
  }

  private async transmit(c: ConversationRecord, m: ShownMessage): Promise<void> {
    if (!m.pendingCiphertext) return;
    try {
      const ack = await this.link_.request({ type: 'conversation.send', conversation_id: c.id, client_msg_id: m.clientMsgId, ciphertext: m.pendingCiphertext });
      m.seq = Number(ack['seq']);
      m.sentAt = Number(ack['sent_at']);
      if (m.delivery === 'pending') m.delivery = 'sent';
      delete m.pendingCiphertext;
      this.bumpCursor(c, m.seq);
      this.insertMessage(c, c.messages.splice(c.messages.indexOf(m), 1)[0]!);
      this.changed();
      this.scheduleSave();
    } catch (e) {
      if (e instanceof LinkClosedError) return; // resent by resume() after reconnecting
      if (e instanceof ServerError && e.errorName === 'conversation_ended') {
        delete m.pendingCiphertext;
        this.onEnded(c.id, 'ended');
      }
      this.notice({ kind: 'send_failed', conversationId: c.id, detail: e instanceof ServerError ? e.errorName : 'error' });
    }
  }

  /** Tells the beneficiary whether the worker is typing (relayed, never stored). */
  typingChanged(conversationId: number, active: boolean): void {
    this.link_.send({ type: 'conversation.typing', conversation_id: conversationId, active });
  }

  /** Marks a conversation read up to its last received message. */
  markRead(conversationId: number): void {
    const c = this.vault.conversations.get(conversationId);
    if (!c || c.lastSeq === 0) return;
    this.link_.send({ type: 'conversation.read', conversation_id: conversationId, up_to_seq: c.lastSeq });
  }

  /** Ends a conversation. */
  async end(conversationId: number): Promise<void> {
    await this.link_.request({ type: 'conversation.end', conversation_id: conversationId });
    this.onEnded(conversationId, 'worker');
  }

  /**
   * Hands a conversation to a colleague: fetches her bundle, checks her certificate against
   * this worker's organisation, signs the transfer (CRYPTO.md §8) and sends it.
   */
  async transfer(conversationId: number, toWorkerId: number): Promise<boolean> {
    const c = this.vault.conversations.get(conversationId);
    if (!c || !this.vault.certificate) return false;
    try {
      const bundle = await this.link_.request({ type: 'keys.fetch', worker_id: toWorkerId });
      const org = parseWorkerCertificate(this.vault.certificate).certificate.orgPublicKey;
      const toKey = fromBase64Url(String(bundle['identity_key']));
      verifyWorkerCertificate(fromBase64Url(String(bundle['worker_certificate'] ?? '')), orgFingerprint(org), Math.floor(this.env_.now() / 1000), toKey);
      const control = signTransfer(this.vault.identity, { conversationId: utf8(String(conversationId)), toWorkerKey: toKey, issuedAt: Math.floor(this.env_.now() / 1000) });
      await this.link_.request({ type: 'conversation.transfer', conversation_id: conversationId, to_worker_id: toWorkerId, control: toBase64Url(control) });
      c.open = false;
      c.transferredTo = toWorkerId;
      c.endedReason = 'transferred';
      c.session = undefined;
      this.changed();
      this.scheduleSave();
      return true;
    } catch (e) {
      this.notice({ kind: 'transfer_refused', conversationId, detail: e instanceof ServerError ? e.errorName : e instanceof CryptoError ? e.code : 'error' });
      return false;
    }
  }

  /** Saves the private note about this conversation's beneficiary; false (with a notice) if too long. */
  setNote(conversationId: number, text: string): boolean {
    const c = this.vault.conversations.get(conversationId);
    if (!c || c.beneficiaryKey === '') return false;
    if (!this.vault.setNote(c.beneficiaryKey, text, this.env_.now())) {
      this.notice({ kind: 'note_too_long', conversationId });
      return false;
    }
    this.changed();
    this.scheduleSave();
    return true;
  }

  /** The note about this conversation's beneficiary, or ''. */
  noteFor(conversationId: number): string {
    const c = this.vault.conversations.get(conversationId);
    return (c && this.vault.notes.get(c.beneficiaryKey)?.text) ?? '';
  }

  /** Adds or replaces a canned reply; false if the list is full or the reply empty. */
  saveCanned(title: string, text: string, id?: string): boolean {
    if (title.trim() === '' || text.trim() === '') return false;
    const existing = id ? this.vault.canned.find((r) => r.id === id) : undefined;
    if (existing) {
      existing.title = title;
      existing.text = text;
    } else {
      if (this.vault.canned.length >= consoleLimits.maxCannedReplies) return false;
      this.vault.canned.push({ id: toBase64Url(this.env_.random.bytes(8)), title, text });
    }
    this.changed();
    this.scheduleSave();
    return true;
  }

  /** Removes a canned reply. */
  deleteCanned(id: string): void {
    this.vault.canned = this.vault.canned.filter((r) => r.id !== id);
    this.changed();
    this.scheduleSave();
  }

  /**
   * Lists the inbox (messages and feedback left for her) and opens each entry with her signed
   * prekeys (CRYPTO.md §17). After a complete listing, retired signed prekeys that no entry
   * names any more and that are past their keeping time are deleted (CRYPTO.md §11).
   */
  async refreshInbox(): Promise<void> {
    const entries: InboxEntryView[] = [];
    let complete = false;
    try {
      let after: number | undefined;
      for (let page = 0; page < consoleLimits.maxInboxPages; page++) {
        const f: Frame = { type: 'inbox.list', limit: 50 };
        if (after !== undefined) f['after_id'] = after;
        const reply = await this.link_.request(f);
        const items = Array.isArray(reply['items']) ? (reply['items'] as Record<string, unknown>[]) : [];
        for (const i of items) entries.push(this.openInboxItem(i));
        if (reply['more'] !== true || items.length === 0) {
          complete = true;
          break;
        }
        after = Number(items.at(-1)!['inbox_id']);
      }
    } catch (e) {
      if (e instanceof ServerError && e.errorName === 'internal_error') {
        this.notice({ kind: 'not_supported', detail: 'inbox' });
        return;
      }
      throw e;
    }
    this.inbox = entries;
    if (complete) {
      const named = new Set(entries.map((i) => i.spkId).filter((x): x is number => x !== undefined));
      if (this.vault.pruneSignedPreKeys(Math.floor(this.env_.now() / 1000), named).length > 0) this.scheduleSave();
    }
    this.changed();
  }

  private openInboxItem(i: Record<string, unknown>): InboxEntryView {
    const beneficiaryKey = String(i['beneficiary_key']);
    const wrapped = fromBase64Url(String(i['wrapped_key']));
    const spkId = wrapped.length >= 5 ? new DataView(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength).getUint32(1) : undefined;
    const view: InboxEntryView = { inboxId: Number(i['inbox_id']), beneficiaryKey, receivedAt: Number(i['received_at']), spkId, kind: 'message' };
    try {
      const plaintext = openSealed('inbox', this.vault.identity, this.vault.sealedPreKeyStore(), fromBase64Url(beneficiaryKey), wrapped, fromBase64Url(String(i['ciphertext'])));
      const said = readSealedText(plaintext, 'inbox');
      plaintext.fill(0);
      view.text = said.text;
      if (said.kind === 'feedback') {
        view.kind = 'feedback';
        view.rating = said.rating;
      }
    } catch (e) {
      view.unreadable = e instanceof CryptoError ? e.code : 'error';
    }
    return view;
  }

  /** Answers an inbox entry: opens a conversation the beneficiary receives when it comes back. */
  async answerInbox(inboxId: number): Promise<number | undefined> {
    try {
      const assigned = await this.link_.request({ type: 'inbox.answer', inbox_id: inboxId });
      if (typeof assigned['inbox_id'] !== 'number') assigned['inbox_id'] = inboxId;
      this.onAssigned(assigned, true);
      this.inbox = this.inbox.filter((i) => i.inboxId !== inboxId);
      this.changed();
      return Number(assigned['conversation_id']);
    } catch (e) {
      if (e instanceof ServerError) {
        if (e.errorName === 'already_taken' || e.errorName === 'inbox_not_found') this.inbox = this.inbox.filter((i) => i.inboxId !== inboxId);
        this.notice({ kind: e.errorName === 'already_taken' || e.errorName === 'inbox_not_found' ? 'inbox_taken' : e.errorName === 'off_shift' ? 'off_shift' : 'not_supported', detail: e.errorName });
        return undefined;
      }
      throw e;
    }
  }

  /** Takes an entry out of every recipient's unread list without a conversation (a feedback, or handled otherwise). */
  async dismissInbox(inboxId: number): Promise<boolean> {
    try {
      await this.link_.request({ type: 'inbox.dismiss', inbox_id: inboxId });
      this.inbox = this.inbox.filter((i) => i.inboxId !== inboxId);
      this.changed();
      return true;
    } catch (e) {
      if (e instanceof ServerError) {
        if (e.errorName === 'already_taken' || e.errorName === 'inbox_not_found') {
          this.inbox = this.inbox.filter((i) => i.inboxId !== inboxId);
          this.notice({ kind: 'inbox_taken', detail: e.errorName });
        } else this.notice({ kind: e.errorName === 'off_shift' ? 'off_shift' : 'not_supported', detail: e.errorName });
        return false;
      }
      throw e;
    }
  }

  /** Publishes a new batch of one-time prekeys (after keys.low). */
  async replenishPreKeys(): Promise<void> {
    const fresh = this.vault.addOneTimePreKeys(consoleLimits.oneTimePreKeyBatch, this.env_.random);
    await this.saveNow();
    await this.link_.request({ type: 'keys.publish', ...this.vault.publishFields(fresh, false) });
  }

  // ---- saving ----------------------------------------------------------------------------

  /** True when no save is waiting or under way: everything shown is sealed on the server (or failed, with a notice). */
  get saveIdle(): boolean {
    return this.saveTimer_ === undefined && this.uploads_ === 0;
  }

  /** Schedules a save of the sealed vault after a short quiet period. */
  scheduleSave(): void {
    if (this.saveTimer_ !== undefined) clearTimeout(this.saveTimer_);
    this.saveTimer_ = setTimeout(() => {
      this.saveTimer_ = undefined;
      void this.saveNow();
    }, consoleLimits.saveDebounceMs);
  }

  /** Seals and uploads the vault now (keystore, then recovery blob); saves never overlap. */
  saveNow(): Promise<void> {
    if (this.saveTimer_ !== undefined) {
      clearTimeout(this.saveTimer_);
      this.saveTimer_ = undefined;
    }
    this.uploads_ += 1;
    this.saving_ = this.saving_
      .then(() => this.upload())
      .catch((e: unknown) => {
        this.notice({ kind: 'save_failed', detail: e instanceof ServerError ? e.errorName : 'connection' });
      })
      .finally(() => {
        this.uploads_ -= 1;
        if (this.saveIdle) this.changed();
      });
    return this.saving_;
  }

  private async upload(): Promise<void> {
    const { bytes, trimmed } = this.vault.serialize();
    if (trimmed) this.notice({ kind: 'vault_trimmed' });
    const keystore = this.sealer_.keystore(bytes);
    const recovery = this.sealer_.recovery(bytes);
    bytes.fill(0);
    await this.putVersioned('keystore', keystore);
    if (recovery && this.vault.recovery) await this.putVersioned('recovery', recovery, toBase64Url(this.vault.recovery.lookupId));
  }

  private async putVersioned(kind: 'keystore' | 'recovery', blob: Uint8Array, lookup?: string): Promise<void> {
    const frame: Frame = { type: 'backup.put', kind, blob: toBase64Url(blob), version: this.versions[kind] + 1 };
    if (lookup) frame['lookup'] = lookup;
    try {
      await this.link_.request(frame);
    } catch (e) {
      if (!(e instanceof ServerError && e.errorName === 'version_conflict')) throw e;
      // Another device of this worker saved meanwhile: this device's state is the newer one
      // for what it shows; it takes the next version (last writer wins, said in the README).
      const get: Frame = { type: 'backup.get', kind };
      if (lookup) get['lookup'] = lookup;
      const current = await this.link_.request(get);
      this.versions[kind] = Number(current['version']);
      await this.link_.request({ ...frame, version: this.versions[kind] + 1 });
    }
    this.versions[kind] += 1;
  }
}

function sameInitial(session: RatchetSession, identityKey: Uint8Array, ephemeralKey: Uint8Array): boolean {
  const p = session.initialPrefix;
  if (!p) return false;
  return toBase64Url(p.identityKey) === toBase64Url(identityKey) && toBase64Url(p.ephemeralKey) === toBase64Url(ephemeralKey);
}

function newRecord(id: number, beneficiaryKey: string, urgent: boolean, returning: boolean, now: number): ConversationRecord {
  return { id, beneficiaryKey, urgent, returning, open: true, lastSeq: 0, messages: [], openedAt: now };
}

