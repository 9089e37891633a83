/**
 * The WebSocket transport of the web clients (PROTOCOL.md §4, §7, §9), role-neutral:
 * - connects, says `hello`, lets the caller authenticate on the `welcome` challenge, then sends
 *   `sync` with the caller's cursors (the highest seq held per conversation) and becomes ready;
 * - matches replies to requests by `rid`;
 * - keeps every `conversation.send` until its `conversation.ack` and sends it again, with the
 *   same `client_msg_id`, after a reconnection (the server deduplicates, §7), or after the delay
 *   a `rate_limited`/`server_busy` error names;
 * - reconnects after a lost connection with exponential backoff and full jitter, and stops on the
 *   close codes that say retrying cannot help (§9).
 * It does no crypto and touches no DOM; time, randomness and the socket are injected.
 */
import { decodeFrame, encodeFrame, protocolLimits } from '../protocol/codec.js';
import { closeAction, type CloseAction } from '../protocol/errors.js';
import type { ClientMessage, Message, ServerMessage } from '../protocol/messages.js';
import { decodeBase64Url } from '../protocol/base64url.js';
import { backoffDelay, defaultBackoff, type BackoffOptions } from './backoff.js';
import { systemClock, type Clock } from './clock.js';

/** The part of the browser's WebSocket the transport uses (a fake in tests). */
export interface SocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** Opens a socket to `url`. */
export type SocketFactory = (url: string) => SocketLike;

/** The transport's state, for the UI. */
export type TransportState =
  | 'idle'
  | 'connecting'
  | 'authenticating'
  | 'syncing'
  | 'ready'
  | 'waiting_retry'
  | 'stopped';

/** An `error` reply from the server, or a local failure of a request. */
export class RequestError extends Error {
  /** §8 name, or `timeout` / `disconnected` / `stopped` for local failures. */
  readonly code: string;
  readonly numericCode: number;
  readonly retryAfterMs: number | undefined;
  constructor(code: string, numericCode = 0, retryAfterMs?: number, detail?: string) {
    super(detail ? `${code}: ${detail}` : code);
    this.name = 'RequestError';
    this.code = code;
    this.numericCode = numericCode;
    this.retryAfterMs = retryAfterMs;
  }
}

/** What the authentication hook gets: the challenge and a way to send pre-auth requests. */
export interface AuthContext {
  readonly challenge: Uint8Array;
  request(message: ClientMessage): Promise<ServerMessage>;
}

/** Per-conversation cursor sent in `sync`. */
export interface Cursor {
  conversation_id: number;
  last_seq: number;
}

/** Construction parameters. */
export interface TransportOptions {
  /** `wss://host/ws`. */
  readonly url: string;
  readonly role: 'worker' | 'beneficiary';
  /** Software name/version sent in `hello`. */
  readonly client: string;
  /** Authenticates the new connection; resolves on `auth.ok`, rejects to stop. */
  readonly authenticate: (ctx: AuthContext) => Promise<void>;
  /** Cursors for `sync`, asked after each authentication. */
  readonly cursors: () => Cursor[];
  readonly socketFactory?: SocketFactory;
  readonly clock?: Clock;
  /** Uniform in [0, 1), for the jitter. */
  readonly random?: () => number;
  readonly backoff?: BackoffOptions;
  /** A request without reply after this long fails with `timeout` (15 s by default). */
  readonly requestTimeoutMs?: number;
}

/** Why the transport stopped or is waiting. */
export interface StateInfo {
  /** The close code that led here, if any. */
  readonly closeCode?: number;
  readonly action?: CloseAction;
  /** When waiting_retry: milliseconds until the next attempt. */
  readonly retryInMs?: number;
  /** When authentication failed: the error. */
  readonly error?: RequestError;
}

/** Listeners the owner registers. */
export interface TransportEvents {
  /** Every server message that is not a reply to a request (pushes, sync replays, sync.done). */
  message?: (message: ServerMessage) => void;
  state?: (state: TransportState, info: StateInfo) => void;
  /** A pending send was acknowledged (durable on the server). */
  ack?: (ack: Message<'conversation.ack'>) => void;
  /** A frame from the server failed validation (logged, never shown with content). */
  protocolError?: (detail: string) => void;
  /** A conversation.send was refused for good (e.g. conversation_ended); it is dropped. */
  sendFailed?: (clientMsgId: string, error: RequestError) => void;
}

interface PendingRequest {
  resolve: (m: ServerMessage) => void;
  reject: (e: RequestError) => void;
  timer: unknown;
}

type SendMessage = Message<'conversation.send'>;

const transientSendErrors = new Set(['rate_limited', 'server_busy', 'shutting_down', 'internal_error']);

