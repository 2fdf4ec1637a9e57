"""The planners' editor pages: public shells, relative assets, vendored Geoman, both languages.

No database: the pages hold no data, so the app is used without its lifespan.
"""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urljoin

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routers.plan_pages import EDITOR_STATIC_DIR, OSM, base_tiles
from gridgeo.settings import get_settings

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.fixture(scope="module")
def client() -> TestClient:
    settings = get_settings(database_url="postgresql+psycopg://nobody@/none", map_tiles="")
    return TestClient(create_app(settings))  # no `with`: the lifespan never connects


def _config(page: str) -> dict[str, str]:
    found = re.search(r'data-config="([^"]*)"', page)
    assert found is not None
    return dict(json.loads(html.unescape(found.group(1))))


@pytest.mark.parametrize(
    ("path", "base", "plan"),
    [
        ("/plans/editor", "../", ""),
        ("/plans/editor?area=370705001", "../", ""),
        ("/plans/42/edit", "../../", "42"),
    ],
)
def test_pages_are_public_chinese_html_with_relative_assets(client, path, base, plan):
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"
    page = r.text
    assert '<html lang="zh-CN">' in page and f'<base href="{base}">' in page
    assert _config(page) == {"plan": plan, "tiles": ""}
    root = urljoin("http://testserver" + path.split("?")[0], base)
    assert root == "http://testserver/"
    for src in ASSET.findall(page):
        if src in ("", base):
            continue
        assert not src.startswith(("/", "http")), src  # works behind a path prefix
        assert client.get(urljoin(root, src)).status_code == 200, src


def test_editor_page_loads_leaflet_geoman_and_its_scripts_in_order(client):
    page = client.get("/plans/7/edit").text
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts == [
        "static/leaflet/leaflet.js",
        "editor-static/geoman/leaflet-geoman.min.js",
        "shell-static/shell.js",
        "editor-static/common.js",
        "editor-static/editor.js",
        "editor-static/panels.js",
    ]
    # the message bar and the login form are the shell's, drawn into the header's page
    for element in ("shell-header", "map", "preview", "commit-message", "revert", "undo"):
        assert f'id="{element}"' in page, element


def test_plan_id_is_validated_not_echoed(client):
    assert client.get("/plans/%22%3E%3Cscript%3E/edit").status_code == 422
    assert client.get("/plans/abc-1_2/edit").status_code == 200


def test_vendored_geoman_carries_its_license():
    licence = (EDITOR_STATIC_DIR / "geoman" / "LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in licence and "Sumit Kumar" in licence
    js = (EDITOR_STATIC_DIR / "geoman" / "leaflet-geoman.min.js").read_text(encoding="utf-8")
    assert "L.PM.initialize()" in js


def test_own_scripts_never_use_dialogs_or_other_hosts():
    for path in EDITOR_STATIC_DIR.glob("*.*"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\b(alert|confirm|prompt)\(", text), path.name
        assert not re.search(r"https?://", text), path.name


def test_every_label_has_chinese_and_english_text():
    js = "".join(p.read_text(encoding="utf-8") for p in EDITOR_STATIC_DIR.glob("*.js"))
    for page in EDITOR_STATIC_DIR.glob("*.html"):
        keys = set(re.findall(r'data-i18n(?:-ph)?="(\w+)"', page.read_text(encoding="utf-8")))
        assert keys
        for key in keys:
            assert len(re.findall(rf"\b{key}:", js)) >= 2, f"{page.name}: {key}"


def test_base_tiles():
    assert base_tiles("OpenStreetMap") == OSM
    assert base_tiles("") == ""
    assert base_tiles("CartoDB positron") == ""  # a Folium name the editor cannot draw
    assert base_tiles("/tiles/base/{z}/{x}/{y}.png") == "/tiles/base/{z}/{x}/{y}.png"
