"""bench/run.py: the measure of the machine's speed that `make bench` records beside its
timings (one page's parse on one core), and its timed builds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import intimacy_ssg.parallel
from bench.corpus import write_corpus
from bench.run import REPO, parse_ms_per_page, timed_build


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
