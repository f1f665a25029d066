#!/usr/bin/env bash
# The real exporter with --web.config.file (TLS + basic auth): curl trusting the self-signed
# certificate gets 401 without or with wrong credentials, 200 with the right ones, /healthz
# stays open; TLS 1.1 is refused and TLS 1.2 accepted; a bad web config stops the start.
source "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || fail "openssl missing"
command -v curl >/dev/null || fail "curl missing"
export MIST_API_TOKEN="tok-web-$RANDOM"
start_sim --token="$MIST_API_TOKEN"
write_config "$WORK/cfg.yaml"

mkdir -p "$WORK/web"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$WORK/web/server.key" -out "$WORK/web/server.crt" 2>"$WORK/openssl-req.err" ||
  fail "openssl req"
# bcrypt of "hunter2" (made once with libcrypt; htpasswd -B writes the same form).
# shellcheck disable=SC2016  # a literal bcrypt hash, not an expansion
HASH='$2y$05$mpeFixtureSaltForTesteA3Dle45T/ZhHkbIFSvpfRqKEmZ7Eu3.'
# Relative paths: resolved against the web config's directory, not the working directory.
cat >"$WORK/web/web.yml" <<WEB
tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  alice: '$HASH'
WEB

start_exporter "$WORK/cfg.yaml" --web.config.file="$WORK/web/web.yml"
PORT="$EXPORTER_PORT_ACTUAL"
URL="https://127.0.0.1:$PORT"
CA=(--cacert "$WORK/web/server.crt")

status() { curl -s -o /dev/null -w '%{http_code}' "${CA[@]}" "$@"; }

[[ "$(status "$URL/metrics")" == 401 ]] || fail "no credentials must give 401"
curl -s -D "$WORK/headers.txt" -o /dev/null "${CA[@]}" "$URL/metrics"
grep -qi '^WWW-Authenticate: Basic realm="mist_pcap_exporter"' "$WORK/headers.txt" ||
  fail "401 without a WWW-Authenticate challenge"
[[ "$(status -u alice:hunter2 "$URL/metrics")" == 200 ]] || fail "right password must give 200"
curl -sf "${CA[@]}" -u alice:hunter2 "$URL/metrics" >"$WORK/metrics.txt" || fail "scrape"
grep -q '^mist_pcap_exporter_build_info{' "$WORK/metrics.txt" || fail "metrics body"
[[ "$(status -u alice:hunter3 "$URL/metrics")" == 401 ]] || fail "wrong password must give 401"
[[ "$(status -u mallory:hunter2 "$URL/metrics")" == 401 ]] || fail "unknown user must give 401"
[[ "$(status -u alice:hunter2 "$URL/")" == 200 ]] || fail "landing page with credentials"
[[ "$(status "$URL/healthz")" == 200 ]] || fail "/healthz must be open"
# Plain HTTP on the TLS port gets no page.
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && fail "plain HTTP must not work"

if openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
  </dev/null >"$WORK/s_client11.txt" 2>&1; then
  fail "a TLS 1.1 handshake must fail"
fi
openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -CAfile "$WORK/web/server.crt" \
  -verify_return_error </dev/null >"$WORK/s_client12.txt" 2>&1 || fail "TLS 1.2 handshake"
grep -q 'Protocol *: TLSv1.2' "$WORK/s_client12.txt" || fail "TLS 1.2 not negotiated"

# A web config with an unknown key stops the exporter at start with file:line:key.
printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  ciphers: x\n' \
  >"$WORK/web/bad.yml"
if "$EXPORTER" --config.file="$WORK/cfg.yaml" --web.config.file="$WORK/web/bad.yml" \
  >"$WORK/bad.out" 2>"$WORK/bad.err"; then
  fail "a bad web config must stop the exporter"
fi
grep -qF "$WORK/web/bad.yml:4: tls_server_config.ciphers: unknown key" "$WORK/bad.err" ||
  fail "bad web config message: $(cat "$WORK/bad.err")"
for f in exporter.out exporter.err bad.out bad.err; do
  if grep -qF "$HASH" "$WORK/$f"; then fail "password hash found in $f"; fi
done
echo "PASS: TLS (1.1 refused, 1.2 ok) with basic auth on port $PORT"
