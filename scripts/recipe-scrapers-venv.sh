#!/usr/bin/env bash
# Prints the python of a virtual environment with recipe-scrapers 15.13 (what Mealie imports with), the import
# benchmarks' peer: made once under the cargo target dir, from pip's registry. Run by bench-import*.sh and
# eval-import.sh:  python="$(bash scripts/recipe-scrapers-venv.sh)"
set -euo pipefail
venv="${CARGO_TARGET_DIR:-target}/bench-import-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import recipe_scrapers' 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q 'recipe-scrapers==15.13.0' >&2
fi
echo "$venv/bin/python"
