"""The clock: what time it is, in one place.

The app holds one (``app.state.clock``, :func:`utcnow` unless a test sets another); its routes
and its escalation job read that, so a test moves time for both at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)
