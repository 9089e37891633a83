#!/usr/bin/python3
"""Differential test: relais_crypto against Debian's python3-x3dh and python3-doubleratchet.

Run as /usr/bin/python3 python_differential.py PATH/TO/relais_crypto_differential. The C++ tool
prints a scripted exchange with fixed keys; this script replays it with the Python libraries
configured with Relais's parameters (CRYPTO.md §13) and fed the same keys, and compares byte for
byte: the X3DH shared secret and associated data, every header and ciphertext, root, sending and
receiving chain keys after every step, skipped message keys, and plaintexts. Exit 0 = agreement.
"""
import asyncio
import json
import secrets
import subprocess
import sys

import doubleratchet
from doubleratchet.recommended import (
    HashFunction, diffie_hellman_ratchet_curve25519, kdf_hkdf, kdf_separate_hmacs)
import x3dh
from x3dh.identity_key_pair import IdentityKeyPairSeed
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl import bindings as nb

H = bytes.fromhex
failures = []


def check(what, ours, theirs):
    if ours != theirs:
        failures.append(f"{what}: relais {ours.hex() if isinstance(ours, bytes) else ours} != "
                        f"python {theirs.hex() if isinstance(theirs, bytes) else theirs}")


# --- python3-x3dh configured as CRYPTO.md §3 -------------------------------------------------
class X3DHState(x3dh.BaseState):
    @staticmethod
    def _encode_public_key(key_format, pub):
        return pub  # Encode(IK) = the raw 32-byte key


class FeedTokens:
    """Replaces secrets.token_bytes so that the libraries draw our fixed keys."""
    def __init__(self):
        self.queue = []
        self.original = secrets.token_bytes

    def __call__(self, n=None):
        if self.queue:
            value = self.queue.pop(0)
            assert len(value) == n
            return value
        return self.original(n)


# --- python3-doubleratchet configured as CRYPTO.md §4 ----------------------------------------
class RootKdf(kdf_hkdf.KDF):
    @staticmethod
    def _get_hash_function():
        return HashFunction.SHA_256

    @staticmethod
    def _get_info():
        return b"Relais_Ratchet_v1"


class ChainKdf(kdf_separate_hmacs.KDF):
    @staticmethod
    def _get_hash_function():
        return HashFunction.SHA_256


def message_keys(mk):
    okm = HKDF(hashes.SHA256(), 56, None, b"Relais_MessageKeys_v1").derive(mk)
    return okm[:32], okm[32:]


class Aead(doubleratchet.AEAD):
    """XChaCha20-Poly1305 from PyNaCl, key and nonce from HKDF(mk), sodium_pad to 256."""
    @staticmethod
    async def encrypt(plaintext, key, associated_data):
        k, n = message_keys(key)
        return nb.crypto_aead_xchacha20poly1305_ietf_encrypt(nb.sodium_pad(plaintext, 256), associated_data, n, k)

    @staticmethod
    async def decrypt(ciphertext, key, associated_data):
        k, n = message_keys(key)
        try:
            padded = nb.crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, associated_data, n, k)
        except Exception as ex:
            raise doubleratchet.AuthenticationFailedException() from ex
        return nb.sodium_unpad(padded, 256)


class Ratchet(doubleratchet.DoubleRatchet):
    @staticmethod
    def _build_associated_data(associated_data, header):
        return (associated_data + header.ratchet_pub + header.previous_sending_chain_length.to_bytes(4, "big")
                + header.sending_chain_length.to_bytes(4, "big"))


def make_dh_class(draws):
    class Dh(diffie_hellman_ratchet_curve25519.DiffieHellmanRatchet):
        @staticmethod
        def _generate_priv():
            return draws.pop(0)
    return Dh


RATCHET_ARGS = dict(root_chain_kdf=RootKdf, message_chain_kdf=ChainKdf, message_chain_constant=b"\x02\x01",
                    dos_protection_threshold=1000, max_num_skipped_message_keys=2000, aead=Aead)


# --- relais state (CRYPTO.md §4.5) ------------------------------------------------------------
def parse_state(hexstate):
    b = H(hexstate)
    pos = 2 + 64 + 64
    rk = b[pos:pos + 32]; pos += 32
    flags = b[pos]; pos += 1
    if flags & 1: pos += 32
    cks = None
    if flags & 2: cks = b[pos:pos + 32]; pos += 32
    pos += 4
    ckr = None
    if flags & 4: ckr = b[pos:pos + 32]; pos += 32
    pos += 8
    if flags & 8: pos += 72
    pos += 1 + 32 * b[pos]
    count = int.from_bytes(b[pos:pos + 2], "big"); pos += 2
    skipped = []
    for _ in range(count):
        skipped.append((b[pos:pos + 32], int.from_bytes(b[pos + 32:pos + 36], "big"), b[pos + 36:pos + 68]))
        pos += 76
    return rk, cks, ckr, skipped


def parse_wire(w):
    typ = w[1]
    pos = 2 + (72 if typ == 1 else 0)
    hdr = w[pos:pos + 40]
    header = doubleratchet.Header(ratchet_pub=hdr[:32], previous_sending_chain_length=int.from_bytes(hdr[32:36], "big"),
                                  sending_chain_length=int.from_bytes(hdr[36:40], "big"))
    return typ, header, w[pos + 40:]


