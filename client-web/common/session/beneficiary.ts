/**
 * The beneficiary's side of Relais over the transport: an anonymous identity kept in memory,
 * authentication by signing the challenge (PROTOCOL.md §5), the queue, and the end-to-end
 * encrypted conversation (X3DH as initiator, then the Double Ratchet; CRYPTO.md §3-§4) with the
 * worker whose certificate verifies against the organisation fingerprint pinned by the embed
 * snippet. Optionally a resume code backs the identity, sessions and history up, sealed, on the
 * server (CRYPTO.md §9). Nothing is written to any browser storage; `wipe()` forgets everything.
 * No DOM: the widget renders what this class reports through `onChange`/`onEvent`.
 */
import { decodeBase64Url, encodeBase64Url } from '../protocol/base64url.js';
import type { Message, ServerMessage } from '../protocol/messages.js';
import { RequestError, Transport, type SocketFactory, type StateInfo, type TransportState } from '../transport/transport.js';
import type { Clock } from '../transport/clock.js';
import { systemClock } from '../transport/clock.js';
import { concat, utf8 } from '../crypto/bytes.js';
import { verifyWorkerCertificate } from '../crypto/certificate.js';
import { CryptoError } from '../crypto/errors.js';
import { IdentityKeyPair } from '../crypto/keys.js';
import { systemRandom, type Random } from '../crypto/random.js';
import { RatchetSession } from '../crypto/ratchet.js';
import { maxInboxPlaintext, maxPrechatPlaintext, sealedLimits, SealedRecipient, sealPrechat, sealToWorkers } from '../crypto/sealed.js';
import { deriveResumeKeys, generateResumeCode, openResumeBackup, sealResumeBackup } from '../crypto/resume_code.js';
import { formatSafetyNumber, safetyNumber } from '../crypto/safety_number.js';
import { wipe } from '../crypto/sodium.js';
import { verifyTransfer } from '../crypto/transfer.js';
import { encodeSealedContent, type FeedbackRating, type SealedContent } from './sealed_content.js';

/** Where a message of the person stands; the worker's messages are always `received`. */
export type MessageStatus = 'held' | 'sending' | 'sent' | 'delivered' | 'read' | 'failed' | 'received';

/** One message as shown. */
export interface ChatMessage {
  readonly clientMsgId: string;
  readonly sender: 'worker' | 'beneficiary';
  readonly text: string;
  seq?: number;
  sentAt?: number;
  status: MessageStatus;
}

/** The person answering, as verified. */
export interface VerifiedWorker {
  readonly workerId: number;
  /** The name in the org-signed certificate (what the UI shows). */
  readonly name: string;
  readonly identityKey: Uint8Array;
  /** 60 digits in 12 groups of 5 (CRYPTO.md §5). */
  readonly safetyNumber: string;
}

/** One conversation of this beneficiary. */
export interface ConversationView {
  readonly id: number;
  workerId: number;
  displayName: string;
  worker?: VerifiedWorker;
  open: boolean;
  endedReason?: Message<'conversation.ended'>['reason'];
  messages: ChatMessage[];
  workerTyping: boolean;
  /** The certificate or a transfer did not verify: nothing is sent in this conversation. */
  untrusted?: string;
  /** The safety number changed (transfer): the UI warns. */
  safetyChanged: boolean;
}

/** Something the UI may announce once. */
export type SessionEvent =
  | { kind: 'status'; status: Message<'permanence.status'> }
  /** The server did not give the permanence status (older server, error): the UI still lets the person start. */
  | { kind: 'status_unavailable' }
  | { kind: 'queue'; position: Message<'queue.position'> }
  | { kind: 'queue_timeout'; timeout: Message<'queue.timeout'> }
  | { kind: 'inbox_offer'; offer: Message<'queue.inbox_offer'> }
  | { kind: 'opened'; conversationId: number }
  | { kind: 'secured'; conversationId: number; worker: VerifiedWorker }
  | { kind: 'untrusted'; conversationId: number; reason: string }
  | { kind: 'transferred'; conversationId: number; name: string }
  | { kind: 'ended'; conversationId: number; reason: Message<'conversation.ended'>['reason'] }
  | { kind: 'send_failed'; clientMsgId: string; error: string }
  | { kind: 'undecryptable'; conversationId: number; seq: number }
  | { kind: 'transport'; state: TransportState; info: StateInfo };

/**
 * A message could not be sealed to the workers: the server lists none (`no_recipient`), none of
 * those listed has a certificate and keys that verify against the pinned organisation
 * (`no_verified_recipient`), or the text is too long (`too_long`).
 */
export class SealError extends Error {
  override readonly name = 'SealError';
  constructor(readonly code: 'no_recipient' | 'no_verified_recipient' | 'too_long') {
    super(code);
  }
}

/** How the pre-chat answers of the last `join` travel (null: there were none). */
export type PrechatDelivery = 'sealed' | 'first_message' | null;

