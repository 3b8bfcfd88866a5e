"""Output is all or nothing: a failed build leaves the previous output/ byte for byte."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from intimacy_ssg import ConfigError, build, load_config
from intimacy_ssg import write as write_module
from intimacy_ssg.model import OutputFile, StaticFile
from intimacy_ssg.write import (
    MARKER,
    Manifest,
    OutputCheck,
    digest,
    file_state,
    verified,
    write_output,
)

from .support import REPO, build_content, chdir, page, tree, write_content

SITE = {"index.md": page("Home", "[[a]]\n"), "a.md": page("A"), "b.md": page("B")}


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_failed_build_leaves_previous_output_byte_identical(tmp_path: Path) -> None:
    result, _ = build_content(tmp_path, SITE, write=True)
    assert result.written
    before = snapshot(tmp_path / "output")
    broken = dict(SITE, **{"a.md": "---\ntitle: [\n---\n", "c.md": page("C", "[[nope]]")})
    result, problems = build_content(tmp_path, broken, write=True)
    assert not result.written and len(problems) == 2
    assert snapshot(tmp_path / "output") == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".output.staging")] == []


def test_strict_warnings_also_leave_output_alone(tmp_path: Path) -> None:
    build_content(tmp_path, SITE, write=True)
    before = snapshot(tmp_path / "output")
    warned = dict(SITE, **{"b.md": page("B", colour="blue")})
    result, _problems = build_content(tmp_path, warned, write=True, strict=True)
    assert (result.written, result.errors, result.warnings) == (False, 0, 1)
    assert snapshot(tmp_path / "output") == before


def test_crash_while_writing_leaves_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_content(tmp_path, SITE, write=True)
    before = snapshot(tmp_path / "output")
    calls = 0
    real = Path.write_bytes

    def flaky(self: Path, data: bytes) -> int:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt  # Ctrl-C halfway through writing
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", flaky)
    with pytest.raises(KeyboardInterrupt):
        build_content(tmp_path, dict(SITE, **{"b.md": page("B changed")}), write=True)
    assert snapshot(tmp_path / "output") == before
    assert not any(p.name.startswith(".output.staging") for p in tmp_path.iterdir())


def test_deleted_pages_leave_no_stale_files(tmp_path: Path) -> None:
    build_content(tmp_path, SITE, write=True)
    assert (tmp_path / "output/b/index.html").exists()
    (tmp_path / "content/b.md").unlink()
    with chdir(tmp_path):
        build(load_config(REPO, content_dir=tmp_path / "content", output_dir=tmp_path / "output"))
    assert not (tmp_path / "output/b").exists()
    assert (tmp_path / "output/a/index.html").exists()


def test_swap_replaces_an_existing_tree(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_output((OutputFile("x/index.html", b"1"),), (), tmp_path, out)
    write_output((OutputFile("y/index.html", b"2"),), (), tmp_path, out)
    assert tree(out) == {MARKER: (out / MARKER).read_bytes(), "y/index.html": b"2"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]


def _gone_soon(paths: list[Path], seconds: float = 20.0) -> bool:
    """Whether every path is gone within `seconds` (deleted by a process of its own). The
    deleting processes are reaped after (a process never waited for warns at exit)."""
    import time

    deadline = time.monotonic() + seconds
    while any(p.exists() for p in paths) and time.monotonic() < deadline:
        time.sleep(0.02)
    for deleter in write_module._DELETERS:
        deleter.wait(timeout=seconds)
    return not any(p.exists() for p in paths)


def test_a_large_old_tree_is_deleted_by_a_process_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a full commit swaps a large tree in, the old one is renamed `.out.old-*` and
    deleted by a separate process the build does not wait for; old trees such a process
    left (killed) go with it. The new tree is complete at once, no staging folder is left,
    and nothing else beside it is touched."""
    import subprocess

    started: list[list[str]] = []
    real_popen = subprocess.Popen

    def spied(args: list[str], **kwargs: object) -> object:
        started.append(args)
        return real_popen(args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(write_module, "BACKGROUND_MIN", 2)
    monkeypatch.setattr(subprocess, "Popen", spied)
    out = tmp_path / "out"
    first = tuple(OutputFile(f"p{n}/index.html", b"old %d" % n) for n in range(3))
    write_output(first, (), tmp_path, out)
    assert started == []  # nothing was swapped out yet
    left = tmp_path / ".out.old-99999-1"  # by a deleting process that was killed
    (left / "deep/er").mkdir(parents=True)
    (left / "deep/er/file").write_bytes(b"x")
    mine = tmp_path / "notes.old-1"
    mine.mkdir()
    second = tuple(OutputFile(f"q{n}/index.html", b"new %d" % n) for n in range(3))
    write_output(second, (), tmp_path, out)
    assert tree(out) == {MARKER: (out / MARKER).read_bytes(), **{o.rel: o.data for o in second}}
    # one process for the tree left over, started as the build began; one for the tree
    # swapped out (with the other, if it is not gone yet)
    assert len(started) == 2 and all(args[0] == sys.executable for args in started)
    before, after = ([Path(a) for a in args[args.index("-c") + 2 :]] for args in started)
    assert before == [left]
    swapped = [p for p in after if p != left]
    assert len(swapped) == 1 and swapped[0].name.startswith(f".out.old-{os.getpid()}-")
    assert _gone_soon([left, *swapped])
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "notes.old-1", "out"]


