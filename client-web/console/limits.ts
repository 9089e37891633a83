/** Every limit of the worker console, with its unit and reason. */
export const consoleLimits = {
  /** One-time prekeys per upload: CRYPTO.md §11 uploads 100 (the keys.publish maximum). */
  oneTimePreKeyBatch: 100,
  /** Replenish when the server reports fewer than this many (CRYPTO.md §11). */
  oneTimePreKeyLow: 20,
  /** Seconds between signed prekey rotations (7 days, CRYPTO.md §11); also how long a retired one still answers X3DH. */
  spkRotationSeconds: 7 * 24 * 3600,
  /** Seconds a retired signed prekey is kept at least, for sealed content still unread (30 days, CRYPTO.md §11). */
  retiredSpkKeepSeconds: 30 * 24 * 3600,
  /** Pages of `inbox.list` read at most in one refresh (50 entries each). */
  maxInboxPages: 20,
  /**
   * Bytes of vault JSON sealed in one backup blob: PROTOCOL.md §6.9 allows 46,080 bytes of blob;
   * the keystore adds 1 + 16 (salt) + 24 (nonce) + 16 (tag) = 57.
   */
  maxVaultPlaintext: 46_080 - 57,
  /** Bytes of UTF-8 in one private note: long enough for a session summary, small enough for the vault. */
  maxNoteBytes: 4_000,
  /** Bytes of UTF-8 in one message: CRYPTO.md padding keeps 45,823 under the 46,080-byte ciphertext limit. */
  maxMessageBytes: 45_823,
  /** Messages a worker may write before the beneficiary's first one (held until the session opens). */
  maxHeldMessages: 20,
  /** Canned replies kept: a short list the worker can scan. */
  maxCannedReplies: 50,
  /** Milliseconds a save waits for more changes before sealing the vault (one upload per burst). */
  saveDebounceMs: 400,
  /** Milliseconds between queue.list refreshes while on shift, when the server pushes no snapshot. */
  queueRefreshMs: 3_000,
  /** Milliseconds of silence after the last keystroke before "typing" is turned off. */
  typingIdleMs: 4_000,
} as const;
