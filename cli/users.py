"""``gridgeo user add|key|disable|enable|list``."""

from __future__ import annotations

import click

from cli.db import transaction
from gridgeo.accounts import ROLES, add_user, list_accounts, set_disabled
from gridgeo.audit import cli_actor
from gridgeo.tokens import create_api_key


@click.group("user")
def user_group() -> None:
    """Manage accounts."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--area", "areas", multiple=True, help="Area code (repeatable); not for admin.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given.",
)
def add(name: str, role: str, areas: tuple[str, ...], password: str) -> None:
    """Create an account NAME with a role, scoped to one or more areas."""
    with transaction() as conn:
        acc = add_user(
            conn, name=name, role=role, areas=list(areas), password=password, actor=cli_actor()
        )
    click.echo(f"account {acc.name} ({acc.role}) created; areas: {', '.join(acc.areas) or 'all'}")


@user_group.command("key")
@click.argument("name")
@click.option("--label", default=None, help="What the key is for.")
def key(name: str, label: str | None) -> None:
    """Issue a long-lived API key for NAME; it is shown once and stored only hashed."""
    with transaction() as conn:
        issued = create_api_key(conn, name, label, cli_actor())
    click.echo(f"API key {issued.id} for {name} (shown once; send it as 'X-API-Key'):")
    click.echo(issued.token)


@user_group.command("disable")
@click.argument("name")
def disable(name: str) -> None:
    """Disable NAME: it cannot log in and its tokens and keys stop working at once."""
    with transaction() as conn:
        set_disabled(conn, name, True, cli_actor())
    click.echo(f"account {name} disabled")


@user_group.command("enable")
@click.argument("name")
def enable(name: str) -> None:
    """Enable NAME again."""
    with transaction() as conn:
        set_disabled(conn, name, False, cli_actor())
    click.echo(f"account {name} enabled")


@user_group.command("list")
def list_cmd() -> None:
    """List the accounts."""
    with transaction() as conn:
        for acc in list_accounts(conn):
            state = "disabled" if acc.disabled else "active"
            click.echo(f"{acc.name:<20} {acc.role:<11} {state:<9} {', '.join(acc.areas) or 'all'}")
