"""The layers hold: the import contract (pyproject [tool.importlinter]), no import circle, no function-local
import of aipl code, the derived tables as declared (docs/lineage.md), and nothing that ships points outside
the repository."""

from __future__ import annotations

import ast
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from aipl import schema
from tests.conftest import ROOT

SRC = ROOT / "src" / "aipl"


def test_import_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is not installed (pip install -e '.[dev]')"
    r = subprocess.run([lint, "--no-cache", "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                       text=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": str(Path(sys.executable).parent)})
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.find_modules_directly_imported_by(v) & modules:
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

    for m in sorted(modules):
        if m not in index:
            visit(m)
    return out


def test_no_import_circle():
    graph = grimp.build_graph("aipl")
    modules = {m for m in graph.modules if m.startswith("aipl.")}
    # a package's __init__ importing its own modules is not a circle: only module → module edges count
    for pkg in {m for m in modules if (SRC.parent / m.replace(".", "/") / "__init__.py").exists()}:
        for child in graph.find_modules_directly_imported_by(pkg):
            if child.startswith(pkg + "."):
                graph.remove_import(importer=pkg, imported=child)
    assert _cycles(graph, modules) == []


def test_no_function_local_import_of_aipl_code():
    """A local import may only defer an optional heavy third-party dependency; aipl's own code is imported at
    the top of the module, where the import contract sees it."""
    found = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = set(map(id, tree.body))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom | ast.Import) and id(node) not in top:
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                if any(n == "aipl" or n.startswith("aipl.") for n in names) or getattr(node, "level", 0):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_lineage_page_is_generated_from_the_declarations():
    assert (ROOT / "docs" / "lineage.md").read_text(encoding="utf-8") == schema.lineage(), (
        "docs/lineage.md is stale: python -m aipl.schema lineage > docs/lineage.md")


@pytest.mark.parametrize("table", sorted(schema.DERIVED))
def test_each_derived_table_names_a_public_producer_and_known_inputs(table):
    t = schema.DERIVED[table]
    package, name = t.producer.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(package), name, None)), f"{t.producer} is not public"
    known = {*schema.TABLES, *schema.SYSTEM_TABLES, *schema.DERIVED}
    assert set(t.inputs) <= known, set(t.inputs) - known


def test_shipped_files_stand_alone():
    """A clone has no ../shared: nothing that ships (the package, docs, README, scripts) refers to it."""
    shipped = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *SRC.rglob("*.py"), *(ROOT / "scripts").glob("*")]
    hits = [str(p.relative_to(ROOT)) for p in shipped if p.is_file() and "../shared" in p.read_text(encoding="utf-8")]
    assert hits == []
