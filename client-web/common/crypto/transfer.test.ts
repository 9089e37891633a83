import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from './bytes.js';
import { IdentityKeyPair } from './keys.js';
import { codeOf, readVectors } from './testing.js';
import { parseTransfer, signTransfer, verifyTransfer } from './transfer.js';

interface Vector {
  from_seed: string;
  conversation_id: string;
  from_worker: string;
  to_worker: string;
  issued_at: number;
  message: string;
}

const v = readVectors<{ transfer: Vector }>('crypto_derivation_vectors.json').transfer;
const from = IdentityKeyPair.fromSeed(fromHex(v.from_seed));
const conversation = utf8(v.conversation_id);

describe('transfer control messages', () => {
  it('are signed byte for byte as the Python vector and verify', () => {
    const message = signTransfer(from, { conversationId: conversation, toWorkerKey: fromHex(v.to_worker), issuedAt: v.issued_at });
    expect(toHex(message)).toBe(v.message);
    const t = verifyTransfer(message, fromHex(v.from_worker), conversation);
    expect(toHex(t.toWorkerKey)).toBe(v.to_worker);
    expect(t.issuedAt).toBe(v.issued_at);
  });

  it('are refused when signed by anyone but the current worker, for another conversation, or altered', () => {
    const message = fromHex(v.message);
    const server = IdentityKeyPair.fromSeed(new Uint8Array(32).fill(0x33));
    const forged = signTransfer(server, { conversationId: conversation, toWorkerKey: server.publicKey, issuedAt: v.issued_at });
    expect(codeOf(() => verifyTransfer(forged, fromHex(v.from_worker), conversation))).toBe('authentication_failed');
    expect(codeOf(() => verifyTransfer(message, fromHex(v.from_worker), utf8('conv-002')))).toBe('authentication_failed');
    expect(codeOf(() => verifyTransfer(message, fromHex(v.to_worker), conversation))).toBe('authentication_failed');
    for (const i of [20, 40, 80, 100, message.length - 1]) {
      const t = message.slice();
      t[i]! ^= 1;
      expect(codeOf(() => verifyTransfer(t, fromHex(v.from_worker), conversation))).toBe('authentication_failed');
    }
  });

  it('reject malformed bytes: truncation, trailing bytes, empty conversation id, wrong label', () => {
    const message = fromHex(v.message);
    for (let n = 0; n < message.length; n += 7) expect(codeOf(() => parseTransfer(message.slice(0, n)))).toBe('malformed_input');
    expect(codeOf(() => parseTransfer(new Uint8Array([...message, 1])))).toBe('malformed_input');
    const empty = message.slice();
    empty[18] = 0;
    expect(codeOf(() => parseTransfer(empty))).toBe('malformed_input');
    const label = message.slice();
    label[7] = 0x21;
    expect(codeOf(() => parseTransfer(label))).toBe('malformed_input');
  });
});
