"""`chordline keys create|list|revoke`: the tenants' API keys (stored hashed, shown once), each
with its scopes (read, submit, approve, admin)."""

from __future__ import annotations

import click

from orchestration.cli.base import console, main, open_client
from orchestration.cli.tables import Column, fitted

__all__ = ["keys"]


@main.group()
def keys() -> None:
    """API keys of the HTTP API: one per caller, each belonging to a tenant."""


@keys.command("create")
@click.option(
    "--tenant",
    required=True,
    help="the tenant the key's runs belong to; '*' for an operator's key (every tenant's)",
)
@click.option("--name", required=True, help="a label, recorded as who decided approvals")
@click.option(
    "--scope",
    "scopes",
    default="read,submit,approve,admin",
    show_default=True,
    help="what the key may do, comma-separated: read, submit, approve, admin (admin: all)",
)
def create(tenant: str, name: str, scopes: str) -> None:
    """Create a key; it is printed once, alone on the last line (scripts take that line)."""
    from orchestration.api.keys import create_key
    from orchestration.api.scopes import parse_scopes

    granted = parse_scopes(scopes)
    made = create_key(open_client().runtime.journal, tenant=tenant, name=name, scopes=granted)
    console.print(
        f"key {made.record.prefix} ({made.record.name}) for tenant {made.record.tenant}, "
        f"scopes {','.join(made.record.scopes)}; it is shown only now, keep it secret:",
        highlight=False,
        markup=False,
    )
    click.echo(made.secret)


@keys.command("list")
@click.option("--tenant", default=None)
@click.option("--json", "as_json", is_flag=True, help="print the keys as JSON")
def list_(tenant: str | None, as_json: bool) -> None:
    """List keys (never the keys themselves)."""
    from rich.markup import escape

    from orchestration.api.keys import list_keys

    found = list_keys(open_client().runtime.journal, tenant)
    if as_json:
        from orchestration.cli.output import echo_json

        listed = [
            {
                "id": k.id,
                "prefix": k.prefix,
                "tenant": k.tenant,
                "name": k.name,
                "scopes": list(k.scopes),
                "created_at": k.created_at.isoformat(),
                "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            }
            for k in found
        ]
        echo_json({"keys": listed})
        return
    columns = [
        *(Column(c) for c in ("id", "prefix", "tenant", "name")),
        Column("scopes", prose=True),
        *(Column(c) for c in ("created", "revoked")),
    ]
    when = "%Y-%m-%d %H:%M:%S"
    rows = [
        [
            k.id,
            escape(k.prefix),
            escape(k.tenant),
            escape(k.name),
            " ".join(k.scopes),
            f"{k.created_at:{when}}",
            f"{k.revoked_at:{when}}" if k.revoked_at else "",
        ]
        for k in found
    ]
    console.print(fitted(columns, rows, console.width, caption="times in UTC"))


@keys.command("revoke")
@click.argument("key")
def revoke(key: str) -> None:
    """Revoke a key by its id, prefix or name; it answers 401 from then on."""
    from orchestration.api.keys import revoke_key

    count = revoke_key(open_client().runtime.journal, key)
    if count == 0:
        raise click.ClickException(f"no live key matches {key!r} (see `chordline keys list`)")
    console.print(f"revoked {count} key(s)")
