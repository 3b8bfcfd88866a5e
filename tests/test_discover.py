from __future__ import annotations

import os
from pathlib import Path

import pytest

from intimacy_ssg.discover import classify, discover_sources
from intimacy_ssg.model import Discovered, PageKind

from .support import chdir, write_content


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("index.md", ("index", PageKind.HOME, "")),
        ("about.md", ("about", PageKind.PAGE, "")),
        ("intimacy/index.md", ("intimacy", PageKind.HUB, "intimacy")),
        ("intimacy/fear-of-intimacy.md", ("intimacy/fear-of-intimacy", PageKind.SPOKE, "intimacy")),
    ],
)
def test_classify(rel: str, expected: tuple[str, PageKind, str]) -> None:
    assert classify(rel) == expected


def test_classify_refuses_deeper_paths() -> None:
    assert isinstance(classify("a/b/c.md"), str)


def _discover(content: Path, static: Path, listed: bool) -> Discovered:
    """discover_sources() walking the folders itself, or (listed) from the stats the build's
    fingerprint took, with folder listing then made to fail: the two must agree."""
    if not listed:
        return discover_sources(content, static)
    from intimacy_ssg.cache import fingerprint

    taken: dict[str, os.stat_result] = {}
    fingerprint(tuple(d for d in (content, static) if d.is_dir()), "", taken)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "scandir", _no_listing)
        return discover_sources(content, static, None, taken)


def _no_listing(*_args: object) -> None:
    raise AssertionError("listed again")


@pytest.mark.parametrize("listed", [False, True], ids=["walked", "listed"])
def test_discovery_is_sorted_and_skips_temp_files_and_non_pages(
    tmp_path: Path, listed: bool
) -> None:
    content = write_content(
        tmp_path,
        {
            "b.md": "",
            "a.md": "",
            "topic/z.md": "",
            "topic/index.md": "",
            "notes.txt": "",
            "image.png": b"\x89PNG",
            ".hidden.md": "",
            "a.md~": "",
            ".a.md.swp": "",
            "4913": "",
            "a.md___jb_tmp___": "",
            ".git/config.md": "",
            ".drafts/topic/a.md": "",
            "topic/#autosave#": "",
        },
    )
    with chdir(tmp_path):
        found = _discover(content, tmp_path / "static", listed)
    assert [s.rel for s in found.sources] == ["a.md", "b.md", "topic/index.md", "topic/z.md"]
    assert found.clusters == ("topic",)
    assert found.sources[0].display == "content/a.md"
    assert found.diagnostics == ()


@pytest.mark.parametrize("listed", [False, True], ids=["walked", "listed"])
def test_symlinks_are_refused_naming_their_target(tmp_path: Path, listed: bool) -> None:
    content = write_content(tmp_path, {"index.md": ""})
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    os.symlink(secret, content / "leak.md")
    static = tmp_path / "static"
    static.mkdir()
    os.symlink(tmp_path, static / "loop")
    with chdir(tmp_path):
        found = _discover(content, static, listed)
    assert [s.rel for s in found.sources] == ["index.md"]
    assert found.statics == ()
    assert [(d.code, d.severity.value, str(d.location)) for d in found.diagnostics] == [
        ("unsafe-path", "error", "content/leak.md"),
        ("unsafe-path", "error", "static/loop"),
    ]
    assert found.diagnostics[0].message.startswith(f"symbolic link to '{secret}' refused")


def test_file_listing_order_does_not_matter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = write_content(tmp_path, {f"p{i}.md": "" for i in range(20)})
    real_walk = os.walk

    def reversed_walk(top: str | os.PathLike[str]):
        for dirpath, dirnames, filenames in real_walk(top):
            dirnames.reverse()
            yield dirpath, dirnames, list(reversed(filenames))

    first = discover_sources(content, tmp_path / "static")
    monkeypatch.setattr(os, "walk", reversed_walk)
    second = discover_sources(content, tmp_path / "static")
    assert [s.rel for s in first.sources] == [s.rel for s in second.sources]


def test_stats_taken_for_the_fingerprint_are_used_not_taken_again(tmp_path: Path) -> None:
    """The build stats every input once (cache.fingerprint) and hands discover the results."""
    from intimacy_ssg.cache import fingerprint

    content = write_content(tmp_path, {"index.md": "", "topic/index.md": "", "topic/a.md": ""})
    taken: dict[str, os.stat_result] = {}
    fingerprint((content,), "", taken)
    names = ("", "index.md", "topic", "topic/index.md", "topic/a.md")  # "": listed whole
    assert sorted(taken) == sorted(str(content / name) for name in names)
    real = os.stat(content / "topic/a.md")
    taken[str(content / "topic/a.md")] = os.stat_result((real.st_mode, 42, *real[2:]))
    found = discover_sources(content, tmp_path / "static", None, taken)
    assert found.stats["topic/a.md"][2] == 42  # the inode given, not one taken again
    assert (
        found.stats["index.md"] == discover_sources(content, tmp_path / "static").stats["index.md"]
    )


def test_an_unchanged_file_takes_its_cached_pages_source(tmp_path: Path) -> None:
    """Its slug and place were checked when it was cached: discover neither reads it nor
    checks it again, and hands on the cached page's source as it is."""
    from intimacy_ssg.model import FrontMatter, Page

    content = write_content(tmp_path, {"index.md": "home", "topic/index.md": "", "topic/a.md": "a"})
    first = discover_sources(content, tmp_path / "static")
    known = {s.rel: (first.stats[s.rel], s.digest) for s in first.sources}
    cached = {
        (s.rel, s.digest): Page(s, FrontMatter(s.slug, ""), b"", (), (), (), 0, ())
        for s in first.sources
    }
    (content / "topic/a.md").write_text("a, edited at more length")
    second = discover_sources(content, tmp_path / "static", known, None, cached)
    by_rel = {s.rel: s for s in second.sources}
    assert by_rel["index.md"] is cached[("index.md", known["index.md"][1])].source
    assert by_rel["topic/a.md"].data == b"a, edited at more length"  # changed: read again
    assert second.stats == discover_sources(content, tmp_path / "static").stats
    assert second.clusters == first.clusters == ("topic",)
