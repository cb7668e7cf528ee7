"""The command registry: where each ``chordline`` command lives, and its one-line help.

``chordline --help`` lists every command from this table without importing any of them, and a
command's module (with the journal, Celery or the HTTP stack it needs) is imported only when that
command runs. The help here is the first sentence of the command's own docstring; a test keeps
the two the same.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import click

__all__ = ["COMMANDS", "Entry", "LazyGroup"]


@dataclass(frozen=True)
class Entry:
    """One command of the registry.

    Attributes:
        module: the module whose import registers the command on ``chordline``.
        summary: its one-line help, as ``chordline --help`` lists it.
    """

    module: str
    summary: str


_CLI = "orchestration.cli."

COMMANDS: dict[str, Entry] = {
    "admin": Entry(
        _CLI + "admin", "Admin jobs (evals, embedding rebuilds, fine-tunes) run once by hand."
    ),
    "agents": Entry(
        _CLI + "runs",
        "List the agents with their versions and model pins, and any that are broken.",
    ),
    "api": Entry(
        _CLI + "api",
        "Serve the HTTP API (runs, events, approvals; OpenAPI at /openapi.json, docs at /docs) "
        "and the console at /console.",
    ),
    "approvals": Entry(
        _CLI + "approvals", "List approvals (by default the tool calls waiting for a person)."
    ),
    "approve": Entry(
        _CLI + "approvals",
        "Approve the approval ID (or a run's first waiting one, given a run id).",
    ),
    "beat": Entry(
        _CLI + "processes",
        "Run Celery Beat (once per deployment): the sweeper and the admin schedule.",
    ),
    "cancel": Entry(
        _CLI + "runs", "Cancel a run; a step in flight finishes but nothing follows it."
    ),
    "check": Entry(
        _CLI + "ops",
        "Print the effective settings (secrets masked) and ping each backing service.",
    ),
    "db": Entry(_CLI + "ops", "Journal database commands."),
    "demo": Entry(
        _CLI + "demo",
        "Run AGENT end to end with a worker of its own: the zero-server quick start.",
    ),
    "eval": Entry(
        _CLI + "evals",
        "Evaluate agents on their datasets (evals/AGENT/*.jsonl); gates and baselines.",
    ),
    "feedback": Entry(
        _CLI + "feedback",
        "Give feedback on a run: --up, --down or --score 0..1, with a comment and labels.",
    ),
    "flower": Entry(
        _CLI + "processes",
        "Run Flower on the same broker, with basic auth (needs the flower extra).",
    ),
    "keys": Entry(
        _CLI + "keys",
        "API keys of the HTTP API: one per caller, each belonging to a tenant.",
    ),
    "lock": Entry(
        _CLI + "ops",
        "Write (or --check) the lock file of agent versions and exact model pins.",
    ),
    "memory": Entry(
        _CLI + "memory",
        "A session's memory: working (Redis), episodic (the journal), long-term (facts).",
    ),
    "reject": Entry(
        _CLI + "approvals",
        "Reject the approval ID (or a run's first waiting one, given a run id) with a reason.",
    ),
    "release": Entry(
        _CLI + "evals",
        "Write a release record (commit, lock hash, agents' versions and eval figures).",
    ),
    "rollout": Entry(
        _CLI + "rollout",
        "Roll an agent's variant out to a rising share of new runs, with automatic rollback.",
    ),
    "runs": Entry(_CLI + "runs", "List runs, newest first, a page at a time."),
    "stats": Entry(
        _CLI + "stats",
        "Per-agent runs, success rate, latency percentiles, tokens, cost and top errors.",
    ),
    "status": Entry(
        _CLI + "runs",
        "Show a run: status, answer and step timeline (RUN_ID may be its first 8 characters).",
    ),
    "submit": Entry(
        _CLI + "runs",
        "Start AGENT (an agent or a workflow) on TEXT; prints the run id (or, with --wait, "
        "the finished run).",
    ),
    "sweep": Entry(
        _CLI + "runs",
        "Re-drive stuck runs once (what Beat does every CHORDLINE_SWEEP_INTERVAL_SECONDS).",
    ),
    "worker": Entry(
        _CLI + "processes",
        "Run a worker on QUEUES (agents, tools, admin); extra arguments go to Celery.",
    ),
    "workflows": Entry(
        _CLI + "workflows", "List the workflows with their stages' agents and budgets."
    ),
}


class LazyGroup(click.Group):
    """A group whose commands are imported from :data:`COMMANDS` when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if cmd_name not in self.commands and entry is not None:
            # Importing the module runs its `@main.command()` decorators, which add it here.
            importlib.import_module(entry.module)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Lists every command from the registry: no command module is imported to list it."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            entry = COMMANDS.get(name)
            if entry is None:
                command = self.commands[name]
                if command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
            else:
                # A stand-in command shortens the line exactly as the real one would.
                stand_in = click.Command(name, help=entry.summary)
                rows.append((name, stand_in.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)
