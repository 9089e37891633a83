// Helpers shared by the tests and the Node scripts (not part of the library's exports).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { CryptoError } from './errors.js';
import {
  IdentityKeyPair,
  generateOneTimePreKey,
  generateSignedPreKey,
  type OneTimePreKey,
  type SignedPreKey,
} from './keys.js';
import { DeterministicRandom } from './random.js';
import { RatchetSession, type PreKeyStore } from './ratchet.js';
import type { PreKeyBundle } from './x3dh.js';

/** protocol/vectors/ in the repository, found from this file's location. */
export function vectorsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = path.join(dir, 'protocol', 'vectors');
    if (existsSync(path.join(dir, 'protocol')) && existsSync(path.join(dir, 'client-web'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the repository root (protocol/ and client-web/) above ' + import.meta.url);
}

/** Full path of a file in protocol/vectors/. */
export function vectorPath(name: string): string {
  return path.join(vectorsDir(), name);
}

/** Parses a JSON file from protocol/vectors/ (the contract both languages check); throws if it is missing. */
export function readVectors<T>(name: string): T {
  return JSON.parse(readFileSync(vectorPath(name), 'utf8')) as T;
}

/** Low-order points of Curve25519 (from libsodium's blacklist): X25519 with any of them is all zeros. */
export const lowOrderPoints = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

/** The CryptoError code `f` throws, undefined if it returns, or a description of another throw. */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof CryptoError ? e.code : `other: ${String(e)}`;
  }
  return undefined;
}

/** A 32-byte seed made from a small number, for readable tests. */
export function seedOf(n: number): Uint8Array {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(28, n >>> 0, false);
  return seed;
}

/** A responder (a worker) with its identity, one SPK and one OPK, and a key store over them. */
export class TestResponder implements PreKeyStore {
  readonly identity: IdentityKeyPair;
  readonly spk: SignedPreKey;
  opk: OneTimePreKey | undefined;
  readonly random: DeterministicRandom;

  constructor(seed: number, withOpk = true) {
    this.random = new DeterministicRandom(seedOf(seed));
    this.identity = IdentityKeyPair.generate(this.random);
    this.spk = generateSignedPreKey(this.identity, 7, this.random);
    this.opk = withOpk ? generateOneTimePreKey(11, this.random) : undefined;
  }

  signedPreKey(id: number): SignedPreKey | undefined {
    return id === this.spk.id ? this.spk : undefined;
  }

  oneTimePreKey(id: number): OneTimePreKey | undefined {
    return this.opk && id === this.opk.id ? this.opk : undefined;
  }

  bundle(): PreKeyBundle {
    return {
      identityKey: this.identity.publicKey,
      signedPreKeyId: this.spk.id,
      signedPreKey: this.spk.keyPair.publicKey,
      signedPreKeySignature: this.spk.signature,
      ...(this.opk ? { oneTimePreKeyId: this.opk.id, oneTimePreKey: this.opk.keyPair.publicKey } : {}),
    };
  }

  /** Accepts a first initial message, deleting the consumed OPK as the caller must. */
  accept(message: Uint8Array, now: number): { session: RatchetSession; plaintext: Uint8Array } {
    const r = RatchetSession.respond({ identity: this.identity, preKeys: this, message, now, random: this.random });
    if (r.consumedOneTimePreKeyId !== undefined) this.opk = undefined;
    return r;
  }
}

/** Two established sessions: Alice (initiator) sent one message that Bob accepted. */
export function establishedPair(seed: number, now = 1_700_000_000): { alice: RatchetSession; bob: RatchetSession; responder: TestResponder } {
  const responder = new TestResponder(seed * 2 + 1);
  const aliceRandom = new DeterministicRandom(seedOf(seed * 2 + 2));
  const aliceIdentity = IdentityKeyPair.generate(aliceRandom);
  const alice = RatchetSession.initiate(aliceIdentity, responder.bundle(), aliceRandom);
  const { session: bob } = responder.accept(alice.encrypt(new TextEncoder().encode('hello')), now);
  return { alice, bob, responder };
}

/** UTF-8 helpers for readable assertions. */
export const text = {
  encode: (s: string): Uint8Array => new TextEncoder().encode(s),
  decode: (b: Uint8Array): string => new TextDecoder().decode(b),
};
