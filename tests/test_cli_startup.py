"""The CLI loads only what a command needs: listing commands imports none of them, reading runs
loads neither the agents nor Celery, and the cheap schema check agrees with Alembic.

How fast each starts is measured by ``python -m bench --only startup``, never asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from alembic import command
from alembic.config import Config

from orchestration.cli import main
from orchestration.cli.commands import COMMANDS
from orchestration.errors import JournalError
from orchestration.journal import _schema as schema
from orchestration.journal import open_journal
from tests.support import ROOT

# Heavy packages a listing of commands has no use for.
_HEAVY = ("sqlalchemy", "alembic", "celery", "kombu", "pydantic", "redis", "orchestration.journal")


def _loaded_after(args: list[str], env: dict[str, str]) -> tuple[str, list[str]]:
    """Run ``chordline ARGS`` in a fresh interpreter; its output and the modules it loaded."""
    code = (
        "import json, sys\n"
        "from orchestration.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHORDLINE_")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "COLUMNS": "100", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout, json.loads(done.stderr.strip().splitlines()[-1])


def _under(modules: list[str], roots: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == r or m.startswith(r + ".") for r in roots)]


def test_help_lists_every_command_without_importing_any(tmp_path: Path) -> None:
    shown, loaded = _loaded_after(["--help"], {"CHORDLINE_DATA_DIR": str(tmp_path)})
    assert _under(loaded, _HEAVY) == []
    commands = [m for m in loaded if m.startswith("orchestration.cli.")]
    assert sorted(commands) == ["orchestration.cli.base", "orchestration.cli.commands"]
    listed = shown.split("Commands:", 1)[1]
    for name, entry in COMMANDS.items():
        # The line starts with the name and the help's first words (click shortens the rest).
        assert f"  {name} " in listed
        assert " ".join(entry.summary.split()[:3]) in listed, name


def test_version_loads_no_runtime(tmp_path: Path) -> None:
    shown, loaded = _loaded_after(["--version"], {"CHORDLINE_DATA_DIR": str(tmp_path)})
    assert "version" in shown
    assert _under(loaded, _HEAVY) == []


def test_the_registry_names_each_command_with_its_own_help() -> None:
    context = click.Context(main)
    for name, entry in COMMANDS.items():
        command_ = main.get_command(context, name)
        assert command_ is not None, f"{entry.module} does not register {name!r}"
        assert command_.get_short_help_str(limit=10_000) == entry.summary, name
    # Every command the modules register is in the registry (else --help would not list it).
    assert sorted(main.commands) == sorted(COMMANDS)


# What reading the journal has no use for: the broker, migrations, Redis, the agents' runtime.
_NOT_FOR_READING = ("celery", "kombu", "alembic", "redis", "orchestration.runtime")


def test_reading_runs_loads_neither_the_runtime_nor_celery(tmp_path: Path) -> None:
    env = {"CHORDLINE_DATA_DIR": str(tmp_path)}
    # A migrated journal: migrating a new one is the one time Alembic is needed.
    open_journal(f"sqlite:///{tmp_path / 'journal.sqlite3'}").attach()
    shown, loaded = _loaded_after(["runs"], env)
    assert "no runs match" in shown
    assert _under(loaded, _NOT_FOR_READING) == []
    shown, loaded = _loaded_after(["status", "no-such-run"], env)
    assert _under(loaded, _NOT_FOR_READING) == []


def test_head_revision_is_the_migrations_head() -> None:
    assert schema.migrations_head() == schema.HEAD_REVISION


def test_a_journal_one_migration_behind_is_seen_as_behind(tmp_path: Path) -> None:
    journal = open_journal(f"sqlite:///{tmp_path / 'journal.sqlite3'}")
    assert schema.current_revision(journal.engine) is None
    config = Config()
    config.set_main_option("script_location", str(Path(schema.__file__).parent / "migrations"))
    with journal.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, f"{schema.HEAD_REVISION}-1")
    behind = schema.current_revision(journal.engine)
    assert behind is not None and behind != schema.HEAD_REVISION
    with pytest.raises(JournalError, match=f"at schema revision {behind}"):
        journal.ensure_schema(upgrade=False)
    journal.attach()  # a SQLite journal is upgraded by whoever opens it
    assert schema.current_revision(journal.engine) == schema.HEAD_REVISION
