"""`chordline keys create|list|revoke`: the tenants' API keys (stored hashed, shown once)."""

from __future__ import annotations

import click
from rich.table import Table

from orchestration.cli.base import console, main, open_client

__all__ = ["keys"]


@main.group()
def keys() -> None:
    """API keys of the HTTP API: one per caller, each belonging to a tenant."""


@keys.command("create")
@click.option("--tenant", required=True, help="the tenant the key's runs belong to")
@click.option("--name", required=True, help="a label, recorded as who decided approvals")
def create(tenant: str, name: str) -> None:
    """Create a key; it is printed once, alone on the last line (scripts take that line)."""
    from orchestration.api.keys import create_key

    made = create_key(open_client().runtime.journal, tenant=tenant, name=name)
    console.print(
        f"key {made.record.prefix} ({made.record.name}) for tenant {made.record.tenant}; "
        "it is shown only now, keep it secret:",
        highlight=False,
    )
    click.echo(made.secret)


@keys.command("list")
@click.option("--tenant", default=None)
def list_(tenant: str | None) -> None:
    """List keys (never the keys themselves)."""
    from orchestration.api.keys import list_keys

    table = Table(header_style="bold")
    for column in ("id", "prefix", "tenant", "name", "created", "revoked"):
        table.add_column(column)
    for key in list_keys(open_client().runtime.journal, tenant):
        revoked = key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else ""
        table.add_row(key.id, key.prefix, key.tenant, key.name,
                      key.created_at.isoformat(timespec="seconds"), revoked)  # fmt: skip
    console.print(table)


@keys.command("revoke")
@click.argument("key")
def revoke(key: str) -> None:
    """Revoke a key by its id, prefix or name; it answers 401 from then on."""
    from orchestration.api.keys import revoke_key

    count = revoke_key(open_client().runtime.journal, key)
    if count == 0:
        raise click.ClickException(f"no live key matches {key!r} (see `chordline keys list`)")
    console.print(f"revoked {count} key(s)")
