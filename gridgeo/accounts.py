"""Accounts, roles and the areas (subtrees of the hierarchy) they are scoped to."""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, text

from gridgeo.audit import record
from gridgeo.errors import Conflict, InvalidInput, NotFound

STAFF = ("admin", "planner", "dispatcher", "patrol", "viewer")
# volunteers (志愿者/党员, 0019) see only the requests open to volunteers in their community:
# a route admits them only by naming the role (api.auth.known_roles: none named, staff only)
ROLES = (*STAFF, "volunteer")
NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 8
_hasher = PasswordHasher()


def use_hasher(hasher: PasswordHasher) -> None:
    """Replace the password hasher (tests use cheap parameters; hashes record their own)."""
    global _hasher
    _hasher = hasher


@dataclass(frozen=True)
class Account:
    """An authenticated account.

    Attributes:
        id: database id.
        name: login name.
        role: one of :data:`ROLES`.
        areas: codes of the areas the account is scoped to (each with everything below it);
            an admin is not limited by area.
        disabled: a disabled account cannot log in and its tokens stop working.
    """

    id: int
    name: str
    role: str
    areas: tuple[str, ...]
    disabled: bool = False

    def covers(self, code: str) -> bool:
        """Whether ``code`` lies in one of the account's areas (itself or below)."""
        return self.role == "admin" or any(code.startswith(a) for a in self.areas)


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password against its hash (constant-time in the library)."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check(name: str, role: str, password: str | None) -> None:
    if not NAME_RE.match(name):
        raise InvalidInput("account name must be 1–64 letters, digits or _ . @ -", field="name")
    if role not in ROLES:
        raise InvalidInput(f"unknown role '{role}'; roles are: {', '.join(ROLES)}", field="role")
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"password must have at least {MIN_PASSWORD} characters", field="password"
        )


def add_user(
    conn: Connection,
    *,
    name: str,
    role: str,
    areas: list[str],
    password: str,
    actor: str,
    demo: bool = False,
) -> Account:
    """Create an account scoped to ``areas`` (grid codes that must exist; none for admin).

    Raises:
        InvalidInput: bad name, role, password or area. Conflict: the name is taken.
    """
    _check(name, role, password)
    if role != "admin" and not areas:
        raise InvalidInput(f"a {role} account needs at least one area (--area CODE)", field="area")
    for code in areas:
        found = conn.execute(
            text("SELECT 1 FROM current_grids WHERE code = :c"), {"c": code}
        ).scalar()
        if found is None:
            raise InvalidInput(f"area '{code}' is not the code of a grid", field="area")
    taken = conn.execute(text("SELECT 1 FROM users WHERE name = :n"), {"n": name}).scalar()
    if taken:
        raise Conflict(f"an account named '{name}' already exists", field="name")
    uid = conn.execute(
        text(
            "INSERT INTO users (name, role, password_hash, demo_password, created_by) "
            "VALUES (:n, :r, :h, :d, :a) RETURNING id"
        ),
        {"n": name, "r": role, "h": hash_password(password), "d": demo, "a": actor},
    ).scalar_one()
    set_areas(conn, uid, areas)
    record(conn, actor, "user.add", "users", name, role=role, areas=areas)
    return Account(uid, name, role, tuple(sorted(areas)))


def set_areas(conn: Connection, user_id: int, areas: list[str]) -> None:
    """Replace the areas of an account."""
    conn.execute(text("DELETE FROM user_areas WHERE user_id = :u"), {"u": user_id})
    if areas:
        conn.execute(
            text("INSERT INTO user_areas (user_id, area_code) VALUES (:u, :c)"),
            [{"u": user_id, "c": c} for c in sorted(set(areas))],
        )


def get_account(conn: Connection, name: str) -> Account:
    """The account called ``name``.

    Raises:
        NotFound: no such account.
    """
    row = conn.execute(
        text(
            """
            SELECT u.id, u.name, u.role, u.disabled,
                   coalesce(array_agg(a.area_code ORDER BY a.area_code)
                            FILTER (WHERE a.area_code IS NOT NULL), '{}')
            FROM users u LEFT JOIN user_areas a ON a.user_id = u.id
            WHERE u.name = :n GROUP BY u.id
            """
        ),
        {"n": name},
    ).first()
    if row is None:
        raise NotFound(f"no account named '{name}'", field="name")
    return Account(row[0], row[1], row[2], tuple(row[4]), row[3])


def list_accounts(conn: Connection) -> list[Account]:
    """All accounts, by name."""
    names = conn.execute(text("SELECT name FROM users ORDER BY name")).scalars().all()
    return [get_account(conn, n) for n in names]


def set_disabled(conn: Connection, name: str, disabled: bool, actor: str) -> Account:
    """Disable (or enable) an account; a disabled account's tokens stop working at once."""
    acc = get_account(conn, name)
    conn.execute(text("UPDATE users SET disabled = :d WHERE id = :u"), {"d": disabled, "u": acc.id})
    record(conn, actor, "user.disable" if disabled else "user.enable", "users", name)
    return get_account(conn, name)


def set_password(conn: Connection, name: str, password: str, actor: str) -> None:
    """Set a new password (no longer a demo password)."""
    _check(name, "viewer", password)
    acc = get_account(conn, name)
    conn.execute(
        text("UPDATE users SET password_hash = :h, demo_password = false WHERE id = :u"),
        {"h": hash_password(password), "u": acc.id},
    )
    record(conn, actor, "user.password", "users", name)


def demo_passwords_in_use(conn: Connection) -> list[str]:
    """Names of enabled accounts that still have their documented demo password."""
    return list(
        conn.execute(
            text("SELECT name FROM users WHERE demo_password AND NOT disabled ORDER BY name")
        ).scalars()
    )
