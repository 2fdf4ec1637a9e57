"""The done-means loop in real headless Chromium, with photos through the phone's outbox.

A patrol worker reports from /report with a camera photo (a generated 3000×2000 JPEG, resized
on the phone), reports again offline with a photo (kept in IndexedDB until acknowledged), a
dispatcher routes the first incident back to the worker, the worker starts and resolves it
with a photo from the phone, a supervisor verifies it and closes it with a rating; the timeline
shows every step and both photos are served back.

Runs its own server on the demo database so that the photos land in a temporary folder.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from gridgeo.incidents.photos import GPS_IFD
from tests.e2e.conftest import ARTIFACTS, serve_app, token
from tests.e2e.test_report_page import GRID, _inside, _login, _phone


@pytest.fixture(scope="module")
def photo_server(demo_engine, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("photo-server")
    with serve_app(demo_engine, data_dir=data, escalation_interval_s=0) as url:
        yield url, data


def camera_photo(path: Path, size=(3000, 2000)) -> Path:
    """A large JPEG like a phone camera's, with GPS in its EXIF."""
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (36.0, 42.0, 0.0), 3: "E", 4: (119.0, 6.0, 0.0)}
    img.save(path, "JPEG", quality=92, exif=exif.tobytes())
    return path


def _idb_count(page) -> int:
    return int(
        page.evaluate(
            """() => new Promise((ok, fail) => {
                 const r = indexedDB.open('gridgeo-report', 1);
                 r.onsuccess = () => {
                   const c = r.result.transaction('photos').objectStore('photos').count();
                   c.onsuccess = () => ok(c.result); c.onerror = () => fail(c.error);
                 };
                 r.onerror = () => fail(r.error);
               })"""
        )
    )


def _report_with_photo(page, description: str, photo: Path) -> None:
    page.select_option("#category", "sanitation")
    page.fill("#description", description)
    page.set_input_files("#photo", str(photo))
    page.wait_for_selector("#photo-previews img")
    page.click("#submit")
    page.wait_for_selector(f'.outbox-item:has-text("{description}")')


def _acknowledged(page, text: str, timeout: float = 20000) -> None:
    page.wait_for_selector(
        f'.outbox-item[data-state="acknowledged"]:has-text("{text}")', timeout=timeout
    )


def _mine_button(page, incident_id: int, action: str):
    page.click("#refresh")
    sel = f'.mine-item[data-id="{incident_id}"] button.act[data-action="{action}"]'
    page.wait_for_selector(sel)
    return sel


