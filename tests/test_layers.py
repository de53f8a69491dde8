"""Layers one way: no package of ``sim`` imports a higher layer, and packages form no cycle.

The imports of every module under ``sim/`` are read with :mod:`ast` (nothing is imported):
module-level and function-level imports both count, except those under ``if
TYPE_CHECKING:`` (they exist only for type checkers). A module belongs to its *package*: the
first name under ``sim`` (``sim.care.des`` -> ``sim.care``, ``sim.runner`` -> ``sim.runner``);
``import sim`` / ``from sim import __version__`` import the package root ``sim``, the public
facade, which is the top layer (``sim._version`` holds the version for every layer).

The layers (docs/architecture.md): a package may import its own layer and the layers below;
the reading side (results, comparison, risk, plots, report, the RunResult) imports only
layers 0-2 and itself, so that reading results never loads the simulator.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SIM = Path(__file__).resolve().parents[1] / "sim"

#: layer of each package of sim (lower numbers are lower layers)
LAYERS: dict[str, float] = {
    # 0: vocabulary and utilities, no simulation
    "sim._version": 0, "sim.rng": 0, "sim.constants": 0, "sim.catalogue": 0,
    "sim.services": 0, "sim.uncertainty": 0, "sim.fields": 0, "sim.progress": 0, "sim.threads": 0,
    "sim.stay_groups": 0,
    "sim.economics": 0,
    # 1: payment models (configuration, pure rules, settlers); never sim.settlement
    "sim.contracts": 1,
    # 2: scenarios (schema, loader, distributions)
    "sim.scenario": 2,
    # 2.5: the reading side: only layers 0-2 and itself, never the simulator
    "sim.results": 2.5, "sim.comparison": 2.5, "sim.risk": 2.5, "sim.plots": 2.5,
    "sim.report": 2.5, "sim.run_result": 2.5, "sim.voi": 2.5,
    "sim.claims_export": 2.5,
    # 3: the care model and what it records
    "sim.population": 3,
    "sim.attribution": 3, "sim.care": 3, "sim.ledger": 3, "sim.quality_measures": 3,
    "sim.providers": 3,
    "sim.coding": 3,  # coding and the revenue cycle (denials, RADV): below settlement
    # 4: money and measures from the ledger
    "sim.settlement": 4, "sim.metrics": 4,
    # 5: behaviour (levers chosen from the incentives)
    "sim.behaviour": 5,
    # 6: one replication (the year loop)
    "sim.replication": 6,
    # 7: running experiments
    "sim.executors": 7, "sim.checkpoint": 7, "sim.runner": 7, "sim.run_setup": 7,
    "sim.experiment": 7, "sim.sensitivity": 7, "sim.resources": 7, "sim.calibration": 7,
    "sim.claims_saving": 7,
    "sim.puf": 7, "sim.plan": 7,
    # 8: the command
    "sim.cli": 8,
    # 9: the public facade (sim/__init__.py: imports lazily, on first use)
    "sim": 9,
}

#: Imports that the layer numbers allow but the design does not (issue 10): (importing
#: package, imported package) -> why.
FORBIDDEN: dict[tuple[str, str], str] = {
    ("sim.settlement", "sim.care"): "settlement reads a ledger, a population and providers, "
    "not the care model (CareRun)",
    ("sim.ledger", "sim.care"): "the claims vocabulary lives below care and ledger "
    "(sim.services)",
    ("sim.metrics", "sim.care"): "the claims vocabulary lives below care and ledger "
    "(sim.services)",
}

#: Violations that other helpers remove in parallel on their branches (issue 10). The
#: coordinator empties this set when merging; an entry that no longer exists fails the test,
#: so the list cannot rot. Each is (importing module, imported package).
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    rel = path.relative_to(SIM.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _exists(module: str) -> bool:
    path = SIM.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path, module: str | None = None) -> list[tuple[int, str]]:
    """(line, imported sim module) for every import in ``path`` (module ``module``, by
    default from its place under sim/) outside ``if TYPE_CHECKING:``."""
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names
                         if a.name == "sim" or a.name.startswith("sim."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            if origin == "sim" or origin.startswith("sim."):
                for alias in node.names:  # `from sim.x import y`: y may be a submodule
                    sub = f"{origin}.{alias.name}"
                    found.append((node.lineno, sub if _exists(sub) else origin))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _edges() -> list[tuple[str, int, str, str]]:
    """(importing file, line, importing module, imported module) for every sim import."""
    edges = []
    for path in sorted(SIM.rglob("*.py")):
        module = _module_name(path)
        for line, imported in _imports(path):
            edges.append((str(path.relative_to(SIM.parent)), line, module, imported))
    return edges


def _layer(module: str) -> float:
    package = _package(module)
    assert package in LAYERS, (
        f"{module}: its package {package} has no layer; add it to LAYERS in "
        "tests/test_layers.py and to the table in docs/architecture.md")
    return LAYERS[package]


def _violations() -> dict[tuple[str, str], tuple[list[str], str]]:
    """Upward and forbidden imports: (importing module, imported package) -> (['file:line',
    ...], why)."""
    out: dict[tuple[str, str], tuple[list[str], str]] = {}
    for file, line, module, imported in _edges():
        a, b = _package(module), _package(imported)
        if a == b:
            continue
        if _layer(imported) > _layer(module):
            why = (f"{module} (layer {_layer(module):g}) imports {b} (layer {_layer(b):g}); "
                   "a lower layer never imports a higher one (move what it needs down)")
        elif (a, b) in FORBIDDEN:
            why = f"{module} imports {b}: {FORBIDDEN[(a, b)]}"
        else:
            continue
        out.setdefault((module, b), ([], why))[0].append(f"{file}:{line}")
    return out


def test_every_package_of_sim_has_a_layer():
    for path in SIM.rglob("*.py"):
        _layer(_module_name(path))


def test_no_package_imports_a_higher_layer_or_a_forbidden_one():
    new = [f"{', '.join(where)}: {why} (docs/architecture.md)"
           for key, (where, why) in sorted(_violations().items())
           if key not in KNOWN_VIOLATIONS]
    assert not new, "\n".join(new)


def test_known_violations_still_exist():
    """A known violation that is fixed must leave KNOWN_VIOLATIONS (so the list cannot rot)."""
    gone = sorted(KNOWN_VIOLATIONS - set(_violations()))
    assert not gone, (f"fixed, remove from KNOWN_VIOLATIONS in tests/test_layers.py: {gone}")


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], str] = {}
    for file, line, module, imported in _edges():
        a, b = _package(module), _package(imported)
        if a == b or (module, b) in KNOWN_VIOLATIONS:
            continue
        graph[a].add(b)
        where.setdefault((a, b), f"{file}:{line}")
    cycles = _cycles(graph)
    messages = [" -> ".join(c + [c[0]]) + " (" + ", ".join(
        where[(c[i], c[(i + 1) % len(c)])] for i in range(len(c))) + ")" for c in cycles]
    assert not messages, "import cycles between packages:\n" + "\n".join(messages)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of packages (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    out = []
    for group in groups:  # a path from the group's first member back to it
        members = set(group)
        start = min(group)
        path, seen = [start], {start}
        while True:
            nxt = sorted(w for w in graph[path[-1]] if w in members)
            back = start in nxt
            if back:
                break
            step = next((w for w in nxt if w not in seen), None)
            if step is None:
                break
            path.append(step)
            seen.add(step)
        out.append(path)
    return out


def test_the_checker_sees_function_level_imports_and_skips_type_checking(tmp_path):
    source = ("from typing import TYPE_CHECKING\n"
              "if TYPE_CHECKING:\n    from sim.care import engine\n"
              "def f():\n    from sim.runner import run\n    import sim.cli\n"
              "    from ..results import layout\n    from . import rng\n")
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    assert _imports(path, "sim.care.probe") == [
        (5, "sim.runner"), (6, "sim.cli"), (7, "sim.results.layout"), (8, "sim.care")]


def test_reading_results_never_loads_the_simulator():
    import subprocess
    import sys

    for module in ("sim.results", "sim.comparison", "sim.plots", "sim.report",
                   "sim.run_result", "sim.risk", "sim.voi",
                   "sim.claims_export"):
        code = (f"import sys, {module}; loaded = [m for m in ('simpy', 'sim.care', "
                "'sim.replication', 'sim.settlement', 'sim.behaviour') if m in sys.modules]; "
                "assert not loaded, loaded")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              cwd=SIM.parent)
        assert done.returncode == 0, f"import {module} loads {done.stderr.strip()[-300:]}"
