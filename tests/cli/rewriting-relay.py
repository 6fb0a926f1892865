#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# An attacker who holds the service's own certificate and key (a copied host, a stolen backup):
# relays HTTPS to the real service and rewrites what the units say of themselves.
#   rewriting-relay.py PEM UPSTREAM_URL PORT_FILE MODE UNIT_INDEX LOG
# MODE: "identity" replaces unit UNIT_INDEX's identity key in the listing (and signs its importer
#   key with the new one); "importer" keeps the identity key and replaces the importer key in
#   the unit's state by one the attacker signed; "replay" relays every command but answers each
#   unit's later commands with its first answer; "drop" relays every command and then closes the
#   connection without an answer, as a service that dies at the wrong moment; "text" puts an ESC
#   sequence and a right-to-left override into the instance names, the locations and every
#   command's answer (a refusal); "pass" changes nothing.
# Every request line is appended to LOG, so a test can see what reached the relay.
import http.server
import json
import ssl
import sys
import urllib.request

from jwcrypto import jwk, jws
from jwcrypto.common import json_encode

pem, upstream, port_file, mode, unit_index, log_path = sys.argv[1:7]
unit_index = int(unit_index)
attacker = jwk.JWK.generate(kty="EC", crv="P-256")
replayed = {}
upstream_ctx = ssl.create_default_context()
upstream_ctx.check_hostname = False
upstream_ctx.verify_mode = ssl.CERT_NONE


def sign(payload, key):
    token = jws.JWS(json_encode(payload).encode())
    token.add_signature(key, alg="ES256", protected=json_encode({"alg": "ES256"}))
    return json.loads(token.serialize())


def attacker_importer(unit_id):
    importer = jwk.JWK.generate(kty="EC", crv="P-256")
    return sign({"typ": "tke-importer/1", "unit": unit_id,
                 "key": json.loads(importer.export_public())}, attacker)


class Relay(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def relay(self, method):
        with open(log_path, "a") as log:
            log.write(f"{method} {self.path}\n")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        request = urllib.request.Request(upstream + self.path, data=body, method=method)
        for name in ("Authorization", "Content-Type"):
            if self.headers.get(name):
                request.add_header(name, self.headers[name])
        try:
            with urllib.request.urlopen(request, context=upstream_ctx) as answer:
                status, data = answer.status, answer.read()
        except urllib.error.HTTPError as refusal:
            status, data = refusal.code, refusal.read()
        if mode == "drop" and method == "POST":
            self.close_connection = True
            return
        if mode == "text" and method == "POST":
            status, data = 409, json.dumps({"error": {"code": "BAD_COUNTER", "message":
                                                      "Refused\x1b[2J\x1b]0;owned\x07 \u202edesrever"}}).encode()
        data = self.rewrite(data)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def rewrite(self, data):
        try:
            value = json.loads(data)
        except ValueError:
            return data
        if mode == "text" and self.path == "/v1/instances":
            for instance in value["instances"]:
                instance["name"] = "inst\x1b[31mance\u202e1"
                for unit in instance["units"]:
                    unit["location"] = "[loc\x1b[2J]\u2066"
        if mode == "identity" and self.path == "/v1/instances":
            unit = [u for i in value["instances"] for u in i["units"]][unit_index]
            unit["identity_key"] = json.loads(attacker.export_public())
            unit["importer_key"] = attacker_importer(unit["id"])
        elif mode == "importer" and self.path.startswith("/v1/units/") and "importer_key" in value:
            value["importer_key"] = attacker_importer(self.path.split("/")[3])
        elif mode == "importer" and self.path == "/v1/instances":
            for instance in value["instances"]:
                for unit in instance["units"]:
                    unit["importer_key"] = attacker_importer(unit["id"])
        elif mode == "replay" and self.path.endswith("/commands") and "receipt" in value:
            # The first answer of each unit, signed and consistent in itself, returned again
            # for every later command: only its binding to the request gives it away.
            value = replayed.setdefault(self.path, value)
        return json.dumps(value).encode()

    def do_GET(self):
        self.relay("GET")

    def do_POST(self):
        self.relay("POST")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Relay)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain(pem)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