/** Construction parameters. */
export interface BeneficiaryOptions {
  /** `wss://host/ws`. */
  readonly url: string;
  /** base64url(SHA-256(org public key)), from the embed snippet (CRYPTO.md §7). */
  readonly orgFingerprint: string;
  readonly client?: string;
  readonly random?: Random;
  readonly clock?: Clock;
  readonly socketFactory?: SocketFactory;
  /** Jitter source of the transport. */
  readonly jitter?: () => number;
}

/** Largest backup plaintext: the blob (1 + 24 + 16 bytes more) must stay within 46,080 bytes. */
const maxBackupPlaintext = 45_000;
/** Milliseconds to gather changes before one backup.put (a burst of messages makes one write). */
const backupDebounceMs = 400;
const authLabel = 'Relais_BeneficiaryAuth_v1';

interface ConversationState extends ConversationView {
  session?: RatchetSession;
  /** Highest seq processed (ours acked or theirs shown). */
  lastSeq: number;
  /** Texts written before the session existed, sent in order once it does. */
  held: ChatMessage[];
  /** Highest worker seq shown, for the read receipt. */
  lastWorkerSeq: number;
  readSent: number;
  fetching: boolean;
}

interface BackupState {
  code: string;
  backupKey: Uint8Array;
  lookup: string;
  version: number;
  timer: unknown;
  writing: boolean;
  dirty: boolean;
}

/** A beneficiary's connection, identity and conversations. */
export class BeneficiarySession {
  private readonly o_: BeneficiaryOptions;
  private readonly random_: Random;
  private readonly clock_: Clock;
  private identity_: IdentityKeyPair | null;
  private transport_: Transport;
  private readonly conversations_ = new Map<number, ConversationState>();
  private currentId_ = 0;
  private backup_: BackupState | null = null;
  private ticket_: Message<'queue.position'> | null = null;
  private status_: Message<'permanence.status'> | null = null;
  private listeners_: ((e: SessionEvent) => void)[] = [];
  private changeListeners_: (() => void)[] = [];
  private wiped_ = false;
  /** Pre-chat answers that could not be sealed: sent first (encrypted) when the session exists. */
  private prechatText_: string | null = null;
  private prechatDelivery_: PrechatDelivery = null;
  /**
   * Inbox messages sealed but not yet acknowledged, by their content: sending the same content
   * again (a retry after a lost connection) reuses the client_msg_id and ciphertext, so the
   * server keeps it once (PROTOCOL.md inbox.send idempotency).
   */
  private pendingInbox_ = new Map<string, Message<'inbox.send'>>();

  constructor(options: BeneficiaryOptions, identity?: IdentityKeyPair) {
    this.o_ = options;
    this.random_ = options.random ?? systemRandom;
    this.clock_ = options.clock ?? systemClock;
    this.identity_ = identity ?? IdentityKeyPair.generate(this.random_);
    this.transport_ = this.makeTransport();
  }

  /** Connects; the permanence status follows as an event. */
  start(): void {
    this.transport_.start();
  }

  /** Reconnects now instead of waiting for the backoff. */
  retryNow(): void {
    this.transport_.start();
  }

  onEvent(listener: (e: SessionEvent) => void): void {
    this.listeners_.push(listener);
  }

  /** Called after any change of the conversations (messages, statuses, typing). */
  onChange(listener: () => void): void {
    this.changeListeners_.push(listener);
  }

  get transportState(): TransportState {
    return this.transport_.state;
  }

  get identityKey(): Uint8Array {
    return this.requireIdentity().publicKey;
  }

  get permanence(): Message<'permanence.status'> | null {
    return this.status_;
  }

  get ticket(): Message<'queue.position'> | null {
    return this.ticket_;
  }

  /** The conversation being shown: the open one, else the last one. */
  get current(): ConversationView | undefined {
    return this.conversations_.get(this.currentId_);
  }

  get resumeCode(): string | null {
    return this.backup_?.code ?? null;
  }

  /** Messages written before any conversation exists (while waiting). */
  readonly waitingMessages: ChatMessage[] = [];

  /** Asks for the permanence status (also pushed when it changes). */
  async refreshStatus(): Promise<Message<'permanence.status'>> {
    const m = await this.transport_.request({ type: 'permanence.get' });
    if (m.type !== 'permanence.status') throw new RequestError('internal_error');
    return m;
  }

  /** How the pre-chat answers of the last `join` travel (for the UI and tests). */
  get prechatDelivery(): PrechatDelivery {
    return this.prechatDelivery_;
  }

