# SPDX-License-Identifier: GPL-3.0-or-later
# Sourced by tests: a TLS relay on loopback whose certificate a CA of the test's own issued, and
# a copy of the system CA bundle that trusts that CA. `trusting CMD...` runs CMD in a mount
# namespace of its own where the copy is bind-mounted over the system bundle (needs root), so
# that only CMD trusts the CA and the machine stays as it was; curl through it is the check.
#
# start_trusted_relay DIR TARGET_PORT: makes the CA and the relay's certificate for 127.0.0.1 in
# DIR and starts socat (its pid is appended to the array pids, its -v log is DIR/relay.log).
# Sets relay_url, relay_port and relay_fp (SHA-256 of the relay's certificate).
system_bundle=/etc/ssl/certs/ca-certificates.crt
trusted_bundle=''

trusting () {
  unshare -m sh -c 'b=$1; shift; mount --bind "$0" "$b" && exec "$@"' "$trusted_bundle" \
    "$system_bundle" "$@"
}

start_trusted_relay () {
  local dir=$1 target=$2
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca.key" \
    -out "$dir/ca.pem" -subj /CN=Inspection-CA -days 2 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/relay.key" \
    -out "$dir/relay.csr" -subj /CN=127.0.0.1 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' >"$dir/relay.ext"
  openssl x509 -req -in "$dir/relay.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/relay.pem" -days 2 -extfile "$dir/relay.ext" 2>/dev/null
  cat "$dir/relay.key" "$dir/relay.pem" >"$dir/relay-full.pem"
  cat "$system_bundle" "$dir/ca.pem" >"$dir/bundle.crt"
  trusted_bundle=$dir/bundle.crt
  relay_fp=$(openssl x509 -in "$dir/relay.pem" -outform der | sha256sum | cut -d' ' -f1)
  relay_port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  socat -v "OPENSSL-LISTEN:$relay_port,reuseaddr,fork,cert=$dir/relay-full.pem,verify=0" \
    "OPENSSL:127.0.0.1:$target,verify=0" 2>"$dir/relay.log" &
  pids+=($!)
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$relay_port") 2>/dev/null && break; sleep 0.1; done
  relay_url="https://127.0.0.1:$relay_port"
}
