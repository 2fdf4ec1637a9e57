"""Incident photos: checked by their bytes, stored outside the database by checksum.

A photo is checked before anything is stored: its size, its type by magic bytes (JPEG, PNG or
WebP, whatever the client declared), that Pillow decodes it whole, and its pixel count (a
decompression bomb is refused before decoding). GPS tags may be removed from its EXIF, and a
small JPEG thumbnail is made. Files are content-addressed under the photo folder
(``ab/cd/<sha256>.jpg`` and ``ab/cd/<sha256>.thumb.jpg``) and written atomically (a temporary
file renamed into place) *before* the row that names them is inserted in the caller's
transaction: a failed transaction leaves at most an unreferenced file, never a row that points
at a missing or half-written one.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps
from sqlalchemy import Connection, text

from gridgeo.accounts import Account
from gridgeo.errors import InvalidInput, NotFound, denied

EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
PIL_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PIXELS = 40_000_000  # 40 MP: more than any phone camera, far less than a bomb
MAX_PER_REQUEST = 6
THUMB_PX = 320
GPS_IFD = 0x8825


@dataclass(frozen=True)
class Upload:
    """A file as received: its name (for messages), declared type and bytes."""

    filename: str
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class Photo:
    """A checked photo, ready to store."""

    sha256: str
    data: bytes
    mime: str
    width: int
    height: int
    gps_removed: bool
    thumb: bytes


def sniff(data: bytes) -> str | None:
    """The image type named by the first bytes (magic numbers), None for anything else."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _without_gps(img: Image.Image, mime: str) -> bytes | None:
    """The image re-saved without EXIF GPS tags; None when it has none."""
    exif = img.getexif()
    if GPS_IFD not in exif:
        return None
    del exif[GPS_IFD]
    out = io.BytesIO()
    extra: dict[str, Any] = {"exif": exif.tobytes()}
    if img.info.get("icc_profile"):
        extra["icc_profile"] = img.info["icc_profile"]
    if mime == "image/jpeg":
        # keep the original quantisation: no visible loss from the re-save
        img.save(out, "JPEG", quality="keep", subsampling="keep", **extra)
    elif mime == "image/png":
        img.save(out, "PNG", **extra)
    else:
        img.save(out, "WEBP", quality=90, **extra)
    return out.getvalue()


def _thumbnail(img: Image.Image) -> bytes:
    small = ImageOps.exif_transpose(img.copy())
    if small.mode not in ("RGB", "L"):
        small = small.convert("RGBA")
        flat = Image.new("RGB", small.size, (255, 255, 255))
        flat.paste(small, mask=small.getchannel("A"))
        small = flat
    small.thumbnail((THUMB_PX, THUMB_PX))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=75, optimize=True)
    return out.getvalue()


def check_photo(upload: Upload, *, where: str, max_bytes: int, strip_gps: bool) -> Photo:
    """Check one uploaded photo and prepare it for storage (no side effects).

    Args:
        upload: the received file.
        where: how to name it in messages, e.g. ``photo 2 ('IMG_1.jpg')``.
        max_bytes: the largest file accepted.
        strip_gps: remove EXIF GPS tags (the incident's location is stored anyway).

    Raises:
        InvalidInput: empty, too large, not a JPEG/PNG/WebP by its bytes, undecodable, or
            more than :data:`MAX_PIXELS` pixels.
    """
    data = upload.data
    if not data:
        raise InvalidInput(f"{where} is empty", field="photo")
    if len(data) > max_bytes:
        raise InvalidInput(
            f"{where} is {len(data):,} bytes; a photo may be at most {max_bytes:,} bytes",
            field="photo",
        )
    mime = sniff(data)
    if mime is None:
        declared = f" (declared {upload.content_type})" if upload.content_type else ""
        raise InvalidInput(
            f"{where} is not a JPEG, PNG or WebP image{declared}: its first bytes are not an "
            "image signature",
            field="photo",
        )
    try:
        img = Image.open(io.BytesIO(data))
        if PIL_FORMATS.get(img.format or "") != mime:
            raise InvalidInput(f"{where} is not a valid {mime} file", field="photo")
        if img.width * img.height > MAX_PIXELS:
            raise InvalidInput(
                f"{where} is {img.width}×{img.height} pixels; at most {MAX_PIXELS:,} pixels",
                field="photo",
            )
        img.load()  # decodes every byte: a truncated or corrupt file fails here
        stripped = _without_gps(img, mime) if strip_gps else None
        thumb = _thumbnail(img)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput(
            f"{where} could not be decoded as {mime}: {type(exc).__name__}", field="photo"
        ) from None
    stored = stripped if stripped is not None else data
    return Photo(
        sha256=hashlib.sha256(stored).hexdigest(),
        data=stored,
        mime=mime,
        width=img.width,
        height=img.height,
        gps_removed=stripped is not None,
        thumb=thumb,
    )


def check_photos(uploads: Sequence[Upload], *, max_bytes: int, strip_gps: bool) -> list[Photo]:
    """Check every upload of a request (see :func:`check_photo`); all or none.

    Raises:
        InvalidInput: more than :data:`MAX_PER_REQUEST` photos, or one of them is bad.
    """
    if len(uploads) > MAX_PER_REQUEST:
        raise InvalidInput(
            f"{len(uploads)} photos sent; at most {MAX_PER_REQUEST} a request", field="photo"
        )
    return [
        check_photo(u, where=f"photo {n} ('{u.filename}')", max_bytes=max_bytes,
                    strip_gps=strip_gps)
        for n, u in enumerate(uploads, 1)
    ]  # fmt: skip


