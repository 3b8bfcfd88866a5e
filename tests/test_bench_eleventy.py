"""bench/eleventy.py: the minimal Eleventy site built from the benchmark corpus, and a
real Eleventy build of it (npm `@11ty/eleventy`, which `.ci/run` installs: CI must run it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.eleventy import eleventy_command, make_eleventy_site, time_eleventy

from .support import need, tree


def need_eleventy() -> list[str]:
    command = eleventy_command()
    reason = "needs Eleventy (npm install --no-save @11ty/eleventy@3) and Node.js"
    need(command is not None, reason, "build the corpus with Eleventy")
    assert command is not None
    return command


def test_make_eleventy_site_copies_the_corpus_and_replaces_it(
    corpus: tuple[Path, int], tmp_path: Path
) -> None:
    content, count = corpus
    site = tmp_path / "site"
    make_eleventy_site(content, site)
    made = tree(site)
    assert tree(site / "content") == tree(content)
    assert len(tree(content)) == count
    assert {p for p in made if not p.startswith("content/")} == {
        "eleventy.config.mjs",
        "_includes/page.njk",
    }
    (site / "content" / "stale.md").write_text("---\ntitle: Stale\n---\n")
    (site / "_site").mkdir()
    (site / "_site" / "kept.html").write_text("")
    make_eleventy_site(content, site)
    assert tree(site / "content") == tree(content)  # the copy is made afresh
    assert (site / "_site" / "kept.html").exists()  # anything else is left alone
    second = tmp_path / "second"
    make_eleventy_site(content, second)
    assert tree(second) == {p: b for p, b in tree(site).items() if not p.startswith("_site/")}


def test_eleventy_builds_the_site(corpus: tuple[Path, int], tmp_path: Path) -> None:
    need_eleventy()
    content, count = corpus
    result = time_eleventy(content, tmp_path, runs=1)
    assert result is not None
    assert result["version"].startswith("eleventy 3.")
    assert result["cold_s"] > 0 and result["peak_rss_mb"] > 0
    assert result["pages"] == count  # one page per corpus page
    built = tmp_path / "eleventy-site" / "_site"
    page = (built / "cluster-0000" / "topic-01" / "index.html").read_text()
    assert "<h1>Topic 0 topic 01</h1>" in page
    assert "<h2>Section 1</h2>" in page and "<nav>" not in page
    hub = (built / "cluster-0000" / "index.html").read_text()
    assert hub.count("<li><a href=") == 11  # the folder's spokes
    assert '<li><a href="/cluster-0000/topic-01/">Topic 0 topic 01</a></li>' in hub


def test_time_eleventy_rejects_no_runs(corpus: tuple[Path, int], tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        time_eleventy(corpus[0], tmp_path, runs=0)


def test_no_eleventy_means_none(
    corpus: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELEVENTY", str(tmp_path / "missing"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("bench.eleventy.REPO", tmp_path)
    assert eleventy_command() is None
    assert time_eleventy(corpus[0], tmp_path, runs=1) is None
    assert not (tmp_path / "eleventy-site").exists()


def test_a_failing_eleventy_build_exits_with_its_error(tmp_path: Path) -> None:
    need_eleventy()
    broken = tmp_path / "content"
    broken.mkdir()
    (broken / "index.md").write_text("---\ntitle: [unclosed\n---\nText.\n")
    with pytest.raises(SystemExit, match="eleventy build failed"):
        time_eleventy(broken, tmp_path, runs=1)