def test_report_resolve_verify_close_with_photos_from_the_phone(
    photo_server, browser, demo_engine, tmp_path
):
    url, data_dir = photo_server
    lon, lat = _inside(demo_engine, GRID)
    tag = uuid.uuid4().hex[:10]
    first, second = f"e2e-{tag} 占道堆物", f"e2e-{tag} offline 污水外溢"
    scene = camera_photo(tmp_path / "IMG_0001.jpg")
    after = camera_photo(tmp_path / "IMG_0002.jpg", size=(1200, 2400))
    ctx, page, errors = _phone(browser, url, lon, lat)
    _login(page)

    # online, with a camera photo: resized on the phone, acknowledged, stored by the server
    _report_with_photo(page, first, scene)
    _acknowledged(page, first)
    assert "1 张照片" in page.inner_text(f'.outbox-item:has-text("{first}")')
    first_id = int(page.inner_text(f'.outbox-item:has-text("{first}") .id').lstrip("#"))
    assert _idb_count(page) == 0  # blobs dropped once acknowledged

    # offline, with a photo: queued with its blob in IndexedDB, sent when back online
    ctx.set_offline(True)
    page.wait_for_function("navigator.onLine === false")
    _report_with_photo(page, second, scene)
    assert page.get_attribute(f'.outbox-item:has-text("{second}")', "data-state") == "queued"
    assert _idb_count(page) == 1
    ctx.set_offline(False)
    _acknowledged(page, second)
    assert _idb_count(page) == 0

    dispatcher = {"Authorization": f"Bearer {token(url, 'dispatcher', 'dispatcher-demo-2026')}"}
    for text in (first, second):
        i = int(page.inner_text(f'.outbox-item:has-text("{text}") .id').lstrip("#"))
        inc = httpx.get(f"{url}/incidents/{i}", headers=dispatcher).json()
        assert inc["grid"] == GRID and inc["reporter"] == "patrol"
        [p] = inc["photos"]
        assert p["mime"] == "image/jpeg" and (p["width"], p["height"]) == (1600, 1067)
        assert p["gps_removed"] is False  # the phone's canvas already dropped all EXIF
        got = httpx.get(url + p["url"], headers=dispatcher)
        assert got.status_code == 200 and got.headers["x-content-sha256"] == p["sha256"]
        assert GPS_IFD not in Image.open(io.BytesIO(got.content)).getexif()
        sha = p["sha256"]
        assert (data_dir / "photos" / sha[:2] / sha[2:4] / f"{sha}.jpg").is_file()

    # the dispatcher routes the first one back to the grid's worker
    r = httpx.post(f"{url}/incidents/{first_id}/transitions", headers=dispatcher,
                   json={"action": "dispatch", "assignee": "patrol", "note": "请网格员处置"})  # fmt: skip
    assert r.status_code == 200, r.text

    # the worker starts and resolves it from the phone, with a photo of the result
    page.click(_mine_button(page, first_id, "start"))
    _acknowledged(page, f"#{first_id}")
    page.click(_mine_button(page, first_id, "resolve"))
    page.wait_for_selector("#resolve", state="visible")
    page.fill("#resolve-note", "已清理完毕")
    page.set_input_files("#resolve-photo", str(after))
    page.click("#resolve-submit")
    _acknowledged(page, "已清理完毕")
    assert page.is_hidden("#resolve")

    # the supervisor verifies (督查) and closes with the resident's rating (评事)
    for body in ({"action": "verify", "note": "现场核实"},
                 {"action": "close", "rating": 4, "note": "居民满意"}):  # fmt: skip
        r = httpx.post(f"{url}/incidents/{first_id}/transitions", headers=dispatcher, json=body)
        assert r.status_code == 200, r.text

    inc = httpx.get(f"{url}/incidents/{first_id}", headers=dispatcher).json()
    assert inc["state"] == "closed" and inc["rating"] == 4 and inc["grid"] == GRID
    tl = inc["timeline"]
    assert [e["action"] for e in tl] == ["report", "dispatch", "start", "resolve", "verify",
                                         "close"]  # fmt: skip
    assert [e["actor"] for e in tl] == ["patrol", "dispatcher", "patrol", "patrol",
                                        "dispatcher", "dispatcher"]  # fmt: skip
    assert tl[3]["note"] == "已清理完毕" and len(tl[3]["photos"]) == 1 and len(tl[0]["photos"]) == 1
    resolution = next(p for p in inc["photos"] if p["action"] == "resolve")
    assert (resolution["width"], resolution["height"]) == (800, 1600)

    page.click("#refresh")
    page.wait_for_function(f"!document.querySelector('.mine-item[data-id=\"{first_id}\"]')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-photos.png"), full_page=True)
    assert errors == []
    ctx.close()


def test_a_photo_the_phone_cannot_read_is_refused_on_the_phone(photo_server, browser, demo_engine,
                                                               tmp_path):  # fmt: skip
    url, _ = photo_server
    lon, lat = _inside(demo_engine, GRID)
    ctx, page, errors = _phone(browser, url, lon, lat)
    _login(page)
    fake = tmp_path / "notes.jpg"
    fake.write_bytes(b"not an image")
    description = f"e2e-{uuid.uuid4().hex[:10]} bad photo"
    page.select_option("#category", "sanitation")
    page.fill("#description", description)
    page.set_input_files("#photo", str(fake))
    page.click("#submit")
    page.wait_for_function("document.getElementById('form-error').textContent.length > 0")
    assert "notes.jpg" in page.inner_text("#form-error")
    assert page.locator(f'.outbox-item:has-text("{description}")').count() == 0
    assert page.input_value("#description") == description  # nothing lost: fix and resend
    ctx.close()
    assert not [e for e in errors if "pageerror" in e]
