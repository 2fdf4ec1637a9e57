"""A resident raises a matter (居民提事): no account, a private link, abuse limits.

A resident on ``/resident`` sends a position (GPS or a pin) or a community chosen by name, a
category, a description, up to :data:`~gridgeo.incidents.policy.RESIDENT_MAX_PHOTOS` photos and
optionally a phone number for the callback. The matter waits as ``submitted`` (待受理) for a
dispatcher of its area (:mod:`gridgeo.residents.decide`); it is not an incident until then, so
nothing of it reaches a map, a list or a public answer before a person has read it.

The private link's token is chosen by the phone (so that the phone knows its link while the
report is still in its offline outbox, and a retry carries the same one) or by the server; only
its SHA-256 is stored, as with session tokens. The tracking number is what the resident quotes
on the telephone; it opens nothing by itself.

Abuse: at most ``resident_per_address_per_day`` matters from one client address and
``resident_per_phone_per_day`` with one phone number in 24 hours (429 naming the limit); the
body and photo limits of staff reports apply (``GRIDGEO_MAX_BODY_BYTES``,
``GRIDGEO_PHOTO_MAX_BYTES``, the checks of :mod:`gridgeo.incidents.photos`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.assign import locate
from gridgeo.audit import record
from gridgeo.errors import InvalidInput, TooManyAttempts
from gridgeo.incidents.photos import Photo, PhotoStore
from gridgeo.incidents.policy import MAX_DESCRIPTION, MAX_KEY, RESIDENT_ACTOR, RESIDENT_MAX_PHOTOS
from gridgeo.incidents.queries import list_categories
from gridgeo.incidents.report import Report, report_point

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")  # ≥ 32 base64url characters: ≥ 192 bits
PHONE_RE = re.compile(r"^\+?[0-9]{5,20}$")
COMMUNITY_LEVEL = "community"
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Limits:
    """The abuse limits (``GRIDGEO_RESIDENT_PER_*_PER_DAY``) and the snap distance."""

    per_address: int
    per_phone: int
    snap_m: float


@dataclass(frozen=True)
class MatterIn:
    """What a resident sends: a point (``lon``/``lat``) or a ``community`` code, and the rest."""

    category: str
    description: str
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    coord_system: str = "wgs84"
    community: str | None = None
    phone: str | None = None
    token: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Raised:
    """A raised matter: its tracking number, the link's token when the server chose it."""

    id: int
    tracking: str
    created: bool
    token: str | None = None


def digest(token: str) -> bytes:
    """The stored form of a matter's link token."""
    return hashlib.sha256(token.encode()).digest()


def actor(tracking: str) -> str:
    """How a resident is named on a timeline: by the matter's tracking number, never by name."""
    return RESIDENT_ACTOR + tracking


def normal_phone(phone: str | None) -> str | None:
    """A phone number without spaces, dashes and brackets; None when not given.

    Raises:
        InvalidInput: anything but 5–20 digits (an optional leading +).
    """
    if phone is None or not phone.strip():
        return None
    digits = re.sub(r"[\s\-()]", "", phone)
    if not PHONE_RE.match(digits):
        raise InvalidInput(
            "phone must be 5 to 20 digits (an optional leading +), e.g. 13800138000",
            code="bad_phone",
            zh="电话号码应为 5 至 20 位数字（可带 +），例如 13800138000",
            field="phone",
        )
    return digits


def public_categories(conn: Connection) -> list[dict[str, Any]]:
    """The categories a resident chooses from: key and labels of those in use."""
    return [{k: c[k] for k in ("key", "label_zh", "label_en")} for c in list_categories(conn)]


def communities(conn: Connection, q: str = "", limit: int = 50) -> list[dict[str, str]]:
    """Communities whose name or code contains ``q``: code, name and the street's name."""
    rows = conn.execute(
        text(
            "SELECT g.code, g.name, coalesce(p.name, '') AS street FROM current_grids g "
            "JOIN levels l ON l.id = g.level_id "
            "LEFT JOIN current_grids p ON p.id = g.parent_id "
            "WHERE l.key = :level AND (g.name ILIKE :q OR g.code LIKE :q) "
            "ORDER BY g.name, g.code LIMIT :n"
        ),
        {"level": COMMUNITY_LEVEL, "q": f"%{q.strip()}%", "n": limit},
    ).mappings()
    return [dict(r) for r in rows]


