"""Accounts, their areas and tokens, and the audit log (0002)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridgeo.models.base import Base, Detail, Id, Now

# --- Accounts and the audit log (0002) --------------------------------------------------------


class User(Base):
    """An account: its role and password hash (none for an account that logs in by key)."""

    __tablename__ = "users"

    id: Mapped[Id]
    name: Mapped[str] = mapped_column(unique=True)
    role: Mapped[str]
    password_hash: Mapped[str | None]
    disabled: Mapped[bool] = mapped_column(server_default=false())
    demo_password: Mapped[bool] = mapped_column(server_default=false())
    created_at: Mapped[Now]
    created_by: Mapped[str | None]

    __table_args__ = (
        CheckConstraint(
            # volunteer: 0019
            "role IN ('admin', 'planner', 'dispatcher', 'patrol', 'viewer', 'volunteer')",
            name="users_role",
        ),
        CheckConstraint("name ~ '^[A-Za-z0-9_.@-]{1,64}$'", name="users_name"),
    )


class UserArea(Base):
    """An area (by code) an account is limited to; an account with none sees everything."""

    __tablename__ = "user_areas"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    area_code: Mapped[str] = mapped_column(primary_key=True)


class Token(Base):
    """A login session or an API key, stored as the hash of its secret."""

    __tablename__ = "tokens"

    id: Mapped[Id]
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str]
    token_hash: Mapped[bytes] = mapped_column(unique=True)
    label: Mapped[str | None]
    created_at: Mapped[Now]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("kind IN ('session', 'api_key')", name="tokens_kind"),
        Index("ix_tokens_user_id", "user_id"),
    )


class LoginFailure(Base):
    """A failed login, by account name and address, for throttling."""

    __tablename__ = "login_failures"

    id: Mapped[Id]
    at: Mapped[Now]
    username: Mapped[str]
    address: Mapped[str]

    __table_args__ = (
        Index("ix_login_failures_username_at", "username", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
    )


class AuditEntry(Base):
    """One audited action: who did what to which entity, with details."""

    __tablename__ = "audit_log"

    id: Mapped[Id]
    at: Mapped[Now]
    actor: Mapped[str]
    action: Mapped[str]
    entity: Mapped[str]
    entity_id: Mapped[str | None]
    detail: Mapped[Detail]

    # BRIN since 0011: the log only grows, in time order
    __table_args__ = (Index("ix_audit_log_at", "at", postgresql_using="brin"),)
