#!/usr/bin/env bash
# Import quality: every page of a corpus read by homechef's extractor and by recipe-scrapers 15.13 (what Mealie
# imports with, whole page, supported_only=False), field by field, printed as the table of issue #26 §4.
#   scripts/eval-import.sh [CORPUS_DIR]        (default tests/fixtures/imports; *.html)
# The truth for a page is PAGE.expected.json beside it when there is one (hand-written: title, ingredients,
# steps, total_minutes, servings, image), else recipe-scrapers' own answer, and the table then says how often
# homechef agrees with it. Needs python3 with venv and pip's registry for recipe-scrapers (installed once into
# the cargo target dir). `-v` after the directory prints each page's differences.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-tests/fixtures/imports}"
verbose="${2:-}"
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked --example extract_page
peer_python="$(bash scripts/recipe-scrapers-venv.sh)"
pages=("$corpus"/*.html)
"$target/release/examples/extract_page" --json "${pages[@]}" >"${TMPDIR:-/tmp}/homechef-eval.jsonl"
"$peer_python" - "${TMPDIR:-/tmp}/homechef-eval.jsonl" "$verbose" "${pages[@]}" <<'PY'
import difflib, json, os, re, sys
from recipe_scrapers import scrape_html

ours_file, verbose, pages = sys.argv[1], sys.argv[2] == "-v", sys.argv[3:]
ours = {d["page"]: d for d in map(json.loads, open(ours_file, encoding="utf-8"))}

def norm(text):
    return re.sub(r"\s+", " ", str(text or "")).strip().casefold()

def attempt(f):
    try:
        return f()
    except Exception:
        return None

def scraped(path):
    html = open(path, encoding="utf-8", errors="replace").read()
    s = attempt(lambda: scrape_html(html, org_url="https://page.example/recipe/", supported_only=False))
    if s is None:
        return {}
    yields = attempt(s.yields) or ""
    number = re.search(r"\d+", yields)
    return {
        "title": attempt(s.title),
        "ingredients": attempt(s.ingredients) or [],
        "steps": attempt(s.instructions_list) or [],
        "total_minutes": attempt(s.total_time),
        "servings": number.group(0) if number else None,
        "image": attempt(s.image),
    }

def truth_of(path):
    expected = path[:-5] + ".expected.json"
    if os.path.exists(expected):
        return json.load(open(expected, encoding="utf-8")), "hand"
    return scraped(path), "recipe-scrapers"

def checks(answer, truth):
    steps = lambda d: norm(" ".join(d.get("steps") or []))
    image = (answer.get("images") or [None])[0] if "images" in answer else answer.get("image")
    servings = answer.get("servings")
    return {
        "title": norm(answer.get("title")) == norm(truth.get("title")) != "",
        "ingredient count equal": len(answer.get("ingredients") or []) == len(truth.get("ingredients") or []),
        "every ingredient line exact": [norm(i) for i in answer.get("ingredients") or []]
        == [norm(i) for i in truth.get("ingredients") or []],
        "instructions similar > 0.9": difflib.SequenceMatcher(None, steps(answer), steps(truth)).ratio() > 0.9,
        "total time exact": (answer.get("total_minutes") or None) == (truth.get("total_minutes") or None),
        "yield": str(servings or "") == str(truth.get("servings") or ""),
        "image": (image or None) == (truth.get("image") or None),
    }

fields = list(checks({}, {}).keys())
ours_score = {f: 0 for f in fields}
peer_score = {f: 0 for f in fields}
kinds = set()
for path in pages:
    truth, kind = truth_of(path)
    kinds.add(kind)
    mine = ours.get(path, {})
    if "error" in mine:
        mine = {}
    else:
        mine = {**mine, "image": (mine.get("images") or [None])[0]}
    got = checks(mine, truth)
    peer = checks(scraped(path), truth) if kind == "hand" else {f: True for f in fields}
    for f in fields:
        ours_score[f] += got[f]
        peer_score[f] += peer[f]
    if verbose:
        wrong = [f for f in fields if not got[f]]
        if wrong:
            print(f"{os.path.basename(path)}: {', '.join(wrong)}")
            for f in ("title", "total_minutes", "servings", "image"):
                if norm(mine.get(f)) != norm(truth.get(f)):
                    print(f"    {f}: ours {mine.get(f)!r} / truth {truth.get(f)!r}")
            if len(mine.get("ingredients") or []) != len(truth.get("ingredients") or []):
                print(f"    ingredients: ours {len(mine.get('ingredients') or [])} / truth {len(truth.get('ingredients') or [])}")
n = len(pages)
truth_kind = " + ".join(sorted(kinds))
print(f"{n} pages; truth: {truth_kind}")
print(f"| field | homechef | recipe-scrapers (whole page) |")
print(f"|---|---|---|")
for f in fields:
    peer = f"{100 * peer_score[f] / n:.0f} %" if "hand" in kinds else "(the truth)"
    print(f"| {f} | {100 * ours_score[f] / n:.0f} % | {peer} |")
PY
