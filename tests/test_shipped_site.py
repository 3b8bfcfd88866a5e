"""The site this repository ships builds cleanly in strict mode, with every page type."""

from __future__ import annotations

import re
from pathlib import Path

from intimacy_ssg import build, load_config

from .support import REPO, chdir, tree


def test_shipped_site_is_clean_in_strict_mode(tmp_path: Path) -> None:
    with chdir(REPO):
        config = load_config(REPO, output_dir=tmp_path / "out", strict=True)
        result = build(config)
    assert [d.format() for d in result.diagnostics] == []
    assert result.written
    files = tree(tmp_path / "out")
    for path in (
        "index.html",
        "404.html",
        "about/index.html",
        "intimacy/index.html",
        "intimacy/fear-of-intimacy/index.html",
        "css/site.css",
    ):
        assert path in files, path
    hub = files["intimacy/index.html"].decode()
    spokes = re.findall(r'<li><a href="(/intimacy/[a-z-]+/)">', hub)
    assert len(spokes) >= 3
    for url in spokes:
        assert url.strip("/") + "/index.html" in files


def test_every_internal_href_in_the_shipped_site_exists(tmp_path: Path) -> None:
    with chdir(REPO):
        build(load_config(REPO, output_dir=tmp_path / "out"))
    files = tree(tmp_path / "out")
    for name, data in files.items():
        if not name.endswith(".html"):
            continue
        for href in re.findall(r'href="(/[^"#]*)', data.decode()):
            target = href.lstrip("/")
            assert target in files or target + "index.html" in files, f"{name} -> {href}"
