// What the console needs from the connection to relaisd: requests matched to their replies,
// fire-and-forget frames, and server pushes. The WebSocket behind it (reconnect, backoff,
// resume) is common/'s transport; tests drive the desk with a fake Link.

/** One protocol frame (PROTOCOL.md §2): `type`, optional `rid`, fields at the top level. */
export interface Frame {
  type: string;
  rid?: string;
  [field: string]: unknown;
}

/** An `error` reply from relaisd (PROTOCOL.md §8), thrown by `Link.request`. */
export class ServerError extends Error {
  override readonly name = 'ServerError';
  readonly code: number;
  /** The error's stable name, e.g. `invalid_credentials`. */
  readonly errorName: string;
  readonly retryAfterMs: number | undefined;

  constructor(frame: Frame) {
    super(typeof frame['message'] === 'string' ? frame['message'] : String(frame['name']));
    this.code = typeof frame['code'] === 'number' ? frame['code'] : 0;
    this.errorName = typeof frame['name'] === 'string' ? frame['name'] : 'unknown';
    this.retryAfterMs = typeof frame['retry_after_ms'] === 'number' ? frame['retry_after_ms'] : undefined;
  }
}

/** The connection was lost before the reply came (the request may or may not have been applied). */
export class LinkClosedError extends Error {
  override readonly name = 'LinkClosedError';
}

/** The console's view of its connection to relaisd. */
export interface Link {
  /** Sends `frame` with a fresh rid; resolves with the reply, rejects with ServerError or LinkClosedError. */
  request(frame: Frame): Promise<Frame>;
  /** Sends a frame whose reply (if any) nobody waits for: typing, receipts. */
  send(frame: Frame): void;
  /** Registers the handler of every frame that answers no request. */
  onPush(handler: (frame: Frame) => void): void;
}
