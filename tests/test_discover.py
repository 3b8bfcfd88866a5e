from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from intimacy_ssg.discover import FolderMemo, classify, discover_sources
from intimacy_ssg.model import Discovered, Listing, PageKind

from .support import chdir, write_content

if TYPE_CHECKING:
    from intimacy_ssg.cache import Scanned


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
    """discover_sources() scanning the folders itself, or (listed) from the scan the build's
    fingerprint made, with scanning then made to fail: the two must agree."""
    if not listed:
        return discover_sources(content, static)
    from intimacy_ssg.cache import fingerprint

    listing: Listing = {}
    fingerprint(tuple(d for d in (content, static) if d.is_dir()), "", listing)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "scandir", _no_listing)
        return discover_sources(content, static, None, listing)


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


def test_the_fingerprints_scan_is_used_not_made_again(tmp_path: Path) -> None:
    """The build scans and stats every input once (cache.fingerprint) and hands discover
    the results."""
    from intimacy_ssg.cache import fingerprint

    content = write_content(tmp_path, {"index.md": "", "topic/index.md": "", "topic/a.md": ""})
    listing: Listing = {}
    fingerprint((content,), "", listing)
    assert {folder: [name for name, _ in entries] for folder, entries in listing.items()} == {
        str(content): ["index.md", "topic"],
        str(content / "topic"): ["a.md", "index.md"],
    }
    a = listing[str(content / "topic")][0][1]
    listing[str(content / "topic")][0] = ("a.md", os.stat_result((a.st_mode, 42, *a[2:])))
    found = discover_sources(content, tmp_path / "static", None, listing)
    assert found.stats["topic/a.md"][2] == 42  # the inode given, not one taken again
    assert (
        found.stats["index.md"] == discover_sources(content, tmp_path / "static").stats["index.md"]
    )


def test_the_pages_changed_since_a_moment_are_read_for_parsing_apart(tmp_path: Path) -> None:
    """changed_sources: the pages (valid names and places only) whose mtime or ctime is at or
    after the moment, read, for a forked process to parse ahead of the build; parse_changed
    parses them, or none when there are more than a pool would take."""
    import hashlib
    import time

    from intimacy_ssg import parallel
    from intimacy_ssg.cache import fingerprint
    from intimacy_ssg.discover import changed_sources

    files = {
        "index.md": "---\ntitle: Home\ndescription: d\n---\nHi.\n",
        "topic/a.md": "---\ntitle: A\ndescription: d\n---\nA.\n",
        "topic/b.md": "---\ntitle: B\ndescription: d\n---\nB.\n",
        "Bad Name.md": "",
        "topic/deep/x.md": "",
        "topic/notes.txt": "",
    }
    content = write_content(tmp_path, files)
    later = time.time_ns() + 3600 * 10**9  # every file's ctime is now: only mtimes are later
    for rel in ("topic/a.md", "Bad Name.md", "topic/deep/x.md", "topic/notes.txt"):
        os.utime(content / rel, ns=(later + 10**9, later + 10**9))
    listing: Listing = {}
    fingerprint((content,), "", listing)
    with chdir(tmp_path):
        assert [
            (s.rel, s.display, s.page_id) for s in changed_sources(content, listing, later)
        ] == [("topic/a.md", "content/topic/a.md", "topic/a")]
        everything = changed_sources(content, listing, 0)  # ctimes count too
        assert [s.rel for s in everything] == ["index.md", "topic/a.md", "topic/b.md"]
        assert all(s.data == (content / s.rel).read_bytes() for s in everything)
        assert all(s.digest == hashlib.sha256(s.data).digest() for s in everything)
        parsed = parallel.parse_changed(content, listing, 0, "editor", frozenset())
        assert parsed == {
            (s.rel, s.digest): parallel.guarded_parse(s, "editor", frozenset()) for s in everything
        }
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(parallel, "POOL_MIN", 2)  # a pool would take 4 or more
            assert len(parallel.parse_changed(content, listing, 0, "editor", frozenset())) == 3
            patch.setattr(parallel, "POOL_MIN", 1)
            assert parallel.parse_changed(content, listing, 0, "editor", frozenset()) == {}


def test_a_watchers_rescan_takes_each_unlisted_folder_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the folders a watcher saw change (touched_folders), fingerprint() lists again
    only those and the folders above them, and takes every other from the last scan.
    discover_sources() then takes each folder listed as it was from its memo. Both give
    what a full scan gives, but for a change the watcher missed, which only a full scan
    sees."""
    from intimacy_ssg import cache
    from intimacy_ssg.cache import fingerprint, touched_folders

    monkeypatch.setattr(cache, "RACY_NS", 0)  # files just written: digests all the same
    files = {"index.md": "", "topic/a.md": "", "topic/b.md": "", "other/c.md": "", "Bad.md": ""}
    files["other/Worse.md"] = ""  # its problem is kept with its folder's share too
    files["more/e.md"] = "Read here: not a cached page's source, so its folder is not kept."
    content = write_content(tmp_path, files)
    static = tmp_path / "static"
    scans: dict[str, Scanned] = {}
    listing: Listing = {}
    fingerprint((content,), "", listing, scans)
    memo: FolderMemo = {}
    discover_sources(content, static, None, listing, None, memo=memo)
    assert set(memo) == {str(content), str(content / "topic"), str(content / "other")}
    assert not memo[str(content / "other")][1][0][0].data
    other = memo[str(content / "other")][1]

    (content / "topic/d.md").write_text("")  # seen by the watcher
    (content / "other/c.md").write_text("changed")  # missed by it
    touched = touched_folders([str(content / "topic/d.md")], (content,))
    assert touched == {str(content / "topic/d.md")}
    listed: list[str] = []
    real = os.scandir

    def spy(path: str) -> object:
        listed.append(os.fspath(path))
        return real(path)

    again: dict[str, Scanned] = {}
    listing = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "scandir", spy)
        watched = fingerprint((content,), "", listing, again, scans, touched)
        found = discover_sources(content, static, None, listing, None, memo=memo)
    assert sorted(listed) == [str(content), str(content / "topic")]  # and the folder above
    assert str(content / "more") in listing and str(content / "more") not in memo
    assert again[str(content / "other")] is scans[str(content / "other")]
    assert memo[str(content / "other")][1] is other

    fresh = discover_sources(content, static)
    assert [s.rel for s in found.sources] == [s.rel for s in fresh.sources]
    assert sorted(found.stats) == sorted(fresh.stats) and "topic/d.md" in found.stats
    assert found.stats["other/c.md"] != fresh.stats["other/c.md"]  # the missed change
    assert sorted(d.format() for d in found.diagnostics) == sorted(
        d.format() for d in fresh.diagnostics
    )
    assert [d.code for d in found.diagnostics] == ["invalid-slug", "invalid-slug"]

    full = fingerprint((content,), "", {})
    assert watched.digest != full.digest  # only a full scan sees the missed change
    told = touched | {str(content / "other/c.md")}
    assert fingerprint((content,), "", {}, {}, again, told).digest == full.digest
    assert fingerprint((content,), "", {}, {}, again, None).digest == full.digest
