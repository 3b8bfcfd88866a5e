"""`make screenshots`: the README's pictures of a hub and an article, light and dark,
taken with the same browser the tests use (Debian's chromium through Playwright)."""

from __future__ import annotations

import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import sync_playwright

from intimacy_ssg import build, load_config

from .conftest import CHROMIUM, CHROMIUM_FLAGS
from .support import REPO, chdir


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


SHOTS = {"hub": "intimacy/", "article": "intimacy/fear-of-intimacy/"}


def main() -> None:
    target = REPO / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "site"
        with chdir(REPO):
            build(load_config(REPO, output_dir=out, base_url="/"))
        handler = partial(_Quiet, directory=str(out))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            for scheme in ("light", "dark"):
                page = browser.new_page(
                    viewport={"width": 1000, "height": 1100}, color_scheme=scheme
                )
                for name, path in SHOTS.items():
                    page.goto(url + path)
                    page.screenshot(path=str(target / f"{name}-{scheme}.png"))
                    print(f"wrote docs/screenshots/{name}-{scheme}.png")
                page.close()
            browser.close()
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
