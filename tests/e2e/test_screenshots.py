"""Issue 16, "done means": every page touched, in Chinese and English, at desktop and phone size.

Each screenshot is kept as a test artefact (``ARTIFACTS/pages/``); the shell pages' titles are
whole (not cut with an ellipsis) and no page scrolls sideways; no script error on any.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, token

SIZES = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 360, "height": 740}}
COMMUNITY = "370705001001"
# page name: (path, account, password, ready selector, a shell page)
PAGES = {
    "report": ("/report", "patrol", "patrol-demo-2026", "#my-incidents li", True),
    "desk": ("/desk", "dispatcher", "dispatcher-demo-2026", "#f-queue", True),
    "plans": (f"/plans/editor?area={COMMUNITY}", "planner", "planner-demo-2026", "#plans", True),
    "incidents": (
        "/maps/incidents",
        "viewer",
        "viewer-demo-2026",
        ".gridgeo-count[data-count]",
        False,
    ),  # fmt: skip
    "area": (
        f"/maps/grids/{COMMUNITY}",
        "viewer",
        "viewer-demo-2026",
        ".gridgeo-area-panel",
        False,
    ),  # fmt: skip
    "grids": ("/maps/grids", "viewer", "viewer-demo-2026", ".gridgeo-title", False),
    "workload": ("/maps/workload", "viewer", "viewer-demo-2026", ".gridgeo-levels", False),
}
# The map pages' boxes (Leaflet controls) that are shown: no two may cover each other.
OVERLAPS = """() => {
  const boxes = [...document.querySelectorAll('.leaflet-control')]
    .filter(e => e.offsetParent !== null && e.getBoundingClientRect().width > 0)
    .map(e => [e.className.split(' ').filter(c => c.startsWith('gridgeo') || c.startsWith('leaflet-control-'))[0] || e.className,
               e.getBoundingClientRect()]);
  const out = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, r] = boxes[i], [b, q] = boxes[j];
    if (r.left < q.right - 1 && q.left < r.right - 1 && r.top < q.bottom - 1 && q.top < r.bottom - 1)
      out.push(a + ' / ' + b);
  }
  return out;
}"""


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", list(PAGES))
def test_page_in_both_languages_at_both_sizes(name, lang, size, live_server, browser):
    path, user, password, ready, shell = PAGES[name]
    bearer = token(live_server, user, password)
    phone = size == "phone"
    ctx = browser.new_context(
        viewport=SIZES[size],
        is_mobile=phone,
        has_touch=phone,
        locale="zh-CN" if lang == "zh" else "en-GB",
        geolocation={"longitude": 119.09, "latitude": 36.73, "accuracy": 12},
        permissions=["geolocation"],
        extra_http_headers={} if shell else {"Authorization": f"Bearer {bearer}"},
    )
    if shell:  # the shell's one login, kept in the browser
        ctx.add_init_script(f"localStorage.setItem('gridgeo.token', {bearer!r});")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        sep = "&" if "?" in path else "?"
        page.goto(f"{live_server}{path}{sep}lang={lang}")
        page.wait_for_selector(ready, timeout=15000)
        page.wait_for_timeout(500)
        if shell:
            assert page.get_attribute("html", "lang") == ("zh-CN" if lang == "zh" else "en")
            assert page.evaluate(
                "() => { const h = document.querySelector('#shell-header h1');"
                " return h.scrollWidth <= h.clientWidth; }"
            ), "the title is cut"
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= SIZES[size]["width"], f"the page scrolls sideways: {width}px"
        (ARTIFACTS / "pages").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "pages" / f"{name}-{lang}-{size}.png"))
        if not shell:
            assert page.evaluate(OVERLAPS) == [], "boxes of the map cover each other"
        errors[:] = [e for e in errors if "/locate?" not in e]  # a GPS fix may be in no grid
        assert errors == []
    finally:
        ctx.close()
