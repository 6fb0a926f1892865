#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The trust path from outside, against tkectl and a tke-softunit started here, through real TLS on
# loopback: a relay on the service's address whose certificate a CA of the system store accepts
# (an enterprise TLS-inspection CA; made trusted for one process with `unshare -m` and a bind
# mount over the CA bundle) is refused with both fingerprints named and never sees the API key;
# a service that speaks only TLS 1.2 is refused. TAP.
set -u
umask 077

build=${TKE_BUILD_ROOT:-.}
tkectl=${TKECTL:-$build/src/cli/tkectl}
softunit=$build/src/softunit/tke-softunit
bundle=/etc/ssl/certs/ca-certificates.crt

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check () { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
diag () { sed 's/^/# /' "$@"; }
skip_all () {
  echo "SKIP SKIP SKIP: $1" >&2
  echo "1..0 # SKIP $1"
  exit 77
}

for tool in openssl socat unshare mount; do
  command -v "$tool" >/dev/null || { echo "Bail out! $tool is missing (build-aux/setup.sh --test)"; exit 1; }
done
[ -f "$bundle" ] || skip_all "there is no system CA bundle at $bundle"
unshare -m true 2>/dev/null || skip_all "unshare -m is not allowed here (the test needs root)"

work=$(mktemp -d)
pids=()
cleanup () {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1

# Runs tkectl with the test CA in the system trust store of this one process.
trusting () {
  unshare -m sh -c 'b=$1; shift; mount --bind "$0" "$b" && exec "$@"' "$work/bundle.crt" "$bundle" "$tkectl" "$@"
}
free_port () { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$softunit" --state-dir "$work/softunit" --listen 127.0.0.1:0 >softunit.out 2>softunit.err &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^Units:' softunit.out 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^URL: //p' softunit.out)
fp=$(sed -n 's/^Certificate SHA-256: //p' softunit.out)
api_key=$(sed -n 's/^API key: //p' softunit.out)
port=${url##*:}
[ -n "$api_key" ] || { echo "Bail out! tke-softunit did not start"; diag softunit.err; exit 1; }

# The inspection CA, trusted by the system store of the processes `trusting` starts, and the
# relay's certificate for 127.0.0.1 issued by it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -subj /CN=Inspection-CA -days 2 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout relay.key -out relay.csr \
  -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >relay.ext
openssl x509 -req -in relay.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out relay.pem -days 2 \
  -extfile relay.ext 2>/dev/null
cat relay.key relay.pem >relay-full.pem
cat "$bundle" ca.pem >bundle.crt
relay_fp=$(openssl x509 -in relay.pem -outform der | sha256sum | cut -d' ' -f1)

echo "1..10"

# The CA really is trusted inside `trusting`: curl, an independent client, accepts the relay.
relay_port=$(free_port)
socat -v "OPENSSL-LISTEN:$relay_port,reuseaddr,fork,cert=relay-full.pem,verify=0" \
  "OPENSSL:127.0.0.1:$port,verify=0" 2>relay.log &
pids+=($!)
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$relay_port") 2>/dev/null && break; sleep 0.1; done
relay_url="https://127.0.0.1:$relay_port"
unshare -m sh -c 'mount --bind "$0" "$1" && exec curl -s -o /dev/null -w "%{http_code}" "$2/v1/instances"' \
  "$work/bundle.crt" "$bundle" "$relay_url" >curl.out 2>&1
check "the test CA is trusted by the system store inside unshare (curl through the relay: $(cat curl.out))" \
  '[ "$(cat curl.out)" = 401 ]'
: >relay.log

# Adding the service through the relay with the fingerprint its operator gave.
export TKE_CONFIG_DIR=$work/config-a
trusting service-add "$relay_url" --api-key "$api_key" --fingerprint "$fp" >out 2>err
rc=$?
check "service-add through a CA-trusted relay is refused (exit 6, got $rc)" '[ $rc = 6 ]'
check "the refusal names the fingerprint presented and the pinned one" \
  'grep -q "$relay_fp" err && grep -q "$fp" err'
check "the relay saw no request and no API key" \
  '! grep -qE "Authorization|$api_key|GET /" relay.log'
[ $failed = 0 ] || diag err relay.log

# Adding it through the relay without a fingerprint: the probe shows what the relay presents,
# and the operator's "no" (here: no terminal and no --yes) ends it with nothing sent.
: >relay.log
export TKE_CONFIG_DIR=$work/config-b
trusting service-add "$relay_url" --api-key "$api_key" </dev/null >out 2>err
rc=$?
check "the probe through the relay shows the relay's fingerprint for comparison (exit $rc)" \
  '[ $rc != 0 ] && grep -q "$relay_fp" err'
check "the probe sent no request and no API key" '! grep -qE "Authorization|$api_key|GET /" relay.log'

# A service pinned directly, then reached through the relay (a redirected address).
export TKE_CONFIG_DIR=$work/config-c
"$tkectl" service-add "$url" --api-key "$api_key" --fingerprint "$fp" >out 2>err
check "service-add of the real service with its fingerprint works" '[ $? = 0 ]'
sed -i "s#$url#$relay_url#" "$TKE_CONFIG_DIR/config.json"
: >relay.log
trusting cryptounits >out 2>err
rc=$?
check "cryptounits through the CA-trusted relay is refused with both fingerprints (exit $rc)" \
  '[ $rc = 6 ] && grep -q "$relay_fp" err && grep -q "$fp" err'
check "the relay saw no request and no API key" '! grep -qE "Authorization|$api_key|GET /" relay.log'

# A service with the pinned certificate that speaks TLS 1.2 only.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout old.key -out old.pem \
  -subj /CN=127.0.0.1 -days 2 2>/dev/null
old_fp=$(openssl x509 -in old.pem -outform der | sha256sum | cut -d' ' -f1)
old_port=$(free_port)
openssl s_server -quiet -tls1_2 -accept "$old_port" -cert old.pem -key old.key -www >old.log 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$old_port") 2>/dev/null && break; sleep 0.1; done
export TKE_CONFIG_DIR=$work/config-d
"$tkectl" service-add "https://127.0.0.1:$old_port" --api-key "$api_key" --fingerprint "$old_fp" \
  >out 2>err
rc=$?
check "a TLS 1.2 service with the pinned certificate is refused (exit $rc: $(head -c 200 err))" \
  '[ $rc != 0 ] && ! grep -q "^Added" out && ! grep -q "$api_key" old.log'

exit $failed
