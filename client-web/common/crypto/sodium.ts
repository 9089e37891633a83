import sodium from 'libsodium-wrappers-sumo';

/** The libsodium.js (sumo) module; call `initSodium()` once before any other crypto function. */
export { sodium };

let ready_: Promise<void> | undefined;

/** Loads libsodium's WebAssembly module; safe to call many times. */
export function initSodium(): Promise<void> {
  ready_ ??= sodium.ready;
  return ready_;
}

/** Overwrites key material in place (sodium_memzero); accepts undefined for optional fields. */
export function wipe(...buffers: (Uint8Array | undefined | null)[]): void {
  for (const b of buffers) {
    if (b) sodium.memzero(b);
  }
}
