import { concat } from './bytes.js';
import { CryptoError } from './errors.js';
import { hkdf } from './hkdf.js';
import {
  dh,
  ed25519PublicToX25519,
  generateX25519,
  verifySignedPreKey,
  type IdentityKeyPair,
  type OneTimePreKey,
  type SignedPreKey,
  type X25519KeyPair,
} from './keys.js';
import { labels, wire } from './limits.js';
import type { Random } from './random.js';
import { wipe } from './sodium.js';

/** What the server hands out for a responder (a worker): the public half of its prekeys. */
export interface PreKeyBundle {
  /** Ed25519 identity public key. */
  readonly identityKey: Uint8Array;
  readonly signedPreKeyId: number;
  readonly signedPreKey: Uint8Array;
  readonly signedPreKeySignature: Uint8Array;
  /** Absent when the server ran out of one-time prekeys. */
  readonly oneTimePreKeyId?: number;
  readonly oneTimePreKey?: Uint8Array;
}

/** The outcome of X3DH for either side. */
export interface X3dhResult {
  /** SK, 32 bytes: the ratchet's first root key. */
  readonly sharedSecret: Uint8Array;
  /** AD = Encode(IK_A) || Encode(IK_B), 64 bytes. */
  readonly associatedData: Uint8Array;
}

/** The initiator's outcome, with what its initial messages must carry. */
export interface X3dhInitiation extends X3dhResult {
  readonly ephemeralPublic: Uint8Array;
  readonly signedPreKeyId: number;
  /** 0xFFFFFFFF when no one-time prekey was used. */
  readonly oneTimePreKeyId: number;
  readonly remoteSignedPreKey: Uint8Array;
}

function deriveSharedSecret(dhs: Uint8Array[]): Uint8Array {
  // 32 bytes of 0xFF first, as X3DH prescribes for X25519, so the IKM never starts like a DH output.
  const ikm = concat(new Uint8Array(32).fill(0xff), ...dhs);
  const sk = hkdf(new Uint8Array(32), ikm, labels.x3dhInfo, 32);
  wipe(ikm, ...dhs);
  return sk;
}

/** Builds the 64-byte X3DH associated data, initiator first. */
export function x3dhAssociatedData(initiatorIdentity: Uint8Array, responderIdentity: Uint8Array): Uint8Array {
  return concat(initiatorIdentity, responderIdentity);
}

/**
 * Initiator side (the beneficiary's widget): verifies the bundle's SPK signature, then derives SK.
 * Draws exactly one 32-byte value (EK_A) from `random`.
 */
export function x3dhInitiate(identity: IdentityKeyPair, bundle: PreKeyBundle, random: Random): X3dhInitiation {
  verifySignedPreKey(bundle.identityKey, bundle.signedPreKeyId, bundle.signedPreKey, bundle.signedPreKeySignature);
  const remoteIdentityX = ed25519PublicToX25519(bundle.identityKey);
  const hasOpk = bundle.oneTimePreKey !== undefined && bundle.oneTimePreKeyId !== undefined;
  if (hasOpk && bundle.oneTimePreKeyId === wire.noOneTimePreKey) throw new CryptoError('malformed_input');
  const ephemeral: X25519KeyPair = generateX25519(random);
  try {
    const dhs = [
      dh(identity.x25519Secret, bundle.signedPreKey),
      dh(ephemeral.secretKey, remoteIdentityX),
      dh(ephemeral.secretKey, bundle.signedPreKey),
    ];
    if (hasOpk) dhs.push(dh(ephemeral.secretKey, bundle.oneTimePreKey!));
    return {
      sharedSecret: deriveSharedSecret(dhs),
      associatedData: x3dhAssociatedData(identity.publicKey, bundle.identityKey),
      ephemeralPublic: ephemeral.publicKey,
      signedPreKeyId: bundle.signedPreKeyId,
      oneTimePreKeyId: hasOpk ? bundle.oneTimePreKeyId! : wire.noOneTimePreKey,
      remoteSignedPreKey: bundle.signedPreKey.slice(),
    };
  } finally {
    wipe(ephemeral.secretKey);
  }
}

/**
 * Responder side (the worker): derives SK from the initiator's identity and ephemeral keys.
 * The caller looks up the SPK and OPK by the ids in the initial message and deletes the OPK
 * once the first message decrypts.
 */
export function x3dhRespond(
  identity: IdentityKeyPair,
  signedPreKey: SignedPreKey,
  oneTimePreKey: OneTimePreKey | undefined,
  remoteIdentity: Uint8Array,
  remoteEphemeral: Uint8Array,
): X3dhResult {
  const remoteIdentityX = ed25519PublicToX25519(remoteIdentity);
  const dhs = [
    dh(signedPreKey.keyPair.secretKey, remoteIdentityX),
    dh(identity.x25519Secret, remoteEphemeral),
    dh(signedPreKey.keyPair.secretKey, remoteEphemeral),
  ];
  if (oneTimePreKey) dhs.push(dh(oneTimePreKey.keyPair.secretKey, remoteEphemeral));
  return {
    sharedSecret: deriveSharedSecret(dhs),
    associatedData: x3dhAssociatedData(remoteIdentity, identity.publicKey),
  };
}
