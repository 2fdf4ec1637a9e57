"""Bearer tokens (short-lived) and API keys (long-lived), stored only as SHA-256 hashes.

Opaque random tokens rather than JWTs: every request looks the hash up, so revoking a token or
disabling an account takes effect at once.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.accounts import Account, get_account, verify_password
from gridgeo.audit import record
from gridgeo.errors import NotFound, TooManyAttempts

SESSION_PREFIX = "ggs_"
KEY_PREFIX = "ggk_"
# A hash to verify against when the account does not exist, so that timing says nothing.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$TF4vtgIr0Z1H2/mnzEgfMA$Xv5A4ULoDsrPXByO4VpCOkQOjrJw9hQSZ+liTP9KnQY"


@dataclass(frozen=True)
class RateLimit:
    """How many failed logins are allowed per account and per address in a window."""

    per_account: int
    per_address: int
    window_s: int


@dataclass(frozen=True)
class IssuedToken:
    """A token as handed out once; only its hash is stored."""

    id: int
    token: str
    kind: str
    expires_at: datetime | None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def issue(
    conn: Connection, user_id: int, kind: str, ttl: timedelta | None, label: str | None = None
) -> IssuedToken:
    """Store the hash of a new random token of ``kind`` (``session`` or ``api_key``)."""
    token = (SESSION_PREFIX if kind == "session" else KEY_PREFIX) + secrets.token_urlsafe(32)
    row = conn.execute(
        text(
            """
            INSERT INTO tokens (user_id, kind, token_hash, label, expires_at)
            VALUES (:u, :k, :h, :l, CASE WHEN CAST(:ttl AS float8) IS NULL THEN NULL
                                         ELSE now() + make_interval(secs => CAST(:ttl AS float8)) END)
            RETURNING id, expires_at
            """
        ),
        {
            "u": user_id,
            "k": kind,
            "h": _digest(token),
            "l": label,
            "ttl": ttl.total_seconds() if ttl else None,
        },
    ).one()
    return IssuedToken(row[0], token, kind, row[1])


def login(
    conn: Connection,
    name: str,
    password: str,
    address: str,
    ttl: timedelta,
    limit: RateLimit,
) -> IssuedToken | None:
    """Check a password and issue a session token; record and rate-limit failures.

    Returns:
        The token, or None for a wrong name/password or a disabled account (the caller
        commits, so that the failure is recorded, and answers 401).

    Raises:
        TooManyAttempts: too many recent failures for the account or the address.
    """
    counts = conn.execute(
        text(
            """
            SELECT count(*) FILTER (WHERE username = :n), count(*) FILTER (WHERE address = :a)
            FROM login_failures
            WHERE at > now() - make_interval(secs => :w) AND (username = :n OR address = :a)
            """
        ),
        {"n": name, "a": address, "w": limit.window_s},
    ).one()
    if counts[0] >= limit.per_account or counts[1] >= limit.per_address:
        raise TooManyAttempts(
            f"too many failed logins; try again in {limit.window_s // 60} minutes",
            retry_after=limit.window_s,
        )
    row = conn.execute(
        text("SELECT id, password_hash, disabled FROM users WHERE name = :n"), {"n": name}
    ).first()
    ok = verify_password(row[1] if row else _DUMMY_HASH, password) and row is not None
    if not ok or row is None or row[2]:
        conn.execute(
            text("INSERT INTO login_failures (username, address) VALUES (:n, :a)"),
            {"n": name, "a": address},
        )
        return None
    conn.execute(text("DELETE FROM login_failures WHERE username = :n"), {"n": name})
    return issue(conn, row[0], "session", ttl, None)


def create_api_key(conn: Connection, name: str, label: str | None, actor: str) -> IssuedToken:
    """Issue a long-lived API key for an account (shown once)."""
    acc = get_account(conn, name)
    issued = issue(conn, acc.id, "api_key", None, label)
    record(conn, actor, "key.create", "tokens", str(issued.id), user=name, label=label)
    return issued


def revoke(conn: Connection, token_id: int, actor: Account) -> None:
    """Revoke a token or key: one's own, or anyone's for an admin.

    Raises:
        NotFound: no such token among those the actor may revoke.
    """
    done = conn.execute(
        text(
            """
            UPDATE tokens SET revoked_at = now()
            WHERE id = :i AND revoked_at IS NULL AND (user_id = :u OR :admin)
            """
        ),
        {"i": token_id, "u": actor.id, "admin": actor.role == "admin"},
    ).rowcount
    if not done:
        raise NotFound(f"no active token or key with id {token_id}", field="id")
    record(conn, actor.name, "key.revoke", "tokens", str(token_id))


# In the driver's style: the sync path and the async one (api.statements) send the same text.
RESOLVE_SQL = """
    SELECT t.id AS token_id, u.id, u.name, u.role, u.disabled,
           ARRAY(SELECT a.area_code FROM user_areas a WHERE a.user_id = u.id
                 ORDER BY a.area_code) AS areas
    FROM tokens t JOIN users u ON u.id = t.user_id
    WHERE t.token_hash = %(h)s AND t.revoked_at IS NULL AND NOT u.disabled
      AND (t.expires_at IS NULL OR t.expires_at > now())
"""


def resolve_params(token: str) -> dict[str, bytes] | None:
    """The parameters of :data:`RESOLVE_SQL` for a token; None for one that cannot exist."""
    if not token.startswith((SESSION_PREFIX, KEY_PREFIX)) or len(token) > 200:
        return None
    return {"h": _digest(token)}


def resolved(row: Mapping[str, Any] | None) -> tuple[Account, int] | None:
    """The account and token id of a row of :data:`RESOLVE_SQL` (None: no such token)."""
    if row is None:
        return None
    account = Account(row["id"], row["name"], row["role"], tuple(row["areas"]), row["disabled"])
    return account, int(row["token_id"])


def resolve(conn: Connection, token: str) -> tuple[Account, int] | None:
    """The account and token id behind a bearer token; None if unknown, expired or revoked.

    One query: the token, its account and the account's areas (every request pays for it).
    """
    params = resolve_params(token)
    if params is None:
        return None
    row = conn.exec_driver_sql(RESOLVE_SQL, params).mappings().first()
    return resolved(dict(row) if row is not None else None)


def list_keys(conn: Connection, name: str) -> list[dict[str, object]]:
    """The API keys of an account (never the keys themselves)."""
    rows = conn.execute(
        text(
            """
            SELECT t.id, t.label, t.created_at, t.revoked_at FROM tokens t
            JOIN users u ON u.id = t.user_id WHERE u.name = :n AND t.kind = 'api_key'
            ORDER BY t.id
            """
        ),
        {"n": name},
    ).all()
    return [{"id": r[0], "label": r[1], "created_at": r[2], "revoked_at": r[3]} for r in rows]
