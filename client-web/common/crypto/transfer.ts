import { ByteReader, concat, equalBytes, u64be, utf8 } from './bytes.js';
import { ensure, precondition } from './errors.js';
import { verifySignature, type IdentityKeyPair } from './keys.js';
import { labels, limits, wire } from './limits.js';

/** A transfer of a conversation from one worker to another, signed by the current worker. */
export interface TransferControl {
  /** Conversation id bytes (1..255). */
  readonly conversationId: Uint8Array;
  readonly fromWorkerKey: Uint8Array;
  readonly toWorkerKey: Uint8Array;
  /** Unix seconds. */
  readonly issuedAt: number;
}

const signatureBytes = 64;
const transferLabel = utf8(labels.transfer);

function transferBody(t: TransferControl): Uint8Array {
  precondition(t.conversationId.length >= 1 && t.conversationId.length <= limits.maxConversationId, 'conversation id must be 1..255 bytes');
  precondition(t.fromWorkerKey.length === wire.keyBytes && t.toWorkerKey.length === wire.keyBytes, 'keys must be 32 bytes');
  precondition(Number.isSafeInteger(t.issuedAt) && t.issuedAt >= 0, 'issued_at must be a u64');
  return concat(transferLabel, Uint8Array.of(t.conversationId.length), t.conversationId, t.fromWorkerKey, t.toWorkerKey, u64be(t.issuedAt));
}

/** Signs a transfer with the current worker's identity key (which must be `fromWorkerKey`). */
export function signTransfer(current: IdentityKeyPair, t: Omit<TransferControl, 'fromWorkerKey'>): Uint8Array {
  const body = transferBody({ ...t, fromWorkerKey: current.publicKey });
  return concat(body, current.sign(body));
}

/** Parses transfer bytes without verifying; `malformed_input` on any structural error. */
export function parseTransfer(bytes: Uint8Array): { transfer: TransferControl; body: Uint8Array; signature: Uint8Array } {
  const r = new ByteReader(bytes);
  ensure(equalBytes(r.take(transferLabel.length), transferLabel), 'malformed_input');
  const idLength = r.u8();
  ensure(idLength >= 1, 'malformed_input');
  const conversationId = r.take(idLength);
  const fromWorkerKey = r.take(wire.keyBytes);
  const toWorkerKey = r.take(wire.keyBytes);
  const issuedAt = r.u64();
  const signature = r.take(signatureBytes);
  r.end();
  return {
    transfer: { conversationId, fromWorkerKey, toWorkerKey, issuedAt },
    body: bytes.slice(0, bytes.length - signatureBytes),
    signature,
  };
}

/**
 * Verifies a transfer for `conversationId` against the identity key of the worker currently in
 * charge. A transfer from another worker, for another conversation, or with a bad signature is
 * `authentication_failed` (no oracle); bad bytes are `malformed_input`.
 */
export function verifyTransfer(bytes: Uint8Array, currentWorkerKey: Uint8Array, conversationId: Uint8Array): TransferControl {
  const { transfer, body, signature } = parseTransfer(bytes);
  const ok =
    verifySignature(currentWorkerKey, body, signature) &&
    equalBytes(transfer.fromWorkerKey, currentWorkerKey) &&
    equalBytes(transfer.conversationId, conversationId);
  ensure(ok, 'authentication_failed');
  return transfer;
}