class PhotoStore:
    """Content-addressed photo files under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str, mime: str, *, thumb: bool = False) -> Path:
        """Where the file (or its thumbnail) of a checksum lives."""
        name = f"{sha256}.thumb.jpg" if thumb else f"{sha256}{EXTENSIONS[mime]}"
        return self.root / sha256[:2] / sha256[2:4] / name

    def put(self, photo: Photo) -> None:
        """Write the photo and its thumbnail, each atomically; a file already there is kept."""
        self._write(self.path(photo.sha256, photo.mime), photo.data, photo.sha256)
        self._write(self.path(photo.sha256, photo.mime, thumb=True), photo.thumb, None)

    @staticmethod
    def _write(target: Path, data: bytes, sha256: str | None) -> None:
        if target.exists():
            if sha256 is None or hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
                return  # the same content (or a thumbnail of it) is in place
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)  # atomic on one file system: never a half-written file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dirfd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)


INSERT_SQL = text(
    """
INSERT INTO incident_photos (incident_id, event_id, sha256, bytes, mime, width, height,
    gps_removed, taken_by, at)
VALUES (:i, :e, :sha, :bytes, :mime, :w, :h, :gps, :by, :at)
ON CONFLICT (incident_id, sha256) DO NOTHING
RETURNING id
"""
)


def attach(
    conn: Connection,
    store: PhotoStore,
    incident_id: int,
    event_id: int | None,
    photos: Sequence[Photo],
    *,
    taken_by: str,
    at: datetime,
) -> list[int]:
    """Store the files, then record them on an incident's event in the caller's transaction.

    The same photo attached twice to one incident is recorded once.

    Returns:
        The ids of the newly recorded photos.
    """
    ids: list[int] = []
    for p in photos:
        store.put(p)  # the file first: a row never names a missing file
        new = conn.execute(
            INSERT_SQL,
            {"i": incident_id, "e": event_id, "sha": p.sha256, "bytes": len(p.data),
             "mime": p.mime, "w": p.width, "h": p.height, "gps": p.gps_removed,
             "by": taken_by, "at": at},
        ).scalar()  # fmt: skip
        if new is not None:
            ids.append(int(new))
    return ids


def list_photos(conn: Connection, incident_id: int, *, names: bool = True) -> list[dict[str, Any]]:
    """The photos of an incident, oldest first, with the action they were taken for."""
    rows = conn.execute(
        text(
            "SELECT p.id, p.event_id, e.action, p.sha256, p.bytes, p.mime, p.width, p.height, "
            "p.gps_removed, p.taken_by, p.at FROM incident_photos p "
            "LEFT JOIN incident_events e ON e.id = p.event_id "
            "WHERE p.incident_id = :i ORDER BY p.id"
        ),
        {"i": incident_id},
    ).mappings()
    out = []
    for r in rows:
        d = dict(r)
        if not names:
            d["taken_by"] = None
        d["url"] = f"/incidents/{incident_id}/photos/{d['id']}"
        d["thumb_url"] = d["url"] + "?size=thumb"
        out.append(d)
    return out


def photo_file(
    conn: Connection,
    store: PhotoStore,
    incident_id: int,
    photo_id: int,
    *,
    account: Account | None,
    thumb: bool = False,
) -> tuple[Path, str, str]:
    """The file of one photo of an incident: (path, media type, sha256).

    Raises:
        Forbidden: the incident is outside the account's areas (or, for a scoped account,
            does not exist). NotFound: no such incident (admin), no such photo of it, or its
            file is missing from the photo folder.
    """
    row = conn.execute(
        text(
            "SELECT g.code, p.sha256, p.mime FROM incidents i JOIN grids g ON g.id = i.grid_id "
            "LEFT JOIN incident_photos p ON p.incident_id = i.id AND p.id = :p WHERE i.id = :i"
        ),
        {"p": photo_id, "i": incident_id},
    ).first()
    scoped = account is not None and account.role != "admin"
    if row is None and not scoped:
        raise NotFound(f"no incident {incident_id}", field="id")
    if row is None or (account is not None and not account.covers(row[0])):
        raise denied()
    if row[1] is None:
        raise NotFound(f"incident {incident_id} has no photo {photo_id}", field="photo_id")
    sha, mime = str(row[1]), str(row[2])
    path = store.path(sha, mime, thumb=thumb)
    if not path.is_file():
        raise NotFound(f"the file of photo {photo_id} is missing from the photo folder")
    return path, "image/jpeg" if thumb else mime, sha


@dataclass
class StoreCheck:
    """What :func:`check_store` found: rows whose file is missing or altered, orphan files."""

    rows: int = 0
    missing: list[tuple[int, str]] = field(default_factory=list)  # (photo id, sha256)
    altered: list[tuple[int, str]] = field(default_factory=list)
    orphans: list[Path] = field(default_factory=list)


def check_store(conn: Connection, store: PhotoStore, *, min_age_s: float = 3600) -> StoreCheck:
    """Check every recorded photo against its file (present, same SHA-256), and find orphans.

    An orphan is a file (or a left-over temporary file) no row names, older than ``min_age_s``
    — the trace of a request whose transaction failed after its file was written. Younger
    files may belong to a request still in flight and are left alone.
    """
    out = StoreCheck()
    known: set[str] = set()
    for pid, sha, mime in conn.execute(text("SELECT id, sha256, mime FROM incident_photos")):
        out.rows += 1
        known.add(sha)
        path = store.path(sha, mime)
        if not path.is_file():
            out.missing.append((pid, sha))
        elif hashlib.sha256(path.read_bytes()).hexdigest() != sha:
            out.altered.append((pid, sha))
    cutoff = time.time() - min_age_s
    if store.root.is_dir():
        for path in sorted(store.root.rglob("*")):
            if path.is_file() and path.name.split(".")[0] not in known:
                if path.stat().st_mtime < cutoff:
                    out.orphans.append(path)
    return out
