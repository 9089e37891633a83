// The console's Link over common/'s Transport (hello, authentication hook, sync, rid replies,
// reconnection with backoff and jitter): the desk sees requests, pushes and two error kinds.
import type { ClientMessage } from '../common/protocol/index.js';
import { RequestError, Transport, type AuthContext, type Cursor, type StateInfo, type TransportState } from '../common/transport/index.js';
import { LinkClosedError, ServerError, type Frame, type Link } from './link.js';

/** Local failures of the transport: the request may not have reached relaisd. */
const localCodes = new Set(['timeout', 'disconnected', 'stopped', 'auth_failed']);

/** Turns the transport's RequestError into the desk's ServerError or LinkClosedError. */
export function toLinkError(e: unknown): Error {
  if (e instanceof RequestError) {
    if (localCodes.has(e.code)) return new LinkClosedError(e.code);
    const f: Frame = { type: 'error', code: e.numericCode, name: e.code };
    if (e.retryAfterMs !== undefined) f['retry_after_ms'] = e.retryAfterMs;
    return new ServerError(f);
  }
  return e instanceof Error ? e : new Error(String(e));
}

/** What the console passes to the transport. */
export interface TransportLinkOptions {
  url: string;
  authenticate: (ctx: AuthContext) => Promise<void>;
  cursors: () => Cursor[];
}

/** One worker connection (a new one per login: a refused login stops a transport for good). */
export class TransportLink implements Link {
  readonly transport: Transport;
  private readonly handlers_: ((f: Frame) => void)[] = [];
  private readonly stateListeners_: ((s: TransportState, info: StateInfo) => void)[] = [];

  constructor(o: TransportLinkOptions) {
    this.transport = new Transport({ url: o.url, role: 'worker', client: 'relais-console/0.1.0', authenticate: o.authenticate, cursors: o.cursors });
    this.transport.on({
      message: (m) => {
        for (const h of this.handlers_) h(m as unknown as Frame);
      },
      state: (s, info) => {
        for (const l of this.stateListeners_) l(s, info);
      },
    });
  }

  /** Connects; resolves once authenticated and synced, rejects with the reason it stopped. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      this.onState((s, info) => {
        if (settled) return;
        if (s === 'ready') {
          settled = true;
          resolve();
        } else if (s === 'stopped') {
          if (info.error) {
            settled = true;
            reject(toLinkError(info.error));
            return;
          }
          // A refused authentication reports 'stopped' twice, the second time with the error:
          // wait for it before calling the stop a lost connection.
          setTimeout(() => {
            if (settled) return;
            settled = true;
            reject(new LinkClosedError('stopped'));
          }, 0);
        }
      });
      this.transport.start();
    });
  }

  /** Registers a state listener (connection status line, reconnection). */
  onState(listener: (s: TransportState, info: StateInfo) => void): void {
    this.stateListeners_.push(listener);
  }

  request(frame: Frame): Promise<Frame> {
    return this.transport.request(frame as unknown as ClientMessage).then(
      (m) => m as unknown as Frame,
      (e: unknown) => {
        throw toLinkError(e);
      },
    );
  }

  send(frame: Frame): void {
    this.transport.notify(frame as unknown as ClientMessage);
  }

  onPush(handler: (frame: Frame) => void): void {
    this.handlers_.push(handler);
  }

  /** Closes for good. */
  stop(): void {
    this.transport.stop();
  }
}

/** Sends a pre-authentication request through the hook's context; a refusal stays a RequestError so that the transport reports it. */
export async function authRequest(ctx: AuthContext, frame: Frame): Promise<Frame> {
  return (await ctx.request(frame as unknown as ClientMessage)) as unknown as Frame;
}
