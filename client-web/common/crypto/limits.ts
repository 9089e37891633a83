/**
 * Every limit and label of the Relais crypto construction v1, in one place.
 * The C++ twin is protocol/include/relais/crypto (see protocol/CRYPTO.md); both must agree.
 */
export const limits = {
  /** Messages: how far a message number may run ahead of its chain (Signal's MAX_SKIP). */
  maxSkip: 1000,
  /** Message keys: stored skipped keys per session; the oldest is evicted beyond this (memory bound). */
  maxSkippedKeys: 2000,
  /** Chains: receiving chains remembered (current + previous) for skipped keys and duplicate detection. */
  maxReceivingChains: 5,
  /** Seconds: a skipped message key older than this is ignored and purged (30 days; follow-ups are weekly or monthly). */
  skippedKeyLifetimeSeconds: 30 * 24 * 3600,
  /** Bytes: plaintexts are padded to a multiple of this (sodium_pad) to hide their length. */
  padBlock: 256,
  /** Bytes: largest plaintext of one message (padded: 65536); larger content goes as attachments. */
  maxPlaintext: 65535,
  /** Bytes: largest worker display name in a certificate (UTF-8). */
  maxDisplayName: 64,
  /** Bytes: largest conversation id in a transfer control message (u8 length). */
  maxConversationId: 255,
  /** Bytes: largest backup/keystore plaintext accepted (16 MiB: history of a long follow-up). */
  maxBlobPlaintext: 16 * 1024 * 1024,
  /** Argon2id passes for resume codes and keystores (libsodium "moderate"-like, ~0.4 s in wasm). */
  argon2OpsLimit: 3,
  /** Bytes: Argon2id memory for resume codes and keystores (64 MiB). */
  argon2MemLimit: 64 * 1024 * 1024,
} as const;

/** Fixed byte strings: info strings, labels and versions of construction v1. */
export const labels = {
  x3dhInfo: 'Relais_X3DH_v1',
  ratchetInfo: 'Relais_Ratchet_v1',
  messageKeysInfo: 'Relais_MessageKeys_v1',
  messageAd: 'Relais_v1',
  spkSignature: 'Relais_SPK_v1',
  workerCert: 'Relais_WorkerCert_v1',
  transfer: 'Relais_Transfer_v1',
  resumeSalt: 'Relais_Resume_v1',
  backupAd: 'Relais_Backup_v1',
  keystoreAd: 'Relais_Keystore_v1',
  recoveryInfo: 'Relais_Recovery_v1',
  recoveryLookupInfo: 'Relais_RecoveryLookup_v1',
  recoveryAd: 'Relais_Recovery_v1',
} as const;

/** Wire constants. */
export const wire = {
  version: 0x01,
  typeInitial: 0x01,
  typeMessage: 0x02,
  /** opk_id meaning "no one-time prekey was used". */
  noOneTimePreKey: 0xffffffff,
  headerBytes: 40,
  keyBytes: 32,
  tagBytes: 16,
  nonceBytes: 24,
  blobVersion: 0x01,
} as const;
