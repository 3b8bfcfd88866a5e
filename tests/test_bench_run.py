"""bench/run.py: the measure of the machine's speed that `make bench` records beside its
timings (one page's parse on one core), and its timed builds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import bench.run
import intimacy_ssg.parallel
from bench.corpus import write_corpus
from bench.measure import Rival
from bench.run import REPO, bench_size, parse_ms_per_page, timed_build


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A benchmark project as bench_size makes it, with 30 pages of the corpus."""
    for part in ("templates", "static"):
        shutil.copytree(REPO / part, tmp_path / part)
    (tmp_path / "site.yaml").write_text((REPO / "site.yaml").read_text() + "search: false\n")
    write_corpus(tmp_path / "content", 30)
    return tmp_path


def test_parse_time_is_the_median_of_three_passes_over_the_first_pages(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    parse = intimacy_ssg.parallel.guarded_parse

    def counting(source: Any, *args: Any) -> Any:
        parsed.append(source.rel)
        return parse(source, *args)

    monkeypatch.setattr(intimacy_ssg.parallel, "guarded_parse", counting)
    ms, pages = parse_ms_per_page(project, project / "content", count=10)
    assert pages == 10 and ms > 0
    first = sorted(p.relative_to(project / "content").as_posix() for p in project.rglob("*.md"))
    # one parse before the clock (imports), then three timed passes over the same pages
    assert parsed == first[:1] + first[:10] * 3


def test_parse_time_takes_every_page_when_there_are_fewer(project: Path) -> None:
    ms, pages = parse_ms_per_page(project, project / "content", count=1000)
    written = len(list((project / "content").rglob("*.md")))
    assert pages == written and ms > 0


def test_parse_time_without_pages_says_so(project: Path) -> None:
    empty = project / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit, match="no pages to parse"):
        parse_ms_per_page(project, empty)


def test_a_timed_build_with_a_report_writes_it(project: Path) -> None:
    """The benchmark's build as CI's: a fresh process writing the site and a report."""
    report = project / "report.json"
    timed_build(project, project / "content", project / "output")
    assert (project / "output/index.html").is_file() and not report.exists()
    seconds, peak_kb = timed_build(project, project / "content", project / "output", report=report)
    assert seconds > 0 and peak_kb > 10_000  # a Python process's RSS, in KB
    assert json.loads(report.read_text())["version"] == 1


def test_the_other_generators_cold_builds_take_turns_with_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of our cold builds is followed by one of Hugo's and one of Eleventy's (the
    machine's file system slows down over a benchmark: see measure.Rival), and the ratios
    are those of the medians."""
    said: list[str] = []
    seconds = {"hugo": iter([2.0, 4.0, 3.0]), "eleventy": iter([8.0, 6.0, 7.0])}

    def rival(name: str) -> Any:
        def made(content: Path, work: Path) -> Rival:
            def build() -> tuple[float, int | None]:
                said.append(name)
                return next(seconds[name]), 50_000

            return Rival(f"{name} 1", build, lambda: 30)

        return made

    def timed(project: Path, content: Path, output: Path, **kwargs: Any) -> tuple[float, int]:
        said.append("report" if kwargs.get("report") else "tree" if kwargs.get("tree") else "ours")
        cold = not (project / ".cache").exists()
        (project / ".cache").mkdir(exist_ok=True)
        return (6.0 if cold else 0.5), 40_000

    monkeypatch.setattr(bench.run, "hugo_rival", rival("hugo"))
    monkeypatch.setattr(bench.run, "eleventy_rival", rival("eleventy"))
    monkeypatch.setattr(bench.run, "timed_build", timed)
    monkeypatch.setattr(bench.run, "parse_ms_per_page", lambda *args: (1.0, 30))
    monkeypatch.setattr(bench.run, "stage_times", lambda *args: {"link": 0.1})
    monkeypatch.setattr(bench.run, "reload_latency", lambda *args: 0.2)
    watched_kinds: list[str] = []

    def watched(*args: Any, kind: str = "prose") -> float:
        watched_kinds.append(kind)
        return {"prose": 0.3, "title": 0.7, "link": 0.6}[kind]

    monkeypatch.setattr(bench.run, "watch_latency", watched)
    monkeypatch.setattr("time.sleep", lambda _: None)  # bench_size waits for stat(), see cache.py
    row = bench_size(30, 3, tmp_path)
    assert said[:9] == ["ours", "hugo", "eleventy"] * 3
    assert said[9:11] == ["report", "tree"] and "hugo" not in said[9:]
    assert row["hugo"]["cold_s"] == 3.0 and row["eleventy"]["cold_s"] == 7.0
    assert row["cold_s"] == 6.0 and row["cold_vs_hugo"] == 2.0
    assert row["cold_vs_eleventy"] == round(6.0 / 7.0, 2)
    assert row["cold_runs_s"] == [6.0, 6.0, 6.0]  # each cold run, in order
    assert row["cold_vs_hugo_each_run"] == [3.0, 1.5, 2.0]  # ours against the same round's
    assert row["cold_vs_eleventy_each_run"] == [0.75, 1.0, round(6.0 / 7.0, 2)]
    assert watched_kinds == ["prose", "title", "link"]
    assert (row["edit_watched_s"], row["edit_title_watched_s"], row["edit_link_watched_s"]) == (
        0.3,
        0.7,
        0.6,
    )


def test_each_edit_kind_changes_the_page_and_differs_from_the_last() -> None:
    text = "---\ntitle: Topic three\nsummary: S.\n---\nBody.\n"
    for kind in ("prose", "title", "link", "summary"):
        first, second = bench.run.edited(text, kind, 0), bench.run.edited(text, kind, 1)
        assert len({text, first, second}) == 3, kind
    assert "title: Watched title 1\n" in bench.run.edited(text, "title", 1)
    assert "title: Topic three" not in bench.run.edited(text, "title", 1)
    assert bench.run.edited(text, "link", 4).endswith("See also [[topic-05]].\n")
    assert "summary: Watched summary 2.\n" in bench.run.edited(text, "summary", 2)
    assert "summary: S." not in bench.run.edited(text, "summary", 2)
    with pytest.raises(ValueError, match="no such edit"):
        bench.run.edited(text, "template", 0)


@pytest.mark.parametrize("kind", ["title", "link"])
def test_build_watch_is_timed_after_a_title_or_link_edit(tmp_path: Path, kind: str) -> None:
    """A real `build --watch` over a small corpus: the edits are built, timed, and the page
    is left as it was."""
    project = tmp_path / "project"
    for part in ("templates", "static"):
        shutil.copytree(REPO / part, project / part)
    (project / "site.yaml").write_text((REPO / "site.yaml").read_text() + "search: false\n")
    content = project / "content"
    write_corpus(content, 24)
    page = next(content.glob("*/topic-03.md"))
    before = page.read_text()
    seconds = bench.run.watch_latency(project, content, project / "output", edits=2, kind=kind)
    assert 0 < seconds < 60
    assert page.read_text() == before
