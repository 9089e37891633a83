import { describe, expect, it } from 'vitest';
import {
  DeterministicRandom,
  IdentityKeyPair,
  RatchetSession,
  deriveRecoveryKeys,
  generateRecoveryKey,
  toBase64Url,
  utf8,
} from '../common/crypto/index.js';
import { codeOf, seedOf } from '../common/crypto/testing.js';
import { consoleLimits } from './limits.js';
import { bundleOf } from './testing.js';
import { Vault, VaultFormatError, attachRecovery, keystoreKey, openRecovery, openVault, sealRecovery, sealVault } from './vault.js';

const now = 1_767_225_600;

describe('Vault', () => {
  it('CreatesAnIdentityWithASignedPrekeyAndABatchOfOneTimePrekeys', () => {
    const v = Vault.create(new DeterministicRandom(seedOf(1)), now);
    expect(v.signedPreKeys).toHaveLength(1);
    expect(v.oneTimePreKeys.size).toBe(consoleLimits.oneTimePreKeyBatch);
    const f = v.publishFields([...v.oneTimePreKeys.values()], true);
    expect(f['identity_key']).toBe(toBase64Url(v.identity.publicKey));
    expect((f['one_time_prekeys'] as unknown[]).length).toBe(100);
    expect(f['spk_signature']).toHaveLength(86);
    expect(v.publishFields([], false)['spk_id']).toBeUndefined();
  });

  it('RoundTripsKeysSessionsHistoryNotesAndCannedReplies', () => {
    const random = new DeterministicRandom(seedOf(2));
    const v = Vault.create(random, now);
    const beneficiary = IdentityKeyPair.generate(random);
    const alice = RatchetSession.initiate(beneficiary, bundleOf(v), random);
    const first = alice.encrypt(utf8('bonjour'));
    const r = RatchetSession.respond({ identity: v.identity, preKeys: v.preKeyStore(now), message: first, now, random });
    v.consumeOneTimePreKey(r.consumedOneTimePreKeyId);
    const key = toBase64Url(beneficiary.publicKey);
    v.conversations.set(7, { id: 7, beneficiaryKey: key, urgent: true, returning: false, open: true, lastSeq: 1, messages: [{ seq: 1, sender: 'beneficiary', text: 'bonjour', sentAt: 1, clientMsgId: 'a'.repeat(22) }], openedAt: 5 });
    v.saveSession(7, r.session);
    expect(v.setNote(key, 'suivi mensuel', 9)).toBe(true);
    v.canned.push({ id: 'x', title: 'Accueil', text: 'Bonjour, je vous écoute.' });

    const back = Vault.deserialize(v.serialize().bytes);
    expect(toBase64Url(back.identity.publicKey)).toBe(toBase64Url(v.identity.publicKey));
    expect(back.oneTimePreKeys.size).toBe(99);
    expect(back.notes.get(key)?.text).toBe('suivi mensuel');
    expect(back.canned[0]?.title).toBe('Accueil');
    expect(back.conversations.get(7)?.messages[0]?.text).toBe('bonjour');
    // The restored session still talks to the beneficiary.
    const s = back.session(7, random)!;
    const reply = s.encrypt(utf8('je vous écoute'));
    expect(new TextDecoder().decode(alice.decrypt(reply, now))).toBe('je vous écoute');
  });

  it('RefusesANoteTooLong', () => {
    const v = Vault.create(new DeterministicRandom(seedOf(3)), now);
    expect(v.setNote('k', 'é'.repeat(consoleLimits.maxNoteBytes / 2 + 1), 1)).toBe(false);
    expect(v.notes.size).toBe(0);
    expect(v.setNote('k', 'ok', 1)).toBe(true);
    expect(v.setNote('k', '  ', 2)).toBe(true);
    expect(v.notes.size).toBe(0);
  });

  it('TrimsTheOldestEndedHistoryToFitOneBlob', () => {
    const v = Vault.create(new DeterministicRandom(seedOf(4)), now);
    const long = 'x'.repeat(10_000);
    for (let id = 1; id <= 6; id++) {
      v.conversations.set(id, { id, beneficiaryKey: 'k' + id, urgent: false, returning: false, open: id === 6, lastSeq: 1, messages: [{ seq: 1, sender: 'beneficiary', text: long, sentAt: 1, clientMsgId: 'b'.repeat(22) }], openedAt: id });
    }
    const { bytes, trimmed } = v.serialize();
    expect(trimmed).toBe(true);
    expect(bytes.length).toBeLessThanOrEqual(consoleLimits.maxVaultPlaintext);
    expect(v.conversations.get(1)?.messages).toHaveLength(0);
    expect(v.conversations.get(6)?.messages).toHaveLength(1); // open conversations are kept
  });

  it('RefusesBytesThatAreNotAVault', () => {
    expect(() => Vault.deserialize(utf8('{"format":2}'))).toThrow(VaultFormatError);
    expect(() => Vault.deserialize(utf8('not json'))).toThrow(VaultFormatError);
    expect(() => Vault.deserialize(Uint8Array.of(0xff, 0xfe))).toThrow(VaultFormatError);
    expect(() => Vault.deserialize(utf8('{"format":1,"identitySeed":"AAAA","signedPreKeys":[{"id":1,"secret":"x"}]}'))).toThrow(VaultFormatError);
  });
});

describe('Sealed vault', () => {
  it('OpensWithThePassphraseAndNotWithAnother', () => {
    const random = new DeterministicRandom(seedOf(5));
    const v = Vault.create(random, now);
    const k = keystoreKey('une longue phrase de passe', random);
    const blob = sealVault(k, v.serialize().bytes, random);
    const again = keystoreKey('une longue phrase de passe', random, blob);
    expect(Vault.deserialize(openVault(again, blob)).identity.publicKey).toEqual(v.identity.publicKey);
    const wrong = keystoreKey('une autre phrase', random, blob);
    expect(codeOf(() => openVault(wrong, blob))).toBe('authentication_failed');
    const tampered = blob.slice();
    tampered[tampered.length - 1]! ^= 1;
    expect(codeOf(() => openVault(again, tampered))).toBe('authentication_failed');
  });

  it('RestoresFromTheRecoveryKeyAlone', () => {
    const random = new DeterministicRandom(seedOf(6));
    const v = Vault.create(random, now);
    const recoveryKey = generateRecoveryKey(random);
    attachRecovery(v, recoveryKey);
    v.setNote('k', 'note', 1);
    const blob = sealRecovery(v, v.serialize().bytes, random)!;
    const derived = deriveRecoveryKeys(recoveryKey);
    expect(derived.lookupId).toEqual(v.recovery!.lookupId);
    const back = Vault.deserialize(openRecovery(derived.backupKey, blob));
    expect(back.notes.get('k')?.text).toBe('note');
    // The restored vault can keep updating the same recovery blob.
    expect(back.recovery!.backupKey).toEqual(derived.backupKey);
    expect(codeOf(() => openRecovery(deriveRecoveryKeys(generateRecoveryKey(random)).backupKey, blob))).toBe('authentication_failed');
  });

  it('HasNoRecoveryBlobBeforeARecoveryKeyIsMade', () => {
    const random = new DeterministicRandom(seedOf(7));
    const v = Vault.create(random, now);
    expect(sealRecovery(v, v.serialize().bytes, random)).toBeUndefined();
  });
});
