#!/usr/bin/env bash
# Real clients against a live server (development mode, so GraphiQL and introspection are on):
#  1. the graphql-http audit (npm `graphql-http`): zero errors; warnings and notices printed;
#  2. GraphiQL in headless Chromium (npm `puppeteer-core` driving Debian's `chromium`): the docs explorer
#     lists QueryRoot, `{ health { status } }` runs from the editor, a tick on a second page appears in a
#     subscription run from the first, no request leaves 127.0.0.1, no CSP violation, no console error;
#     screenshot in $CARGO_TARGET_DIR/graphiql.png;
#  3. examples/web-client (Apollo Client 4 + apollo-upload-client): sign in with a dev token, create a
#     recipe, upload a generated JPEG with an Idempotency-Key and replay it (same response, one image), list
#     its variants and fetch one;
#  4. examples/web-client/browser (Apollo Client 4 with GraphQLWsLink, bundled by esbuild), served from its own
#     origin (an allowed one) in two headless Chromium pages: alice clicks an item of their household's list and
#     bob's page shows it ticked;
#  5. examples/web-client/live.mjs (graphql-ws): a household's shared list ticked 50 times through this server
#     and watched live through a second instance on the same database, nothing lost or doubled, a third user
#     refused.
# Needs a PostgreSQL server URL in TEST_DATABASE_URL (a database is created on it); installs chromium if
# missing and the npm packages from scripts/clients/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "clients: installing chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
(cd scripts/clients && npm ci --silent --no-audit --no-fund)
(cd examples/web-client && npm ci --silent --no-audit --no-fund && npm run --silent build)

server="${TEST_DATABASE_URL:?clients: TEST_DATABASE_URL is needed}"
cargo build --release --locked --bin homechef --example upload_fixture
bin="$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/homechef"
database="homechef_clients_$$"
psql -q "$server" -c "create database $database" >/dev/null
work="$(mktemp -d /tmp/homechef-clients.XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# The web client's page is served from an origin of its own, as a PWA is, which the server allows.
page_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cleanup() {
  [ -n "${pid:-}" ] && kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -n "${page_pid:-}" ] && kill "$page_pid" 2>/dev/null && wait "$page_pid" 2>/dev/null || true
  [ -n "${pid2:-}" ] && kill -INT "$pid2" 2>/dev/null && wait "$pid2" 2>/dev/null || true
  psql -q "$server" -c "drop database if exists $database with (force)" >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export SECRET_KEY="$("$bin" generate-secret-key)"
(cd "$work" && exec env DATABASE_URL="${server%/*}/$database" ROCKET_PORT="$port" RATE_LIMIT_ENABLED=false \
  ALLOWED_ORIGINS="http://127.0.0.1:$page_port" RUST_LOG=warn "$bin" serve) >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do "$bin" healthcheck --url "http://127.0.0.1:$port/health/ready" 2>/dev/null && break; sleep 0.5; done

node scripts/clients/graphql-http-audit.mjs "http://127.0.0.1:$port/graphql"
shots="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)"
HOMECHEF_TOKEN="$("$bin" dev-token --user graphiql-alice)" HOMECHEF_TOKEN_2="$("$bin" dev-token --user graphiql-bob)" \
  node scripts/clients/check-graphiql.mjs "http://127.0.0.1:$port/graphiql" "$shots/graphiql.png"
"${CARGO_TARGET_DIR:-target}/release/examples/upload_fixture" "$work/pancakes.jpg" 1600 1200 >/dev/null
python3 -m http.server --bind 127.0.0.1 --directory examples/web-client/browser "$page_port" >"$work/page.log" 2>&1 &
page_pid=$!
for _ in $(seq 1 40); do curl -sf -o /dev/null "http://127.0.0.1:$page_port/index.html" && break; sleep 0.25; done
HOMECHEF_TOKEN="$("$bin" dev-token --user page-alice)" HOMECHEF_TOKEN_2="$("$bin" dev-token --user page-bob)" \
  node scripts/clients/check-apollo-page.mjs "http://127.0.0.1:$port" "http://127.0.0.1:$page_port/index.html"
HOMECHEF_URL="http://127.0.0.1:$port" HOMECHEF_TOKEN="$("$bin" dev-token --user apollo)" \
  node examples/web-client/client.mjs "$work/pancakes.jpg" tests/fixtures/imports/wprm-yoast.html

port2="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
mkdir -p "$work/second"
(cd "$work/second" && exec env DATABASE_URL="${server%/*}/$database" ROCKET_PORT="$port2" RATE_LIMIT_ENABLED=false \
  RUST_LOG=warn "$bin" serve) >"$work/second/serve.log" 2>&1 &
pid2=$!
for _ in $(seq 1 60); do "$bin" healthcheck --url "http://127.0.0.1:$port2/health/ready" 2>/dev/null && break; sleep 0.5; done
HOMECHEF_URL="http://127.0.0.1:$port" HOMECHEF_URL_2="http://127.0.0.1:$port2" \
  HOMECHEF_TOKEN="$("$bin" dev-token --user alice)" HOMECHEF_TOKEN_2="$("$bin" dev-token --user bob)" \
  HOMECHEF_TOKEN_3="$("$bin" dev-token --user carol)" node examples/web-client/live.mjs 50
