"""Same input, same bytes: whatever the hash seed, the time zone or the listing order."""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from intimacy_ssg import build, load_config
from intimacy_ssg.model import UNREAD

from .support import REPO, SITES, tree


def build_in_subprocess(out: Path, content: Path, hash_seed: str, tz: str, epoch: str) -> None:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed, TZ=tz, SOURCE_DATE_EPOCH=epoch)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "intimacy_ssg",
            "build",
            "--project",
            str(REPO),
            "--content",
            str(content),
            "--output",
            str(out),
        ],
        env=env,
        check=True,
        capture_output=True,
    )


def test_two_builds_are_byte_identical_across_hash_seeds_time_zones_and_clocks(
    tmp_path: Path,
) -> None:
    for content in (REPO / "content", SITES / "valid-basic/content"):
        first, second = tmp_path / f"{content.parent.name}-1", tmp_path / f"{content.parent.name}-2"
        build_in_subprocess(first, content, "1", "UTC", "0")
        build_in_subprocess(second, content, "4242", "Pacific/Kiritimati", "1900000000")
        one, two = tree(first), tree(second)
        assert sorted(one) == sorted(two)
        assert [name for name in one if one[name] != two[name]] == []
        assert len(one) > 5


def test_rendering_across_processes_gives_the_same_bytes_and_diagnostics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped site rendered in forked workers (the pool threshold lowered so a small
    site uses it) equals the site rendered in one process, template failures included. The
    build's own process renders a share of the outputs, the forked one the rest."""
    from intimacy_ssg import render

    pools: list[int] = []
    real = concurrent.futures.ProcessPoolExecutor

    def counted(*args: Any, **kwargs: Any) -> Any:
        pools.append(1)
        return real(*args, **kwargs)

    here: list[str] = []  # outputs rendered in this process (a forked one appends to its copy)
    real_render = render._render_one

    def spied(job: Any, *args: Any) -> Any:
        here.append(job.rel)
        return real_render(job, *args)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", counted)  # imported late
    monkeypatch.setattr(render, "_render_one", spied)
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    broken = tmp_path / "templates/article.html"
    for name, templates in (("good", REPO / "templates"), ("broken", tmp_path / "templates")):
        if name == "broken":
            broken.write_text(broken.read_text().replace("{{ page.title }}", "{{ page.nope }}"))
        config = replace(
            load_config(REPO), output_dir=tmp_path / f"{name}-1", templates_dir=templates
        )
        here.clear()
        one = build(config, jobs=1, keep_outputs=True)
        everything = len(here)
        monkeypatch.setattr(render, "POOL_MIN", 2)
        here.clear()
        two = build(replace(config, output_dir=tmp_path / f"{name}-2"), jobs=2, keep_outputs=True)
        monkeypatch.setattr(render, "POOL_MIN", 10**9)
        assert 0 < len(here) < everything
        assert one.rendered == two.rendered
        assert len(pools) == (1 if name == "good" else 2)  # only the second build forked
        assert one.outputs == two.outputs
        assert [d.format() for d in one.diagnostics] == [d.format() for d in two.diagnostics]
        if name == "broken":
            assert any(d.code == "template-error" for d in two.diagnostics)


def test_report_facts_made_by_forked_processes_are_those_of_the_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build for a report keeps each output's facts rather than its bytes, made where
    the output is rendered (forked render processes make theirs as they stage it, or take
    its digest when nothing is written): they must be what the report makes of the bytes
    one process renders, for every output, with a page's parts for the pages only."""
    from intimacy_ssg import render, report
    from intimacy_ssg.site import output_path

    base = load_config(REPO)
    kept = build(base, write=False, jobs=1, keep_outputs=True)
    assert kept.site is not None and kept.facts == ()
    pages = {output_path(url) for url in kept.site.urls.values()}
    expected = tuple(report.output_facts(o.rel, o.data, o.rel in pages) for o in kept.outputs)
    assert sum(f.parts is not None for f in expected) == len(kept.site.pages) > 20
    here: list[str] = []  # facts made in this process (a forked one appends to its copy)
    real = report.output_facts

    def spied(rel: str, data: bytes, page: bool) -> Any:
        here.append(rel)
        return real(rel, data, page)

    monkeypatch.setattr(report, "output_facts", spied)
    monkeypatch.setattr(render, "POOL_MIN", 2)
    for write in (True, False):
        here.clear()
        config = replace(base, output_dir=tmp_path / f"out-{write}")
        made = build(config, write=write, jobs=2, keep_facts=True)
        assert made.facts == expected and made.outputs == ()
        assert 0 < len(here) < len(expected)


