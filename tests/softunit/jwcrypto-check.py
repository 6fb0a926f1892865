#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# An independent client written with python3-jwcrypto (not our code): it installs two admins,
# leaves imprint mode with a 2-signature JWS, loads a master key from JWE key parts, and verifies
# every receipt. Usage: jwcrypto-check.py URL FINGERPRINT API_KEY
import base64
import datetime
import hashlib
import http.client
import json
import os
import ssl
import sys
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jwcrypto import jwe, jwk, jws

URL, FINGERPRINT, API_KEY = sys.argv[1], sys.argv[2].lower(), sys.argv[3]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def request(method, path, body=None):
    parsed = urllib.parse.urlparse(URL)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(parsed.hostname, parsed.port, context=context)
    conn.connect()
    der = conn.sock.getpeercert(binary_form=True)
    if hashlib.sha256(der).hexdigest() != FINGERPRINT:
        sys.exit("the service certificate is not the pinned one")
    if conn.sock.version() != "TLSv1.3":
        sys.exit("TLS version is %s, not TLSv1.3" % conn.sock.version())
    headers = {"Authorization": "Bearer " + API_KEY, "Content-Type": "application/json"}
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers=headers)
    answer = conn.getresponse()
    data = json.loads(answer.read())
    return answer.status, data


def new_admin(name, curve):
    key = ec.generate_private_key(curve)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256() if isinstance(curve, ec.SECP256R1) else hashes.SHA384()))
    point = key.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return {
        "name": name,
        "jwk": jwk.JWK.from_pem(pem),
        "ski": hashlib.sha256(point).hexdigest(),
        "alg": "ES256" if isinstance(curve, ec.SECP256R1) else "ES384",
        "cert": b64url(cert.public_bytes(serialization.Encoding.DER)),
    }


def payload(op, unit, counter, args):
    now = int(time.time())
    return json.dumps({"typ": "tke-command/1", "op": op,
                       "targets": [{"unit": unit, "counter": counter}], "args": args,
                       "iat": now, "exp": now + 600, "nonce": b64url(os.urandom(16))}).encode()


def signed(data, signers):
    token = jws.JWS(data)
    for admin in signers:
        token.add_signature(admin["jwk"], alg=admin["alg"],
                            protected=json.dumps({"alg": admin["alg"], "kid": admin["ski"]}))
    body = json.loads(token.serialize(compact=False))
    if "signatures" not in body:
        # jwcrypto writes one signature in the flattened form; commands use the general one.
        body = {"payload": body["payload"],
                "signatures": [{"protected": body["protected"], "signature": body["signature"]}]}
    return body


def vp(key):
    digest = bytearray(hashlib.sha256(b"\x01" + key).digest())
    digest[28:] = b"\0\0\0\0"
    return digest.hex()


def check_receipt(answer, identity, unit):
    token = jws.JWS()
    token.deserialize(json.dumps(answer["receipt"]))
    token.verify(identity)
    receipt = json.loads(token.payload)
    state = json.dumps(answer["state"], sort_keys=True, separators=(",", ":"),
                       ensure_ascii=False).encode()
    if receipt["unit"] != unit or receipt["state"] != b64url(hashlib.sha256(state).digest()):
        sys.exit("receipt does not bind the returned state")
    return receipt


def post(unit, body, identity):
    status, answer = request("POST", "/v1/units/%s/commands" % unit, body)
    if status != 200:
        sys.exit("command refused: %d %s" % (status, answer))
    return answer, check_receipt(answer, identity, unit)


status, listing = request("GET", "/v1/instances")
assert status == 200, listing
unit_info = listing["instances"][0]["units"][0]
unit = unit_info["id"]
identity = jwk.JWK(**unit_info["identity_key"])

alice = new_admin("Alice Py", ec.SECP256R1())
bob = new_admin("Bob Py", ec.SECP384R1())

counter = 0
for admin in (alice, bob):
    body = {"payload": b64url(payload("admin.add", unit, counter,
                                      {"name": admin["name"], "certificate": admin["cert"]})),
            "signatures": []}
    answer, receipt = post(unit, body, identity)
    counter += 1
    assert receipt["counter"] == counter and receipt["op"] == "admin.add"

# Two signatures by jwcrypto, ES256 and ES384, in one General JSON JWS.
answer, receipt = post(unit, signed(payload("thresholds.set", unit, counter,
                                            {"signature": 2, "revocation": 2}), [alice, bob]),
                       identity)
counter += 1
assert answer["state"]["mode"] == "normal", answer["state"]
assert sorted(receipt["signers"]) == sorted([alice["ski"], bob["ski"]])

# The importer key, checked against the identity key, then JWE key parts to it.
status, state = request("GET", "/v1/units/" + unit)
token = jws.JWS()
token.deserialize(json.dumps(state["importer_key"]))
token.verify(identity)
importer = jwk.JWK(**json.loads(token.payload)["key"])
parts = [os.urandom(32), os.urandom(32)]
encrypted = []
for part in parts:
    token = jwe.JWE(part, protected=json.dumps({"alg": "ECDH-ES", "enc": "A256GCM"}))
    token.add_recipient(importer)
    encrypted.append({"vp": vp(part), "jwe": {unit: json.loads(token.serialize(compact=False))}})
answer, receipt = post(unit, signed(payload("mk.load", unit, counter, {"parts": encrypted}),
                                    [bob]), identity)
master = bytes(a ^ b for a, b in zip(*parts))

# A validity whose length overflows 64 bits (iat far in the past, exp far in the future) is
# malformed, not a command that never expires.
for iat, exp in ((-2**63, 2**63 - 1), (-2**62, 2**62), (0, 2**63 - 1)):
    wild = json.loads(payload("thresholds.set", unit, counter + 1,
                              {"signature": 1, "revocation": 1}))
    wild["iat"], wild["exp"] = iat, exp
    status, refused = request("POST", "/v1/units/%s/commands" % unit,
                              signed(json.dumps(wild).encode(), [alice, bob]))
    assert status == 400 and refused["error"]["code"] == "MALFORMED", (iat, exp, status, refused)
assert answer["state"]["registers"]["new"]["state"] == "Full Uncommitted"
assert answer["state"]["registers"]["new"]["vp"] == vp(master), "the unit loaded another key"
print("jwcrypto: 2-signature JWS accepted, JWE key parts loaded, %d receipts verified" % 4)
