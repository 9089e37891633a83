/**
 * Why a crypto operation refused its input: the same names as relais::crypto::errc in C++
 * (protocol/include/relais/crypto/error.hpp, protocol/CRYPTO.md).
 *
 * Every authentication failure (AEAD tag, padding, SPK/certificate/transfer signature, backup or
 * keystore blob, wrong passphrase) is the single `authentication_failed`: no oracle.
 */
export type CryptoErrorCode =
  /** Truncated, oversized or otherwise ill-formed bytes. */
  | 'malformed_input'
  /** A version byte this build does not speak. */
  | 'unsupported_version'
  /** A message type fed to a decoder for another type. */
  | 'wrong_message_type'
  /** Any tag, padding or signature failure. */
  | 'authentication_failed'
  /** Low-order X25519 point, or an Ed25519 key that does not convert. */
  | 'invalid_public_key'
  /** The key for this header was already used, expired or evicted (decided from the public header). */
  | 'duplicate_message'
  /** The header skips more than MAX_SKIP messages. */
  | 'too_many_skipped'
  /** The responder cannot send before it has received. */
  | 'no_sending_chain'
  /** The signed or one-time prekey id is not (or no longer) held. */
  | 'unknown_prekey'
  /** The certificate names an organisation key other than the pinned one. */
  | 'untrusted_org_key'
  /** Now is outside [not_before, not_after]. */
  | 'certificate_not_valid_now'
  /** A resume code or recovery key that does not parse. */
  | 'bad_code'
  /** Argon2id could not get its memory. */
  | 'resource_exhausted';

const messages: Record<CryptoErrorCode, string> = {
  malformed_input: 'malformed input',
  unsupported_version: 'unsupported version',
  wrong_message_type: 'wrong message type',
  authentication_failed: 'authentication failed',
  invalid_public_key: 'invalid public key',
  duplicate_message: 'message already received',
  too_many_skipped: 'too many skipped messages',
  no_sending_chain: 'no sending chain yet',
  unknown_prekey: 'unknown prekey',
  untrusted_org_key: 'untrusted organisation key',
  certificate_not_valid_now: 'certificate not valid now',
  bad_code: 'bad code',
  resource_exhausted: 'resource exhausted',
};

/**
 * The single error type thrown by common/crypto for bad peer or user input. Caller bugs (a key
 * of the wrong length passed by our own code) throw RangeError instead.
 */
export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode) {
    // The message is fixed per code so that no detail (offset, cause) can leak to a peer.
    super(messages[code]);
    this.code = code;
  }
}

/** Throws `CryptoError(code)` unless `condition` holds. */
export function ensure(condition: boolean, code: CryptoErrorCode): asserts condition {
  if (!condition) throw new CryptoError(code);
}

/** Throws RangeError (a caller bug, not peer input) unless `condition` holds. */
export function precondition(condition: boolean, what: string): asserts condition {
  if (!condition) throw new RangeError(what);
}
