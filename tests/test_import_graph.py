"""The import graph of ``orchestration/``, ``workers/`` and ``admin_jobs/`` has no circle and no
import that runs back up from a lower layer to a higher one.

Every import is read with :mod:`ast`: those at the top of a module, those inside functions
(imported late for start-up speed, they still tie the two modules together) and those under
``if TYPE_CHECKING:`` (a type a module names is a module it depends on). ``from package import
name`` is an import of the submodule ``package.name`` when there is one, else of the package.

The layers, bottom to top; a module may import its own layer and the layers below it:

1. ``orchestration._lazy``, ``errors``, ``storable_text``, ``trace_context``: leaves that
   import nothing of Chordline but each other.
2. ``orchestration.config`` (the settings), ``orchestration.run_request`` (the contract every
   door validates a new run with).
3. ``orchestration.journal``: the source of truth.
4. ``orchestration.llm``: models, deployments, fallbacks, breakers, prices.
5. ``orchestration.agents``: agents as code and their tools.
6. ``orchestration.runtime`` and ``orchestration.reducer``: the per-step context (the handles a
   step runs with, and the middleware contract around it) and the agent loop over it.
7. ``orchestration.budgets``, ``observability``, ``knowledge``, ``memory``: subsystems that
   plug into a step (as middleware or as tools) and read the journal; ``feedback``, which only
   reads and writes beside the journal.
8. ``orchestration.workflows``, ``orchestration.rollouts``, ``orchestration.webhooks``: runs of
   runs, canaries judged from the run metrics and alerts of observability, and the approval
   webhook (its arguments redacted as traces are).
9. ``orchestration.bootstrap`` (the composition root: it builds the runtime and its middleware
   chain from the settings), ``orchestration.canvas`` (the one module speaking Celery).
10. ``orchestration.client``, then ``evals`` (trials are runs the client drives), then ``api``,
    then ``cli``, then the package ``orchestration`` itself (its lazy re-exports).
11. ``admin_jobs`` and ``beat_schedule``: admin work and its schedule.
12. ``workers``: the Celery app and its tasks, on top of everything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT

LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "orchestration._lazy",
        "orchestration.errors",
        "orchestration.storable_text",
        "orchestration.trace_context",
    ),
    ("orchestration.config", "orchestration.run_request"),
    ("orchestration.journal",),
    ("orchestration.llm",),
    ("orchestration.agents",),
    ("orchestration.runtime", "orchestration.reducer"),
    (
        "orchestration.budgets",
        "orchestration.observability",
        "orchestration.feedback",
        "orchestration.knowledge",
        "orchestration.memory",
    ),
    ("orchestration.workflows", "orchestration.rollouts", "orchestration.webhooks"),
    ("orchestration.bootstrap", "orchestration.canvas"),
    ("orchestration.client",),
    ("orchestration.evals",),
    ("orchestration.api",),
    ("orchestration.cli",),
    ("orchestration",),
    ("admin_jobs", "beat_schedule"),
    ("workers",),
)

PACKAGES = ("orchestration", "workers", "admin_jobs")


@dataclass(frozen=True)
class Import:
    """One import statement's edge: ``source`` imports ``target`` at ``line``."""

    source: str
    target: str
    line: int


def modules(root: Path, packages: Iterable[str], loose: Iterable[str] = ()) -> dict[str, Path]:
    """Every module of ``packages`` under ``root`` (and the single-file modules ``loose``)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    for name in loose:
        found[name] = root / f"{name}.py"
    return found


def _statements(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node


def _owner(name: str, known: dict[str, Path]) -> str | None:
    """The longest known module that ``name`` is or lies in."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def imports(known: dict[str, Path]) -> list[Import]:
    """Every import between ``known`` modules, wherever it sits in its module."""
    edges: list[Import] = []
    for source, path in known.items():
        package = source if path.name == "__init__.py" else source.rpartition(".")[0]
        for node in _statements(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                named = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                submodules = [f"{base}.{alias.name}" for alias in node.names]
                named = [m for m in submodules if m in known]
                if len(named) < len(submodules):
                    named.append(base)
            for name in named:
                target = _owner(name, known)
                if target is not None and target != source:
                    edges.append(Import(source, target, node.lineno))
    return edges


def circles(edges: Iterable[Import]) -> list[list[str]]:
    """The groups of modules that import each other, round and round (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group: list[str] = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(module: str, layers: tuple[tuple[str, ...], ...] = LAYERS) -> int | None:
    """The index of the layer whose longest-matching entry holds ``module``."""
    best: tuple[int, int] | None = None
    for number, entries in enumerate(layers):
        for entry in entries:
            holds = module == entry or module.startswith(entry + ".")
            if holds and (best is None or len(entry) > best[0]):
                best = (len(entry), number)
    return None if best is None else best[1]


def upward(edges: Iterable[Import], layers: tuple[tuple[str, ...], ...] = LAYERS) -> list[str]:
    """Each import from a lower layer into a higher one, as ``source:line -> target``."""
    found = []
    for edge in edges:
        below, above = layer_of(edge.source, layers), layer_of(edge.target, layers)
        if below is not None and above is not None and above > below:
            found.append(
                f"{edge.source}:{edge.line} (layer {below + 1}) imports "
                f"{edge.target} (layer {above + 1})"
            )
    return found


def _graph() -> tuple[dict[str, Path], list[Import]]:
    known = modules(ROOT, PACKAGES, loose=("beat_schedule",))
    return known, imports(known)


def test_every_module_has_a_layer() -> None:
    known, _ = _graph()
    assert [m for m in sorted(known) if layer_of(m) is None] == []


def test_no_module_imports_one_that_imports_it_back() -> None:
    _, edges = _graph()
    assert circles(edges) == []


def test_no_import_runs_up_from_a_lower_layer() -> None:
    _, edges = _graph()
    assert upward(edges) == []


def test_the_walk_sees_late_and_type_only_imports_and_finds_circles(tmp_path: Path) -> None:
    # A package whose circle runs through an import inside a function and one made only for
    # type checking: the walk must see both, and the lower module's import of the higher one.
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def f():\n    from pkg import high\n    return high\n")
    (package / "high.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.low import f\n"
    )
    (package / "side.py").write_text("from . import low\n")
    known = modules(tmp_path, ["pkg"])
    edges = imports(known)
    assert {(e.source, e.target) for e in edges} == {
        ("pkg.low", "pkg.high"),
        ("pkg.high", "pkg.low"),
        ("pkg.side", "pkg.low"),
    }
    assert circles(edges) == [["pkg.high", "pkg.low"]]
    layers = (("pkg.low", "pkg.side"), ("pkg.high",))
    assert upward(edges, layers) == ["pkg.low:2 (layer 1) imports pkg.high (layer 2)"]
