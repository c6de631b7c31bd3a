#!/usr/bin/env bash
# Hostile-page benchmark of import (#26 §1): pages written to exhaust whoever reads them, each up to the largest
# accepted size (5 MiB, sent whole as the multipart file `page` of importRecipeFromHtml), and a real recipe page
# grown to 4 MiB, sent to the release server one at a time: answer time and the server's peak RSS above its
# resident size before the page (Linux's peak reset through /proc/PID/clear_refs). The same pages are read by
# recipe-scrapers 15.13 (what Mealie imports with), each in a fresh Python process: time and peak RSS above the
# interpreter's (stopped after PEER_LIMIT seconds, default 60). Then ten formatting bombs at once while
# /health/live is asked every 20 ms: its worst and p99.
#   scripts/bench-import-hostile.sh        (uses DATABASE_URL, else the embedded PostgreSQL)
# Needs python3 with venv and pip's registry for recipe-scrapers (installed once into the cargo target dir).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked --bin homechef
bin="$target/release/homechef"
peer_python="$(bash scripts/recipe-scrapers-venv.sh)"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export SECRET_KEY="bench-import-hostile-$(date +%s)-0123456789abcdefghijklmnopqrstuvwxyz"
RATE_LIMIT_ENABLED=false RUST_LOG=warn ROCKET_PORT="$port" "$bin" serve >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do "$bin" healthcheck --url "http://127.0.0.1:$port/health/ready" 2>/dev/null && break; sleep 0.2; done
token="$("$bin" dev-token --user bench-hostile)"

