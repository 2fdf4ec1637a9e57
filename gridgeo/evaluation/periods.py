"""Periods of the evaluation: a day, week, month, quarter or date range, in the city's time.

A period is half-open, ``[start, end)``, its bounds local midnights of the configured time zone
(``GRIDGEO_EVALUATION_TIMEZONE``, Asia/Shanghai by default): a month of a Chinese district
office starts at 00:00 Beijing time, not UTC. A trend cuts a range into weeks (ISO, Monday
first) or months.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gridgeo.errors import InvalidInput

DEFAULT_TZ = "Asia/Shanghai"
BUCKETS = ("day", "week", "month")


@dataclass(frozen=True)
class Period:
    """``[start, end)`` with a label; ``first``/``last`` are its first and last days."""

    start: datetime
    end: datetime
    label: str

    @property
    def first(self) -> date:
        """The first day."""
        return self.start.date()

    @property
    def last(self) -> date:
        """The last day (inclusive)."""
        return (self.end - timedelta(days=1)).date()

    def previous(self) -> Period:
        """The period of the same kind just before (a month before a month, …)."""
        if self.label[4:5] == "-" and len(self.label) == 7:  # a month
            y, m = int(self.label[:4]), int(self.label[5:])
            return month(y - (m == 1), 12 if m == 1 else m - 1, self.start.tzinfo)
        if re.fullmatch(r"\d{4}Q[1-4]", self.label):
            y, q = int(self.label[:4]), int(self.label[5])
            return quarter(y - (q == 1), 4 if q == 1 else q - 1, self.start.tzinfo)
        length = self.last - self.first + timedelta(days=1)
        return days(self.first - length, self.first - timedelta(days=1), self.start.tzinfo)

    def to_dict(self) -> dict[str, str]:
        """``{"label", "from", "to"}`` with the first and last days."""
        return {"label": self.label, "from": self.first.isoformat(), "to": self.last.isoformat()}


def zone(name: str = DEFAULT_TZ) -> ZoneInfo:
    """The time zone ``name``.

    Raises:
        InvalidInput: an unknown zone.
    """
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone '{name}'", field="timezone") from exc


def _midnight(day: date, tz: object) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)  # type: ignore[arg-type]


def days(first: date, last: date, tz: object) -> Period:
    """The days ``first`` to ``last`` (inclusive).

    Raises:
        InvalidInput: ``last`` before ``first``.
    """
    if last < first:
        raise InvalidInput(f"the range ends ({last}) before it starts ({first})", field="to")
    label = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
    return Period(_midnight(first, tz), _midnight(last + timedelta(days=1), tz), label)


def month(year: int, m: int, tz: object) -> Period:
    """The calendar month ``year``-``m``."""
    nxt = date(year + (m == 12), 1 if m == 12 else m + 1, 1)
    return Period(_midnight(date(year, m, 1), tz), _midnight(nxt, tz), f"{year:04d}-{m:02d}")


def quarter(year: int, q: int, tz: object) -> Period:
    """The quarter ``q`` (1–4) of ``year``."""
    first = date(year, 3 * q - 2, 1)
    nxt = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return Period(_midnight(first, tz), _midnight(nxt, tz), f"{year:04d}Q{q}")


def parse_period(text: str, tz: object) -> Period:
    """A period from ``2026-11`` (month), ``2026Q4``, ``2026-W47`` (ISO week) or ``2026-11-05``.

    Raises:
        InvalidInput: none of these forms.
    """
    t = text.strip()
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", t):
            return month(int(m[1]), int(m[2]), tz)
        if m := re.fullmatch(r"(\d{4})[Qq]([1-4])", t):
            return quarter(int(m[1]), int(m[2]), tz)
        if m := re.fullmatch(r"(\d{4})-?W(\d{1,2})", t):
            monday = date.fromisocalendar(int(m[1]), int(m[2]), 1)
            p = days(monday, monday + timedelta(days=6), tz)
            return Period(p.start, p.end, f"{int(m[1]):04d}-W{int(m[2]):02d}")
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
            day = date.fromisoformat(t)
            return days(day, day, tz)
    except ValueError:
        pass
    raise InvalidInput(
        f"'{text}' is not a period: use a month 2026-11, a quarter 2026Q4, a week 2026-W47 or "
        "a day 2026-11-05",
        field="period",
    )


def month_of(now: datetime, tz: object) -> Period:
    """The month ``now`` falls in (local time)."""
    local = now.astimezone(tz)  # type: ignore[arg-type]
    return month(local.year, local.month, tz)


def last_months(now: datetime, tz: object, n: int = 12) -> Period:
    """The ``n`` months up to and including the one ``now`` falls in."""
    this = month_of(now, tz)
    k = this.first.year * 12 + this.first.month - 1 - (n - 1)
    first = month(k // 12, k % 12 + 1, tz)
    return Period(first.start, this.end, f"{first.label}..{this.label}")


def buckets(period: Period, size: str) -> list[Period]:
    """``period`` cut into days, ISO weeks or months (the first and last may be partial).

    Raises:
        InvalidInput: an unknown size, or more than 400 buckets.
    """
    if size not in BUCKETS:
        raise InvalidInput(f"bucket must be one of {', '.join(BUCKETS)}", field="bucket")
    tz = period.start.tzinfo
    out: list[Period] = []
    day = period.first
    while day <= period.last:
        if size == "day":
            nxt = day + timedelta(days=1)
            label = day.isoformat()
        elif size == "week":
            nxt = day + timedelta(days=7 - day.weekday())
            iso = day.isocalendar()
            label = f"{iso.year:04d}-W{iso.week:02d}"
        else:
            nxt = date(day.year + (day.month == 12), 1 if day.month == 12 else day.month + 1, 1)
            label = f"{day.year:04d}-{day.month:02d}"
        nxt = min(nxt, period.last + timedelta(days=1))
        out.append(Period(_midnight(day, tz), _midnight(nxt, tz), label))
        day = nxt
        if len(out) > 400:
            raise InvalidInput(
                "a trend has at most 400 buckets; choose a larger one", field="bucket"
            )
    return out
