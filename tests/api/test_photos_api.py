"""Incident photos over HTTP: upload with a report or a resolution, limits, storage, serving.

Images are made in code with Pillow; files go to a temporary photo folder of a private app.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text

from gridgeo.errors import InvalidInput
from gridgeo.incidents.photos import GPS_IFD, PhotoStore, Upload, attach, check_photo
from tests.api.conftest import app_in_transaction
from tests.api.incident_city import GRID_A, INSIDE_A, count, make_users

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
MAX_BYTES = 300_000


def image(fmt: str = "JPEG", size=(64, 48), gps: bool = False, noise: bool = False) -> bytes:
    img = Image.new("RGB", size, (200, 40, 40))
    if noise:
        img = Image.frombytes("RGB", size, bytes(hashlib.sha256(b"%d" % i).digest()[0] for i in
                                                 range(size[0] * size[1] * 3)))  # fmt: skip
    out = io.BytesIO()
    extra = {}
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "TestCam"  # Make: kept
        exif[GPS_IFD] = {1: "N", 2: (36.0, 42.0, 0.0), 3: "E", 4: (119.0, 6.0, 0.0)}
        extra["exif"] = exif.tobytes()
    img.save(out, fmt, **extra)
    return out.getvalue()


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def client(engine, conn, photo_dir) -> Iterator[TestClient]:
    """Like tests/api/conftest.py's client, with a private data folder and small photo limit."""
    app = app_in_transaction(
        engine, conn, data_dir=photo_dir, photo_max_bytes=MAX_BYTES, escalation_interval_s=0
    )
    app.state.clock = lambda: T0
    with TestClient(app) as c:
        yield c


@pytest.fixture
def users(conn):
    return make_users(conn)


def fields(**extra):
    return {"lon": str(INSIDE_A[0]), "lat": str(INSIDE_A[1]), "category": "sanitation",
            "description": "垃圾堆放", "accuracy_m": "8", **extra}  # fmt: skip


def report(client, headers, files, key=None, **extra):
    h = dict(headers) | ({"Idempotency-Key": key} if key else {})
    return client.post("/incidents", data=fields(**extra), files=files, headers=h)


def act(client, headers, i, action, files=None, **extra):
    data = {"action": action, **extra}
    if files is None:
        return client.post(f"/incidents/{i}/transitions", json=data, headers=headers)
    return client.post(f"/incidents/{i}/transitions", data=data, files=files, headers=headers)


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "photos").rglob("*") if p.is_file())


