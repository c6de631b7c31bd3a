#!/usr/bin/env python3
"""The house plan, checked from the code's own imports (README, "Architecture").

Rooms are the crate's top-level modules (src/<room>.rs or src/<room>/); each room lives on a floor of the
LAYERS below, ground first. An arrow is a room naming another (`use crate::x`, `crate::x::` in code,
`super::` climbing out of a folder); it may point down or across its own floor, and one pointing up is a back
arrow. Files are also checked one by one: no file may import, through any chain of files, itself (a circle),
and none may exceed MAX_LINES.

  python3 scripts/arch-check.py           prints the counts, the back arrows and any circle; exit 1 on a
                                          circle, a file over MAX_LINES or more back arrows than MAX_BACK
  python3 scripts/arch-check.py -v        also every arrow
"""
import os
import re
import sys

MAX_BACK = 8
MAX_LINES = 600

# Ground first. A room may import rooms on its own floor or below.
LAYERS = [
    ("foundation", "error config deadlines text net log_file telemetry threats".split()),
    ("records", "db security_log".split()),
    ("services", "auth idempotency media health maintenance resolver live".split()),
    ("domains", "users households recipes tags collections meal_plans shopping_lists sync imports".split()),
    ("api", "graphql".split()),
    ("edge", "http".split()),
    ("entry", "cli checks lib main".split()),
]
FLOOR = {room: i for i, (_, rooms) in enumerate(LAYERS) for room in rooms}

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_path(path):
    """src/a/b.rs -> ['a', 'b']; src/a/mod.rs -> ['a']; src/lib.rs -> []"""
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel in (["lib"], ["main"]):
        return []
    return rel


def files():
    for root, _, names in os.walk(SRC):
        for name in names:
            if name.endswith(".rs"):
                yield os.path.join(root, name)


def code_of(text):
    """The text without comments, strings and #[cfg(test)] modules (tests may reach anywhere)."""
    text = re.sub(r"#\[cfg\(test\)\]\s*mod\s+tests\s*\{.*", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'r#*"(?:.|\n)*?"#*|"(?:\\.|[^"\\])*"', '""', text)
    return text


def references(here, text, modules):
    """The modules of ours (as paths) that the file of module `here` names: `crate::a::b…` and `super::…`, to
    the longest prefix that is a module; not itself nor its own descendants (its `mod` declarations)."""
    text = code_of(text)
    found = set()
    for m in re.finditer(r"\b(crate|super)((?:::\w+)+)", text):
        parts = m.group(2).strip(":").split("::")
        base = [] if m.group(1) == "crate" else list(here[:-1])
        while parts and parts[0] == "super":
            parts, base = parts[1:], base[:-1]
        target = base + parts
        while target and tuple(target) not in modules:
            target = target[:-1]
        if target:
            found.add(tuple(target))
    # `use` groups: crate::{a, b::c}
    for m in re.finditer(r"\buse\s+crate::\{([^;]*)\};", text):
        for item in re.split(r"[,{}\s]+", m.group(1)):
            name = item.split("::")[0]
            if (name,) in modules:
                found.add((name,))
    return {t for t in found if not here or t[: len(here)] != tuple(here)}


def main():
    verbose = "-v" in sys.argv
    paths = sorted(files())
    modules = {tuple(module_path(p)): p for p in paths}
    modules.pop((), None)
    file_edges = {}
    room_edges = set()
    too_long = []
    for path in paths:
        here = tuple(module_path(path))
        text = open(path, encoding="utf-8").read()
        lines = len(text.splitlines())
        if lines > MAX_LINES:
            too_long.append((lines, os.path.relpath(path, SRC)))
        refs = references(here, text, modules)
        file_edges[here] = refs
        src_room = here[0] if here else os.path.basename(path)[:-3]
        for r in refs:
            if r[0] != src_room:
                room_edges.add((src_room, r[0]))
    unknown = sorted({r for e in room_edges for r in e if r not in FLOOR})
    if unknown:
        print(f"arch-check: rooms without a floor in LAYERS: {unknown}")
        return 1
    back = sorted((a, b) for a, b in room_edges if FLOOR[b] > FLOOR[a])
    # Circles between files: strongly connected components of more than one file (Tarjan).
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in file_edges.get(v, ()):
            if w not in file_edges:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(comp)

    sys.setrecursionlimit(10_000)
    for v in list(file_edges):
        if v not in index:
            strong(v)
    rooms = sorted({r for e in room_edges for r in e})
    floors = sorted({FLOOR[r] for r in rooms})
    print(f"arch-check: {len(rooms)} rooms on {len(floors)} floors, {len(room_edges)} arrows, "
          f"{len(back)} back up (at most {MAX_BACK}), {len(sccs)} circles between files, "
          f"{len(too_long)} files over {MAX_LINES} lines")
    for a, b in back:
        print(f"arch-check:   back up: {a} ({LAYERS[FLOOR[a]][0]}) -> {b} ({LAYERS[FLOOR[b]][0]})")
    for comp in sccs:
        print("arch-check:   circle: " + " -> ".join("::".join(c) or "crate" for c in comp))
    for lines, path in sorted(too_long, reverse=True):
        print(f"arch-check:   {path}: {lines} lines")
    if verbose:
        for a, b in sorted(room_edges):
            print(f"arch-check:   {a} -> {b}")
    return 1 if sccs or too_long or len(back) > MAX_BACK else 0


if __name__ == "__main__":
    sys.exit(main())