  /**
   * Joins the queue. The pre-chat answers (`prechat`, plain text in the person's words) are
   * sealed to the workers whose certificate verifies against the pinned organisation (CRYPTO.md
   * §17, plaintext §17.8) and travel with `queue.join`, so the worker who takes the person reads
   * them at once. If no worker can be verified (or the server lists none), they are kept and go
   * as the first end-to-end encrypted message once a worker takes the conversation. Either way
   * the server never sees them.
   */
  async join(urgent: boolean, prechat: string | null): Promise<Message<'queue.position'>> {
    const answers = prechat && prechat.length > 0 ? prechat : null;
    let blob: Uint8Array | null = null;
    if (answers) {
      try {
        blob = await this.sealPrechatAnswers(answers);
      } catch (e) {
        if (e instanceof RequestError && (e.code === 'stopped' || e.code === 'disconnected')) throw e;
        blob = null; // No verified worker, or sealing failed: the encrypted first message instead.
      }
    }
    const m = await this.transport_.request({ type: 'queue.join', urgent, ...(blob ? { prechat: encodeBase64Url(blob) } : {}) });
    if (m.type !== 'queue.position') throw new RequestError('internal_error');
    this.prechatText_ = blob ? null : answers;
    this.prechatDelivery_ = answers ? (blob ? 'sealed' : 'first_message') : null;
    this.ticket_ = m;
    this.changed();
    return m;
  }

  /**
   * Leaves a message in the inbox (closed hours, a full queue, instead of a long wait), sealed to
   * the verified workers. If the person was waiting, she leaves the queue once the message is
   * stored. Resolves with the inbox id; throws SealError or RequestError.
   */
  async leaveMessage(textValue: string): Promise<number> {
    const id = await this.sendSealedInbox({ kind: 'message', text: textValue });
    if (this.ticket_) await this.leave().catch(() => undefined);
    return id;
  }

  /** Sends the end-of-conversation feedback, sealed to the verified workers like an inbox message. */
  sendFeedback(rating: FeedbackRating, textValue: string): Promise<number> {
    return this.sendSealedInbox({ kind: 'feedback', rating, text: textValue });
  }

  async leave(): Promise<void> {
    this.ticket_ = null;
    this.waitingMessages.length = 0;
    this.prechatText_ = null;
    try {
      await this.transport_.request({ type: 'queue.leave' });
    } catch (e) {
      if (!(e instanceof RequestError && e.code === 'not_in_queue')) throw e;
    }
    this.changed();
  }

  /**
   * Writes a message: sent encrypted in the current conversation, or held until a worker takes
   * the person and the session is verified. Returns its id.
   */
  sendText(textValue: string): string {
    const clientMsgId = encodeBase64Url(this.random_.bytes(16));
    const message: ChatMessage = { clientMsgId, sender: 'beneficiary', text: textValue, status: 'held' };
    const c = this.conversations_.get(this.currentId_);
    if (!c || !c.open) {
      this.waitingMessages.push(message);
    } else if (!c.session || c.untrusted) {
      c.messages.push(message);
      c.held.push(message);
    } else {
      c.messages.push(message);
      this.encryptAndSend(c, message);
    }
    this.changed();
    return clientMsgId;
  }

  /** Tells the worker the person is typing (never stored). */
  typing(active: boolean): void {
    const c = this.conversations_.get(this.currentId_);
    if (!c || !c.open) return;
    this.transport_.notify({ type: 'conversation.typing', conversation_id: c.id, active });
  }

  /** Sends the read receipt up to the last shown worker message (when the chat is visible). */
  markRead(): void {
    const c = this.conversations_.get(this.currentId_);
    if (!c || !c.open || c.lastWorkerSeq <= c.readSent) return;
    c.readSent = c.lastWorkerSeq;
    this.transport_.notify({ type: 'conversation.read', conversation_id: c.id, up_to_seq: c.lastWorkerSeq });
  }

  async end(): Promise<void> {
    const c = this.conversations_.get(this.currentId_);
    if (!c || !c.open) return;
    await this.transport_.request({ type: 'conversation.end', conversation_id: c.id });
  }

  /**
   * Creates a resume code and stores the first sealed backup; afterwards every change is backed
   * up again. Argon2id (64 MiB) takes about a second.
   */
  async createResumeCode(): Promise<string> {
    if (this.backup_) return this.backup_.code;
    const code = generateResumeCode(this.random_);
    const keys = deriveResumeKeys(code);
    const lookup = encodeBase64Url(keys.lookupId);
    wipe(keys.lookupId);
    this.backup_ = {
      code,
      backupKey: keys.backupKey,
      lookup,
      version: 0,
      timer: null,
      writing: false,
      dirty: false,
    };
    await this.writeBackup();
    return code;
  }

