"""`make audit`: build the site, serve it on 127.0.0.1 and run Lighthouse (npm, with
Debian's chromium) on a hub and an article. Scores go to audit/scores.json, each full
Lighthouse report beside it. Targets: 100 for accessibility, SEO and best practices, at
least 95 for performance.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from intimacy_ssg import build, load_config

REPO = Path(__file__).resolve().parent.parent
PAGES = {"hub": "intimacy/", "article": "intimacy/fear-of-intimacy/"}
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync"
)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


def main() -> int:
    chromium = shutil.which("chromium")
    if chromium is None or shutil.which("npx") is None:
        print("make audit needs Debian's chromium and npm (npx)", file=sys.stderr)
        return 2
    out_dir = REPO / "audit"
    scores: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(site)))
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        old = Path.cwd()
        os.chdir(REPO)
        try:
            build(load_config(REPO, output_dir=site, base_url=url))
        finally:
            os.chdir(old)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            for name, path in PAGES.items():
                report = out_dir / f"{name}.json"
                subprocess.run(
                    [
                        "npx",
                        "--yes",
                        "lighthouse",
                        url + path,
                        f"--chrome-flags={FLAGS} --user-data-dir={tmp}/profile-{name}",
                        f"--only-categories={','.join(CATEGORIES)}",
                        "--output=json",
                        f"--output-path={report}",
                        "--quiet",
                    ],
                    check=True,
                    env=dict(os.environ, CHROME_PATH=chromium),
                )
                data = json.loads(report.read_text())
                scores[name] = {c: round(data["categories"][c]["score"] * 100) for c in CATEGORIES}
        finally:
            server.shutdown()
            server.server_close()
    (out_dir / "scores.json").write_text(json.dumps(scores, indent=2) + "\n")
    for name, row in scores.items():
        print(name, " ".join(f"{c}={v}" for c, v in row.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
