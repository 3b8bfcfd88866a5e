"""build(): the one place that knows the order of the stages.

discover -> parse -> assemble -> link -> render -> write. Every stage returns diagnostics
instead of raising; nothing is written unless the whole site rendered without errors (or,
under --strict, without warnings).

Assemble comes before link (the style guide sketches the reverse): resolving a link needs
the page index, and that index is only trustworthy once URL collisions have been checked.
"""

from __future__ import annotations

import datetime
import gc
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import diagnostics as diag
from .config import Config
from .diagnostics import Diagnostic, Severity, display_path
from .discover import discover_sources
from .faq import canonical_questions, check_repeated, repeated_groups
from .graph import Graph, build_graph
from .links import resolve_links
from .mentions import find_unlinked_mentions
from .model import OutputFile, Site
from .parallel import ParseCache, parse_all
from .render import render_site
from .site import assemble_site
from .sitefiles import feeds, redirects, robots, sitemap
from .structured import review_overdue
from .write import check_output_dir, write_output

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class BuildResult:
    diagnostics: tuple[Diagnostic, ...]
    pages: int
    written: bool
    timings: dict[str, float] = field(default_factory=dict)
    graph: Graph | None = None
    site: Site | None = None
    outputs: tuple[OutputFile, ...] = ()  # every generated file (static files excluded)
    search: str = ""  # what became of the search index (see write.index_search)

    @property
    def errors(self) -> int:
        return diag.count(self.diagnostics, Severity.ERROR)

    @property
    def warnings(self) -> int:
        return diag.count(self.diagnostics, Severity.WARNING)

    def failed(self, strict: bool) -> bool:
        return self.errors > 0 or (strict and self.warnings > 0)


def build(
    config: Config,
    *,
    write: bool = True,
    progress: Progress | None = None,
    today: datetime.date | None = None,
    parse_cache: ParseCache | None = None,
    jobs: int | None = None,
) -> BuildResult:
    """Build the site described by `config`; with write=False, only validate.
    `today` (for review-overdue) defaults to SOURCE_DATE_EPOCH's day, else the clock's.
    `parse_cache` (kept by the caller between builds of one config) skips re-parsing files
    whose bytes did not change: parsing is a pure function of the bytes and the config.
    `jobs` caps the processes that parse in parallel (default: one per core)."""
    try:
        return _build(config, write, progress, today or build_date(), parse_cache, jobs)
    finally:
        gc.unfreeze()


def _build(
    config: Config,
    write: bool,
    progress: Progress | None,
    today: datetime.date,
    parse_cache: ParseCache | None,
    jobs: int | None,
) -> BuildResult:
    say = progress or (lambda _stage: None)
    timings: dict[str, float] = {}
    problems: list[Diagnostic] = []
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = now - clock
        clock = now

    if write:
        check_output_dir(config.output_dir)  # refuse early, before any work
    say("discover")
    found = discover_sources(config.content_dir, config.static_dir)
    problems += found.diagnostics
    lap("discover")

    say("parse")
    authors = frozenset(a.id for a in config.authors)
    pages = parse_all(found.sources, config.default_author, authors, parse_cache, jobs)
    for page in pages:
        problems += page.diagnostics
    # Everything parsed lives until the end of the build: keep the cyclic garbage collector
    # from walking it again and again (on 10,000 pages that costs more than rendering).
    gc.collect()
    gc.freeze()
    lap("parse")

    say("assemble")
    site = assemble_site(pages, found.statics, display_path(config.content_dir), config.drafts)
    problems += site.diagnostics
    lap("assemble")

    say("link")
    links = resolve_links(site, config.base_path)
    problems += links.diagnostics
    lap("link")

    say("graph")
    graph = build_graph(site, links, config)
    problems += graph.diagnostics
    problems += find_unlinked_mentions(site, graph)
    lap("graph")

    say("faq")
    groups = repeated_groups(site.pages)
    problems += check_repeated(groups)
    problems += review_overdue(site.pages, config, today)
    lap("faq")

    say("render")
    outputs, render_problems = render_site(
        site, links, graph, config, frozenset(canonical_questions(groups))
    )
    outputs += (
        sitemap(site, config),
        robots(config),
        *feeds(site, config),
        *redirects(site, config),
    )
    problems += render_problems
    lap("render")

    problems = diag.with_severity(problems, config.severity_of)
    result = BuildResult(
        diag.sort_diagnostics(problems), len(site.pages), False, timings, graph, site, outputs
    )
    if not write or result.failed(config.strict):
        return result
    say("write")
    report = write_output(
        outputs, site.statics, config.static_dir, config.output_dir, search=config.search
    )
    lap("write")
    return BuildResult(
        result.diagnostics, result.pages, True, timings, graph, site, outputs, report.search
    )


def build_date() -> datetime.date:
    """The build's "today": SOURCE_DATE_EPOCH when set (reproducible builds), else UTC now.
    It only decides warnings; nothing written depends on it."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    moment = (
        datetime.datetime.fromtimestamp(int(epoch), datetime.UTC)
        if epoch.isdigit()
        else datetime.datetime.now(datetime.UTC)
    )
    return moment.date()