python3 - "$work" tests/fixtures/imports/wprm-yoast.html <<'PY'
import os, sys
work, fixture = sys.argv[1], sys.argv[2]
SIZE = 5 * 1024 * 1024 - 1024
def fill(head, unit, tail=""):
    return head + unit * ((SIZE - len(head) - len(tail)) // len(unit)) + tail
def half(unit):
    return unit * (SIZE // 2 // len(unit))
attrs, n = [], 0
while n < SIZE - 100:
    a = f' a{len(attrs)}="{len(attrs)}"'
    attrs.append(a)
    n += len(a)
block = '<script type="application/ld+json">[' + "{}," * (1024 * 1024 // 3 - 4) + "{}]</script>"
page = open(fixture, encoding="utf-8").read()
rule = ".wp-block-button__link{color:#fff;background-color:#32373c;border-radius:9999px}\n"
style = '<style id="global-styles-inline-css">' + rule * (4 * 1024 * 1024 // len(rule)) + "</style>"
pages = {
    "issue-bomb-64KB": "<div>" + "<b id=i>" * 2800 + "</div>" + "<div>x</div>" * 2900,
    "formatting-bomb": "<div>" + half("<b id=i>") + "</div>" + half("<div>x</div>"),
    "misnested": fill("", "<a><p><table><td>x</a>"),
    "depth": fill("", "<div>"),
    "attributes": "<p" + "".join(attrs) + ">x</p>",
    "entities": fill("<p>", "&notin;&#x1F600;&amp", "</p>"),
    "json-ld-values": fill("", block),
    "microdata": fill('<div itemscope itemtype="https://schema.org/Recipe">',
                      '<div itemprop="recipeIngredient recipeInstructions name"><li>x<br>'),
    "real-page-4MB": page.replace("</head>", style + "</head>", 1),
}
for name, html in pages.items():
    open(os.path.join(work, name + ".html"), "w", encoding="utf-8").write(html)
PY

cat >"$work/peer.py" <<'PY'
import resource, sys, time
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
from recipe_scrapers import scrape_html
html = open(sys.argv[1], encoding="utf-8").read()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    scraper = scrape_html(html, org_url="https://hostile.example/", supported_only=False)
    try:
        title = scraper.title()
    except Exception as e:
        title = type(e).__name__
except Exception as e:
    title = type(e).__name__
ms = (time.perf_counter() - started) * 1000
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
print(f"{ms:.0f} {peak:.0f} {str(title)[:30]!r}")
PY

python3 -u - "$work" "$port" "$pid" "$token" "$peer_python" <<'PY'
import json, os, subprocess, sys, threading, time, urllib.request
work, port, pid, token, peer = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
url = f"http://127.0.0.1:{port}/graphql"
# recipe-scrapers is stopped after this many seconds on a page (some of these pages take it many minutes).
PEER_LIMIT = int(os.environ.get("PEER_LIMIT", "60"))
QUERY = "mutation($page: Upload, $url: String!) { importRecipeFromHtml(page: $page, url: $url) { title } }"
def rss(field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
def send(html):
    boundary = "bench-hostile-0f3a"
    ops = json.dumps({"query": QUERY, "variables": {"page": None, "url": "https://hostile.example/"}})
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{ops}\r\n',
             f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{"0": ["variables.page"]}}\r\n',
             f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="page.html"\r\nContent-Type: text/html\r\n\r\n']
    body = "".join(parts).encode() + html + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Authorization": f"Bearer {token}",
        "GraphQL-Require-Preflight": "1"})
    started = time.perf_counter()
    answer = json.load(urllib.request.urlopen(request, timeout=60))
    ms = (time.perf_counter() - started) * 1000
    data = (answer.get("data") or {}).get("importRecipeFromHtml")
    outcome = data["title"] if data else answer["errors"][0]["extensions"]["code"]
    return ms, outcome
names = [n[:-5] for n in sorted(os.listdir(work)) if n.endswith(".html")]
send(open(os.path.join(work, "real-page-4MB.html"), "rb").read())  # warm-up
idle = rss("VmRSS:")
print(f"homechef idle RSS {idle:.1f} MB")
print(f"{'page':<18} {'size':>8} | {'homechef ms':>11} {'peak MB':>8} {'answer':<24} | {'recipe-scrapers ms':>18} {'peak MB':>8} {'answer':<20}")
for name in names:
    html = open(os.path.join(work, name + ".html"), "rb").read()
    before = rss("VmRSS:")
    open(f"/proc/{pid}/clear_refs", "w").write("5")
    ms, outcome = send(html)
    peak = rss("VmHWM:") - before
    try:
        p = subprocess.run([peer, os.path.join(work, "peer.py"), os.path.join(work, name + ".html")],
                           capture_output=True, text=True, timeout=PEER_LIMIT)
        pms, ppeak, ptitle = (p.stdout.split(" ", 2) + ["?", "?", "?"])[:3] if p.returncode == 0 else ("-", "-", f"exit {p.returncode}")
    except subprocess.TimeoutExpired:
        pms, ppeak, ptitle = f">{PEER_LIMIT * 1000}", "-", "stopped"
    print(f"{name:<18} {len(html) / 1048576:>6.2f}MB | {ms:>11.0f} {peak:>8.1f} {str(outcome)[:24]:<24} | {pms:>18} {ppeak:>8} {ptitle.strip()[:20]:<20}")
print(f"homechef RSS after the pages {rss('VmRSS:'):.1f} MB (peak of the whole run {rss('VmHWM:'):.1f} MB)")

bomb = open(os.path.join(work, "formatting-bomb.html"), "rb").read()
latencies, done = [], threading.Event()
def probe():
    while not done.is_set():
        started = time.perf_counter()
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=10).read()
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(0.02)
prober = threading.Thread(target=probe)
prober.start()
open(f"/proc/{pid}/clear_refs", "w").write("5")
before = rss("VmRSS:")
started = time.perf_counter()
workers = [threading.Thread(target=send, args=(bomb,)) for _ in range(10)]
for w in workers: w.start()
for w in workers: w.join()
wall = (time.perf_counter() - started) * 1000
done.set(); prober.join()
latencies.sort()
p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
print(f"ten 5 MiB formatting bombs at once: all answered in {wall:.0f} ms, peak {rss('VmHWM:') - before:.1f} MB above before; "
      f"/health/live during them: {len(latencies)} probes, p99 {p99:.1f} ms, worst {latencies[-1]:.1f} ms")
PY