/** One logical connection to relaisd that survives network losses. */
export class Transport {
  private readonly o_: TransportOptions;
  private readonly clock_: Clock;
  private readonly random_: () => number;
  private readonly events_: TransportEvents = {};
  private socket_: SocketLike | null = null;
  private state_: TransportState = 'idle';
  private attempt_ = 0;
  private retryTimer_: unknown = null;
  private nextRid_ = 1;
  private readonly requests_ = new Map<string, PendingRequest>();
  /** conversation.send frames not yet acknowledged, in the order they were first sent. */
  private readonly outbox_ = new Map<string, SendMessage>();
  /** rid of each in-flight send, so the ack/error finds it. */
  private readonly sendRids_ = new Map<string, string>();
  private outboxPausedUntil_ = 0;
  private outboxTimer_: unknown = null;
  private readyWaiters_: { resolve: () => void; reject: (e: RequestError) => void }[] = [];

  constructor(options: TransportOptions) {
    this.o_ = options;
    this.clock_ = options.clock ?? systemClock;
    this.random_ = options.random ?? Math.random;
  }

  /** Registers listeners (replacing earlier ones of the same name). */
  on(events: TransportEvents): void {
    Object.assign(this.events_, events);
  }

  get state(): TransportState {
    return this.state_;
  }

  /** Number of conversation messages not yet acknowledged. */
  get pendingSends(): number {
    return this.outbox_.size;
  }

  /** Connects (or reconnects now, skipping a backoff wait). */
  start(): void {
    if (this.state_ === 'connecting' || this.state_ === 'authenticating' || this.state_ === 'syncing' || this.state_ === 'ready') return;
    this.clearRetry();
    this.open();
  }

  /** Closes for good: pending requests fail with `stopped`; unacknowledged sends are dropped. */
  stop(): void {
    if (this.state_ === 'stopped' && !this.socket_) return;
    this.clearRetry();
    if (this.outboxTimer_ !== null) this.clock_.clearTimeout(this.outboxTimer_);
    this.outboxTimer_ = null;
    this.outbox_.clear();
    this.sendRids_.clear();
    const s = this.socket_;
    this.socket_ = null;
    if (s) {
      this.detach(s);
      try {
        s.close(1000);
      } catch {
        // already closed
      }
    }
    this.failRequests(new RequestError('stopped'));
    const waiters = this.readyWaiters_;
    this.readyWaiters_ = [];
    for (const w of waiters) w.reject(new RequestError('stopped'));
    this.setState('stopped', {});
  }

  /**
   * Sends a request and resolves with its reply (`ok` or the typed reply); an `error` reply
   * rejects with RequestError. Before the connection is ready the request waits for it.
   */
  async request(message: ClientMessage): Promise<ServerMessage> {
    if (this.state_ === 'stopped') throw new RequestError('stopped');
    if (this.state_ !== 'ready') await this.whenReady();
    return this.sendRequest(message);
  }

  /** Sends a message that has no reply (receipts, typing); dropped when not connected. */
  notify(message: ClientMessage): void {
    if (this.state_ !== 'ready' || !this.socket_) return;
    this.socket_.send(encodeFrame(message));
  }

  /**
   * Queues a conversation message: sent now if connected, otherwise after the next `sync`,
   * and again with the same client_msg_id until the server acknowledges it.
   */
  send(message: Omit<SendMessage, 'type' | 'rid'>): void {
    const m: SendMessage = { type: 'conversation.send', ...message };
    encodeFrame(m); // refuse our own bugs before keeping it
    this.outbox_.set(m.client_msg_id, m);
    if (this.state_ === 'ready') this.flushOutbox();
  }

  private whenReady(): Promise<void> {
    return new Promise((resolve, reject) => this.readyWaiters_.push({ resolve, reject }));
  }

  private sendRequest(message: ClientMessage): Promise<ServerMessage> {
    const socket = this.socket_;
    if (!socket) return Promise.reject(new RequestError('disconnected'));
    const rid = `r${this.nextRid_++}`;
    const frame = encodeFrame({ ...message, rid } as ClientMessage);
    return new Promise<ServerMessage>((resolve, reject) => {
      const timer = this.clock_.setTimeout(() => {
        this.requests_.delete(rid);
        reject(new RequestError('timeout'));
      }, this.o_.requestTimeoutMs ?? 15_000);
      this.requests_.set(rid, { resolve, reject, timer });
      socket.send(frame);
    });
  }