def test_an_old_tree_is_deleted_at_once_when_small_or_no_process_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below BACKGROUND_MIN outputs, or where the deleting process cannot be started, the
    build deletes the old tree itself before it ends."""
    import subprocess

    out = tmp_path / "out"
    files = tuple(OutputFile(f"p{n}/index.html", b"%d" % n) for n in range(3))
    write_output(files, (), tmp_path, out)
    write_output(files[:2], (), tmp_path, out)  # 2 outputs: below the default
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]

    def refused(*args: object, **kwargs: object) -> object:
        raise OSError("no processes here")

    monkeypatch.setattr(write_module, "BACKGROUND_MIN", 1)
    monkeypatch.setattr(subprocess, "Popen", refused)
    write_output(files, (), tmp_path, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]
    assert len(tree(out)) == 4


def _written(out: Path, files: dict[str, bytes], previous: Manifest | None) -> Manifest:
    """One cached commit of `files` into `out` (as a rebuild does): its new manifest."""
    with write_module.OutputWriter(out, previous) as writer:
        for rel, data in files.items():
            writer.put(rel, data)
        writer.commit()
    return writer.manifest


@pytest.mark.parametrize(
    ("changed", "whole"), [(0, False), (1, False), (2, False), (3, True), (5, True)]
)
def test_a_rebuild_that_changes_most_of_the_site_swaps_in_a_whole_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, changed: int, whole: bool
) -> None:
    """A cached rebuild moves its changed files into output/ one by one, unless they are
    at least WHOLE_MIN and more than half the site: then the new tree is swapped in whole,
    with the unchanged files linked into it. Either way output/ ends as the new site, the
    unchanged files keep their inode and mtime, and nothing is left beside output/."""
    monkeypatch.setattr(write_module, "WHOLE_MIN", 2)
    out = tmp_path / "out"
    old = {f"p{n}/index.html": b"old %d" % n for n in range(6)}
    manifest = _written(out, old, None)
    kept = {rel: os.stat(out / rel) for rel in old}
    folder = os.stat(out).st_ino
    new = {rel: b"new" if n < changed else data for n, (rel, data) in enumerate(old.items())}
    new["p0/more.html"] = b"added"
    del new["p5/index.html"]  # a page gone: its file must not survive either commit
    # Staged: the changed pages and the new one, of 6 files in all. With 2 changed, 3 are
    # staged: half the site, which is not more than half.
    after = _written(out, new, manifest)
    assert tree(out) == {MARKER: (out / MARKER).read_bytes(), **new}
    assert (os.stat(out).st_ino != folder) is whole  # swapped, or the same folder updated
    for rel, data in new.items():
        st = os.stat(out / rel)
        assert after[rel] == file_state(digest(data), st)
        if rel in old and data == old[rel]:
            assert (st.st_ino, st.st_mtime_ns) == (kept[rel].st_ino, kept[rel].st_mtime_ns)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]


def test_many_files_moved_in_leave_their_folders_to_a_process_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From BACKGROUND_MIN files moved into output/ one by one, the staging folder's
    emptied tree is deleted by a separate process, as an old tree is after a swap."""
    import subprocess

    started: list[list[str]] = []
    real_popen = subprocess.Popen

    def spied(args: list[str], **kwargs: object) -> object:
        started.append(args)
        return real_popen(args, **kwargs)  # type: ignore[call-overload]

    out = tmp_path / "out"
    old = {f"p{n}/index.html": b"old %d" % n for n in range(6)}
    manifest = _written(out, old, None)
    monkeypatch.setattr(write_module, "BACKGROUND_MIN", 2)
    monkeypatch.setattr(subprocess, "Popen", spied)
    new = {**old, "p0/index.html": b"new 0", "p1/index.html": b"new 1"}
    _written(out, new, manifest)
    assert tree(out) == {MARKER: (out / MARKER).read_bytes(), **new}
    assert len(started) == 1
    (trash,) = (Path(a) for a in started[0][started[0].index("-c") + 2 :])
    assert trash.name.startswith(f".out.old-{os.getpid()}-")
    assert _gone_soon([trash])
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]


def test_stale_staging_folders_from_killed_builds_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / ".out.staging-99999"
    (stale / "junk").mkdir(parents=True)
    write_output((OutputFile("index.html", b"x"),), (), tmp_path, tmp_path / "out")
    assert not stale.exists()


