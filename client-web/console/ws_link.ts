// A WebSocket Link to relaisd for the console: hello/welcome, requests matched by rid, pushes,
// reconnection with exponential backoff and full jitter. TODO(issue 8): replace with
// common/'s transport once it lands, keeping the Link interface (see README "console").
import { LinkClosedError, ServerError, type Frame, type Link } from './link.js';

/** What the console shows about the connection. */
export type LinkStatus = 'connecting' | 'online' | 'offline' | 'stopped';

/** Close codes after which reconnecting is pointless (PROTOCOL.md §9): log in again or update. */
const finalCloseCodes = new Set([1000, 4001, 4002, 4003, 4005]);

/** Backoff bounds in milliseconds: first retry within 0.5 s, never more than 30 s apart. */
const backoff = { baseMs: 500, maxMs: 30_000 } as const;

/** A Link over one WebSocket at a time, reopened after losses. */
export class WsLink implements Link {
  private ws_: WebSocket | undefined;
  private nextRid_ = 1;
  private readonly pending_ = new Map<string, { resolve: (f: Frame) => void; reject: (e: Error) => void }>();
  private readonly pushHandlers_: ((f: Frame) => void)[] = [];
  private attempts_ = 0;
  private stopped_ = false;
  private timer_: ReturnType<typeof setTimeout> | undefined;
  /** Called with each status change and, on a close, its code. */
  onStatus: (status: LinkStatus, closeCode?: number) => void = () => {};
  /** Called after a reconnection's hello; the console authenticates again there. */
  onReopen: () => void = () => {};

  constructor(private readonly url_: string) {}

  /** Opens the socket and completes hello/welcome. */
  open(): Promise<void> {
    this.stopped_ = false;
    return new Promise((resolve, reject) => {
      this.onStatus('connecting');
      let ws: WebSocket;
      try {
        ws = new WebSocket(this.url_);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      this.ws_ = ws;
      let welcomed = false;
      ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', versions: [1], role: 'worker', client: 'relais-console/0.1.0' }));
      ws.onmessage = (ev: MessageEvent) => {
        let f: Frame;
        try {
          f = JSON.parse(String(ev.data)) as Frame;
        } catch {
          return;
        }
        if (!welcomed) {
          if (f.type === 'welcome') {
            welcomed = true;
            this.attempts_ = 0;
            this.onStatus('online');
            resolve();
          } else {
            reject(new ServerError(f));
          }
          return;
        }
        this.dispatch(f);
      };
      ws.onclose = (ev: CloseEvent) => {
        if (this.ws_ !== ws) return;
        this.ws_ = undefined;
        for (const p of this.pending_.values()) p.reject(new LinkClosedError('connection closed'));
        this.pending_.clear();
        if (!welcomed) reject(new LinkClosedError('cannot connect'));
        if (this.stopped_ || finalCloseCodes.has(ev.code)) {
          this.onStatus('stopped', ev.code);
          return;
        }
        this.onStatus('offline', ev.code);
        this.scheduleReopen();
      };
    });
  }

  private scheduleReopen(): void {
    const cap = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(this.attempts_, 16));
    this.attempts_ += 1;
    const delay = Math.random() * cap;
    this.timer_ = setTimeout(() => {
      this.open().then(
        () => this.onReopen(),
        () => {
          if (!this.stopped_ && this.ws_ === undefined) this.scheduleReopen();
        },
      );
    }, delay);
  }

  private dispatch(f: Frame): void {
    const p = f.rid !== undefined ? this.pending_.get(f.rid) : undefined;
    if (p && f.rid !== undefined) {
      this.pending_.delete(f.rid);
      if (f.type === 'error') p.reject(new ServerError(f));
      else p.resolve(f);
      return;
    }
    for (const h of this.pushHandlers_) h(f);
  }

  request(frame: Frame): Promise<Frame> {
    const ws = this.ws_;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new LinkClosedError('not connected'));
    const rid = 'c' + String(this.nextRid_++);
    return new Promise((resolve, reject) => {
      this.pending_.set(rid, { resolve, reject });
      ws.send(JSON.stringify({ ...frame, rid }));
    });
  }

  send(frame: Frame): void {
    const ws = this.ws_;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  onPush(handler: (frame: Frame) => void): void {
    this.pushHandlers_.push(handler);
  }

  /** True while a welcomed socket is open. */
  get online(): boolean {
    return this.ws_?.readyState === WebSocket.OPEN;
  }

  /** Closes for good (logout). */
  close(): void {
    this.stopped_ = true;
    if (this.timer_ !== undefined) clearTimeout(this.timer_);
    this.ws_?.close(1000);
  }
}
