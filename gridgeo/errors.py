"""The core's exception hierarchy; the API maps each class to an HTTP status in one table."""

from __future__ import annotations

import re
from typing import Any


class GridgeoError(Exception):
    """Base of every error gridgeo raises on purpose.

    Attributes:
        message: a sentence saying what was wrong and where (English).
        code: a stable, machine-readable word for what went wrong (``outside_grids``…); by
            default the class's name in snake case (``invalid_input``).
        zh: the same sentence in Chinese, for the people who read it on the phone and desk
            pages (None: English only).
        detail: optional structured context safe to show to the caller.
    """

    def __init__(
        self, message: str, *, code: str | None = None, zh: str | None = None, **detail: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()
        self.zh = zh
        self.detail = detail

    def messages(self) -> dict[str, str]:
        """The message by language: ``en`` always, ``zh`` when there is one."""
        return {"en": self.message} | ({"zh": self.zh} if self.zh else {})


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


DENIED = "this account is not permitted to do this"
DENIED_ZH = "该账号无权进行此操作"


def denied() -> Forbidden:
    """The refusal of a role or area, in both languages (code ``not_permitted``)."""
    return Forbidden(DENIED, code="not_permitted", zh=DENIED_ZH)