def compare_state(what, hexstate, dr):
    rk, cks, ckr, skipped = parse_state(hexstate)
    m = dr.model
    check(what + " root key", rk, m.diffie_hellman_ratchet.root_chain.key)
    skr = m.diffie_hellman_ratchet.symmetric_key_ratchet
    check(what + " sending chain key", cks, skr.sending_chain.key if skr.sending_chain else None)
    check(what + " receiving chain key", ckr, skr.receiving_chain.key if skr.receiving_chain else None)
    theirs = sorted((k.ratchet_pub, k.index, k.message_key) for k in m.skipped_message_keys)
    check(what + " skipped message keys", repr(sorted(skipped)), repr(theirs))


async def main(tool):
    data = json.loads(subprocess.run([tool], check=True, capture_output=True).stdout)
    feed = FeedTokens()
    secrets.token_bytes = feed

    # X3DH: Bob's SPK then OPK, Alice's (unused) SPK, then Alice's ephemeral key come from the feed.
    info = b"Relais_X3DH_v1"
    feed.queue = [H(data["spk_secret"])]
    bob_x3dh = X3DHState.create(x3dh.IdentityKeyFormat.ED_25519, x3dh.HashFunction.SHA_256, info,
                                IdentityKeyPairSeed(H(data["bob_identity_seed"])))
    feed.queue = [H(data["opk_secret"])]
    bob_x3dh.generate_pre_keys(1)
    feed.queue = [bytes(32)]
    alice_x3dh = X3DHState.create(x3dh.IdentityKeyFormat.ED_25519, x3dh.HashFunction.SHA_256, info,
                                  IdentityKeyPairSeed(H(data["alice_identity_seed"])))
    alice_draws = [H(d) for d in data["alice_draws"]]
    bob_draws = [H(d) for d in data["bob_draws"]]
    feed.queue = [alice_draws.pop(0)]  # EK is Alice's draw 0
    bundle = bob_x3dh.bundle
    check("bundle SPK", H(data["spk_pub"]), bundle.signed_pre_key)
    sk_a, ad_a, header = await alice_x3dh.get_shared_secret_active(bundle)
    sk_b, ad_b, _ = await bob_x3dh.get_shared_secret_passive(header)
    x = data["x3dh"]
    check("X3DH initiator SK", H(x["initiator_sk"]), sk_a)
    check("X3DH responder SK", H(x["responder_sk"]), sk_b)
    check("X3DH AD", H(x["ad"]), ad_a)
    check("X3DH AD (responder)", H(x["ad"]), ad_b)
    check("X3DH EK", H(x["ek_pub"]), header.ephemeral_key)

    alice_dh, bob_dh = make_dh_class(alice_draws), make_dh_class(bob_draws)
    alice = bob = None
    alice_received = False
    wires = {}
    for i, step in enumerate(data["steps"]):
        what = f"step {i} ({step['op']} {step['index']})"
        if step["op"] == "send":
            w = H(step["wire"]); wires[step["index"]] = w
            typ, hdr, ct = parse_wire(w)
            from_alice = step["from"] == "alice"
            expected_type = 1 if from_alice and not alice_received else 2
            check(what + " type", typ, expected_type)
            ad = b"Relais_v1" + bytes([expected_type]) + sk_ad(ad_a)
            pt = H(step["plaintext"])
            if from_alice and alice is None:
                alice, msg = await Ratchet.encrypt_initial_message(
                    diffie_hellman_ratchet_class=alice_dh, shared_secret=sk_a, recipient_ratchet_pub=bundle.signed_pre_key,
                    message=pt, associated_data=ad, **RATCHET_ARGS)
            else:
                msg = await (alice if from_alice else bob).encrypt_message(pt, ad)
            check(what + " header", (hdr.ratchet_pub, hdr.previous_sending_chain_length, hdr.sending_chain_length),
                  (msg.header.ratchet_pub, msg.header.previous_sending_chain_length, msg.header.sending_chain_length))
            check(what + " ciphertext", ct, msg.ciphertext)
            compare_state(what, step["state"], alice if from_alice else bob)
        else:
            w = wires[step["index"]]
            typ, hdr, ct = parse_wire(w)
            ad = b"Relais_v1" + bytes([typ]) + sk_ad(ad_a)
            msg = doubleratchet.EncryptedMessage(header=hdr, ciphertext=ct)
            if step["to"] == "bob" and bob is None:
                bob, pt = await Ratchet.decrypt_initial_message(
                    diffie_hellman_ratchet_class=bob_dh, shared_secret=sk_b, own_ratchet_priv=H(data["spk_secret"]),
                    message=msg, associated_data=ad, **RATCHET_ARGS)
            else:
                pt = await (bob if step["to"] == "bob" else alice).decrypt_message(msg, ad)
            if step["to"] == "alice":
                alice_received = True
            check(what + " plaintext", H(step["plaintext"]), pt)
            compare_state(what, step["state"], bob if step["to"] == "bob" else alice)
    return len(data["steps"])


def sk_ad(ad):
    return ad


if __name__ == "__main__":
    steps = asyncio.run(main(sys.argv[1]))
    if failures:
        print("relais_crypto and python3-x3dh/python3-doubleratchet DISAGREE:")
        for f in failures:
            print("  " + f)
        sys.exit(1)
    print(f"relais_crypto agrees with python3-x3dh and python3-doubleratchet: X3DH secrets and AD, "
          f"{steps} ratchet steps (headers, ciphertexts, root/chain/skipped keys, plaintexts)")