@pytest.mark.parametrize(
    "rel", ["../evil.html", "a/../../evil.html", "/tmp/evil.html", "a//evil.html", "./evil.html"]
)
def test_refuses_to_write_outside_the_output_folder(tmp_path: Path, rel: str) -> None:
    with pytest.raises(ValueError, match="outside the output folder"):
        write_output((OutputFile(rel, b"x"),), (), tmp_path, tmp_path / "out")
    assert not (tmp_path / "evil.html").exists()
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.staging-*"))  # the staging folder went too


def test_refuses_to_replace_a_folder_it_did_not_make(tmp_path: Path) -> None:
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "thesis.txt").write_text("years of work")
    with pytest.raises(ConfigError, match="was not made by intimacy-ssg"):
        write_output((), (), tmp_path, documents)
    assert (documents / "thesis.txt").read_text() == "years of work"


@pytest.mark.parametrize("where", ["content", "content/sub", "."])
def test_output_inside_or_containing_content_is_refused(tmp_path: Path, where: str) -> None:
    content = write_content(tmp_path, SITE)
    project = tmp_path / "project"
    project.mkdir()
    (project / "site.yaml").write_text("title: T\n")
    (project / "templates").mkdir()
    with pytest.raises(ConfigError) as info:
        load_config(project, content_dir=content, output_dir=tmp_path / where)
    assert "output folder" in str(info.value)


def test_static_files_are_copied_as_they_are(tmp_path: Path) -> None:
    static = tmp_path / "static"
    (static / "img").mkdir(parents=True)
    (static / "img" / "a.bin").write_bytes(bytes(range(256)))
    write_output((), (StaticFile("img/a.bin", "static/img/a.bin"),), static, tmp_path / "out")
    assert (tmp_path / "out/img/a.bin").read_bytes() == bytes(range(256))


def test_the_search_index_is_built_and_byte_identical_every_time(tmp_path: Path) -> None:
    files = {"index.md": page("Home", "[[a]] Limerence is a word.\n"), "a.md": page("A")}
    first, _ = build_content(tmp_path / "one", files, write=True, search=True)
    second, _ = build_content(tmp_path / "two", files, write=True, search=True)
    assert first.search == second.search == "indexed"
    one, two = tree(tmp_path / "one/output"), tree(tmp_path / "two/output")
    assert any(name.startswith("pagefind/filter/") for name in one)
    assert one == two
    assert (tmp_path / "one/output/search/index.html").exists()


def test_search_can_be_switched_off(tmp_path: Path) -> None:
    result, _ = build_content(tmp_path, {"index.md": page("Home")}, write=True)
    assert result.search == "off"
    assert not (tmp_path / "output/pagefind").exists()
    assert not (tmp_path / "output/search").exists()


# -- verifying what the last build wrote ---------------------------------------------------


def written(root: Path, files: dict[str, bytes]) -> Manifest:
    """Write files under root and return their manifest, as a build records it."""
    manifest: Manifest = {}
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        st = path.stat()
        manifest[rel] = file_state(digest(data), st)
    return manifest


@pytest.mark.parametrize("apart", [False, True], ids=["here", "forked"])
def test_an_output_check_trusts_only_untouched_files(tmp_path: Path, apart: bool) -> None:
    files = {f"p{n}/index.html": f"page {n}".encode() for n in range(50)}
    manifest = written(tmp_path, files)
    (tmp_path / "p3/index.html").write_bytes(b"edited by hand, longer")
    (tmp_path / "p7/index.html").unlink()
    os.utime(tmp_path / "p9/index.html", ns=(1, 1))  # same bytes, touched since
    with OutputCheck(tmp_path, manifest, apart=apart) as check:
        forked = check.forked
        trusted = check.result()
        assert check.result() is trusted  # asked twice, worked out once
    assert forked == apart
    assert trusted == verified(tmp_path, manifest)
    assert sorted(manifest.keys() - trusted.keys()) == [f"p{n}/index.html" for n in (3, 7, 9)]


def test_an_output_check_works_it_out_itself_when_the_forked_process_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = written(tmp_path, {"a.html": b"a", "b.html": b"b"})
    (tmp_path / "b.html").write_bytes(b"bb")
    parent = os.getpid()
    real = write_module.verified

    def dying(output_dir: Path, wanted: Manifest | None) -> Manifest:
        if os.getpid() != parent:
            os._exit(0)  # the forked process ends without an answer
        return real(output_dir, wanted)

    monkeypatch.setattr(write_module, "verified", dying)
    with OutputCheck(tmp_path, manifest, apart=True) as check:
        assert check.forked
        assert list(check.result()) == ["a.html"]


def test_an_output_check_never_asked_leaves_no_process_behind(tmp_path: Path) -> None:
    manifest = written(tmp_path, {"a.html": b"a"})
    with OutputCheck(tmp_path, manifest, apart=True) as check:
        pid = check._apart._pid
        assert pid != 0
    with pytest.raises(ChildProcessError):  # reaped already: no zombie
        os.waitpid(pid, os.WNOHANG)
