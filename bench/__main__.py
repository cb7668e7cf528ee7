"""``python -m bench``: run the benchmarks and print a table per benchmark."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from bench import (
    console,
    embedded,
    fanout,
    kills,
    memory,
    overhead,
    recovery,
    scale,
    startup,
    throughput,
    workflows,
)
from bench.report import Table
from bench.session import SIZES, Session

__all__ = ["BENCHMARKS", "main"]

BENCHMARKS: dict[str, Callable[[Session], Table]] = {
    "overhead": overhead.run,
    "throughput": throughput.run,
    "scale": scale.run,
    "fanout": fanout.run,
    "recovery": recovery.run,
    "kills": kills.run,
    "embedded": embedded.run,
    "memory": memory.run,
    "workflows": workflows.run,
    "startup": startup.run,
    "console": console.run,
}

_DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
_DEFAULT_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _database(admin_url: str, name: str) -> str:
    """Create database ``name`` when missing; return its SQLAlchemy URL."""
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            admin.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def machine() -> str:
    """The machine and its load, for the record."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.node()}: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, load average {load}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks; exit 1 when one of them broke (a missed target is not 1)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), default=None)
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", _DEFAULT_REDIS),
        help="a Redis database the benchmarks may flush (default %(default)s)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="a PostgreSQL database whose journal the benchmarks may empty "
        "(default: chordline_bench, created through --pg-admin-url)",
    )
    parser.add_argument("--pg-admin-url", default=_DEFAULT_ADMIN)
    parser.add_argument("--output", type=Path, default=None, help="also write the tables here")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep worker logs and embedded-mode data here (default: a temporary directory)",
    )
    args = parser.parse_args(argv)

    database = args.database_url or _database(args.pg_admin_url, "chordline_bench")
    chosen = args.only or list(BENCHMARKS)
    tables: list[str] = [f"Machine: {machine()}\n", f"Size: {args.size}\n"]
    print("\n".join(tables), flush=True)
    broken = 0
    with tempfile.TemporaryDirectory(prefix="chordline-bench-") as tmp:
        workdir = args.workdir.resolve() if args.workdir else Path(tmp)
        session = Session(args.redis_url, database, workdir, SIZES[args.size])
        session.reset()
        try:
            for name in chosen:
                session.tidy()
                began = time.monotonic()
                try:
                    table = BENCHMARKS[name](session)
                except Exception as exc:
                    broken += 1
                    text = f"### {name}: FAILED\n\n{type(exc).__name__}: {exc}\n"
                else:
                    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
                    table.notes.append(
                        f"took {time.monotonic() - began:.1f} s; load average after: {load}"
                    )
                    text = table.render()
                tables.append(text)
                print(text, flush=True)
        finally:
            session.close()
    tables.append(f"After: {machine()}\n")
    print(tables[-1])
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text("\n".join(tables))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
