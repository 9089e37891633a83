// `npm run bench:crypto`: time per operation of the TypeScript crypto on libsodium.js (wasm),
// for issue 4's note: encrypt and decrypt of a 300-byte message, and an X3DH handshake.
import { performance } from 'node:perf_hooks';
import { IdentityKeyPair, generateOneTimePreKey, generateSignedPreKey } from '../common/crypto/keys.js';
import { systemRandom } from '../common/crypto/random.js';
import { RatchetSession } from '../common/crypto/ratchet.js';
import { initSodium } from '../common/crypto/sodium.js';
import { x3dhInitiate } from '../common/crypto/x3dh.js';

await initSodium();

const now = Math.floor(Date.now() / 1000);
const plaintext = new Uint8Array(300).fill(0x61);

/** Runs `body` `n` times after a warm-up and returns microseconds per call (best of 3 runs). */
function time(n: number, body: (i: number) => void): number {
  for (let i = 0; i < Math.min(200, n); i++) body(i);
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    const start = performance.now();
    for (let i = 0; i < n; i++) body(i);
    best = Math.min(best, ((performance.now() - start) * 1000) / n);
  }
  return best;
}

function responder() {
  const identity = IdentityKeyPair.generate(systemRandom);
  const spk = generateSignedPreKey(identity, 1, systemRandom);
  const opk = generateOneTimePreKey(2, systemRandom);
  return {
    identity,
    preKeys: { signedPreKey: () => spk, oneTimePreKey: () => opk },
    bundle: {
      identityKey: identity.publicKey,
      signedPreKeyId: 1,
      signedPreKey: spk.keyPair.publicKey,
      signedPreKeySignature: spk.signature,
      oneTimePreKeyId: 2,
      oneTimePreKey: opk.keyPair.publicKey,
    },
  };
}

function pair() {
  const bob = responder();
  const alice = RatchetSession.initiate(IdentityKeyPair.generate(systemRandom), bob.bundle, systemRandom);
  const first = alice.encrypt(plaintext);
  const { session } = RatchetSession.respond({ identity: bob.identity, preKeys: bob.preKeys, message: first, now, random: systemRandom });
  alice.decrypt(session.encrypt(plaintext), now);
  return { alice, bob: session };
}

const results: Record<string, number> = {};
const n = 5000;

{
  const { alice } = pair();
  results['encrypt 300 B (same chain)'] = time(n, () => alice.encrypt(plaintext));
}
{
  const { alice, bob } = pair();
  const wires = Array.from({ length: n * 3 + 200 }, () => alice.encrypt(plaintext));
  let k = 0;
  results['decrypt 300 B (same chain, in order)'] = time(n, () => bob.decrypt(wires[k++]!, now));
}
{
  // Every message answers the previous one: each decrypt takes a DH ratchet step.
  const { alice, bob } = pair();
  let turn = 0;
  results['encrypt + decrypt 300 B with a DH ratchet step'] = time(1000, () => {
    const [from, to] = turn++ % 2 === 0 ? [alice, bob] : [bob, alice];
    to.decrypt(from.encrypt(plaintext), now);
  });
}
{
  const bob = responder();
  const aliceIdentity = IdentityKeyPair.generate(systemRandom);
  results['X3DH initiator (verify SPK, 4 DH, HKDF)'] = time(1000, () => x3dhInitiate(aliceIdentity, bob.bundle, systemRandom));
  results['X3DH handshake: initiate + first message + respond'] = time(500, () => {
    const alice = RatchetSession.initiate(aliceIdentity, bob.bundle, systemRandom);
    RatchetSession.respond({ identity: bob.identity, preKeys: bob.preKeys, message: alice.encrypt(plaintext), now, random: systemRandom });
  });
}

console.log(`Relais TypeScript crypto on libsodium.js (wasm), Node ${process.version}, best of 3 runs`);
for (const [name, us] of Object.entries(results)) console.log(`${name.padEnd(52)} ${us.toFixed(1).padStart(8)} µs`);
