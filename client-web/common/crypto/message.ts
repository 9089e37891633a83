import { ByteReader, concat, u32be } from './bytes.js';
import { CryptoError, precondition } from './errors.js';
import { limits, wire } from './limits.js';

/** The ratchet header: the sender's current ratchet public key and counters (40 bytes). */
export interface RatchetHeader {
  readonly dh: Uint8Array;
  /** Number of messages in the sender's previous sending chain. */
  readonly pn: number;
  /** Message number in the current sending chain. */
  readonly n: number;
}

/** What an initial message (type 0x01) carries so the responder can run X3DH. */
export interface InitialPrefix {
  /** Initiator's Ed25519 identity key. */
  readonly identityKey: Uint8Array;
  readonly ephemeralKey: Uint8Array;
  readonly signedPreKeyId: number;
  /** 0xFFFFFFFF when no one-time prekey was used. */
  readonly oneTimePreKeyId: number;
}

/** A parsed ratchet message (wire bytes in CRYPTO.md "Wire bytes of a ratchet message"). */
export interface RatchetMessage {
  readonly type: typeof wire.typeInitial | typeof wire.typeMessage;
  /** Present exactly when type is 0x01. */
  readonly initial?: InitialPrefix;
  readonly header: RatchetHeader;
  /** The encoded 40-byte header, as bound into the AEAD's associated data. */
  readonly headerBytes: Uint8Array;
  /** AEAD output including the 16-byte tag. */
  readonly ciphertext: Uint8Array;
}

/** Smallest ciphertext: one 256-byte padding block plus the tag. */
const minCiphertext = limits.padBlock + wire.tagBytes;
/** Largest ciphertext: the largest plaintext (65535) padded to 65536, plus the tag. */
const maxCiphertext = (Math.floor(limits.maxPlaintext / limits.padBlock) + 1) * limits.padBlock + wire.tagBytes;

/** Encodes a header: dh_pub || pn (u32 BE) || n (u32 BE). */
export function encodeHeader(header: RatchetHeader): Uint8Array {
  return concat(header.dh, u32be(header.pn), u32be(header.n));
}

/** Encodes a ratchet message to wire bytes. */
export function encodeMessage(message: Omit<RatchetMessage, 'headerBytes'>): Uint8Array {
  const header = encodeHeader(message.header);
  if (message.type === wire.typeInitial) {
    const p = message.initial;
    precondition(p !== undefined, 'an initial message needs its X3DH prefix');
    return concat(
      Uint8Array.of(wire.version, wire.typeInitial),
      p.identityKey,
      p.ephemeralKey,
      u32be(p.signedPreKeyId),
      u32be(p.oneTimePreKeyId),
      header,
      message.ciphertext,
    );
  }
  return concat(Uint8Array.of(wire.version, wire.typeMessage), header, message.ciphertext);
}

/**
 * Parses wire bytes: `unsupported_version`, `wrong_message_type`, or `malformed_input` for a
 * truncated field or a ciphertext length other than 256*k + 16 with 1 <= k <= 256.
 */
export function decodeMessage(bytes: Uint8Array): RatchetMessage {
  // Parsing order fixed by CRYPTO.md §4.1: the first failing check names the error.
  if (bytes.length < 2) throw new CryptoError('malformed_input');
  const r = new ByteReader(bytes);
  if (r.u8() !== wire.version) throw new CryptoError('unsupported_version');
  const type = r.u8();
  let initial: InitialPrefix | undefined;
  if (type === wire.typeInitial) {
    initial = {
      identityKey: r.take(wire.keyBytes),
      ephemeralKey: r.take(wire.keyBytes),
      signedPreKeyId: r.u32(),
      oneTimePreKeyId: r.u32(),
    };
  } else if (type !== wire.typeMessage) {
    throw new CryptoError('wrong_message_type');
  }
  const headerBytes = r.take(wire.headerBytes);
  const hr = new ByteReader(headerBytes);
  const header: RatchetHeader = { dh: hr.take(wire.keyBytes), pn: hr.u32(), n: hr.u32() };
  const ciphertext = r.rest();
  if (
    ciphertext.length < minCiphertext ||
    ciphertext.length > maxCiphertext ||
    (ciphertext.length - wire.tagBytes) % limits.padBlock !== 0
  ) {
    throw new CryptoError('malformed_input');
  }
  return initial
    ? { type: wire.typeInitial, initial, header, headerBytes, ciphertext }
    : { type: wire.typeMessage, header, headerBytes, ciphertext };
}
