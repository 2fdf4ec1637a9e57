"""/report: the public phone page and its assets; data calls still need a token."""

from __future__ import annotations

import re


def test_report_page_is_public_html_in_chinese(client):
    r = client.get("/report")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<html lang="zh-CN">' in html
    assert "网格事件上报" in html
    assert 'name="viewport"' in html and "width=device-width" in html
    # relative asset paths: the page also works behind a path prefix
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not src.startswith(("/", "http")), src
        assert client.get("/" + src).status_code == 200, src


def test_report_script_sends_idempotency_key_and_token(client):
    js = client.get("/report-static/report.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    body = js.text
    assert '"Idempotency-Key": item.key' in body
    assert "shell.request(" in body  # the shared shell adds the bearer token
    shell = client.get("/shell-static/shell.js").text
    assert "Authorization" in shell and "Bearer " in shell
    # the outbox (its keys, its retries) is the shared shell's, also the residents' page's
    outbox = client.get("/shell-static/outbox.js").text
    assert "randomUUID" in outbox and "shell.outbox(" in body and "shell.uuid()" in body
    assert 'addEventListener("online"' in body
    for key in ("zh:", "en:", "queued", "sent", "acknowledged"):
        assert key in body


def test_report_css_has_large_touch_targets(client):
    css = client.get("/report-static/report.css")
    assert css.status_code == 200
    assert "min-height: 48px" in css.text


def test_data_calls_of_the_page_need_a_token(client):
    assert client.get("/categories").status_code == 401
    assert client.get("/incidents", params={"queue": "grid"}).status_code == 401
    assert client.post("/incidents", json={}).status_code == 401
    assert client.get("/report-static/missing.js").status_code == 404
