"""Print the import graph of src/infofusion (module -> the package modules it imports) and
any import cycles.

Reads the source with ``ast`` (nothing is imported or executed). Every ``import`` counts,
including those inside functions, which Python resolves lazily: a cycle through a lazy import
still ties two modules together, so it is reported too. ``TYPE_CHECKING`` blocks are skipped
(they never run).

Usage::

    python scripts/import_graph.py [--cycles-only] [--root src/infofusion]

Exit status 1 when a cycle exists.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(mod: str, level: int, name: str | None, current: str, is_pkg: bool) -> str:
    if level == 0:
        return mod
    base = current.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([mod] if mod else []))


def imports_of(path: Path, current: str, modules: set[str]) -> set[str]:
    """Package modules imported anywhere in ``path`` (outside ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                for inner in ast.walk(sub):
                    skip.add(id(inner))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module or "", node.level, None, current, is_pkg)
            # "from pkg import mod" imports pkg.mod when that is a module
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for name in names:
            # the longest package module that is a prefix of the imported name
            parts = name.split(".")
            for i in range(len(parts), 0, -1):
                cand = ".".join(parts[:i])
                if cand in modules:
                    if cand != current:
                        found.add(cand)
                    break
    return found


def graph(root: Path) -> dict[str, set[str]]:
    files = sorted(root.rglob("*.py"))
    modules = {module_name(f, root) for f in files}
    return {module_name(f, root): imports_of(f, module_name(f, root), modules) for f in files}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The non-trivial strongly connected components (Tarjan), each a set of modules that
    import each other, directly or through the others. A package ``__init__`` importing its
    own submodules, which import names back from the package, is the usual way one forms."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
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
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def package_edges(comp: list[str], g: dict[str, set[str]]) -> list[tuple[str, str]]:
    return [(a, b) for a in comp for b in sorted(g[a]) if b in comp]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[1] / "src" / "infofusion"))
    ap.add_argument("--cycles-only", action="store_true")
    args = ap.parse_args()
    g = graph(Path(args.root))
    if not args.cycles_only:
        for mod in sorted(g):
            deps = ", ".join(sorted(g[mod])) or "-"
            print(f"{mod} -> {deps}")
        print()
    found = cycles(g)
    print(f"{len(g)} modules, {sum(len(v) for v in g.values())} imports, {len(found)} cycle(s)")
    for comp in found:
        print("cycle: " + " <-> ".join(comp))
        for a, b in package_edges(comp, g):
            print(f"    {a} -> {b}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
