#!/usr/bin/env bash
# Runs README.md's shell blocks as a newcomer pastes them, in this checkout (CI's is a fresh clone, so the
# embedded PostgreSQL under ./data/postgres is fresh too), and checks each documented output (`# {...}`
# lines) against what the commands print.
#   scripts/check-readme.sh        (needs PostgreSQL's binaries, curl and python3; run by .ci/run)
# Covers every `sh` block before "## Command line": the two commands (the server started in the background,
# `cargo test` skipped: that is CI itself), the first query, the dev-token block and the shell tour.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -e data/postgres ] && echo "readme: ./data/postgres exists already: the embedded cluster is not fresh" >&2
work="$(mktemp -d /tmp/homechef-readme.XXXXXX)"
unset DATABASE_URL TEST_DATABASE_URL SECRET_KEY ROCKET_PORT APP_ENV
server=""
cleanup() {
  [ -n "$server" ] && kill -INT "$server" 2>/dev/null || true
  rm -rf "$work" homechef-8001.log
}
trap cleanup EXIT

python3 - README.md <<'PY' >"$work/blocks.sh"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read().split("\n## Command line", 1)[0]
blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
first, rest = blocks[0], blocks[1:]
run = first.splitlines()[0].split("#")[0].strip()
assert run == "cargo run --release", run
print(f"echo '::start::'; {run} > \"$WORK/run.log\" 2>&1 & echo $! > \"$WORK/server.pid\"")
print("for _ in $(seq 1 900); do cargo run --release -q -- healthcheck 2>/dev/null && break; sleep 1; done")
for i, block in enumerate(rest, 1):
    print(f"echo; echo '::block {i}::'")
    print(block)
print("echo; echo '::end::'")
print("kill -INT $(jobs -p) 2>/dev/null || true; wait || true")
PY
echo "readme: running $(grep -c '::block' "$work/blocks.sh") blocks after the server block"
WORK="$work" bash -eo pipefail "$work/blocks.sh" >"$work/out.txt" 2>"$work/err.txt" &
runner=$!
for _ in $(seq 1 30); do [ -s "$work/server.pid" ] && break; sleep 1; done
server="$(cat "$work/server.pid" 2>/dev/null || true)"
if ! wait "$runner"; then
  cat "$work/out.txt" "$work/err.txt" >&2
  tail -20 "$work/run.log" >&2 || true
  echo "readme: a block failed" >&2
  exit 1
fi

python3 - README.md "$work/out.txt" <<'PY'
import json, re, sys
text = open(sys.argv[1], encoding="utf-8").read().split("\n## Command line", 1)[0]
blocks = re.findall(r"```sh\n(.*?)```", text, re.S)[1:]
out = open(sys.argv[2], encoding="utf-8").read()
failed = False
for i, block in enumerate(blocks, 1):
    expected = [json.loads(l[2:]) for l in block.splitlines() if l.startswith("# {")]
    section = out.split(f"::block {i}::", 1)[1].split("::", 1)[0]
    actual = [json.loads(l) for l in section.splitlines() if l.startswith("{")]
    ok = actual == expected
    failed |= not ok
    print(f"readme: block {i}: {'ok' if ok else 'DIFFERENT'} ({len(expected)} documented outputs)")
    if not ok:
        print(f"  documented: {expected}\n  printed:    {actual}")
sys.exit(1 if failed else 0)
PY
server=""
if ! grep -q "embedded PostgreSQL stopped" "$work/run.log"; then
  tail -5 "$work/run.log" >&2
  echo "readme: the first server did not stop its embedded PostgreSQL" >&2
  exit 1
fi
echo "readme: every block ran as documented"
