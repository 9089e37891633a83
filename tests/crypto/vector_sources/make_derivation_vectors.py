# Independent computation (hashlib, pyca/cryptography, PyNaCl) of Relais derivations for cross-checking.
import hashlib, hmac, json, base64
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization as S
from nacl import bindings as nb
def edpub(seed): return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(S.Encoding.Raw,S.PublicFormat.Raw)
def half(ik):
    h=b"\0\0"+ik
    for _ in range(5200): h=hashlib.sha512(h+ik).digest()
    return "".join("%05d"%(int.from_bytes(h[i*5:i*5+5],"big")%100000) for i in range(6))
A=edpub(bytes([1]*32)); B=edpub(bytes([2]*32))
ha,hb=half(A),half(B); j=min(ha,hb)+max(ha,hb)
seed=bytes(range(32))
draws=[]
for i,n in enumerate([32,32,8,24]):
    k=hmac.new(seed,i.to_bytes(8,"big"),hashlib.sha256).digest()
    draws.append({"index":i,"length":n,"output":nb.randombytes_buf_deterministic(n,k).hex()})
code="7K3M-9QXA-2B0Z"; canon=code.replace("-","")
salt=hashlib.sha256(b"Relais_Resume_v1").digest()[:16]
okm=nb.crypto_pwhash_alg(64,canon.encode(),salt,3,64*1024*1024,nb.crypto_pwhash_ALG_ARGON2ID13)
alpha="0123456789ABCDEFGHJKMNPQRSTVWXYZ"
rk=bytes(range(100,132)); bits="".join(format(b,"08b") for b in rk)+"0000"
rtext="".join(alpha[int(bits[i:i+5],2)] for i in range(0,260,5)); rtext="-".join(rtext[i:i+4] for i in range(0,52,4))
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes
hk=lambda ikm,info,L: HKDF(hashes.SHA256(),L,None,info).derive(ikm)
org=Ed25519PrivateKey.from_private_bytes(bytes([9]*32)); orgpub=edpub(bytes([9]*32))
body=b"Relais_WorkerCert_v1"+orgpub+B+(1700000000).to_bytes(8,"big")+(1731536000).to_bytes(8,"big")+bytes([len("Aïcha B.".encode())])+"Aïcha B.".encode()
cert=body+org.sign(body)
tbody=b"Relais_Transfer_v1"+bytes([8])+b"conv-001"+B+A+(1700000500).to_bytes(8,"big")
tr=tbody+Ed25519PrivateKey.from_private_bytes(bytes([2]*32)).sign(tbody)
out={"description":"Relais derivations computed independently in Python (hashlib, pyca/cryptography, PyNaCl) from CRYPTO.md; checked by the C++ tests (certificate_test, safety_number_test, backup_test, random_test) and the TypeScript tests. Hex unless said.",
 "safety_number":{"identity_a_seed":"01"*32,"identity_a":A.hex(),"identity_b_seed":"02"*32,"identity_b":B.hex(),"half_a":ha,"half_b":hb,"safety_number":" ".join(j[i:i+5] for i in range(0,60,5))},
 "org_fingerprint":{"org_public_key":A.hex(),"fingerprint":base64.urlsafe_b64encode(hashlib.sha256(A).digest()).rstrip(b"=").decode()},
 "deterministic_rng":{"seed":seed.hex(),"draws":draws},
 "resume_code":{"typed":"7k3m 9qxa-2bOz","canonical":canon,"argon2id_salt":salt.hex(),"backup_key":okm[:32].hex(),"lookup_id":okm[32:].hex()},
 "recovery_key":{"key":rk.hex(),"printed":rtext,"blob_key":hk(rk,b"Relais_Recovery_v1",32).hex(),"lookup_id":hk(rk,b"Relais_RecoveryLookup_v1",32).hex()},
 "worker_certificate":{"org_seed":"09"*32,"org_public_key":orgpub.hex(),"worker_identity":B.hex(),"not_before":1700000000,"not_after":1731536000,"display_name":"Aïcha B.","certificate":cert.hex()},
 "transfer":{"from_seed":"02"*32,"conversation_id":"conv-001","from_worker":B.hex(),"to_worker":A.hex(),"issued_at":1700000500,"message":tr.hex()}}
json.dump(out,open("/work/main/protocol/vectors/crypto_derivation_vectors.json","w"),indent=2,ensure_ascii=False)
print(rtext, canon)