  /**
   * Restores a beneficiary from a resume code (before connecting): fetches and opens the
   * backup on a short pre-auth connection, then returns a session with that identity,
   * its conversations and history. Throws CryptoError('bad_code') or RequestError('backup_not_found').
   */
  static async restore(options: BeneficiaryOptions, code: string): Promise<BeneficiarySession> {
    const keys = deriveResumeKeys(code);
    const lookup = encodeBase64Url(keys.lookupId);
    const blob = await BeneficiarySession.fetchBackup(options, lookup);
    const plaintext = openResumeBackup(keys.backupKey, decodeBase64Url(blob.blob));
    const data = JSON.parse(new TextDecoder().decode(plaintext)) as BackupData;
    wipe(plaintext);
    const seed = decodeBase64Url(data.seed);
    const identity = IdentityKeyPair.fromSeed(seed);
    wipe(seed);
    const s = new BeneficiarySession(options, identity);
    s.backup_ = {
      code,
      backupKey: keys.backupKey,
      lookup,
      version: blob.version,
      timer: null,
      writing: false,
      dirty: false,
    };
    for (const c of data.conversations) s.loadConversation(c);
    return s;
  }

  /**
   * Forgets everything now: closes the connection, overwrites the identity, session and backup
   * keys, drops every message. The object is unusable afterwards.
   */
  wipe(): void {
    if (this.wiped_) return;
    this.wiped_ = true;
    this.transport_.stop();
    for (const c of this.conversations_.values()) {
      c.session?.destroy();
      c.messages.length = 0;
      c.held.length = 0;
    }
    this.conversations_.clear();
    this.waitingMessages.length = 0;
    this.prechatText_ = null;
    this.pendingInbox_.clear();
    if (this.backup_) {
      if (this.backup_.timer !== null) this.clock_.clearTimeout(this.backup_.timer);
      wipe(this.backup_.backupKey);
      this.backup_ = null;
    }
    this.identity_?.destroy();
    this.identity_ = null;
    this.listeners_ = [];
    this.changeListeners_ = [];
  }

  // ---------------------------------------------------------------- internals

  private makeTransport(): Transport {
    const t = new Transport({
      url: this.o_.url,
      role: 'beneficiary',
      client: this.o_.client ?? 'relais-widget/0.1.0',
      clock: this.clock_,
      ...(this.o_.socketFactory ? { socketFactory: this.o_.socketFactory } : {}),
      ...(this.o_.jitter ? { random: this.o_.jitter } : {}),
      cursors: () => [...this.conversations_.values()].filter((c) => c.open).map((c) => ({ conversation_id: c.id, last_seq: c.lastSeq })),
      authenticate: async (ctx) => {
        const identity = this.requireIdentity();
        const input = concat(utf8(authLabel), ctx.challenge);
        const signature = identity.sign(input);
        const reply = await ctx.request({
          type: 'auth.beneficiary',
          identity_key: encodeBase64Url(identity.publicKey),
          signature: encodeBase64Url(signature),
        });
        if (reply.type !== 'auth.ok') throw new RequestError('internal_error');
      },
    });
    t.on({
      message: (m) => this.handle(m),
      state: (state, info) => {
        this.emit({ kind: 'transport', state, info });
        if (state === 'ready') void this.afterReady();
      },
      ack: (a) => this.onAck(a),
      sendFailed: (id, error) => this.onSendFailed(id, error),
      protocolError: () => undefined,
    });
    return t;
  }

  private async afterReady(): Promise<void> {
    try {
      const status = await this.refreshStatus();
      this.status_ = status;
      this.emit({ kind: 'status', status });
      this.changed();
    } catch (e) {
      if (!(e instanceof RequestError && (e.code === 'disconnected' || e.code === 'stopped'))) this.emit({ kind: 'status_unavailable' });
    }
  }

