"""Package layering: no import cycles, and measures/ only computes (no plotting, printing,
record writing or CLI code)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "infofusion"


def _import_graph_module():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_package_has_no_import_cycles():
    ig = _import_graph_module()
    g = ig.graph(PKG)
    assert len(g) > 50  # the whole package was read
    assert ig.cycles(g) == []


def test_cycle_detection_finds_a_planted_cycle(tmp_path):
    ig = _import_graph_module()
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from pkg.b import g\n")
    (pkg / "b.py").write_text("from pkg import a\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    assert ig.cycles(ig.graph(pkg)) == [["pkg.a", "pkg.b"]]


def test_measures_only_compute():
    banned = ("matplotlib", "rich", "typer", "infofusion.report", "infofusion.cli", "infofusion.api")
    offenders = []
    for path in (PKG / "measures").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("print", "open"):
                offenders.append(f"{path.name}: {node.func.id}()")
            offenders += [f"{path.name}: import {n}" for n in names if n.startswith(banned)]
            if isinstance(node, ast.Name) and node.id == "write_records":
                offenders.append(f"{path.name}: write_records")
    assert offenders == []


def test_no_module_switches_the_matplotlib_backend_or_uses_pyplot_state():
    """A plot must not change a notebook user's backend: figures are built as
    ``matplotlib.figure.Figure`` objects, never through ``matplotlib.use`` or pyplot."""
    import re
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src" / "infofusion"
    offenders = []
    for path in src.rglob("*.py"):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"matplotlib\.use\(|plt\.(subplots|figure|get_cmap)\(", code):
                offenders.append(f"{path.relative_to(src)}:{i}")
    assert offenders == []
