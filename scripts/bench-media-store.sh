#!/usr/bin/env bash
# Serving a 300 px variant from the bucket against from the local disk: two servers on one database, one with
# MEDIA_DIR, one with MEDIA_STORE=s3://… on moto's S3 emulator (the one the tests use, installed into
# $HOMECHEF_TOOLS_DIR/moto-5.2.5 like .ci/run does), the same photo uploaded to each, then interleaved wrk
# rounds (16 connections, 10 s) on each server's 300 px variant URL: req/s, p50, p99 and the ratio.
#   scripts/bench-media-store.sh [ROUNDS]       (uses DATABASE_URL, else the embedded PostgreSQL)
# moto is a single-threaded Python server, far slower than S3 or MinIO: the bucket column measures the cost of
# our streaming path plus moto, an upper bound on what a real store adds.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
for tool in wrk curl python3; do command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }; done
moto="${HOMECHEF_TOOLS_DIR:-/var/tmp/homechef-tools}/moto-5.2.5"
if [ ! -x "$moto/bin/moto_server" ]; then
  python3 -m venv "$moto"
  "$moto/bin/pip" install -q --disable-pip-version-check 'moto[server]==5.2.5'
fi
cargo build --release --locked --bin homechef --example upload_fixture
target="${CARGO_TARGET_DIR:-target}/release"
bin="$target/homechef"
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
"$target/examples/upload_fixture" "$work/photo.jpg" 1600 1200 90
export SECRET_KEY="$("$bin" generate-secret-key)"

s3_port="$(free_port)"
"$moto/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$work/moto.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$s3_port/" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf -X PUT "http://127.0.0.1:$s3_port/homechef-bench" >/dev/null

start() { # name, then extra VAR=value: sets port_<name>
  local name="$1" port
  shift
  port="$(free_port)"
  env RATE_LIMIT_ENABLED=false RUST_LOG=warn ROCKET_PORT="$port" MEDIA_DIR="$work/$name/media" \
    QUARANTINE_DIR="$work/$name/quarantine" LOG_DIR="$work/$name/logs" "$@" "$bin" serve >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do "$bin" healthcheck --url "http://127.0.0.1:$port/health/ready" 2>/dev/null && break; sleep 0.2; done
  printf -v "port_$name" '%s' "$port"
}
start disk
start bucket MEDIA_STORE=s3://homechef-bench/media S3_ENDPOINT="http://127.0.0.1:$s3_port" \
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
token="$("$bin" dev-token --user bench-media)"

variant_url() { # port -> the 300 px variant's URL of a new recipe's uploaded photo
  local port="$1" recipe
  recipe="$(curl -sf "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $token" \
    -d '{"query":"mutation { createRecipe(input: { title: \"Media benchmark\" }) { id } }"}' \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["createRecipe"]["id"])')"
  python3 - "$work/photo.jpg" "$recipe" >"$work/body" <<'PY'
import json, sys
photo, recipe = sys.argv[1:]
query = "mutation($r: UUID!, $f: [Upload!]!) { uploadRecipeImages(recipeId: $r, files: $f) { status image { variants { name url } } } }"
out = sys.stdout.buffer
for name, filename, data in [
    ("operations", None, json.dumps({"query": query, "variables": {"r": recipe, "f": [None]}}).encode()),
    ("map", None, json.dumps({"0": ["variables.f.0"]}).encode()),
    ("0", "photo.jpg", open(photo, "rb").read()),
]:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"\r\nContent-Type: image/jpeg' if filename else "")
    out.write(f"--bench\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n")
out.write(b"--bench--\r\n")
PY
  curl -sf "http://127.0.0.1:$port/graphql" -H "authorization: Bearer $token" -H 'GraphQL-Require-Preflight: 1' \
    -H 'content-type: multipart/form-data; boundary=bench' --data-binary @"$work/body" \
    | python3 -c '
import json, sys
result = json.load(sys.stdin)["data"]["uploadRecipeImages"][0]
assert result["status"] == "PROMOTED", result
print([v["url"] for v in result["image"]["variants"] if v["name"] == "300"][0])'
}
url_disk="http://127.0.0.1:$port_disk$(variant_url "$port_disk")"
url_bucket="http://127.0.0.1:$port_bucket$(variant_url "$port_bucket")"
curl -sf "$url_disk" -o "$work/disk.img"
curl -sf "$url_bucket" -o "$work/bucket.img"
cmp -s "$work/disk.img" "$work/bucket.img" || { echo "bench: the two servers serve different bytes" >&2; exit 1; }
echo "300 px variant: $(stat -c %s "$work/disk.img") bytes from both; objects in the bucket: $(curl -s "http://127.0.0.1:$s3_port/homechef-bench?list-type=2" | grep -o '<Key>' | wc -l)"

printf '%-6s %-8s %10s %9s %9s\n' round store req/s p50 p99
declare -A rate
for round in $(seq 1 "$rounds"); do
  for store in disk bucket; do
    url_var="url_$store"
    out="$(wrk -t2 -c16 -d10s --latency "${!url_var}")"
    rate[$store]="$(awk '/Requests\/sec/ { print $2 }' <<<"$out")"
    printf '%-6s %-8s %10s %9s %9s\n' "$round" "$store" "${rate[$store]}" \
      "$(awk '$1 == "50%" { print $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")"
    grep -q "Non-2xx" <<<"$out" && { echo "bench: errors from the $store server" >&2; grep "Non-2xx" <<<"$out" >&2; }
  done
  echo "round $round: bucket / disk req/s = $(awk -v b="${rate[bucket]}" -v d="${rate[disk]}" 'BEGIN { printf "%.2f", b / d }')"
done