def _check(conn: Connection, m: MatterIn) -> None:
    if not m.description.strip():
        raise InvalidInput(
            "say what the matter is in 'description'",
            code="description_required",
            zh="请填写事项描述",
            field="description",
        )
    if len(m.description) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"description has {len(m.description)} characters; at most {MAX_DESCRIPTION}",
            code="description_too_long",
            zh=f"描述有 {len(m.description)} 个字符，最多 {MAX_DESCRIPTION} 个",
            field="description",
        )
    keys = [c["key"] for c in public_categories(conn)]
    if m.category not in keys:
        raise InvalidInput(
            f"unknown category '{m.category}'; categories are: {', '.join(keys)}",
            code="unknown_category",
            zh=f"类别“{m.category}”不存在；可用类别：{'、'.join(keys)}",
            field="category",
        )
    if m.token is not None and not TOKEN_RE.match(m.token):
        raise InvalidInput(
            "token must be 32 to 128 characters of A–Z, a–z, 0–9, _ and -", field="token"
        )
    if m.idempotency_key is not None and not 0 < len(m.idempotency_key) <= MAX_KEY:
        raise InvalidInput(f"Idempotency-Key must be 1–{MAX_KEY} characters", field="key")


def _where(conn: Connection, m: MatterIn, snap_m: float) -> tuple[str, str | None, float | None]:
    """The area code the matter is queued at, its point (EWKT) and accuracy.

    Raises:
        InvalidInput: neither a point nor a community, both, an unknown community, or a
            point farther than ``snap_m`` from every grid.
    """
    has_point = m.lon is not None or m.lat is not None
    if has_point == (m.community is not None):
        raise InvalidInput(
            "give a position (lon and lat) or a community, not both",
            code="position_or_community",
            zh="请提供位置（经纬度）或选择社区，二者选一",
            field="location",
        )
    if m.community is not None:
        found = [c for c in communities(conn, m.community) if c["code"] == m.community]
        if not found:
            raise InvalidInput(
                f"unknown community '{m.community}'",
                code="unknown_community",
                zh=f"社区“{m.community}”不存在",
                field="community",
            )
        return m.community, None, None
    if m.lon is None or m.lat is None:
        raise InvalidInput("a position needs both lon and lat", field="lat" if m.lon else "lon")
    r = Report(m.lon, m.lat, m.category, accuracy_m=m.accuracy_m, coord_system=m.coord_system)
    lon, lat = report_point(r)  # the checks of a staff report, and the datum
    loc = locate(conn, lon, lat)
    point = f"SRID=4326;POINT({lon!r} {lat!r})"
    if loc.leaf is not None:
        return loc.leaf.code, point, m.accuracy_m
    near = loc.nearest
    if near is not None and near.distance_m <= snap_m:
        return near.code, point, m.accuracy_m
    raise InvalidInput(
        f"the point ({lon:.6f}, {lat:.6f}) is outside every grid; choose your community instead",
        code="outside_grids",
        zh="该位置不在任何网格内，请改为选择所在社区",
        field="location",
    )


def _existing(conn: Connection, key: str | None) -> Raised | None:
    if key is None:
        return None
    row = conn.execute(
        text("SELECT id, tracking FROM resident_matters WHERE idempotency_key = :k"), {"k": key}
    ).first()
    return Raised(int(row[0]), row[1], False) if row is not None else None


