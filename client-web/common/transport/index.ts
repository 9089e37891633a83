/** The WebSocket transport of the web clients: reconnection, resume, pending sends. */
export * from './backoff.js';
export * from './clock.js';
export * from './transport.js';
