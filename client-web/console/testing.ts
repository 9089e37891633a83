// Helpers for the console's unit tests (not part of the console's bundle).
import type { PreKeyBundle } from '../common/crypto/index.js';
import type { Vault } from './vault.js';

/** The bundle relaisd would hand out for this vault. */
export function bundleOf(v: Vault, withOpk = true): PreKeyBundle {
  const spk = v.signedPreKeys[0]!;
  const opk = [...v.oneTimePreKeys.values()][0]!;
  return {
    identityKey: v.identity.publicKey,
    signedPreKeyId: spk.id,
    signedPreKey: spk.keyPair.publicKey,
    signedPreKeySignature: spk.signature,
    ...(withOpk ? { oneTimePreKeyId: opk.id, oneTimePreKey: opk.keyPair.publicKey } : {}),
  };
}