  private static fetchBackup(options: BeneficiaryOptions, lookup: string): Promise<Message<'backup.blob'>> {
    // backup.get is allowed before authentication (§4): a short connection asks for it and
    // closes without authenticating.
    return new Promise((resolve, reject) => {
      const t = new Transport({
        url: options.url,
        role: 'beneficiary',
        client: options.client ?? 'relais-widget/0.1.0',
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.socketFactory ? { socketFactory: options.socketFactory } : {}),
        cursors: () => [],
        authenticate: async (ctx) => {
          try {
            const m = await ctx.request({ type: 'backup.get', kind: 'resume', lookup });
            if (m.type !== 'backup.blob') throw new RequestError('internal_error');
            resolve(m);
          } catch (e) {
            reject(e instanceof RequestError ? e : new RequestError('internal_error'));
          }
          throw new RequestError('done');
        },
      });
      let finished = false;
      t.on({
        state: (state) => {
          if (finished || (state !== 'waiting_retry' && state !== 'stopped')) return;
          // Stopped after the answer (the hook ends the connection on purpose), or lost before it.
          finished = true;
          t.stop();
          reject(new RequestError('disconnected'));
        },
      });
      t.start();
    });
  }

  /**
   * The workers a sealed message goes to (CRYPTO.md §17.1): those of `inbox.list_recipients`
   * whose bundle (`keys.fetch {worker_id}`) carries a certificate that verifies against the pinned
   * organisation now, certifies the bundle's identity key, and whose SPK signature verifies; at
   * most 16, in the server's order. A worker without keys or failing a check is left out.
   */
  private async verifiedRecipients(): Promise<{ listed: number; recipients: SealedRecipient[] }> {
    const list = await this.transport_.request({ type: 'inbox.list_recipients' });
    if (list.type !== 'inbox.recipients') throw new RequestError('internal_error');
    const recipients: SealedRecipient[] = [];
    for (const w of list.workers) {
      if (recipients.length === sealedLimits.maxRecipients) break;
      if (recipients.some((r) => r.workerId === w.worker_id)) continue;
      let b: ServerMessage;
      try {
        b = await this.transport_.request({ type: 'keys.fetch', worker_id: w.worker_id });
      } catch (e) {
        if (e instanceof RequestError && (e.code === 'stopped' || e.code === 'disconnected' || e.code === 'timeout')) throw e;
        continue; // keys_not_found, worker_not_found: not a recipient
      }
      if (b.type !== 'keys.bundle' || !b.worker_certificate) continue;
      try {
        recipients.push(
          SealedRecipient.verify(
            w.worker_id,
            {
              identityKey: decodeBase64Url(b.identity_key),
              signedPreKeyId: b.spk_id,
              signedPreKey: decodeBase64Url(b.spk_pub),
              signedPreKeySignature: decodeBase64Url(b.spk_signature),
            },
            decodeBase64Url(b.worker_certificate),
            this.o_.orgFingerprint,
            Math.floor(this.clock_.now() / 1000),
          ),
        );
      } catch (e) {
        if (!(e instanceof CryptoError)) throw e;
      }
    }
    return { listed: list.workers.length, recipients };
  }

  private async sealPrechatAnswers(answers: string): Promise<Uint8Array> {
    const { listed, recipients } = await this.verifiedRecipients();
    if (recipients.length === 0) throw new SealError(listed === 0 ? 'no_recipient' : 'no_verified_recipient');
    const plaintext = encodeSealedContent({ kind: 'prechat', text: answers });
    try {
      if (plaintext.length > maxPrechatPlaintext(recipients.length)) throw new SealError('too_long');
      return sealPrechat(this.requireIdentity(), recipients, plaintext, this.random_);
    } finally {
      wipe(plaintext);
    }
  }

  private async sendSealedInbox(content: SealedContent): Promise<number> {
    const key = JSON.stringify(content);
    let frame = this.pendingInbox_.get(key);
    if (!frame) {
      const { listed, recipients } = await this.verifiedRecipients();
      if (recipients.length === 0) throw new SealError(listed === 0 ? 'no_recipient' : 'no_verified_recipient');
      const plaintext = encodeSealedContent(content);
      let sealed;
      try {
        if (plaintext.length > maxInboxPlaintext()) throw new SealError('too_long');
        sealed = sealToWorkers('inbox', this.requireIdentity(), recipients, plaintext, this.random_);
      } finally {
        wipe(plaintext);
      }
      frame = {
        type: 'inbox.send',
        client_msg_id: encodeBase64Url(this.random_.bytes(16)),
        ciphertext: encodeBase64Url(sealed.ciphertext),
        recipients: sealed.keys.map((k) => ({ worker_id: k.workerId, wrapped_key: encodeBase64Url(k.wrappedKey) })),
      };
      this.pendingInbox_.set(key, frame);
    }
    const ack = await this.transport_.request(frame);
    if (ack.type !== 'inbox.ack') throw new RequestError('internal_error');
    this.pendingInbox_.delete(key);
    return ack.inbox_id;
  }

  private requireIdentity(): IdentityKeyPair {
    if (!this.identity_) throw new RequestError('stopped');
    return this.identity_;
  }

  private emit(e: SessionEvent): void {
    for (const l of this.listeners_) l(e);
  }

  private changed(): void {
    for (const l of this.changeListeners_) l();
    this.scheduleBackup();
  }

  private conversation(id: number): ConversationState {
    let c = this.conversations_.get(id);
    if (!c) {
      c = {
        id,
        workerId: 0,
        displayName: '',
        open: true,
        messages: [],
        workerTyping: false,
        safetyChanged: false,
        lastSeq: 0,
        held: [],
        lastWorkerSeq: 0,
        readSent: 0,
        fetching: false,
      };
      this.conversations_.set(id, c);
    }
    return c;
  }

  private handle(m: ServerMessage): void {
    switch (m.type) {
      case 'permanence.status':
        this.status_ = m;
        this.emit({ kind: 'status', status: m });
        this.changed();
        return;
      case 'queue.position':
        this.ticket_ = m;
        this.emit({ kind: 'queue', position: m });
        this.changed();
        return;
      case 'queue.timeout':
        this.ticket_ = null;
        this.emit({ kind: 'queue_timeout', timeout: m });
        this.changed();
        return;
      case 'queue.inbox_offer':
        this.emit({ kind: 'inbox_offer', offer: m });
        return;
      case 'conversation.opened':
        this.onOpened(m);
        return;
      case 'conversation.message':
        this.onMessage(m);
        return;
      case 'conversation.delivered':
      case 'conversation.read':
        this.onReceipt(m.conversation_id, m.up_to_seq, m.type === 'conversation.read' ? 'read' : 'delivered');
        return;
      case 'conversation.typing': {
        const c = this.conversations_.get(m.conversation_id);
        if (c) {
          c.workerTyping = m.active;
          this.notifyOnly();
        }
        return;
      }
      case 'conversation.ended':
        this.onEnded(m.conversation_id, m.reason);
        return;
      case 'conversation.transferred':
        this.onTransferred(m);
        return;
      case 'sync.done':
        this.onSyncDone(m);
        return;
      default:
        return;
    }
  }

  private notifyOnly(): void {
    for (const l of this.changeListeners_) l();
  }

  private onOpened(m: Message<'conversation.opened'>): void {
    const c = this.conversation(m.conversation_id);
    c.open = true;
    c.workerId = m.worker_id;
    c.displayName = m.display_name;
    this.currentId_ = c.id;
    this.ticket_ = null;
    // What was written while waiting belongs to this conversation now, in order, after the
    // pre-chat answers.
    if (this.prechatText_) {
      const p: ChatMessage = {
        clientMsgId: encodeBase64Url(this.random_.bytes(16)),
        sender: 'beneficiary',
        text: this.prechatText_,
        status: 'held',
      };
      this.prechatText_ = null;
      c.messages.push(p);
      c.held.push(p);
    }
    for (const w of this.waitingMessages.splice(0)) {
      c.messages.push(w);
      c.held.push(w);
    }
    this.emit({ kind: 'opened', conversationId: c.id });
    this.changed();
    void this.secure(c);
  }

  /** Fetches the worker's bundle, verifies the certificate against the pin, starts X3DH. */
  private async secure(c: ConversationState, expectedWorkerKey?: Uint8Array): Promise<void> {
    if (c.fetching || (c.session && !expectedWorkerKey)) return;
    c.fetching = true;
    try {
      const b = await this.transport_.request({ type: 'keys.fetch', conversation_id: c.id });
      if (b.type !== 'keys.bundle') throw new RequestError('internal_error');
      if (!b.worker_certificate) throw new CryptoError('authentication_failed');
      const identityKey = decodeBase64Url(b.identity_key);
      const now = Math.floor(this.clock_.now() / 1000);
      const cert = verifyWorkerCertificate(decodeBase64Url(b.worker_certificate), this.o_.orgFingerprint, now, identityKey);
      if (expectedWorkerKey && !sameBytes(expectedWorkerKey, identityKey)) throw new CryptoError('authentication_failed');
      const session = RatchetSession.initiate(
        this.requireIdentity(),
        {
          identityKey,
          signedPreKeyId: b.spk_id,
          signedPreKey: decodeBase64Url(b.spk_pub),
          signedPreKeySignature: decodeBase64Url(b.spk_signature),
          ...(b.opk_id !== undefined && b.opk_pub !== undefined
            ? { oneTimePreKeyId: b.opk_id, oneTimePreKey: decodeBase64Url(b.opk_pub) }
            : {}),
        },
        this.random_,
      );
      const worker: VerifiedWorker = {
        workerId: c.workerId,
        name: cert.displayName,
        identityKey,
        safetyNumber: formatSafetyNumber(safetyNumber(this.requireIdentity().publicKey, identityKey)),
      };
      if (c.worker && c.worker.safetyNumber !== worker.safetyNumber) c.safetyChanged = true;
      c.session?.destroy();
      c.session = session;
      c.worker = worker;
      delete c.untrusted;
      this.emit({ kind: 'secured', conversationId: c.id, worker });
      for (const h of c.held.splice(0)) this.encryptAndSend(c, h);
      this.changed();
    } catch (e) {
      if (e instanceof RequestError && (e.code === 'disconnected' || e.code === 'stopped' || e.code === 'timeout')) {
        // Tried again after the next sync.
      } else {
        const reason = e instanceof CryptoError ? e.code : e instanceof RequestError ? e.code : 'error';
        c.untrusted = reason;
        this.emit({ kind: 'untrusted', conversationId: c.id, reason });
        this.changed();
      }
    } finally {
      c.fetching = false;
    }
  }

  private encryptAndSend(c: ConversationState, m: ChatMessage): void {
    if (!c.session) return;
    const ciphertext = c.session.encrypt(utf8(m.text));
    m.status = 'sending';
    // The ciphertext is kept by the transport and resent as it is: a message is encrypted once.
    this.transport_.send({ conversation_id: c.id, client_msg_id: m.clientMsgId, ciphertext: encodeBase64Url(ciphertext) });
  }

  private onAck(a: Message<'conversation.ack'>): void {
    const c = this.conversations_.get(a.conversation_id);
    const m = c?.messages.find((x) => x.clientMsgId === a.client_msg_id);
    if (!c || !m) return;
    m.seq = a.seq;
    m.sentAt = a.sent_at;
    if (m.status === 'sending') m.status = 'sent';
    c.lastSeq = Math.max(c.lastSeq, a.seq);
    this.changed();
  }

  private onSendFailed(clientMsgId: string, error: RequestError): void {
    for (const c of this.conversations_.values()) {
      const m = c.messages.find((x) => x.clientMsgId === clientMsgId);
      if (m) m.status = 'failed';
    }
    this.emit({ kind: 'send_failed', clientMsgId, error: error.code });
    this.changed();
  }

  private onMessage(m: Message<'conversation.message'>): void {
    const c = this.conversation(m.conversation_id);
    if (m.seq <= c.lastSeq && c.messages.some((x) => x.seq === m.seq)) return; // a replay
    if (m.sender === 'beneficiary') {
      // Our own message replayed (an ack we lost): mark it sent.
      const own = c.messages.find((x) => x.clientMsgId === m.client_msg_id);
      if (own) {
        own.seq = m.seq;
        own.sentAt = m.sent_at;
        if (own.status === 'sending') own.status = 'sent';
      }
      c.lastSeq = Math.max(c.lastSeq, m.seq);
      this.changed();
      return;
    }
    if (!c.session) {
      this.emit({ kind: 'undecryptable', conversationId: c.id, seq: m.seq });
      return;
    }
    let plaintext: Uint8Array;
    try {
      plaintext = c.session.decrypt(decodeBase64Url(m.ciphertext), Math.floor(this.clock_.now() / 1000));
    } catch (e) {
      if (e instanceof CryptoError && e.code === 'duplicate_message') return;
      c.lastSeq = Math.max(c.lastSeq, m.seq);
      this.emit({ kind: 'undecryptable', conversationId: c.id, seq: m.seq });
      return;
    }
    const textValue = new TextDecoder().decode(plaintext);
    wipe(plaintext);
    c.messages.push({ clientMsgId: m.client_msg_id, sender: 'worker', text: textValue, seq: m.seq, sentAt: m.sent_at, status: 'received' });
    c.messages.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
    c.workerTyping = false;
    c.lastSeq = Math.max(c.lastSeq, m.seq);
    c.lastWorkerSeq = Math.max(c.lastWorkerSeq, m.seq);
    this.transport_.notify({ type: 'conversation.delivered', conversation_id: c.id, up_to_seq: c.lastWorkerSeq });
    this.changed();
  }

  private onReceipt(conversationId: number, upTo: number, kind: 'delivered' | 'read'): void {
    const c = this.conversations_.get(conversationId);
    if (!c) return;
    for (const m of c.messages) {
      if (m.sender !== 'beneficiary' || m.seq === undefined || m.seq > upTo) continue;
      if (kind === 'read' || m.status === 'sent' || m.status === 'sending') m.status = kind;
    }
    this.notifyOnly();
  }

  private onEnded(conversationId: number, reason: Message<'conversation.ended'>['reason']): void {
    const c = this.conversations_.get(conversationId);
    // Once: a repeated conversation.ended (replayed after a reconnect) changes nothing.
    if (!c || (!c.open && c.endedReason !== undefined)) return;
    c.open = false;
    c.endedReason = reason;
    c.workerTyping = false;
    // CRYPTO.md §11: a closed conversation deletes its session.
    c.session?.destroy();
    delete c.session;
    this.emit({ kind: 'ended', conversationId, reason });
    this.changed();
  }

  private onTransferred(m: Message<'conversation.transferred'>): void {
    const c = this.conversations_.get(m.conversation_id);
    if (!c || !c.worker) return;
    try {
      const transfer = verifyTransfer(decodeBase64Url(m.control), c.worker.identityKey, utf8(String(m.conversation_id)));
      c.workerId = m.to_worker_id;
      c.displayName = m.to_display_name;
      this.emit({ kind: 'transferred', conversationId: c.id, name: m.to_display_name });
      void this.secure(c, transfer.toWorkerKey);
    } catch (e) {
      c.untrusted = e instanceof CryptoError ? e.code : 'error';
      this.emit({ kind: 'untrusted', conversationId: c.id, reason: c.untrusted });
    }
    this.changed();
  }

  private onSyncDone(m: Message<'sync.done'>): void {
    for (const s of m.conversations) {
      const known = this.conversations_.get(s.conversation_id);
      if (!s.open) {
        if (known && known.open) this.onEnded(s.conversation_id, 'worker');
        continue;
      }
      const c = known ?? this.conversation(s.conversation_id);
      c.open = true;
      if (!this.currentId_ || !this.conversations_.get(this.currentId_)?.open) this.currentId_ = c.id;
      if (!c.session) void this.secure(c);
    }
    this.changed();
  }

  private loadConversation(d: BackupConversation): void {
    const c = this.conversation(d.id);
    c.workerId = d.worker_id;
    c.displayName = d.display_name;
    c.open = d.open;
    c.lastSeq = d.last_seq;
    c.lastWorkerSeq = d.last_worker_seq;
    c.readSent = d.last_worker_seq;
    if (d.session) c.session = RatchetSession.deserialize(decodeBase64Url(d.session), this.random_);
    if (d.worker_key) {
      const identityKey = decodeBase64Url(d.worker_key);
      c.worker = {
        workerId: d.worker_id,
        name: d.worker_name ?? d.display_name,
        identityKey,
        safetyNumber: formatSafetyNumber(safetyNumber(this.requireIdentity().publicKey, identityKey)),
      };
    }
    for (const m of d.messages) {
      c.messages.push({
        clientMsgId: m.id,
        sender: m.from === 'w' ? 'worker' : 'beneficiary',
        text: m.text,
        seq: m.seq,
        sentAt: m.at,
        status: m.from === 'w' ? 'received' : 'sent',
      });
    }
    // Show the open conversation, else the most recent one (its history, read-only).
    const current = this.conversations_.get(this.currentId_);
    if (!current || (c.open && !current.open) || (c.open === current.open && c.id > current.id)) this.currentId_ = c.id;
  }

  private scheduleBackup(): void {
    const b = this.backup_;
    if (!b || this.wiped_) return;
    b.dirty = true;
    if (b.timer !== null || b.writing) return;
    b.timer = this.clock_.setTimeout(() => {
      b.timer = null;
      void this.writeBackup();
    }, backupDebounceMs);
  }

  private async writeBackup(): Promise<void> {
    const b = this.backup_;
    if (!b || this.wiped_ || b.writing) return;
    b.writing = true;
    b.dirty = false;
    try {
      const plaintext = this.serializeBackup();
      const blob = sealResumeBackup(b.backupKey, plaintext, this.random_);
      wipe(plaintext);
      await this.transport_.request({
        type: 'backup.put',
        kind: 'resume',
        lookup: b.lookup,
        blob: encodeBase64Url(blob),
        version: b.version + 1,
      });
      b.version += 1;
    } catch (e) {
      if (e instanceof RequestError && e.code === 'version_conflict') {
        // Another device wrote it: continue from the server's version next time.
        b.version += 1;
      }
      b.dirty = true;
    } finally {
      b.writing = false;
    }
    if (b.dirty && this.backup_ === b) this.scheduleBackup();
  }

  private serializeBackup(): Uint8Array {
    const identity = this.requireIdentity();
    const seed = identity.seed();
    const conversations: BackupConversation[] = [...this.conversations_.values()].map((c) => ({
      id: c.id,
      worker_id: c.workerId,
      display_name: c.displayName,
      ...(c.worker ? { worker_key: encodeBase64Url(c.worker.identityKey), worker_name: c.worker.name } : {}),
      open: c.open,
      last_seq: c.lastSeq,
      last_worker_seq: c.lastWorkerSeq,
      ...(c.session && c.open ? { session: encodeBase64Url(c.session.serialize()) } : {}),
      messages: c.messages
        .filter((m) => m.seq !== undefined)
        .map((m) => ({ id: m.clientMsgId, seq: m.seq!, from: m.sender === 'worker' ? ('w' as const) : ('b' as const), text: m.text, at: m.sentAt ?? 0 })),
    }));
    const data: BackupData = { v: 1, seed: encodeBase64Url(seed), conversations };
    wipe(seed);
    let bytesOut = utf8(JSON.stringify(data));
    // Keep the newest history that fits one frame; the keys always fit.
    while (bytesOut.length > maxBackupPlaintext) {
      const longest = data.conversations.reduce((a, b) => (a.messages.length >= b.messages.length ? a : b));
      if (longest.messages.length === 0) break;
      longest.messages.splice(0, Math.ceil(longest.messages.length / 4));
      wipe(bytesOut);
      bytesOut = utf8(JSON.stringify(data));
    }
    return bytesOut;
  }
}

/** The plaintext of a resume backup (JSON, inside the sealed blob of CRYPTO.md §9). */
interface BackupData {
  v: 1;
  /** The Ed25519 identity seed. */
  seed: string;
  conversations: BackupConversation[];
}

interface BackupConversation {
  id: number;
  worker_id: number;
  display_name: string;
  worker_key?: string;
  worker_name?: string;
  open: boolean;
  last_seq: number;
  last_worker_seq: number;
  /** RatchetSession.serialize(), format 0x01. */
  session?: string;
  messages: { id: string; seq: number; from: 'w' | 'b'; text: string; at: number }[];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
