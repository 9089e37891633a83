/** Relais wire protocol v1 for the web clients: message table and types, codec, error and close codes. */
export * from './base64url.js';
export * from './codec.js';
export * from './errors.js';
export * from './messages.js';
export * from './schema.js';
