"""Each subsystem owns its tables and its SQL: only the journal, the ``tables`` and ``store``
modules (and the migrations) import SQLAlchemy or reach a journal's engine, the journal imports
no subsystem's tables, and the migrations' metadata holds every table they create."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import inspect

from orchestration.journal import Journal
from orchestration.journal.tables import Base
from orchestration.tables import TABLE_MODULES, metadata
from tests.support import ROOT

# Where the code of Chordline and its example agents and workflows lives.
_WALKED = ("orchestration", "workers", "admin_jobs", "agents", "workflows")
_SQL_MODULES = ("tables.py", "store.py")


def _python_files() -> Iterator[Path]:
    for folder in _WALKED:
        if (ROOT / folder).is_dir():
            yield from sorted((ROOT / folder).rglob("*.py"))


def _speaks_sql(path: Path) -> bool:
    relative = path.relative_to(ROOT)
    return relative.parts[:2] == ("orchestration", "journal") or path.name in _SQL_MODULES


def _imported(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Every module an import names, function-level imports included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module


def _under(module: str, root: str) -> bool:
    return module == root or module.startswith(root + ".")


def test_only_the_journal_and_the_stores_import_sqlalchemy() -> None:
    offenders: list[str] = []
    seen_in_sql_modules = 0
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in _imported(tree):
            if not _under(module, "sqlalchemy"):
                continue
            if _speaks_sql(path):
                seen_in_sql_modules += 1
            else:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offenders == [], "SQL belongs in the journal or a subsystem's store.py:\n" + "\n".join(
        offenders
    )
    assert seen_in_sql_modules > 10  # the walk reads the modules that do speak SQL


def test_only_the_journal_and_the_stores_reach_a_journals_engine() -> None:
    offenders: list[str] = []
    for path in _python_files():
        if _speaks_sql(path):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        offenders += [
            f"{path.relative_to(ROOT)}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr == "engine"
        ]
    assert offenders == [], "call the journal or a store instead of its engine:\n" + "\n".join(
        offenders
    )


def test_the_journal_imports_no_subsystems_tables_or_store() -> None:
    journal = ROOT / "orchestration" / "journal"
    found: list[str] = []
    for path in sorted(journal.rglob("*.py")):
        for line, module in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            last = module.rsplit(".", 1)[-1]
            outside = _under(module, "orchestration") and not _under(
                module, "orchestration.journal"
            )
            if outside and (module == "orchestration.tables" or last in ("tables", "store")):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert found == []


def test_every_table_is_defined_in_a_tables_module() -> None:
    homes = {
        mapper.class_.__tablename__: mapper.class_.__module__ for mapper in Base.registry.mappers
    }
    assert set(homes) == set(metadata.tables)
    assert {home for home in homes.values()} <= {m.__name__ for m in TABLE_MODULES}
    assert all(home.endswith(".tables") for home in homes.values())


def test_the_migrations_create_exactly_the_tables_of_the_metadata(tmp_path: Path) -> None:
    journal = Journal(f"sqlite:///{tmp_path / 'journal.sqlite3'}")
    journal.upgrade()
    with journal.engine.connect() as connection:
        created = set(inspect(connection).get_table_names()) - {"alembic_version"}
    assert created == set(metadata.tables)
