"""build(): the one place that knows the order of the stages.

discover -> parse -> assemble -> link -> render -> write. Every stage returns diagnostics
instead of raising; nothing is written unless the whole site rendered without errors (or,
under --strict, without warnings).

Assemble comes before link (the style guide sketches the reverse): resolving a link needs
the page index, and that index is only trustworthy once URL collisions have been checked.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import gc
import hashlib
import importlib.util
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import IO, TYPE_CHECKING, Any

from . import diagnostics as diag
from . import pickling
from .cache import (
    BuildCache,
    CacheStore,
    Fingerprint,
    LastBuild,
    StructureMemo,
    changed_since,
    fingerprint,
    known_files,
    no_gc,
    scope_digest,
)
from .config import Config
from .diagnostics import Diagnostic, Severity, display_path
from .forked import Apart
from .pickling import CacheDamaged
from .write import (
    APART_MIN,
    OutputCheck,
    OutputWriter,
    SearchIndexFailed,
    Staged,
    check_output_dir,
    intact,
    output_lock,
)

if TYPE_CHECKING:
    from .cache import Scanned
    from .graph import Graph, JsonMemo
    from .model import Links, Listing, OutputFacts, OutputFile, Site
    from .parallel import ParseCache
    from .render import Stage

Progress = Callable[[str], None]

APART_MIN_PAGES = 500  # pages before the mention check is worth a forked process


@dataclass(frozen=True, slots=True)
class BuildResult:
    diagnostics: tuple[Diagnostic, ...]
    pages: int
    written: bool
    timings: dict[str, float] = field(default_factory=dict)
    graph: Graph | None = None  # None after a no-op build (nothing was rebuilt)
    site: Site | None = None
    outputs: tuple[OutputFile, ...] = ()  # only with keep_outputs (static files excluded)
    facts: tuple[OutputFacts, ...] = ()  # only with keep_facts (static files excluded)
    search: str = ""  # what became of the search index (see write.index_search)
    rendered: int = 0  # outputs rendered this time (the rest were reused from the cache)
    changed: int = 0  # files written to or deleted from the output folder
    unchanged: bool = False  # a no-op: no input changed since the last build

    @property
    def errors(self) -> int:
        return diag.count(self.diagnostics, Severity.ERROR)

    @property
    def warnings(self) -> int:
        return diag.count(self.diagnostics, Severity.WARNING)

    def failed(self, strict: bool) -> bool:
        return self.errors > 0 or (strict and self.warnings > 0)

    def adds_nothing(self, strict: bool, said: tuple[Diagnostic, ...]) -> bool:
        """Was this build a no-op, or one that made and changed no output and found the
        diagnostics `said` by the last? (A watcher's full build after confirmed() found a
        difference, said only if it adds something: see cli._watch.)"""
        if self.unchanged:
            return True
        quiet = not self.rendered and not self.changed and not self.failed(strict)
        return quiet and self.diagnostics == said


def build(
    config: Config,
    *,
    write: bool = True,
    progress: Progress | None = None,
    today: datetime.date | None = None,
    cache: BuildCache | None = None,
    store: CacheStore | None = None,
    jobs: int | None = None,
    keep_outputs: bool = False,
    keep_facts: bool = False,
    touched: frozenset[str] | None = None,
) -> BuildResult:
    """Build the site described by `config`; with write=False, only validate.

    `today` (for review-overdue) defaults to SOURCE_DATE_EPOCH's day, else the clock's.
    `cache` (kept by the caller between builds, or loaded from `store` on disk) makes the
    build incremental: unchanged files are not read or parsed, unaffected outputs are not
    rendered, unchanged output files are not rewritten, and when no input changed at all the
    last build's result is returned at once. The output is the same as without it.
    `jobs` caps the processes that parse in parallel (default: one per core).
    `keep_outputs` returns every generated file's bytes in the result (for tests); without
    it they are written as they are rendered and not kept. `keep_facts` returns what a
    build report says of each instead (report.output_facts), made as they are rendered.
    With either, every output is rendered: none is reused from the cache.
    `touched` (a file watcher's, with a `cache` kept in memory: see cache.touched_folders):
    the folders where files changed since this cache's last build. The other input folders
    are taken as that build listed them, and output/ as it left it, neither stat'ed again.
    A watcher can miss a change (its queue can overflow): once all is quiet it asks
    confirmed(), and builds without `touched` if something was missed (see cli._watch)."""
    if cache is None and store is not None:
        cache = store.load()
    result = _held(
        config, write, progress, today, cache, store, jobs, keep_outputs, keep_facts, touched
    )
    if cache is not None and cache.words is not None and result.site is not None:
        # a watcher's index of the pages' words (see mentions.WordKeeper), made by a forked
        # process while it waits for the next change: started once the output's lock is
        # let go (a forked process would hold the lock as long as it lives)
        cache.words.refresh(result.site.pages)
    return result


def _held(
    config: Config,
    write: bool,
    progress: Progress | None,
    today: datetime.date | None,
    cache: BuildCache | None,
    store: CacheStore | None,
    jobs: int | None,
    keep_outputs: bool,
    keep_facts: bool,
    touched: frozenset[str] | None,
) -> BuildResult:
    """build(), holding the output folder's lock throughout (when writing)."""
    with contextlib.ExitStack() as held:
        # The cyclic garbage collector is off for the whole build, and on again (if it
        # was) when it ends. A build makes almost no cyclic garbage (a cold build of
        # 10,000 pages: a few dozen objects), but it keeps what it makes, and the
        # collector walked it all again and again as it grew: at 10,000 pages, eight full
        # collections while parsing (0.9 s, finding nothing) and about 0.4 s more later.
        # Forked processes start with it off too; each lives for one task.
        held.enter_context(no_gc())
        out = _Out(held)
        # A fresh process reading a large site's cache from disk: its first steps take
        # long enough for forked processes to do some of the others meanwhile.
        out.apart = store is not None and not store.pages_loaded
        out.apart = out.apart and cache is not None and len(cache.output or ()) >= APART_MIN
        if write:  # refuse early, before any work, and hold the lock throughout
            check_output_dir(config.output_dir)
            out.lock = held.enter_context(output_lock(config.output_dir))
            if cache is not None and cache.output:
                trust = touched is not None and bool(cache.scans)
                check = OutputCheck(config.output_dir, cache.output, apart=out.apart, trust=trust)
                out.check = held.enter_context(check)
        day = today or build_date()
        run = functools.partial(
            _build,
            config,
            write,
            progress,
            day,
            cache,
            store,
            jobs,
            keep_outputs,
            keep_facts,
            out,
            touched,
        )
        try:
            try:
                return run()
            except CacheDamaged as exc:
                if cache is None:
                    raise
                # A cached object's packed part could not be read back (a damaged or
                # planted cache file): nothing was written yet, so build again from
                # scratch, and say why.
                note = f"{exc}; built without the build cache"
            except (OSError, SearchIndexFailed):  # the machine's or a tool's, not the cache's
                raise
            except Exception as exc:
                if cache is None:
                    raise
                # Anything else while a cache was in use: a cache file of an unexpected
                # shape whose checksum is right (written by hand, say), or a fault in an
                # incremental path. Nothing is committed to the output before the end, so
                # build again without the cache; a fault that is not the cache's fails
                # again, with its traceback. The warning is for callers and tests (the
                # suite turns warnings into errors); the command line says the note.
                note = (
                    f"the build cache led to an internal error ({type(exc).__name__}: "
                    f"{exc}); built without the build cache (if this happens again, "
                    "please report it)"
                )
                warnings.warn(CacheFallback(note), stacklevel=2)
            cache.__init__(scope=cache.scope, note=note, words=cache.words)  # type: ignore[misc]
            if store is not None:
                store.discard()
            out.apart = False  # the templates compiled apart, if any, are still good
            out.parsed = None  # a build without the cache parses every page itself
            gc.collect()  # the failed attempt's objects (a traceback holds them in a cycle)
            return run()
        finally:
            # Everything the build made goes to the oldest generation, not only what was
            # frozen: what was made since the last freeze (after an edit to a title, the
            # new graph, the render, the cache save) was the young generation, and the
            # collector's first pass once on again walked all of it (28 ms at 10,000 pages)
            # to free nothing.
            gc.freeze()
            gc.unfreeze()


class CacheFallback(UserWarning):
    """A build with a cache failed on something other than the content and was made
    again without the cache (see build)."""


@dataclass(slots=True)
class _Out:
    """What build() holds for _build(): the output folder's lock (when writing), the
    verification of what the last build left there (when cached), whether work is worth
    handing to forked processes (a large site's cache, read from disk) and, if so, the
    pages changed since the last build parsed and the templates compiled by one."""

    held: contextlib.ExitStack
    lock: IO[str] | None = None
    check: OutputCheck | None = None
    apart: bool = False
    templates: Callable[[], dict[str, bytes]] | None = None
    parsed: Callable[[], ParseCache] | None = None


def _worked_apart(
    config: Config, listing: Listing, since: int | None, authors: frozenset[str]
) -> tuple[ParseCache, dict[str, bytes]]:
    """In a forked process, while a rebuild loads its cache: the pages changed since the
    last build (`since`, if known) parsed, then the templates compiled. Markdown-it and
    Jinja2's compiler are imported there; one process, so that the build keeps a core."""
    from .parallel import parse_changed
    from .render import precompiled

    parsed = {}
    if since is not None:
        parsed = parse_changed(config.content_dir, listing, since, config.default_author, authors)
    return parsed, precompiled(config.templates_dir)


def _build(
    config: Config,
    write: bool,
    progress: Progress | None,
    today: datetime.date,
    cache: BuildCache | None,
    store: CacheStore | None,
    jobs: int | None,
    keep_outputs: bool,
    keep_facts: bool,
    out: _Out,
    touched: frozenset[str] | None = None,
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

    # Everything alive now (the cache's pages) and everything parsed below lives until the
    # end of the build: frozen (here and below), so that the collector, on again after the
    # build (see build()), does not walk it again and again in a process that builds many
    # times (`build --watch`, `serve`). No gc.collect() first: at 10,000 pages it alone
    # takes half a second.
    gc.freeze()
    if cache is not None:
        cache.reset(scope_digest(config))
    listing: Listing = {}  # scanned for the fingerprint, reused by discover
    listed = cache.scans if cache is not None and touched is not None else None
    scans: dict[str, Scanned] = {}
    inputs = _fingerprint(config, write, today, listing, scans, listed, touched)
    if cache is not None:
        cache.scans, cache.observed = scans, inputs.observed
    if cache is not None and not keep_outputs and not keep_facts:
        same = _unchanged(cache, inputs, config, write, out.check)
        if same is not None:
            lap("no-op")
            return replace(same, timings=timings)
    authors = frozenset(a.id for a in config.authors)
    if out.apart:  # a rebuild of a large site: work done meanwhile by a forked process
        since = None
        if cache is not None and cache.last is not None:
            since = changed_since(cache.last)
        handed: Apart[tuple[ParseCache, dict[str, bytes]]] = Apart(
            _worked_apart, config, listing, since, authors, otherwise=lambda: ({}, {})
        )
        out.held.enter_context(handed)
        out.parsed = lambda: handed.result()[0]
        out.templates = lambda: handed.result()[1]
    # The stages are imported here, not at the top: a no-op build (above) then never loads
    # Jinja2 or markdown-it, which is most of its time.
    from .discover import discover_sources
    from .faq import canonical_questions, check_repeated, repeated_groups
    from .graph import IndexMemo, JsonMemo, build_graph, links_out, patch_graph
    from .links import (
        landings_of,
        named_again,
        read_relink,
        relink_table,
        resolve_again,
        resolve_links,
        written_targets,
    )
    from .mentions import unlinked_mentions
    from .parallel import parse_all
    from .render import Sink, keys_without, render_site
    from .site import assemble_site, shapes_key, shapes_keys, structure_key
    from .sitefiles import (
        cluster_feed,
        feed_key,
        matter_key,
        newest,
        redirects,
        robots,
        site_feed,
        sitemap,
    )
    from .structured import review_overdue

    if store is not None and cache is not None:
        store.load_pages(cache)
        gc.freeze()
    lap("load")

    say("discover")
    found = discover_sources(
        config.content_dir,
        config.static_dir,
        cache.known if cache is not None else None,
        listing,
        cache.parsed if cache is not None else None,
        defer=cache is None or not cache.parsed,  # no page to reuse: each parser reads its own
        memo=cache.folders if cache is not None else None,
    )
    del listing
    problems += found.diagnostics
    lap("discover")

    say("parse")
    parsed = cache.parsed if cache is not None else None
    sources, found = found.sources, replace(found, sources=())
    cached = dict(parsed) if parsed is not None else {}  # the last build's pages
    if parsed is not None and out.parsed is not None:
        # the pages a forked process parsed meanwhile: taken like cached ones, only for a
        # file read here with the same path and digest
        parsed.update((k, page) for k, page in out.parsed().items() if k not in parsed)
    pages = parse_all(sources, config.default_author, authors, parsed, jobs, config.content_dir)
    # the last build's version of each page parsed again (or gone): see graph.patch_graph
    earlier = None
    if parsed is not None:
        earlier = {p.source.page_id: p for k, p in cached.items() if k not in parsed}
    pages_changed = parsed is not None and parsed.keys() != cached.keys()
    del cached
    del sources  # the files' bytes (100 MB at 10,000 pages) are not needed once parsed
    _release_freed_memory()
    for page in pages:
        problems += page.diagnostics
    gc.freeze()  # the pages just parsed too
    lap("parse")

    say("assemble")
    shown = display_path(config.content_dir)
    structure = frame = link_frame = link_base = assembly = landings = dated = b""
    if cache is not None:
        parts = shapes_keys(pages, found.statics, shown, config.drafts)
        landings, assembly = parts["landing"], parts["assembly"]
        structure, frame = (
            structure_key(parts["shape"], config),
            structure_key(parts["frame"], config),
        )
        link_frame = structure_key(landings, config)
        dated = structure_key(parts["dated"], config)  # what the sitemap and feed.xml read
        link_base = structure_key(
            shapes_key((), found.statics, shown, config.drafts, "landing"), config
        )
    memos = cache.assembled if cache is not None else None
    site = assemble_site(pages, found.statics, shown, config.drafts, memos, assembly, landings)
    problems += site.diagnostics
    lap("assemble")

    memo = cache.structure if cache is not None else None
    mentions = cache.mentions if cache is not None else None
    same_links = memo is not None and memo.link_frame == link_frame
    reused = same_links and memo is not None and memo.frame == frame
    # Landings changed, but not the statics, options or configuration: the pages whose links
    # name a changed page are found from the last build's table (see links.named_again).
    relinking = memo is not None and memo.link_base == link_base and bool(memo.relink)
    relink = memo.relink if memo is not None else b""
    again: set[str] = set()  # the pages whose cached links are resolved again (see below)
    patching: tuple[Graph, Links] | None = None

    def remember(kept: dict[str, tuple[bytes, bytes]], phrases: bytes = b"") -> StructureMemo:
        """This build's structure memo, made from the links and graph as they are then."""
        return StructureMemo(
            structure,
            links,
            graph,
            kept,
            phrases=phrases,
            frame=frame,
            outlinks=outlinks,
            link_frame=link_frame,
            anchors=anchors,
            link_base=link_base,
            relink=relink,
            stale=stale,
            extras=extras_then,  # keyed by the pages' front matter, not the structure
            feed=feed_then,
        )

    # the last build's redirect pages and the site feed's articles: see the render below
    extras_then = memo.extras if memo is not None else (b"", ())
    feed_then = memo.feed if memo is not None else (b"", ())
    if memo is not None and (same_links or relinking):
        # Every link resolves as it did but those of the pages whose own links changed, or
        # moved (a line added to the front matter: their diagnostics point elsewhere now),
        # of the pages linking to one whose anchors changed, and (a landing changed, see
        # model.landing_of) of the pages naming a changed page or with a broken link: those
        # are resolved again. When the frame is unchanged too (an edit to prose, a heading,
        # or front matter only rendered pages show), the graph and the site-wide files are
        # kept, and the render keys of outputs that show an edited page's card are made
        # again. After an edit to a title, a tag or a page's links, the graph is patched
        # from the last one (see graph.patch_graph) and the mention search made again.
        links, graph = memo.links, memo.graph
        patching = (graph, links)  # what patch_graph() starts from
        outlinks, anchors = memo.outlinks, memo.anchors
        keyed = [(p.source.page_id, p) for p in site.pages]  # each page's id read once
        reanchored = {i for i, p in keyed if anchors.get(i) != p.anchored}
        again = {i for i, p in keyed if outlinks.get(i) != p.outlinks}
        del keyed
        again.update(reanchored, (s for i in reanchored for s in graph.backlinks.get(i, ())))
        stale = memo.stale  # pages whose links changed since the table was made
        if not same_links:
            named, written = read_relink(relink)
            for p in site.pages:
                if p.id in stale or p.id not in written:
                    written[p.id] = written_targets(p)
            landed = landings_of(pages)  # made once: the new table holds them too
            again.update(named_again(landed, site, named, written, links))
        linked, table = graph.links_to, memo.phrases if reused else b""
        # a page removed or made a draft: its links and their diagnostics go, even when no
        # page is to be resolved again (none named it, none has a broken link)
        gone = outlinks.keys() - site.urls.keys()
        if again or gone:
            links = resolve_again(site, config.base_path, links, frozenset(again))
            linked = links_out(site, links, frozenset(again), linked)
            outlinks = {p.id: p.outlinks for p in site.pages}
            anchors = {p.id: p.anchored for p in site.pages}
            if same_links:  # the table is made again only when it is read: see above
                stale = stale | again
            else:
                now = {
                    p.id: written_targets(p) if p.id in again else written[p.id] for p in site.pages
                }
                relink, stale = relink_table(landed, now), frozenset()
        if reused and memo.key != structure and cache is not None:
            kept = keys_without(memo.render_keys, site, links, graph, config)
            memo = cache.structure = remember(kept, table)
        lap("link")
    else:
        say("link")
        links = resolve_links(site, config.base_path)
        linked, table = links_out(site, links), b""
        outlinks = {p.id: p.outlinks for p in site.pages}
        anchors = {p.id: p.anchored for p in site.pages}
        if cache is not None:
            written_now = {p.id: written_targets(p) for p in site.pages}
            relink = relink_table(landings_of(pages), written_now)
        stale = frozenset()
        lap("link")
    link_problems = links.diagnostics
    # The output writer and graph.json's maker (below): closed when the render ends (`with
    # stack`), or by out.held if a step before it raises.
    stack = out.held.enter_context(contextlib.ExitStack())
    writer = None
    if write:
        previous = cache.output if cache is not None else None
        writer = stack.enter_context(
            OutputWriter(
                config.output_dir,
                previous,
                incremental=cache is not None,
                lock=out.lock,
                check=out.check,
            )
        )
    facts = None
    if keep_facts:
        from .report import output_facts  # here: a build without a report never needs it

        facts = output_facts
    sink = Sink(writer, cache.rendered if cache is not None else None, keep_outputs, facts)
    # The mention check needs the links only: when every page is checked again (a new
    # frame), a forked process does it while this one makes the graph and checks FAQs.
    # Not in a watcher once its index of the pages' words is made: its check then keeps
    # memos in memory (mentions.PhraseState) and takes less than the fork costs.
    last = memo.phrases if memo is not None and not reused else b""  # see unlinked_mentions
    words = cache.words.ready() if cache is not None and cache.words is not None else None
    state = None
    if cache is not None and words is not None:
        from .mentions import PhraseState

        state = cache.phrase_state = cache.phrase_state or PhraseState()
    apart = not reused and len(site.pages) >= APART_MIN_PAGES and state is None
    with Apart(
        unlinked_mentions, site, linked, mentions, frame, table, last, words, state, fork=apart
    ) as check:
        if not reused:
            say("graph")
            related = cache.related if cache is not None else None
            # The similarity index and graph.json's lines are kept in memory for a watcher's
            # next build, from a build that patched the graph: not from a full one (at
            # 10,000 pages the index would be held through the render, by its forked
            # workers too, and the lines through the cache's save).
            index = None
            if cache is not None and patching is None:
                cache.similarity = cache.graph_lines = None
            elif cache is not None:
                index = cache.similarity = cache.similarity or IndexMemo()
            if patching is not None:  # every page kept where it was: see graph.patch_graph
                graph = patch_graph(*patching, site, links, config, related, linked, earlier, index)
            else:
                graph = build_graph(site, links, config, related, linked, index)
            kept = {}
            if memo is not None and (same_links or relinking):  # see keys_without
                relinked = None if same_links else frozenset(again)
                kept = keys_without(
                    memo.render_keys, site, links, graph, config, memo.graph, relinked
                )
            memo = None
            if cache is not None:
                memo = cache.structure = remember(kept)
        # graph.json, and the graph packed for the cache file (after a change to the
        # site's frame), need nothing made after the graph: in a rebuild of a large site, a
        # forked process works them out (staging graph.json itself) while this one checks
        # FAQs, waits for the mention check and renders the few outputs that changed. Not
        # in a cold build: its render has forked workers of its own, and every page it
        # touched meanwhile would be copied for the forked process (about 170 MB more in
        # all at 10,000); its graph.json is made when asked for, below.
        json_needed = sink.reuse("graph.json", frame) is None
        pack_needed = (
            store is not None and memo is not None and type(memo.graph) in pickling.VARIANTS
        )
        fork = (json_needed or pack_needed) and out.apart
        lines = None  # graph.json's lines (see above)
        if cache is not None and not fork and patching is not None:
            lines = cache.graph_lines = cache.graph_lines or JsonMemo()
        beside = Apart(
            _graph_outputs,
            graph,
            sink.stage_apart() if json_needed else None,
            json_needed,
            pack_needed,
            lines,
            fork=fork,
        )
        stack.enter_context(beside)
        lap("graph")

        say("faq")
        if cache is not None:
            groups = repeated_groups(site.pages, cache.faq_groups, cache.faq_index)
        else:
            groups = repeated_groups(site.pages)
        problems += check_repeated(groups)
        problems += review_overdue(site.pages, config, today)
        lap("faq")
        found_mentions, table, fresh = check.result()
    problems += link_problems
    problems += graph.diagnostics
    problems += found_mentions
    if mentions is not None:
        mentions.clear()
        mentions.update(fresh)
    if memo is not None:
        memo.phrases = table
    lap("mentions")

    with stack:
        say("render")
        unmarked = frozenset(canonical_questions(groups))
        keys = memo.render_keys if memo is not None else None
        versions = cache.templates if cache is not None else None
        _, render_problems = render_site(
            site, links, graph, config, unmarked, sink, keys, jobs, versions, out.templates
        )
        # The cache's pages, when they are to be saved whole (a cold build: about 1 s at
        # 10,000 pages, on one core, at the very end), are saved by a forked process
        # while this one makes the site-wide files and writes the output: rendering's own
        # workers are done, and the pages are as they will be saved. Waited for however
        # the build ends (a forked process is never killed halfway through a cache file).
        saving, whole = None, None
        if store is not None and cache is not None and len(site.pages) >= APART_MIN_PAGES:
            whole = store.whole_pages_due(cache.parsed)
            if whole:
                saving = Apart(store.save_pages, cache.parsed, otherwise=lambda: False)
                out.held.callback(saving.result)
        # Made from the frame, a cluster's pages (and the configuration) or the structure
        # alone: skipped while what they are made from is unchanged and output/ holds them.
        made_json, blobs = beside.result()
        if made_json is not None:
            sink.emit("graph.json", made_json, frame)
        if blobs is not None and memo is not None:
            memo.graph = pickling.repack(graph, blobs)  # the cache file saves it as it is
        settings = hashlib.blake2b(repr(config).encode(), digest_size=16).digest()
        for cluster in site.clusters:
            rel, key = f"{cluster.name}/feed.xml", feed_key(site, cluster, settings)
            if sink.reuse(rel, key) is None:
                sink.emit(rel, cluster_feed(site, config, cluster).data, key)
        # robots.txt, the sitemap, the site's feed and the redirect pages, each keyed by
        # what it reads: the configuration; every page's place, draft flag and dates
        # (`dated`); the places and front matter of the articles the feed shows, which
        # `dated` alone chooses; and of the pages with aliases. An edit to a title or a
        # summary then makes only the feed again, and only if it shows that page.
        if sink.reuse("robots.txt", settings) is None:
            sink.emit("robots.txt", robots(config).data, settings)
        if sink.reuse("sitemap.xml", dated) is None:
            sink.emit("sitemap.xml", sitemap(site, config).data, dated)
        chosen_by, chosen = feed_then if memo is not None else (b"", ())
        if not dated or chosen_by != dated or not all(i in site.by_id for i in chosen):
            chosen = newest(site, config)
        shows = matter_key(site, chosen, settings)
        if sink.reuse("feed.xml", shows) is None:
            sink.emit("feed.xml", site_feed(site, config, chosen).data, shows)
        aliased = matter_key(site, [p.id for p in site.pages if p.front.aliases], settings)
        made_by, rels = extras_then if memo is not None else (b"", ())
        if made_by != aliased or any(sink.reuse(rel, aliased) is None for rel in rels):
            made = redirects(site, config)
            rels = tuple(alias.rel for alias in made)
            for alias in made:
                sink.emit(alias.rel, alias.data, aliased)
        if memo is not None:
            memo.extras, memo.feed = (aliased, rels), (dated, chosen)
        problems += render_problems
        lap("render")

        problems = diag.with_severity(problems, config.severity_of)
        result = BuildResult(
            diag.sort_diagnostics(problems),
            len(site.pages),
            False,
            timings,
            graph,
            site,
            tuple(sorted(sink.outputs, key=lambda o: o.rel)),
            facts=tuple(sorted(sink.reported, key=lambda f: f.rel)),
            rendered=sink.rendered,
        )
        if writer is not None and not result.failed(config.strict):
            say("write")
            for static in site.statics:
                writer.put_file(static.rel, config.static_dir / static.rel)
            changed = writer.changes
            report = writer.commit(search=config.search)
            lap("write")
            result = replace(result, written=True, search=report.search, changed=changed)
            if cache is not None:
                cache.output = writer.manifest
    if cache is not None:
        sink.prune()
        cache.known = known_files(found.stats, pages, inputs.taken_ns)
        # kept with an empty fingerprint too (inputs still changing: no no-op next time),
        # for when it was taken (see cache.changed_since)
        cache.last = (
            LastBuild(
                inputs.digest, result.diagnostics, result.pages, result.search, inputs.taken_ns
            )
            if result.written or not write
            else None
        )
        if store is not None:
            say("cache")
            saved_apart = saving.result if saving is not None else None
            store.save(cache, pages_changed, whole, saved_apart)
            lap("cache")
    return result


def _graph_outputs(
    graph: Graph,
    stage: Stage | None,
    json_needed: bool,
    pack_needed: bool,
    lines: JsonMemo | None = None,
) -> tuple[bytes | Staged | None, tuple[Any, ...] | None]:
    """graph.json (staged by `stage` when given, else its bytes), if needed; and the
    graph's packed groups for the cache file (pickling.packed_blobs), if needed. `lines`:
    see graph.JsonMemo."""
    from .graph import graph_json

    made: bytes | Staged | None = None
    if json_needed:
        data = graph_json(graph, lines)
        made = stage("graph.json", data, False) if stage is not None else data
    return made, pickling.packed_blobs(graph) if pack_needed else None


def _fingerprint(
    config: Config,
    write: bool,
    today: datetime.date,
    listing: Listing,
    scans: dict[str, Scanned],
    earlier: dict[str, Scanned] | None,
    touched: frozenset[str] | None,
) -> Fingerprint:
    """Every input of the build by stat, with what else decides its result (see
    cache.fingerprint for `scans`, `earlier` and `touched`)."""
    search = config.search and importlib.util.find_spec("pagefind") is not None
    folders = tuple(
        d for d in (config.content_dir, config.templates_dir, config.static_dir) if d.is_dir()
    )
    extra = f"{today.isoformat()}|write={write}|pagefind={search}|{folders}"
    return fingerprint(folders, extra, listing, scans, earlier, touched)


CONFIRM_AFTER = 1.0  # seconds of quiet after a watcher's build before it is confirmed
MISSED = "found a change the watcher had not reported; built again"  # said when it was not


def confirmed(config: Config, cache: BuildCache, write: bool) -> bool:
    """Are the inputs as the last build with `cache` saw them, by a full scan, and (when
    writing) does output/ hold what it wrote, every file stat'ed? What a watcher asks once
    all is quiet after builds that listed only what it named and trusted output/ (see
    build's `touched`); if not, a full build is due. Unlike a no-op build, this takes the
    stats of files changed in the last two seconds (RACY_NS) as they are: the watcher
    reports each change, and this only looks for the ones it lost."""
    if not cache.observed or (write and not cache.output):
        return False
    listing: Listing = {}
    scans: dict[str, Scanned] = {}
    inputs = _fingerprint(config, write, build_date(), listing, scans, None, None)
    if inputs.observed != cache.observed:
        return False
    return not write or intact(config.output_dir, cache.output)


def _unchanged(
    cache: BuildCache, inputs: Fingerprint, config: Config, write: bool, check: OutputCheck | None
) -> BuildResult | None:
    """The last build's result, if none of its inputs changed and (when writing) the output
    folder still holds exactly what it wrote."""
    last = cache.last
    if last is None or not inputs.digest or last.fingerprint != inputs.digest:
        return None
    result = BuildResult(last.diagnostics, last.pages, write, search=last.search, unchanged=True)
    failed = result.failed(config.strict)
    if write and not failed and not intact(config.output_dir, cache.output, check):
        return None
    return replace(result, written=write and not failed)


def _release_freed_memory() -> None:
    """Hand memory freed so far back to the system (glibc keeps freed small blocks in the
    process otherwise): the render workers forked later then neither share nor copy it."""
    import ctypes  # here: a no-op build never needs it

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


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
