"""The core's exception hierarchy; the API maps each class to an HTTP status in one table."""

from __future__ import annotations

from typing import Any


class GridgeoError(Exception):
    """Base of every error gridgeo raises on purpose.

    Attributes:
        message: a sentence saying what was wrong and where.
        detail: optional structured context safe to show to the caller.
    """

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidInput(GridgeoError):
    """The caller's input is malformed or out of range."""


class NotFound(GridgeoError):
    """The named object does not exist."""


class Conflict(GridgeoError):
    """The request conflicts with the stored state."""


class DatabaseUnavailable(GridgeoError):
    """The database cannot be reached or lacks something it needs (such as PostGIS)."""


class SettingsError(GridgeoError):
    """A setting is refused at load: unknown, out of range, or unsafe in production."""


class EmbeddedClusterError(GridgeoError):
    """The embedded PostgreSQL cluster could not be set up, started or stopped."""


class Unauthorized(GridgeoError):
    """No valid credentials: a wrong password, or an expired, forged or revoked token."""


class Forbidden(GridgeoError):
    """Valid credentials, but the role or area does not allow the request."""


class TooManyAttempts(GridgeoError):
    """Too many failed logins for the account or the address; try again later."""
