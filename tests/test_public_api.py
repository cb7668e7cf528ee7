"""The public surface is pinned: a change to it is a deliberate change to this test."""

from __future__ import annotations

import subprocess
import sys

import orchestration


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