  private open(): void {
    this.setState('connecting', {});
    let socket: SocketLike;
    try {
      socket = (this.o_.socketFactory ?? defaultSocketFactory)(this.o_.url);
    } catch {
      this.scheduleRetry(1006);
      return;
    }
    this.socket_ = socket;
    let welcomed = false;
    socket.onopen = () => {
      socket.send(encodeFrame({ type: 'hello', versions: [protocolLimits.version], role: this.o_.role, client: this.o_.client }));
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data !== 'string') {
        this.events_.protocolError?.('binary frame');
        return;
      }
      const r = decodeFrame(ev.data);
      if (!r.ok) {
        this.events_.protocolError?.(`${r.error}: ${r.detail}`);
        return;
      }
      const m = r.message;
      if (!welcomed) {
        if (m.type === 'welcome') {
          welcomed = true;
          void this.authenticate(socket, decodeBase64Url(m.challenge));
        } else if (m.type === 'error') {
          this.events_.protocolError?.(`before welcome: ${m.name}`);
        }
        return;
      }
      this.dispatch(m);
    };
    socket.onclose = (ev) => {
      if (this.socket_ !== socket) return;
      this.socket_ = null;
      this.detach(socket);
      this.failRequests(new RequestError('disconnected'));
      const action = closeAction(ev.code);
      if (action === 'reconnect') this.scheduleRetry(ev.code);
      else this.setState('stopped', { closeCode: ev.code, action });
    };
    socket.onerror = () => {
      // onclose follows with the code; nothing to do here.
    };
  }

  private async authenticate(socket: SocketLike, challenge: Uint8Array): Promise<void> {
    this.setState('authenticating', {});
    try {
      await this.o_.authenticate({ challenge, request: (m) => this.sendRequest(m) });
    } catch (e) {
      if (this.socket_ !== socket) return;
      const error = e instanceof RequestError ? e : new RequestError('auth_failed', 0, undefined, String(e));
      if (error.code === 'disconnected' || error.code === 'timeout') return; // onclose or retry handles it
      this.stop();
      this.setState('stopped', { action: 'login', error });
      return;
    }
    if (this.socket_ !== socket) return;
    this.setState('syncing', {});
    try {
      const done = await this.sendRequest({ type: 'sync', cursors: this.o_.cursors() });
      this.events_.message?.(done);
    } catch {
      return; // a closed socket reconnects; a refused sync is retried then
    }
    if (this.socket_ !== socket) return;
    this.attempt_ = 0;
    this.setState('ready', {});
    const waiters = this.readyWaiters_;
    this.readyWaiters_ = [];
    for (const w of waiters) w.resolve();
    this.flushOutbox();
  }

  private dispatch(m: ServerMessage): void {
    if (m.rid !== undefined) {
      const sendId = this.sendRids_.get(m.rid);
      if (sendId !== undefined) {
        this.sendRids_.delete(m.rid);
        this.onSendReply(sendId, m);
        return;
      }
      const pending = this.requests_.get(m.rid);
      if (pending) {
        this.requests_.delete(m.rid);
        this.clock_.clearTimeout(pending.timer);
        if (m.type === 'error') pending.reject(new RequestError(m.name, m.code, m.retry_after_ms, m.message));
        else pending.resolve(m);
        return;
      }
    }
    this.events_.message?.(m);
  }

  private onSendReply(clientMsgId: string, m: ServerMessage): void {
    if (m.type === 'conversation.ack') {
      this.outbox_.delete(clientMsgId);
      this.events_.ack?.(m);
      return;
    }
    if (m.type === 'error') {
      const error = new RequestError(m.name, m.code, m.retry_after_ms, m.message);
      if (transientSendErrors.has(m.name)) {
        // Keep it and everything behind it; go again after the delay the server named.
        this.pauseOutbox(m.retry_after_ms ?? 1000);
        return;
      }
      this.outbox_.delete(clientMsgId);
      this.events_.sendFailed?.(clientMsgId, error);
    }
  }

  private pauseOutbox(ms: number): void {
    this.outboxPausedUntil_ = this.clock_.now() + ms;
    if (this.outboxTimer_ !== null) this.clock_.clearTimeout(this.outboxTimer_);
    this.outboxTimer_ = this.clock_.setTimeout(() => {
      this.outboxTimer_ = null;
      this.outboxPausedUntil_ = 0;
      this.sendRids_.clear();
      this.flushOutbox();
    }, ms);
  }

  private flushOutbox(): void {
    const socket = this.socket_;
    if (!socket || this.state_ !== 'ready' || this.clock_.now() < this.outboxPausedUntil_) return;
    const inFlight = new Set(this.sendRids_.values());
    for (const m of this.outbox_.values()) {
      if (inFlight.has(m.client_msg_id)) continue;
      const rid = `s${this.nextRid_++}`;
      this.sendRids_.set(rid, m.client_msg_id);
      socket.send(encodeFrame({ ...m, rid }));
    }
  }

  private scheduleRetry(code: number): void {
    this.sendRids_.clear();
    const delay = backoffDelay(this.attempt_, this.random_, this.o_.backoff ?? defaultBackoff);
    this.attempt_ += 1;
    this.setState('waiting_retry', { closeCode: code, action: 'reconnect', retryInMs: delay });
    this.retryTimer_ = this.clock_.setTimeout(() => {
      this.retryTimer_ = null;
      this.open();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer_ !== null) this.clock_.clearTimeout(this.retryTimer_);
    this.retryTimer_ = null;
  }

  private failRequests(error: RequestError): void {
    for (const p of this.requests_.values()) {
      this.clock_.clearTimeout(p.timer);
      p.reject(error);
    }
    this.requests_.clear();
    this.sendRids_.clear();
  }

  private detach(s: SocketLike): void {
    s.onopen = s.onmessage = s.onerror = s.onclose = null;
  }

  private setState(state: TransportState, info: StateInfo): void {
    this.state_ = state;
    this.events_.state?.(state, info);
  }
}

function defaultSocketFactory(url: string): SocketLike {
  return new WebSocket(url) as unknown as SocketLike;
}
