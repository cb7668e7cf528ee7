"""The public surface is pinned: a change to it is a deliberate change to this test."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import subprocess
import sys

import orchestration
from tests.support import ROOT


def test_public_exports() -> None:
    assert sorted(orchestration.__all__) == [
        "Agent",
        "AgentError",
        "AgentNotFound",
        "ApprovalError",
        "BackendUnreachable",
        "BudgetError",
        "ChordlineError",
        "Client",
        "ConfigError",
        "JournalError",
        "Limits",
        "ProviderError",
        "RunNotFound",
        "RunStatus",
        "RunView",
        "Settings",
        "StepKind",
        "StepStatus",
        "Tool",
        "ToolContext",
        "ToolError",
        "WaitTimeout",
        "load_settings",
        "tool",
    ]
    # Each name is the object of that name in its home module, not an alias or a placeholder
    # (``Client`` and friends are loaded on first use, so this resolves them too).
    for name in orchestration.__all__:
        value = getattr(orchestration, name)
        home = sys.modules[value.__module__]
        assert value.__name__ == name and getattr(home, name) is value, name
        assert value.__module__.startswith("orchestration."), (name, value.__module__)


def test_every_error_is_a_chordline_error() -> None:
    for name in orchestration.__all__:
        value = getattr(orchestration, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, orchestration.ChordlineError), name


def test_defining_tools_loads_no_broker_code() -> None:
    # A fresh interpreter: this test process has imported Celery through other tests.
    code = (
        "import sys\n"
        "from orchestration import Agent, ToolContext, tool\n"
        "roots = ('celery', 'kombu', 'workers')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in roots)\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_the_client_and_the_cli_import_nothing_from_workers() -> None:
    code = (
        "import sys\n"
        "import orchestration.cli, orchestration.client\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'workers')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def _public_names(module: str) -> set[str]:
    imported = importlib.import_module(module)
    return set(getattr(imported, "__all__", ()))


def _private_import(module: str, name: str | None) -> str | None:
    """Why ``from module import name`` (or ``import module``) reaches past a public surface."""
    found = importlib.util.find_spec(module)
    assert found is not None, module
    package = found.submodule_search_locations is not None
    top_level = module.count(".") == 1 and module.startswith("orchestration.")
    if any(part.startswith("_") for part in module.split(".")):
        return f"{module} is private"
    if not (package or top_level):
        return f"{module} is an inner module; import from its package"
    if name is None or name in _public_names(module):
        return None
    if module == "orchestration" and _private_import(f"{module}.{name}", None) is None:
        return None  # a top-level module (``from orchestration import canvas``)
    return f"{name} is not in {module}.__all__"


def test_workers_and_example_agents_import_only_public_names() -> None:
    sources = [
        *sorted((ROOT / "workers").glob("*.py")),
        *sorted((ROOT / "agents").rglob("*.py")),
        *sorted((ROOT / "workflows").glob("*.py")),
    ]
    found = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                pairs = [(node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                pairs = [(alias.name, None) for alias in node.names]
            else:
                continue
            for module, name in pairs:
                if module.split(".")[0] not in ("orchestration", "admin_jobs"):
                    continue
                problem = _private_import(module, name)
                if problem is not None:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {problem}")
    assert found == []


def test_internal_modules_are_imported_only_by_their_own_package() -> None:
    # A module named ``_x`` belongs to its package: nothing outside it (tests aside) imports it.
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "tests", "build"} or "egg-info" in str(relative):
            continue
        importer = ".".join(relative.with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                private = next((i for i, p in enumerate(parts) if p.startswith("_")), None)
                if private is None or parts[private].startswith("__"):
                    continue
                owner = ".".join(parts[:private])
                if not (importer == owner or importer.startswith(owner + ".")):
                    offenders.append(f"{relative}:{node.lineno} imports {name}")
    assert not offenders, offenders
