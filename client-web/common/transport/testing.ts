/** Test doubles for the transport: a manual clock and a scripted socket (tests only). */
import type { Clock } from './clock.js';
import type { SocketLike } from './transport.js';

/** A clock that moves only when told. */
export class ManualClock implements Clock {
  private now_ = 1_767_225_600_000;
  private timers_: { at: number; fn: () => void; id: number }[] = [];
  private nextId_ = 1;
  now(): number {
    return this.now_;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId_++;
    this.timers_.push({ at: this.now_ + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers_ = this.timers_.filter((t) => t.id !== handle);
  }
  /** Moves time forward, running the timers that fall due, in order. */
  advance(ms: number): void {
    const end = this.now_ + ms;
    for (;;) {
      this.timers_.sort((a, b) => a.at - b.at);
      const t = this.timers_[0];
      if (!t || t.at > end) break;
      this.timers_.shift();
      this.now_ = t.at;
      t.fn();
    }
    this.now_ = end;
  }
  get pendingTimers(): number {
    return this.timers_.length;
  }
}

/** A socket whose peer is the test: it records what the client sent and injects frames. */
export class FakeSocket implements SocketLike {
  readonly sent: Record<string, unknown>[] = [];
  closed: number | undefined;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code?: number): void {
    this.closed = code ?? 1000;
  }
  /** The server side: deliver a frame. */
  receive(frame: object | string): void {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }
  open(): void {
    this.onopen?.({});
  }
  /** The server or the network closes the connection. */
  drop(code: number): void {
    this.onclose?.({ code });
  }
  /** The last frame of `type` the client sent. */
  last(type: string): Record<string, unknown> | undefined {
    return [...this.sent].reverse().find((f) => f.type === type);
  }
}

/** Waits for queued promise callbacks (no timers involved). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