def test_report_with_a_photo_stores_it_outside_the_database(client, users, conn, photo_dir):
    jpeg = image(gps=True, size=(160, 90))
    r = report(client, users["patrol"], [("photo", ("IMG_0001.jpg", jpeg, "image/jpeg"))])
    assert r.status_code == 201, r.text
    inc = r.json()
    assert inc["grid"] == GRID_A and inc["accuracy_m"] == 8
    [p] = inc["photos"]
    assert (p["mime"], p["width"], p["height"], p["gps_removed"]) == ("image/jpeg", 160, 90, True)
    assert p["taken_by"] == "patrol" and p["action"] == "report"
    assert inc["timeline"][0]["photos"] == [p["id"]]
    # content-addressed file + thumbnail, checksum recorded, no temporary files left
    sha = p["sha256"]
    path = photo_dir / "photos" / sha[:2] / sha[2:4] / f"{sha}.jpg"
    assert stored_files(photo_dir) == sorted([path, path.with_name(f"{sha}.thumb.jpg")])
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == sha and len(data) == p["bytes"]
    stored = Image.open(io.BytesIO(data))
    assert GPS_IFD not in stored.getexif() and stored.getexif()[0x010F] == "TestCam"
    row = conn.execute(text("SELECT sha256, bytes FROM incident_photos")).one()
    assert tuple(row) == (sha, len(data))
    # served back with auth, its type and checksum; the thumbnail is a small JPEG
    got = client.get(p["url"], headers=users["dispatcher"])
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "image/jpeg" and got.headers["x-content-sha256"] == sha
    again = client.get(p["url"], headers={**users["patrol"], "If-None-Match": got.headers["etag"]})
    assert again.status_code == 304
    thumb = client.get(p["thumb_url"], headers=users["viewer"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 320


@pytest.mark.parametrize("fmt,mime", [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_are_accepted(client, users, fmt, mime):
    data = image(fmt)
    r = report(client, users["patrol"], [("photo", ("x.bin", data, "application/octet-stream"))])
    assert r.status_code == 201, r.text
    assert r.json()["photos"][0]["mime"] == mime  # the bytes decide, not the declared type
    assert r.json()["photos"][0]["gps_removed"] is False


def test_a_retry_with_the_same_key_stores_no_second_photo(client, users, conn, photo_dir):
    files = [("photo", ("a.jpg", image(), "image/jpeg"))]
    first = report(client, users["patrol"], files, key="k-photo-1")
    again = report(client, users["patrol"], files, key="k-photo-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert count(conn) == 1 and count(conn, "incident_photos") == 1
    assert len(stored_files(photo_dir)) == 2


def _bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (9000, 5000)).save(out, "PNG")  # 45 MP, a few kB compressed
    return out.getvalue()


BAD = [
    ("fake.jpg", b"this is not an image at all", "image/jpeg", "is not a JPEG, PNG or WebP"),
    ("anim.gif", b"GIF89a" + b"\0" * 64, "image/gif", "is not a JPEG, PNG or WebP"),
    ("cut.jpg", image(size=(400, 300), noise=True)[:900], "image/jpeg", "could not be decoded"),
    ("big.png", image("PNG", size=(400, 300), noise=True), "image/png", "at most 300,000 bytes"),
    ("bomb.png", _bomb(), "image/png", "at most 40,000,000 pixels"),
    ("empty.jpg", b"", "image/jpeg", "is empty"),
]


@pytest.mark.parametrize("name,data,ctype,word", BAD, ids=[b[0] for b in BAD])
def test_bad_photos_are_refused_and_nothing_is_stored(
    client, users, conn, photo_dir, name, data, ctype, word
):
    files = [("photo", ("ok.jpg", image(), "image/jpeg")), ("photo", (name, data, ctype))]
    r = report(client, users["patrol"], files)
    assert r.status_code == 400, r.text
    msg = r.json()["message"]
    assert word in msg and f"photo 2 ('{name}')" in msg, msg
    assert count(conn) == 0 and count(conn, "incident_photos") == 0
    assert stored_files(photo_dir) == []


def test_too_many_photos_a_file_in_another_field_and_bad_fields(client, users, conn):
    seven = [("photo", (f"{n}.jpg", image(), "image/jpeg")) for n in range(7)]
    r = report(client, users["patrol"], seven)
    assert r.status_code == 400 and "at most 6" in r.json()["message"]
    r = report(client, users["patrol"], [("description", ("d.jpg", image(), "image/jpeg"))])
    assert r.status_code == 400 and "'description' is a file" in r.json()["message"]
    r = report(client, users["patrol"], [], lon="east")
    assert r.status_code == 422 and "lon" in r.json()["message"]
    r = report(client, users["patrol"], [], accuracy_m="5000")
    assert r.status_code == 400 and "accuracy_m" in r.json()["message"]
    h = {**users["patrol"], "Content-Type": "text/plain"}
    r = client.post("/incidents", content=b"lon=1", headers=h)
    assert r.status_code == 400 and "text/plain" in r.json()["message"]
    assert count(conn) == 0


def test_a_body_over_the_limit_is_refused_before_it_is_read(client, users, conn):
    huge = b"\xff\xd8\xff" + b"\0" * (11 * 1024 * 1024)
    r = report(client, users["patrol"], [("photo", ("huge.jpg", huge, "image/jpeg"))])
    assert r.status_code == 413 and "larger than the limit" in r.json()["message"]
    assert count(conn) == 0


def test_resolve_with_a_photo_and_add_photos(client, users, conn):
    i = report(client, users["patrol"], []).json()["id"]
    for action in ("accept", "start"):
        assert act(client, users["patrol"], i, action).status_code == 200
    # a resolution photo from the wrong state: refused, nothing stored
    bad = act(client, users["dispatcher"], i, "verify", [("photo", ("v.png", image("PNG"), ""))])
    assert bad.status_code == 409 and count(conn, "incident_photos") == 0
    r = act(client, users["patrol"], i, "resolve",
            [("photo", ("done.jpg", image(size=(80, 80)), "image/jpeg"))], note="已清理")  # fmt: skip
    assert r.status_code == 200, r.text
    inc = r.json()
    assert inc["state"] == "resolved"
    resolve = inc["timeline"][-1]
    assert resolve["action"] == "resolve" and resolve["note"] == "已清理"
    assert resolve["photos"] == [inc["photos"][0]["id"]]
    # more photos later, as their own timeline entry; not by a viewer, not once closed
    more = client.post(f"/incidents/{i}/photos", data={"note": "补拍"},
                       files=[("photo", ("m.webp", image("WEBP"), "image/webp"))],
                       headers=users["dispatcher"])  # fmt: skip
    assert more.status_code == 201, more.text
    assert [e["action"] for e in more.json()["timeline"]][-1] == "photo"
    assert len(more.json()["photos"]) == 2
    viewer = client.post(f"/incidents/{i}/photos", headers=users["viewer"],
                         files=[("photo", ("m.png", image("PNG"), "image/png"))])  # fmt: skip
    assert viewer.status_code == 403
    empty = client.post(f"/incidents/{i}/photos", headers=users["patrol"], data={"note": "x"})
    assert empty.status_code == 422 and "photo" in empty.json()["message"]


def test_photo_access_follows_the_incident(client, users):
    inc = report(client, users["patrol"], [("photo", ("a.jpg", image(), "image/jpeg"))]).json()
    url = inc["photos"][0]["url"]
    assert client.get(url).status_code == 401
    hidden = client.get(url, headers=users["patrol_b"])
    missing = client.get("/incidents/999999/photos/1", headers=users["patrol_b"])
    assert hidden.status_code == missing.status_code == 403
    assert client.get("/incidents/999999/photos/1", headers=users["admin"]).status_code == 404
    other = report(client, users["patrol"], [], lon=str(INSIDE_A[0] + 0.01)).json()["id"]
    wrong = client.get(f"/incidents/{other}/photos/{inc['photos'][0]['id']}",
                       headers=users["admin"])  # fmt: skip
    assert wrong.status_code == 404 and "has no photo" in wrong.json()["message"]
    seen = client.get(f"/incidents/{inc['id']}", headers=users["viewer"]).json()
    assert seen["photos"][0]["taken_by"] is None
    assert client.get(url + "?size=huge", headers=users["admin"]).status_code == 422


def test_the_whole_loop_with_photos_in_the_timeline(client, users):
    """Done means: patrol reports, lands in the grid, dispatched, resolved with a photo,
    verified by a supervisor, closed with a rating; all on the timeline."""
    r = report(client, users["patrol"], [("photo", ("scene.jpg", image(), "image/jpeg"))])
    assert r.status_code == 201 and r.json()["grid"] == GRID_A
    i = r.json()["id"]
    steps = [
        ("patrol", "accept", None, {}),
        ("dispatcher", "dispatch", None, {"assignee": "patrol"}),
        ("patrol", "start", None, {}),
        ("patrol", "resolve", [("photo", ("fixed.jpg", image(size=(90, 60)), "image/jpeg"))],
         {"note": "已清运"}),
        ("dispatcher", "verify", None, {"note": "现场核实"}),
        ("dispatcher", "close", None, {"rating": 5, "note": "居民满意"}),
    ]  # fmt: skip
    for role, action, files, extra in steps:
        r = act(client, users[role], i, action, files, **extra)
        assert r.status_code == 200, (action, r.text)
    inc = client.get(f"/incidents/{i}", headers=users["dispatcher"]).json()
    assert inc["state"] == "closed" and inc["rating"] == 5 and inc["assignee"] == "patrol"
    tl = inc["timeline"]
    assert [e["action"] for e in tl] == ["report", "accept", "dispatch", "start", "resolve",
                                         "verify", "close"]  # fmt: skip
    assert [bool(e["photos"]) for e in tl] == [True, False, False, False, True, False, False]
    assert [p["action"] for p in inc["photos"]] == ["report", "resolve"]
    assert [e["actor"] for e in tl] == ["patrol", "patrol", "dispatcher", "patrol", "patrol",
                                        "dispatcher", "dispatcher"]  # fmt: skip


# ---- the store and the transaction -----------------------------------------------------------


def test_a_rolled_back_transaction_leaves_no_row_and_rows_always_have_files(
    client, users, conn, tmp_path
):
    i = report(client, users["patrol"], []).json()["id"]
    photo = check_photo(
        Upload("a.png", None, image("PNG")),
        where="photo 1",
        max_bytes=8 * 1024 * 1024,
        strip_gps=True,
    )
    store = PhotoStore(tmp_path / "store")
    savepoint = conn.begin_nested()
    attach(conn, store, i, None, [photo], taken_by="t", at=T0)
    assert count(conn, "incident_photos") == 1
    savepoint.rollback()
    assert count(conn, "incident_photos") == 0  # the file stays, unreferenced and harmless
    assert store.path(photo.sha256, photo.mime).is_file()
    # a store that cannot write: the error comes before any row
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("x")
    with pytest.raises(OSError):
        attach(conn, PhotoStore(blocked), i, None, [photo], taken_by="t", at=T0)
    assert count(conn, "incident_photos") == 0


def test_check_photo_never_trusts_the_declared_type():
    with pytest.raises(InvalidInput, match="declared image/jpeg"):
        check_photo(
            Upload("x.jpg", "image/jpeg", b"<html>"),
            where="photo 1",
            max_bytes=8 * 1024 * 1024,
            strip_gps=True,
        )
    png_as_jpeg = image("PNG")
    assert (
        check_photo(
            Upload("x.jpg", "image/jpeg", png_as_jpeg),
            where="p",
            max_bytes=8 * 1024 * 1024,
            strip_gps=True,
        ).mime
        == "image/png"
    )
    kept = check_photo(
        Upload("x.jpg", None, image(gps=True)),
        where="p",
        strip_gps=False,
        max_bytes=8 * 1024 * 1024,
    )
    assert kept.gps_removed is False and GPS_IFD in Image.open(io.BytesIO(kept.data)).getexif()


def test_check_store_finds_missing_altered_and_orphan_files(client, users, conn, photo_dir):
    import os

    from gridgeo.incidents.photos import check_store

    inc = report(client, users["patrol"], [("photo", ("a.jpg", image(), "image/jpeg")),
                                           ("photo", ("b.png", image("PNG"), "image/png"))])  # fmt: skip
    a, b = inc.json()["photos"]
    store = PhotoStore(photo_dir / "photos")
    found = check_store(conn, store, min_age_s=0)
    assert (found.rows, found.missing, found.altered, found.orphans) == (2, [], [], [])
    store.path(a["sha256"], a["mime"]).unlink()
    store.path(b["sha256"], b["mime"]).write_bytes(b"tampered")
    orphan = store.root / "ff" / "ee" / ("ffee" + "0" * 60 + ".jpg")
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"x")
    young = store.root / "ff" / "ee" / ".tmp-abc.jpg"
    young.write_bytes(b"x")
    os.utime(orphan, (0, 0))
    found = check_store(conn, store, min_age_s=600)
    assert found.missing == [(a["id"], a["sha256"])]
    assert found.altered == [(b["id"], b["sha256"])]
    assert found.orphans == [orphan]  # the young temporary file may be a request in flight


def test_photos_command_lists_and_removes_orphans(engine, tmp_path, monkeypatch):
    import os

    from click.testing import CliRunner

    from cli.main import main

    orphan = tmp_path / "photos" / "ab" / "cd" / ("abcd" + "1" * 60 + ".thumb.jpg")
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"x")
    os.utime(orphan, (0, 0))
    monkeypatch.setenv("GRIDGEO_DATABASE_URL", engine.url.render_as_string(False))
    monkeypatch.setenv("GRIDGEO_DATA_DIR", str(tmp_path))
    listed = CliRunner().invoke(main, ["incidents", "photos"])
    assert listed.exit_code == 0, listed.output
    assert f"orphan file: {orphan}" in listed.output and orphan.exists()
    removed = CliRunner().invoke(main, ["incidents", "photos", "--commit"])
    assert removed.exit_code == 0 and "1 orphan files removed" in removed.output
    assert not orphan.exists()
