#!/usr/bin/env bash
# Import extraction benchmark: a 1 MB recipe page (tests/fixtures/imports/wprm-yoast.html with a long blog
# post, comments, inline scripts and icons around it, as large recipe sites serve) read by homechef's
# extractor and by recipe-scrapers (what Mealie imports with), same page, same machine, same run.
# Prints milliseconds per page for each and the ratio.      scripts/bench-import.sh [BYTES [ROUNDS]]
# Needs python3 (with venv) and pip's registry for recipe-scrapers (installed once into the cargo target dir).
set -euo pipefail
cd "$(dirname "$0")/.."
bytes="${1:-1048576}"
rounds="${2:-20}"
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked --example extract_page
peer_python="$(bash scripts/recipe-scrapers-venv.sh)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - tests/fixtures/imports/wprm-yoast.html "$work/page.html" "$bytes" <<'PY'
import sys
source, out, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
page = open(source, encoding="utf-8").read()
block = """
<div class="comment" id="comment-{i}"><div class="avatar"><svg viewBox="0 0 24 24" width="24" height="24">
<path d="M12 12c2.7 0 4.8-2.1 4.8-4.8S14.7 2.4 12 2.4 7.2 4.5 7.2 7.2 9.3 12 12 12zm0 2.4c-3.2 0-9.6 1.6-9.6 4.8v2.4h19.2v-2.4c0-3.2-6.4-4.8-9.6-4.8z"/></svg></div>
<p class="meta"><a href="https://kitchen.example/banana-bread/#comment-{i}">March {d}, 2026 at {h}:15 am</a></p>
<p>I made this with {i} bananas and it was <strong>so</strong> moist &amp; fluffy! My kids loved it.
Next time I&#8217;ll add walnuts &mdash; thanks for another great recipe. <a href="/reply?c={i}">Reply</a></p>
<script>window.adSlots=window.adSlots||[];window.adSlots.push({{id:"slot-{i}",sizes:[[300,250],[336,280]]}});</script>
</div>"""
filler, i = [], 0
while len(page) + sum(map(len, filler)) < size:
    filler.append(block.format(i=i, d=i % 28 + 1, h=i % 12 + 1))
    i += 1
page = page.replace("</article>", "</article><section id=\"comments\">" + "".join(filler) + "</section>")
open(out, "w", encoding="utf-8").write(page)
PY
cat >"$work/peer.py" <<'PY'
import sys, time
from recipe_scrapers import scrape_html
html, url, rounds = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2], int(sys.argv[3])
started = time.perf_counter()
for _ in range(rounds):
    scraper = scrape_html(html, org_url=url, supported_only=False)
    title, ingredients, steps = scraper.title(), scraper.ingredients(), scraper.instructions_list()
per_page = (time.perf_counter() - started) * 1000 / rounds
print(f'recipe-scrapers: {per_page:.1f} ms per page ("{title}", {len(ingredients)} ingredients, {len(steps)} steps)')
PY
url="https://kitchen.example/banana-bread/"
ours="$("$target/release/examples/extract_page" "$work/page.html" "$url" "$rounds")"
peer="$("$peer_python" "$work/peer.py" "$work/page.html" "$url" "$rounds")"
echo "$ours"
echo "$peer"
python3 - "$ours" "$peer" <<'PY'
import re, sys
ours, peer = (float(re.search(r": ([0-9.]+) ms", line).group(1)) for line in sys.argv[1:])
print(f"homechef reads the page {peer / ours:.1f}x as fast as recipe-scrapers")
PY
