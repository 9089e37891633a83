import { u64be } from './bytes.js';
import { sodium, wipe } from './sodium.js';

/** A source of random bytes, injected into every function that generates keys. */
export interface Random {
  /** Returns `n` fresh bytes. */
  bytes(n: number): Uint8Array;
}

/** The operating system's CSPRNG through libsodium (randombytes_buf). */
export const systemRandom: Random = {
  bytes(n: number): Uint8Array {
    return sodium.randombytes_buf(n);
  },
};

/**
 * Deterministic generator for tests and golden transcripts only (CRYPTO.md "Deterministic
 * randomness"): draw i of n bytes = randombytes_buf_deterministic(n, HMAC-SHA256(seed, u64be(i))).
 */
export class DeterministicRandom implements Random {
  private readonly seed_: Uint8Array;
  private draws_ = 0;

  constructor(seed: Uint8Array) {
    if (seed.length !== 32) throw new RangeError('deterministic seed must be 32 bytes');
    this.seed_ = seed.slice();
  }

  /** How many draws were made so far. */
  get draws(): number {
    return this.draws_;
  }

  bytes(n: number): Uint8Array {
    const drawSeed = sodium.crypto_auth_hmacsha256(u64be(this.draws_), this.seed_);
    this.draws_ += 1;
    const out = sodium.randombytes_buf_deterministic(n, drawSeed);
    wipe(drawSeed);
    return out;
  }
}
