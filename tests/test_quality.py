"""HTML validity (the Nu checker), page weight and an offline link check of the built site."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from intimacy_ssg import build, load_config

from .support import REPO, chdir, need, tree

VNU = Path(os.environ.get("VNU_JAR", REPO / "node_modules/vnu-jar/build/dist/vnu.jar"))
BUDGET = 60 * 1024  # HTML + CSS + JS of one article, uncompressed


def built(tmp_path: Path, base_url: str) -> Path:
    out = tmp_path / "site"
    with chdir(REPO):
        result = build(load_config(REPO, output_dir=out, base_url=base_url))
    assert result.written
    return out


def test_every_page_is_valid_html(tmp_path: Path) -> None:
    reason = "needs the Nu HTML checker (npm install vnu-jar) and java"
    need(VNU.is_file() and shutil.which("java") is not None, reason, "run the HTML checker")
    out = built(tmp_path, "https://closer.example.org/")
    done = subprocess.run(
        [
            "java",
            "-jar",
            str(VNU),
            "--errors-only",
            "--skip-non-html",
            "--format",
            "json",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    messages = json.loads(done.stderr or '{"messages": []}')["messages"]
    problems = [
        f"{m.get('url', '').split('/site/')[-1]}:{m.get('lastLine')}: {m['message']}"
        for m in messages
        if m.get("type") == "error"
    ]
    assert problems == []
    assert len(list(out.rglob("*.html"))) >= 35  # it really looked at the pages


def test_page_weight_budget(tmp_path: Path) -> None:
    out = built(tmp_path, "/")
    css = sum(p.stat().st_size for p in (out / "css").glob("*.css"))
    articles = [p for p in out.glob("*/*/index.html") if p.parent.name != "map"]
    assert len(articles) == 21
    for page in articles:
        html = page.read_text()
        scripts = re.findall(r'<script src="/([^"]+)"', html)
        weight = page.stat().st_size + css + sum((out / s).stat().st_size for s in scripts)
        assert weight < BUDGET, (page, weight)
        assert "<script src=" not in html.split("</head>")[0]  # nothing blocks rendering


@pytest.mark.parametrize("base_url", ["/", "https://example.org/sub/path/"])
def test_offline_link_check(tmp_path: Path, base_url: str) -> None:
    """Every internal href and src resolves to a file, and every #fragment to an id."""
    out = built(tmp_path, base_url)
    files = tree(out)
    prefix = urlsplit(base_url).path
    ids: dict[str, set[str]] = {}
    for name, data in files.items():
        if name.endswith(".html"):
            ids[name] = set(re.findall(r'\sid="([^"]+)"', data.decode()))
    broken = []
    for name, data in files.items():
        if not name.endswith(".html") or name.startswith("pagefind/"):
            continue
        for ref in re.findall(r'(?:href|src)="([^"]+)"', data.decode()):
            parts = urlsplit(ref)
            if parts.scheme or parts.netloc:
                continue
            if not parts.path:  # a fragment on this page
                target = name
            else:
                assert parts.path.startswith(prefix), (name, ref)
                path = unquote(parts.path[len(prefix) :])
                target = path + "index.html" if path.endswith("/") or not path else path
            if target not in files:
                broken.append(f"{name} -> {ref}")
            elif parts.fragment and parts.fragment not in ids.get(target, set()):
                broken.append(f"{name} -> {ref} (no such id)")
    assert broken == []