def _check_limits(
    conn: Connection, address: str, phone: str | None, limits: Limits, now: datetime
) -> None:
    """Refuse a matter over the day's limit for the address or the phone number.

    Raises:
        TooManyAttempts: over either limit (429).
    """
    row = conn.execute(
        text(
            "SELECT count(*) FILTER (WHERE client_address = :a) AS by_address, "
            "count(*) FILTER (WHERE phone = :p) AS by_phone FROM resident_matters "
            "WHERE submitted_at > :since AND (client_address = :a OR phone = :p)"
        ),
        {"a": address, "p": phone, "since": now - DAY},
    ).one()
    if row.by_address >= limits.per_address:
        raise TooManyAttempts(
            f"at most {limits.per_address} matters a day from one address; try again tomorrow "
            "or call the hotline",
            code="too_many_from_address",
            zh=f"同一网络地址每天最多提交 {limits.per_address} 件，请明天再试或拨打热线",
            field="address",
        )
    if phone is not None and row.by_phone >= limits.per_phone:
        raise TooManyAttempts(
            f"at most {limits.per_phone} matters a day with one phone number",
            code="too_many_from_phone",
            zh=f"同一电话号码每天最多提交 {limits.per_phone} 件",
            field="phone",
        )


INSERT_SQL = """
WITH n AS (SELECT nextval(pg_get_serial_sequence('resident_matters', 'id')) AS id)
INSERT INTO resident_matters (id, tracking, token_hash, location, accuracy_m, area_code,
    category, description, phone, client_address, idempotency_key, submitted_at)
SELECT n.id, 'R' || lpad(n.id::text, 6, '0'), :h, CAST(:pt AS geometry), :acc, :area, :cat,
    :descr, :phone, :addr, :key, :now FROM n
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id, tracking
"""
PHOTO_SQL = """
INSERT INTO resident_matter_photos (matter_id, sha256, bytes, mime, width, height, gps_removed)
VALUES (:m, :sha, :bytes, :mime, :w, :h, :gps) ON CONFLICT (matter_id, sha256) DO NOTHING
"""


def raise_matter(
    conn: Connection,
    m: MatterIn,
    *,
    address: str,
    now: datetime,
    limits: Limits,
    photos: Sequence[Photo] = (),
    store: PhotoStore | None = None,
) -> Raised:
    """Store a resident's matter as ``submitted``, or find the one under the same key.

    Args:
        conn: a connection in the caller's transaction.
        m: what the resident sent.
        address: the client's address (for the day's limit; personal data, purged).
        now: the time of the report.
        limits: the day's limits and the snap distance.
        photos: checked photos (:func:`gridgeo.incidents.photos.check_photos`).
        store: where the photo files go.

    Returns:
        The matter; ``token`` is set when the server chose it (the only time it is shown).

    Raises:
        InvalidInput: a bad field, more photos than allowed. TooManyAttempts: over a limit.
    """
    _check(conn, m)
    phone = normal_phone(m.phone)
    if len(photos) > RESIDENT_MAX_PHOTOS:
        raise InvalidInput(
            f"{len(photos)} photos sent; at most {RESIDENT_MAX_PHOTOS}",
            code="too_many_photos",
            zh=f"上传了 {len(photos)} 张照片，最多 {RESIDENT_MAX_PHOTOS} 张",
            field="photo",
        )
    found = _existing(conn, m.idempotency_key)
    if found is not None:  # a retry: nothing stored, nothing counted against the limits
        return found
    area, point, accuracy = _where(conn, m, limits.snap_m)
    _check_limits(conn, address, phone, limits, now)
    token = m.token or secrets.token_urlsafe(32)
    row = conn.execute(
        text(INSERT_SQL),
        {"h": digest(token), "pt": point, "acc": accuracy, "area": area, "cat": m.category,
         "descr": m.description, "phone": phone, "addr": address, "key": m.idempotency_key,
         "now": now},
    ).first()  # fmt: skip
    if row is None:  # a concurrent retry stored the key first
        again = _existing(conn, m.idempotency_key)
        if again is None:
            raise RuntimeError("a matter's key conflicted and vanished")
        return again
    matter_id, tracking = int(row[0]), row[1]
    if photos:
        if store is None:
            raise ValueError("photos need a store")
        for p in photos:
            store.put(p)  # the file first: a row never names a missing file
            conn.execute(
                text(PHOTO_SQL),
                {"m": matter_id, "sha": p.sha256, "bytes": len(p.data), "mime": p.mime,
                 "w": p.width, "h": p.height, "gps": p.gps_removed},
            )  # fmt: skip
    record(conn, actor(tracking), "resident.submit", "resident_matters", str(matter_id))
    return Raised(matter_id, tracking, True, None if m.token else token)
