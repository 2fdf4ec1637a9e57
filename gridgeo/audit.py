"""The audit log: who changed what, when."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text


def record(
    conn: Connection,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | None = None,
    **detail: Any,
) -> None:
    """Append one entry to the audit log in the caller's transaction.

    Args:
        conn: connection in the transaction that makes the change.
        actor: who (account name, or ``cli:<os user>`` for the command line).
        action: what (``import``, ``assign``, ``user.add`` …).
        entity: the kind of object changed (``grids``, ``households``, ``users`` …).
        entity_id: which object, when it is one.
        **detail: JSON-able facts (counts, fields); never passwords, tokens or addresses.
    """
    conn.execute(
        text(
            "INSERT INTO audit_log (actor, action, entity, entity_id, detail) "
            "VALUES (:actor, :action, :entity, :entity_id, CAST(:detail AS jsonb))"
        ),
        {
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "detail": json.dumps(detail, ensure_ascii=False, default=str),
        },
    )


def cli_actor() -> str:
    """The actor name of a command-line change: ``cli:<os user>``."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"
