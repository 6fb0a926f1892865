# SPDX-License-Identifier: GPL-3.0-or-later
# python3-jwcrypto on our key part files: "decrypt FILE PASSWORD_FILE" prints the part in hex;
# "encrypt FILE PASSWORD_FILE HEX DESCRIPTION [VP]" writes a key part file made by jwcrypto alone
# (with the VP given instead of the part's own, to check that a mismatch is caught).
import hashlib
import json
import sys

from jwcrypto import jwe, jwk

ALGS = ["PBES2-HS512+A256KW", "A256GCM"]


def password(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def main():
    mode, path, password_file = sys.argv[1:4]
    key = jwk.JWK.from_password(password(password_file))
    if mode == "decrypt":
        token = jwe.JWE()
        token.allowed_algs = ALGS
        with open(path, encoding="utf-8") as f:
            token.deserialize(f.read(), key=key)
        print(token.payload.hex())
    elif mode == "encrypt":
        part = bytes.fromhex(sys.argv[4])
        vp = hashlib.sha256(b"\x01" + part).digest()[:28] + bytes(4)
        if len(sys.argv) > 6:
            vp = bytes.fromhex(sys.argv[6])
        token = jwe.JWE(
            plaintext=part,
            protected=json.dumps({"alg": ALGS[0], "enc": ALGS[1]}),
            unprotected=json.dumps({"tke_description": sys.argv[5], "tke_vp": vp.hex()}),
            algs=ALGS,
        )
        token.add_recipient(key)
        with open(path, "w", encoding="utf-8") as f:
            f.write(token.serialize())
    else:
        sys.exit("unknown mode " + mode)


main()
