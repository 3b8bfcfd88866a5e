"""The shipped site in a real browser: accessibility, keyboard use, search, the quiz.

Debian's chromium through Playwright; axe-core finds no violations in light or dark mode.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from intimacy_ssg import build, load_config

from .support import REPO, chdir

PAGES = (
    "",
    "intimacy/",
    "intimacy/fear-of-intimacy/",
    "intimacy/map/",
    "quiz/",
    "search/",
    "no-such-page/",
)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code == 404:  # like a static host: the site's own 404 page
            body = (Path(self.directory) / "404.html").read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().send_error(code, message, explain)


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    out = tmp_path_factory.mktemp("browser") / "site"
    with chdir(REPO):
        result = build(load_config(REPO, output_dir=out, base_url="/"))
    assert result.written and result.search == "indexed"
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def axe_violations(tab: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(tab)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes: {[n['target'] for n in v['nodes']][:3]})"
        for v in results.response["violations"]
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", PAGES)
def test_no_accessibility_violations(site_url: str, tab: Any, path: str, scheme: str) -> None:
    tab.emulate_media(color_scheme=scheme)
    tab.goto(site_url + path)
    if path == "search/":
        tab.wait_for_selector("#search input")
    assert axe_violations(tab) == []


def test_faq_accordion_opens_by_mouse_and_keyboard(site_url: str, tab: Any) -> None:
    tab.goto(site_url + "intimacy/fear-of-intimacy/")
    details = tab.locator(".faq details").first
    assert details.get_attribute("open") is None
    details.locator("summary").click()
    assert details.get_attribute("open") is not None
    second = tab.locator(".faq details").nth(1)
    second.locator("summary").focus()
    tab.keyboard.press("Enter")
    assert second.get_attribute("open") is not None
    tab.keyboard.press("Space")
    assert second.get_attribute("open") is None


def test_skip_link_moves_focus_to_the_content(site_url: str, tab: Any) -> None:
    tab.goto(site_url + "intimacy/")
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.textContent") == "Skip to content"
    assert tab.locator(".skip-link").is_visible()  # visible when focused
    tab.keyboard.press("Enter")
    assert tab.evaluate("location.hash") == "#main"


def test_search_finds_a_known_page(site_url: str, tab: Any) -> None:
    tab.goto(site_url + "search/")
    tab.fill("#search input", "limerence")
    tab.wait_for_selector(".pagefind-ui__result-link", timeout=15000)
    links = tab.locator(".pagefind-ui__result-link").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    )
    assert "/lust-vs-attachment/limerence/" in links
    filters = tab.locator(".pagefind-ui__filter-name").all_inner_texts()
    assert {"topic", "type"} <= {f.strip().lower() for f in filters}


def test_quiz_shows_the_expected_profile_by_keyboard(site_url: str, tab: Any) -> None:
    tab.goto(site_url + "quiz/")
    statements = tab.locator("fieldset.quiz-statement")
    count = statements.count()
    for i in range(count):
        legend = statements.nth(i).locator("legend").inner_text()
        agree = not any(
            w in legend
            for w in ("step back", "on my own", "uneasy", "wonder", "often want", "worry")
        )
        # closeness statements: agree when they speak of ease; reassurance: disagree
        value = "5" if agree else "1"
        statements.nth(i).locator(f'input[value="{value}"]').focus()
        tab.keyboard.press("Space")
    tab.locator("button.quiz-submit").focus()
    tab.keyboard.press("Enter")
    status = tab.locator(".quiz-status").inner_text()
    assert "Open and steady" in status
    assert tab.locator("#profile-open-and-steady.quiz-match").count() == 1
    assert tab.evaluate("document.activeElement.id") == "profile-open-and-steady"


def test_pages_are_complete_without_javascript(browser: Any, site_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(site_url + "quiz/")
        assert page.locator("fieldset.quiz-statement").count() >= 10
        assert page.locator(".quiz-profile").count() == 4
        assert not page.locator("button.quiz-submit").is_visible()
        page.goto(site_url + "search/")
        assert page.locator("noscript").count() == 1
        page.goto(site_url + "intimacy/fear-of-intimacy/")
        assert page.locator(".faq details").count() >= 3
    finally:
        context.close()


@pytest.mark.parametrize(
    "path", ["", "intimacy/", "intimacy/fear-of-intimacy/", "intimacy/map/", "quiz/"]
)
def test_pages_fit_a_320_pixel_screen(browser: Any, site_url: str, path: str) -> None:
    page = browser.new_page(viewport={"width": 320, "height": 640})
    try:
        page.goto(site_url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 320, f"{path} scrolls sideways ({overflow} px)"
    finally:
        page.close()
