/** Relais end-to-end encryption for the web clients (construction v1, protocol/CRYPTO.md). */
export * from './aead.js';
export * from './base32.js';
export * from './bytes.js';
export * from './certificate.js';
export * from './errors.js';
export * from './hkdf.js';
export * from './keys.js';
export * from './keystore.js';
export * from './limits.js';
export * from './message.js';
export * from './random.js';
export * from './ratchet.js';
export * from './resume_code.js';
export * from './safety_number.js';
export * from './sodium.js';
export * from './transfer.js';
export * from './x3dh.js';
