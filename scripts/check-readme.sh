#!/usr/bin/env bash
# Runs README.md's shell blocks as a newcomer pastes them, in this checkout (CI's is a fresh clone, so the
# embedded PostgreSQL under ./data/postgres is fresh too), and checks each documented output (`# {...}`
# lines) against what the commands print.
#   scripts/check-readme.sh        (needs PostgreSQL's binaries, curl and python3; run by .ci/run)
# Covers every `sh` block before "## Command line": the run command (the server started in the background;
# the `cargo test` block is skipped: that is CI itself), the first query, the dev-token block and the shell
# tour, with `.env` copied from `.env.example` as the README suggests. Then what a newcomer does next: pastes
# the dev-token block a second time (it must say its server did not start), stops the first server (the
# second keeps its database), kills the second with -9 (a later server adopts the orphaned cluster and stops
# it when it stops; `homechef db path` says so). A cluster this run created is stopped and removed at the end,
# as the README's "Cleaning up" says.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -e data/postgres ] && echo "readme: ./data/postgres exists already: the embedded cluster is not fresh" >&2
work="$(mktemp -d /tmp/homechef-readme.XXXXXX)"
unset DATABASE_URL TEST_DATABASE_URL SECRET_KEY ROCKET_PORT APP_ENV
server=""
made_env=0
if [ ! -e .env ]; then cp .env.example .env; made_env=1; fi
# Where this checkout's cluster lives; one this run creates is removed at the end as "Cleaning up" says (a CI
# machine would otherwise keep one cluster, about 64 MB, per fresh clone), one that was there is left alone.
cluster="$(cargo run --release -q -- db path 2>/dev/null | tail -n 1 || true)"   # the log may precede it
made_cluster=0
[ -n "$cluster" ] && [ ! -e "$cluster" ] && made_cluster=1
cleanup() {
  [ -n "$server" ] && kill -INT "$server" 2>/dev/null || true
  for pid in $(cat "$work"/*.pid 2>/dev/null); do kill -INT "$pid" 2>/dev/null || true; done
  if [ "$made_cluster" = 1 ]; then
    sleep 2
    cargo run --release -q -- db stop >/dev/null 2>&1 || true
    rm -rf "$cluster" "$cluster.leases"
  fi
  [ "$made_env" = 1 ] && rm -f .env
  rm -rf "$work" homechef-8001.log homechef-8002.log
}
trap cleanup EXIT

python3 - README.md <<'PY' >"$work/blocks.sh"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read().split("\n## Command line", 1)[0]
blocks = [b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if not b.startswith("cargo test")]
first, rest = blocks[0], blocks[1:]
run = first.splitlines()[0].split("#")[0].strip()
assert run == "cargo run --release", run
print(f"echo '::start::'; {run} > \"$WORK/run.log\" 2>&1 & echo $! > \"$WORK/server.pid\"")
print("for _ in $(seq 1 900); do cargo run --release -q -- healthcheck 2>/dev/null && break; sleep 1; done")
for i, block in enumerate(rest, 1):
    print(f"echo; echo '::block {i}::'")
    print(block)
    # What a block started is stopped at the end even when a later block fails.
    print('[ -n "${SERVER:-}" ] && echo "$SERVER" > "$WORK/server-8001.pid"')
    print('[ -n "${WATCHER:-}" ] && echo "$WATCHER" > "$WORK/watcher.pid"')
print("echo; echo '::end::'")
dev = [b for b in rest if "dev-token --user alice" in b][0]
print('echo "$SERVER" > "$WORK/server-8001.pid"; echo "$TOKEN" > "$WORK/token"; cp homechef-8001.log "$WORK/8001.log"')
print("echo '::again::'")
print(dev)
print("echo '::again-end::'")
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
blocks = [b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if not b.startswith("cargo test")][1:]
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

again="$(sed -n '/::again::/,/::again-end::/p' "$work/out.txt")"
grep -q "the server did not start; homechef-8001.log says:" <<<"$again" \
  || { echo "$again" >&2; echo "readme: the dev-token block pasted twice did not say its server failed" >&2; exit 1; }
echo "readme: the dev-token block pasted a second time says its server did not start"

fail() { echo "readme: $*" >&2; exit 1; }
stop() { # pid, signal: waits for the exit
  kill "-$2" "$1"
  for _ in $(seq 1 60); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.5; done
  fail "process $1 still runs 30 s after SIG$2"
}
second="$(cat "$work/server-8001.pid")"
stop "$server" INT
server=""
grep -q "embedded PostgreSQL left running" "$work/run.log" || { tail -5 "$work/run.log" >&2; fail "Ctrl-C on the first server did not leave the database to the second"; }
me="$(curl -s http://127.0.0.1:8001/graphql -H 'content-type: application/json' -H "authorization: Bearer $(cat "$work/token")" -d '{"query":"{ me { name } }"}')"
[ "$me" = '{"data":{"me":{"name":"alice"}}}' ] || fail "after Ctrl-C on the first server, the second answered: $me"
echo "readme: Ctrl-C on the first server: the second keeps its database"
stop "$second" KILL
cargo run --release -q -- db path 2>&1 >/dev/null | grep -q '^running' || fail "the cluster stopped with a killed server"
ROCKET_PORT=8002 cargo run --release -q -- serve >homechef-8002.log 2>&1 &
echo $! >"$work/server-8002.pid"
for _ in $(seq 1 60); do grep -q "listening on http://127.0.0.1:8002" homechef-8002.log && break; sleep 1; done
grep -q "adopted the embedded PostgreSQL" homechef-8002.log || { tail -5 homechef-8002.log >&2; fail "the next server did not adopt the orphaned cluster"; }
stop "$(cat "$work/server-8002.pid")" INT
rm -f "$work/server-8002.pid"
grep -q "embedded PostgreSQL stopped" homechef-8002.log || { tail -5 homechef-8002.log >&2; fail "the adopting server did not stop the cluster"; }
[ "$(cargo run --release -q -- db path 2>&1 >/dev/null)" = "not running" ] || fail "homechef db path does not say the cluster stopped"
echo "readme: kill -9 of the second server: the next server adopted the cluster and stopped it when it stopped"
echo "readme: every block ran as documented"