def test_outputs_written_by_forked_processes_are_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forked render processes stage the outputs they render themselves (each process does
    its share of creating folders and files): the tree, what the cache records of it, and
    a check's digests must be those of one process writing everything."""
    from intimacy_ssg import render
    from intimacy_ssg.cache import BuildCache

    base = load_config(REPO)
    caches: dict[int, BuildCache] = {}
    for jobs in (1, 2):
        monkeypatch.setattr(render, "POOL_MIN", 2 if jobs == 2 else 10**9)
        caches[jobs] = BuildCache()
        config = replace(base, output_dir=tmp_path / f"out-{jobs}")
        built = build(config, jobs=jobs, cache=caches[jobs])
        assert built.written and built.rendered > 30
        again = build(config, jobs=jobs, cache=caches[jobs], keep_outputs=False)
        assert again.unchanged or (again.rendered, again.changed) == (0, 0)
    assert tree(tmp_path / "out-1") == tree(tmp_path / "out-2")
    one, two = caches[1].output, caches[2].output
    assert one is not None and two is not None and one.keys() == two.keys()
    assert {rel: s[0] for rel, s in one.items()} == {rel: s[0] for rel, s in two.items()}
    for rel, state in two.items():  # each recorded state is the very file in output/
        st = os.stat(tmp_path / "out-2" / rel)
        assert state[1:] == (st.st_size, st.st_mtime_ns, st.st_ino)
    checked = {}
    for jobs in (1, 2):
        monkeypatch.setattr(render, "POOL_MIN", 2 if jobs == 2 else 10**9)
        cache = BuildCache()
        build(base, write=False, jobs=jobs, cache=cache)
        checked[jobs] = {rel: memo[1] for rel, memo in cache.rendered.items()}
    assert checked[1] == checked[2] == {rel: s[0] for rel, s in one.items() if rel in checked[1]}
    assert len(checked[1]) > 30


@pytest.mark.parametrize("deferred", [False, True], ids=["read first", "read by each parser"])
@pytest.mark.parametrize("jobs", [2, 3])
def test_parsing_shared_with_forked_processes_gives_the_same_pages_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int, deferred: bool
) -> None:
    """A cold build's parse is shared between this process and jobs - 1 forked ones, each
    taking spans of pages from its own end of the list: the pages, their order and their
    diagnostics (a page too large, a page with a YAML error) must be those of one process
    parsing every page, and this process must really have parsed some of them and the
    others the rest. So they are when discovery left every file to be read by the process
    that parses it (as a build with nothing cached does), digests included."""
    from intimacy_ssg import parallel
    from intimacy_ssg.discover import discover_sources

    from .support import page, write_content

    files: dict[str, str | bytes] = {"index.md": page("Home")}
    for c in range(10):  # 130 pages: spans of 16, more than the pool takes ahead
        files[f"topic-{c}/index.md"] = page(f"Topic {c}", f"Hub {c} links [[topic-{c}/p-0]].\n")
        for n in range(12):
            body = f"## Part {n}\n\nWords about {c} and {n}, see [[topic-{c}/p-{(n + 1) % 12}]].\n"
            files[f"topic-{c}/p-{n}.md"] = page(f"Page {c} {n}", body)
    files["topic-1/p-3.md"] = "---\ntitle: [unclosed\n---\nBody.\n"
    files["topic-2/p-5.md"] = page("Huge", "word " * (parallel.MAX_PAGE_BYTES // 5 + 1))
    content = write_content(tmp_path, files)
    sources = discover_sources(content, tmp_path / "static").sources
    serial = parallel.parse_all(sources, "editor", frozenset(), None, 1)
    if deferred:
        sources = discover_sources(content, tmp_path / "static", defer=True).sources
        assert {(s.data, s.digest) for s in sources} == {(b"", UNREAD)}

    pools: list[int] = []
    real_pool = concurrent.futures.ProcessPoolExecutor

    def counted(*args: Any, **kwargs: Any) -> Any:
        pools.append(kwargs["max_workers"])
        return real_pool(*args, **kwargs)

    here: list[str] = []  # pages parsed in this process (a forked one appends to its copy)
    real_parse = parallel.guarded_parse

    def spied(source: Any, *rest: Any) -> Any:
        here.append(source.rel)
        return real_parse(source, *rest)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", counted)  # imported late
    monkeypatch.setattr(parallel, "guarded_parse", spied)
    monkeypatch.setattr(parallel, "POOL_MIN", 4)
    shared = parallel.parse_all(sources, "editor", frozenset(), None, jobs, content)

    assert pools == [jobs - 1]
    assert 0 < len(here) < len(sources)
    assert [p.source.rel for p in shared] == [p.source.rel for p in serial]
    assert shared == serial
    codes = sorted(d.code for p in shared for d in p.diagnostics)
    assert "page-too-large" in codes and any(c.startswith("yaml") for c in codes)
    assert all(p.source.data == b"" for p in shared)
