"""render_site(): Site + Links -> the bytes of every page, map and fixed page, through Jinja2.

Autoescape is on and undefined names are errors (StrictUndefined). Content is data passed to
templates, never a template itself. A template error is reported once per template line,
naming the page being rendered, instead of once per page.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2 import meta
from markupsafe import Markup, escape

try:  # MarkupSafe 3: escape() is Python around this C core (see quick_escape)
    from markupsafe._speedups import _escape_inner
except ImportError:  # MarkupSafe 2 (its escape() all C) or without its C part: as it is
    _escape_inner = None  # type: ignore[assignment]

from . import diagnostics as diag
from .config import Config
from .diagnostics import Diagnostic, Location, display_path
from .graph import Graph
from .model import Links, OutputFacts, OutputFile, Page, PageKind, Rendered, Site
from .parallel import default_jobs
from .pickling import CacheDamaged
from .site import output_path
from .structured import lint_jsonld, script_json
from .views import PageView, ViewBuilder
from .write import OutputWriter, Staged, digest

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

TEMPLATES = {
    PageKind.HOME: "home.html",
    PageKind.HUB: "hub.html",
    PageKind.SPOKE: "article.html",
    PageKind.PAGE: "page.html",
}


def make_environment(
    templates_dir: Path, compiled: jinja2.BytecodeCache | None = None
) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        bytecode_cache=compiled,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # An environment is made again whenever a template's text changes (_templates):
        # its templates are not stat'ed again on every get_template (three a page).
        auto_reload=False,
    )
    if _escape_inner is not None:
        env.template_class = _Template
    return env


def quick_escape(value: object) -> Markup:
    """markupsafe.escape(value), the same Markup, in half the time for the two values
    templates print most: a str (made a Markup without Markup.__new__, which first looks
    for an __html__ the str lacks, at the cost of an exception: 620 to 290 ns) and a
    Markup (already safe and immutable: returned as it is, not copied)."""
    if type(value) is str:
        return _new_str(Markup, _escape_inner(value))
    if type(value) is Markup:
        return value
    return escape(value)


_new_str = str.__new__


class _Template(jinja2.Template):
    """A template whose `{{ ... }}` are escaped by quick_escape (about 150 per page)."""

    @classmethod
    def from_code(
        cls,
        environment: jinja2.Environment,
        code: CodeType,
        globals: MutableMapping[str, Any],
        uptodate: Callable[[], bool] | None = None,
    ) -> jinja2.Template:
        template = super().from_code(environment, code, globals, uptodate)
        # Every function a compiled template defines (root, blocks, macros) finds
        # `escape` in this one module namespace, where the compiled code imported it.
        template.root_render_func.__globals__["escape"] = quick_escape
        return template


Facts = Callable[[str, bytes, bool], OutputFacts]  # rel, bytes, a page's: report.output_facts
Stage = Callable[[str, bytes, bool], Staged]  # the same arguments: see Sink.stage_apart


class Sink:
    """Where rendered files go: the output writer (staged as they come, so the site's HTML
    is never all in memory), the render memo, and, when asked, a list kept for the caller:
    every output's bytes (`keep`), or only what `facts` makes of them (a build report's
    facts, made where each output is rendered, in forked processes too).

    reuse() says whether an output can be skipped: its key is the one last rendered and
    output/ (when writing) still holds those bytes. Never when outputs or facts are kept:
    every output is rendered."""

    def __init__(
        self,
        writer: OutputWriter | None = None,
        memo: dict[str, Rendered] | None = None,
        keep: bool = False,
        facts: Facts | None = None,
    ) -> None:
        self.writer, self.memo, self.keep, self.facts = writer, memo, keep, facts
        self.outputs: list[OutputFile] = []
        self.reported: list[OutputFacts] = []  # with `facts`
        self.seen: set[str] = set()
        self.rendered = 0  # outputs rendered rather than reused

    def reuse(
        self, rel: str, key: bytes, members: Callable[[str], str] | None = None
    ) -> tuple[Diagnostic, ...] | None:
        """`members`: the site-wide key of the kind the output read when last rendered, as
        it is now (views.ViewBuilder.watched_key), asked for only when it read one."""
        if self.memo is None or self.keep or self.facts is not None:
            return None
        hit = self.memo.get(rel)
        if hit is None or hit[0] != key:
            return None
        _, known, lint, read = hit
        if read and (members is None or read != members(read)):
            return None
        if self.writer is not None and not self.writer.unchanged(rel, known):
            return None
        self.seen.add(rel)
        return lint

    def emit(
        self,
        rel: str,
        data: bytes | Staged,
        key: bytes = b"",
        lint: tuple[Diagnostic, ...] = (),
        members: str = "",
        page: bool = False,
    ) -> None:
        """`data`: the output's bytes, or a Staged when a forked process handled them (see
        stage_apart(); never when the bytes are to be kept). `members`: the site-wide
        members key, if rendering it read that part of the site-wide view. `page`: the
        output is a page's HTML (see Facts)."""
        self.seen.add(rel)
        if isinstance(data, Staged):
            known = data.digest
            if self.writer is not None:
                self.writer.adopt(rel, data)
            if self.facts is not None:
                assert data.facts is not None  # staged by stage_apart(), which made them
                self.reported.append(data.facts)
        else:
            known = digest(data)
            if self.writer is not None:
                self.writer.put(rel, data, known)
            if self.keep:
                self.outputs.append(OutputFile(rel, data))
            if self.facts is not None:
                self.reported.append(self.facts(rel, data, page))
        if self.memo is not None and key:
            self.memo[rel] = (key, known, lint, members)

    def stage_apart(self) -> Stage | None:
        """What a forked render process does with an output's bytes instead of sending them
        back: stage them itself (or, with no output folder, only take their digest), and
        make their facts when they are kept. The writing (and the facts' hashing and
        parsing) is then shared among the processes. None when the bytes are to be kept."""
        if self.keep:
            return None
        stage = self.writer.stage_apart if self.writer is not None else _digest_only
        if self.facts is not None:
            return functools.partial(_stage_with_facts, stage, self.facts)
        return functools.partial(_stage_only, stage)

    def prune(self) -> None:
        """Forget outputs this build did not make (deleted pages, renamed clusters)."""
        if self.memo is not None:
            for rel in self.memo.keys() - self.seen:
                del self.memo[rel]


def _digest_only(_rel: str, data: bytes) -> Staged:
    return Staged(digest(data))


def _stage_only(stage: Callable[[str, bytes], Staged], rel: str, data: bytes, _: bool) -> Staged:
    return stage(rel, data)


def _stage_with_facts(
    stage: Callable[[str, bytes], Staged], facts: Facts, rel: str, data: bytes, page: bool
) -> Staged:
    return replace(stage(rel, data), facts=facts(rel, data, page))


@dataclass(frozen=True, slots=True)
class _Job:
    """One output to render: its template, how to make its view, and where it goes."""

    template: str
    make: Callable[[], PageView]
    source: str  # what is being rendered, as template errors name it
    rel: str
    key: bytes
    structured: Page | None = None  # the page this is the output of (its JSON-LD goes in)


BASE_KEY = ""  # where `keys` holds ViewBuilder.base_key() (no output is named "")
MEMBERS_KEY = "/"  # and ViewBuilder.members_key(), once made (no output is named "/")
OUTLINE_KEY = "///"  # and ViewBuilder.outline_key(), once made
UNMARKED_KEY = "//"  # and the repeated FAQ questions not marked up, which page_key() reads


def _marks(unmarked: frozenset[tuple[str, str]]) -> bytes:
    return "\x1e".join(f"{page_id}\x1f{anchor}" for page_id, anchor in sorted(unmarked)).encode()


def _unmarks(marks: bytes) -> frozenset[tuple[str, str]]:
    pairs = (entry.split("\x1f", 1) for entry in marks.decode().split("\x1e") if entry)
    return frozenset((page_id, anchor) for page_id, anchor in pairs)


# an output's bytes (or, from a forked process, what became of them), its lint, its failure,
# and what rendering it read of the watched part of the site-wide view (ViewBuilder.watched)
Done = tuple[bytes | Staged | None, tuple[Diagnostic, ...], tuple[str, int, str] | None, int]
POOL_MIN = 256  # fewer outputs to render than this are rendered in the build's own process


def keys_without(
    keys: dict[str, tuple[bytes, bytes]],
    site: Site,
    links: Links,
    graph: Graph,
    config: Config,
    before: Graph | None = None,
    relinked: frozenset[str] | None = None,
) -> dict[str, tuple[bytes, bytes]]:
    """Render keys made for another structure (see site.structure_key), with every key that
    may have changed left out. Without `before`, the frame was the same: only what rendered
    pages show of other pages differs, their cards (a summary, a description), so every key
    but those that may show the card of an edited page still holds. With `before` (the
    graph the keys were made with), the landings were the same (model.landing_of) and
    titles, tags, keywords or the edited pages' own links changed: the keys of the pages
    linking to an edited page go too (their links show its title), and of every page whose
    related pages or backlinks changed; when the part every key is made from changed (the
    header names the first clusters' hubs: ViewBuilder.base_key), every key goes.

    With `relinked` too (the pages whose links were resolved again), landings changed: a
    page was added, removed, moved or made a draft, or its aliases, weight or FAQ
    questions were edited. The keys of the relinked pages go as well (their links may
    land elsewhere), and of the clusters a page left (their members list it, and their
    maps); an added page has no key, so it counts as edited. Which repeated FAQ questions
    are marked up is checked by render_site itself (UNMARKED_KEY).

    A page is edited when its own key was made from another version of its source (the
    key's tag starts with the source's digest, see render_site). The members key, made
    from every card, goes too, and with `before` the outline key (ViewBuilder.outline_key:
    the titles and URLs of every cluster's pages, which the frame covers)."""
    edited = set()
    for page in site.pages:
        hit = keys.get(output_path(site.urls[page.id]))
        digest = page.source.digest
        if hit is None or not digest or not hit[0].startswith(digest):
            edited.add(page.id)
    pages, clusters = ViewBuilder.showing(site, links, graph, edited)
    gone: set[str] = set()
    if before is not None:
        base = keys.get(BASE_KEY)
        if base is None or base[1] != ViewBuilder(site, links, graph, config).base_key().encode():
            return {}
        for page_id in edited:
            pages.update(graph.backlinks.get(page_id, ()))  # their links show its title
        for shows, showed in ((graph.related, before.related), (graph.backlinks, before.backlinks)):
            pages.update(page_id for page_id, ids in shows.items() if showed.get(page_id) != ids)
        if relinked is not None:
            pages.update(relinked)
            went = [n for n in before.nodes if n.id not in site.urls]
            left = {n.cluster for n in went if n.cluster}
            clusters |= left
            pages.update(p for c in site.clusters if c.name in left for p in (c.hub, *c.spokes))
            gone.update(output_path(n.url) for n in went)  # outputs no page makes now
    gone.update(f"{name}/map/index.html" for name in clusters)
    gone.update(output_path(site.urls[page_id]) for page_id in pages if page_id in site.urls)
    gone.add(MEMBERS_KEY)
    if before is not None:  # titles, places or planned topics may have changed
        gone.add(OUTLINE_KEY)
    return {rel: key for rel, key in keys.items() if rel not in gone}


def render_site(
    site: Site,
    links: Links,
    graph: Graph,
    config: Config,
    unmarked: frozenset[tuple[str, str]] = frozenset(),
    sink: Sink | None = None,
    keys: dict[str, tuple[bytes, bytes]] | None = None,
    jobs: int | None = None,
    versions_memo: VersionMemo | None = None,
    handed: Callable[[], dict[str, bytes]] | None = None,
) -> tuple[tuple[OutputFile, ...], tuple[Diagnostic, ...]]:
    """Render every page, map and fixed page into `sink` (by default, a list that is
    returned). Returns the kept outputs, sorted, and the diagnostics. `handed`: the
    templates compiled already, see precompiled().

    `keys` (from the build cache, kept only while the site's structure key is unchanged)
    holds each output's render key with what else it was computed from (the page's source
    digest and the template's version): a key is computed again only when those differ.
    It also holds, under BASE_KEY, the site-wide part every key is made from, and under
    OUTLINE_KEY and MEMBERS_KEY the parts only outputs that read them depend on (the
    clusters' titles and URLs, and their cards with summaries: see Sink.reuse).
    Many outputs to render are shared among `jobs` forked processes (default: one per
    core); results are taken in order, so the output does not depend on scheduling."""
    sink = sink or Sink(keep=True)
    known = keys if keys is not None else {}
    fresh: dict[str, tuple[bytes, bytes]] = {}
    env, versions = _templates(config.templates_dir, versions_memo, handed)
    base, members, outline = known.get(BASE_KEY), known.get(MEMBERS_KEY), known.get(OUTLINE_KEY)
    views = ViewBuilder(
        site,
        links,
        graph,
        config,
        unmarked,
        base[1].decode() if base else "",
        members[1].decode() if members else "",  # made from every cluster: kept, not remade
        outline[1].decode() if outline else "",
    )
    fresh[BASE_KEY] = (b"", views.base_key().encode())
    fresh[UNMARKED_KEY] = (b"", _marks(unmarked))
    marked = known.get(UNMARKED_KEY)
    if marked is None:  # keys without it cannot say which FAQ markup they were made with
        known = {}
    elif marked[1] != fresh[UNMARKED_KEY][1]:  # the pages whose markup changed: made again
        moved = {page_id for page_id, _ in _unmarks(marked[1]) ^ unmarked}
        gone = {output_path(site.urls[page_id]) for page_id in moved if page_id in site.urls}
        known = {rel: hit for rel, hit in known.items() if rel not in gone}
    plan: list[_Job | tuple[Diagnostic, ...]] = []  # in output order: a job, or reused lint

    def add(
        rel: str,
        key: bytes,
        template: str,
        make: Callable[[], PageView],
        source: str,
        structured: Page | None = None,
    ) -> None:
        kept = sink.reuse(rel, key, views.watched_key)  # reused: its lint; else a job
        plan.append(
            kept if kept is not None else _Job(template, make, source, rel, key, structured)
        )

    def version(name: str) -> str:
        return f"{name}@{versions.get(name, '?')}"

    def key_of(rel: str, tag: bytes, make: Callable[[], bytes]) -> bytes:
        hit = known.get(rel)
        if hit is not None and hit[0] == tag:
            fresh[rel] = hit
            return hit[1]
        key = make()
        fresh[rel] = (tag, key)
        return key

    tags = {n: version(n).encode() for n in {*TEMPLATES.values(), "quiz.html", "map.html"}}
    watched_key, reuse, urls, known_hit = views.watched_key, sink.reuse, site.urls, known.get
    for page in site.pages:  # the one loop over every page: kept lean for one-page edits
        source = page.source
        rel = output_path(urls[source.page_id])
        name = TEMPLATES[source.kind]
        tag = source.digest + tags[name]
        hit = known_hit(rel)  # an unchanged source had this template: its front matter unread
        if hit is None or hit[0] != tag:
            name = "quiz.html" if page.front.quiz else name
            tag = source.digest + tags[name]
        if hit is not None and hit[0] == tag:  # key_of(), inline: no call made for most pages
            fresh[rel], key = hit, hit[1]
        else:
            key = views.page_key(page, version(name))
            fresh[rel] = (tag, key)
        kept = reuse(rel, key, watched_key)
        if kept is not None:
            plan.append(kept)
        else:
            make = functools.partial(views.page_view, page)
            plan.append(_Job(name, make, source.display, rel, key, page))
    for cluster in site.clusters:
        rel = f"{cluster.name}/map/index.html"
        key = key_of(
            rel, tags["map.html"], functools.partial(views.map_key, cluster, version("map.html"))
        )
        add(
            rel,
            key,
            "map.html",
            functools.partial(views.map_view, cluster),
            f"the map of '{cluster.name}'",
        )
    if config.search:
        key = views.fixed_key("search", version("search.html"))
        add("search/index.html", key, "search.html", views.search_view, "the search page")
    key = views.fixed_key("404", version("404.html"))
    add("404.html", key, "404.html", views.not_found_view, "the 404 page")
    todo = [job for job in plan if isinstance(job, _Job)]
    done = _render_all(todo, env, views, config.templates_dir, jobs, sink.stage_apart())
    lint: list[Diagnostic] = []
    failures: dict[tuple[str, int, str], list[str]] = defaultdict(list)
    for slot in plan:
        if not isinstance(slot, _Job):
            lint.extend(slot)
            continue
        data, found, failure, read = next(done)
        lint.extend(found)
        if failure is not None:
            failures[failure].append(slot.source)
            continue
        assert data is not None  # a job without a failure has its bytes
        sink.rendered += 1
        a_page = slot.structured is not None
        sink.emit(slot.rel, data, slot.key, found, views.watched_key(read), a_page)
    if views.members_key_made():
        fresh[MEMBERS_KEY] = (b"", views.members_key_made().encode())
    if views.outline_key_made():
        fresh[OUTLINE_KEY] = (b"", views.outline_key_made().encode())
    if keys is not None:
        keys.clear()
        keys.update(fresh)

    problems = []
    for (where, line, message), sources in sorted(failures.items()):
        others = f" and {diag.plural(len(sources) - 1, 'other page')}" if len(sources) > 1 else ""
        problems.append(
            diag.make(
                "template-error",
                f"{message} (while rendering {sources[0]}{others})",
                Location(where, line, 1 if line else 0),
                hint="templates see `site` and `page`; see the README's template reference",
            )
        )
    return tuple(sorted(sink.outputs, key=lambda o: o.rel)), tuple(problems + lint)


def _render_one(
    job: _Job, env: jinja2.Environment, views: ViewBuilder, templates_dir: Path
) -> Done:
    """The bytes of one output and its JSON-LD lint, or where its template failed."""
    found: tuple[Diagnostic, ...] = ()
    try:
        page = job.make()
        if job.structured is not None:
            blocks = views.structured(job.structured, page)
            found = tuple(lint_jsonld(blocks, Location(job.structured.source.display, 1, 1)))
            page = replace(page, jsonld=tuple(Markup(script_json(b)) for b in blocks))
        template = env.get_template(job.template)
        site_view = views.site_view()
        views.members_read = views.summaries_read = False
        text = template.render(site=site_view, page=page)
    except CacheDamaged:
        raise  # not the template's fault: the build starts again without the cache
    except Exception as exc:  # any template failure becomes a diagnostic
        where, line = _template_location(exc, templates_dir, job.template)
        return None, found, (where, line, _describe(exc)), 0
    return text.encode("utf-8"), found, None, views.watched()


# What forked render workers inherit (set just before the pool starts, cleared after).
_SHARED: tuple[list[_Job], jinja2.Environment, ViewBuilder, Path, Stage | None] | None = None


def _render_range(span: tuple[int, int]) -> list[Done]:
    assert _SHARED is not None
    todo, env, views, templates_dir, _ = _SHARED
    return [_render_one(job, env, views, templates_dir) for job in todo[span[0] : span[1]]]


def _render_and_stage(span: tuple[int, int]) -> list[Done]:
    """A worker's span: each output rendered, then staged there (see Sink.stage_apart)."""
    assert _SHARED is not None
    todo, stage = _SHARED[0], _SHARED[4]
    done = _render_range(span)
    if stage is None:
        return done
    jobs = todo[span[0] : span[1]]
    return [
        (
            stage(job.rel, data, job.structured is not None) if isinstance(data, bytes) else data,
            lint,
            failure,
            read,
        )
        for job, (data, lint, failure, read) in zip(jobs, done, strict=True)
    ]


def _render_all(
    todo: list[_Job],
    env: jinja2.Environment,
    views: ViewBuilder,
    templates_dir: Path,
    jobs: int | None,
    stage: Stage | None = None,
) -> Iterator[Done]:
    """Each job's result, in order. With many jobs and more than one process allowed, this
    process and n - 1 forked ones share the spans of jobs (see _share_spans): the build's
    own process is the one that has everything in memory, and each extra process copies
    part of it, so one fewer is cheaper than one more. `stage`: what a
    forked process does with the bytes it renders, instead of sending them back (on a
    cold build, creating 10,000 folders and files takes seconds: each process does its
    own share)."""
    global _SHARED
    workers = min(jobs or default_jobs(), len(todo) // POOL_MIN or 1)
    if workers > 1:
        import multiprocessing  # here: a rebuild rendering a few pages never loads them
        from concurrent.futures import ProcessPoolExecutor
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for job in todo:
            yield _render_one(job, env, views, templates_dir)
        return
    with contextlib.suppress(Exception):  # a failure is reported per output, as usual
        views.site_view()  # made once here, not once per process
    for name in sorted({job.template for job in todo}):
        with contextlib.suppress(Exception):
            env.get_template(name)
    size = max(16, len(todo) // (workers * 32))
    spans = [(n, min(n + size, len(todo))) for n in range(0, len(todo), size)]
    _SHARED = (todo, env, views, templates_dir, stage)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers - 1, mp_context=context) as pool:
            yield from _share_spans(spans, workers - 1, pool)
    finally:
        _SHARED = None


AHEAD = 4  # spans this process renders ahead while a forked one's span is not done
HELD = 8  # spans a forked process may have done and waiting (each holds its results)


def _share_spans(spans: list[tuple[int, int]], others: int, pool: Executor) -> Iterator[Done]:
    """The results of every span, in order, rendered by this process and `others` forked
    ones, each taking the first span no one has taken whenever it is free: the pool is
    kept two spans ahead per process (and at most HELD done and waiting), and this process
    renders its own while the span due next is the pool's and not done yet (then renders
    up to AHEAD spans ahead, holding their results). Whichever is slowed down (the forked
    processes copy the pages they touch; this one also records every output) leaves the
    more to the other. Before, every other span was the pool's: at 10,000 pages this
    process waited about 1 s for it at the end of a cold build."""
    pending: dict[int, Future[list[Done]]] = {}
    mine: dict[int, list[Done]] = {}  # spans rendered here ahead of their turn
    free = 0  # spans[free:] are not taken yet

    def top_up() -> None:
        nonlocal free
        while free < len(spans) and len(pending) < HELD * others:
            if sum(not f.done() for f in pending.values()) >= 2 * others:
                break
            pending[free] = pool.submit(_render_and_stage, spans[free])
            free += 1

    for n in range(len(spans)):
        top_up()
        while n in pending and not pending[n].done() and free < len(spans) and len(mine) < AHEAD:
            mine[free] = _render_range(spans[free])
            free += 1
            top_up()
        # span n is taken by its turn: spans are taken in order, and top_up() takes the
        # next one whenever none is taken ahead of it
        yield from mine.pop(n) if n in mine else pending.pop(n).result()


_TEMPLATES: dict[Path, tuple[bytes, jinja2.Environment, dict[str, str]]] = {}


class Handed(jinja2.BytecodeCache):
    """Compiled templates handed over in memory, never read from or written to a file (a
    file planted there would run as code). precompiled() fills one with what it compiles;
    a build's environment then loads from `handed` (precompiled()'s result, asked for when
    the first template is needed). Jinja2 checks each against its template's source."""

    def __init__(self, handed: Callable[[], dict[str, bytes]] = dict) -> None:
        self.handed = handed
        self.saved: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self.handed().get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.saved[bucket.key] = bucket.bytecode_to_string()


def precompiled(templates_dir: Path) -> dict[str, bytes]:
    """Every template of `templates_dir` compiled, by Jinja2's bytecode cache key: made by a
    forked process while a cached rebuild loads its cache (see build._build), so the build
    itself compiles none. A template that fails to compile is left out (and reported when
    the build itself compiles it)."""
    compiled = Handed()
    env = make_environment(templates_dir, compiled)
    for name in env.list_templates():
        with contextlib.suppress(Exception):
            env.get_template(name)
    return compiled.saved


VersionMemo = dict[bytes, dict[str, str]]  # templates' texts digest -> template_versions()


def _templates(
    templates_dir: Path,
    memo: VersionMemo | None = None,
    handed: Callable[[], dict[str, bytes]] | None = None,
) -> tuple[jinja2.Environment, dict[str, str]]:
    """The environment and template versions, reused while no template's text changes
    (a rebuild in the live preview then compiles nothing). `memo` (from the build cache)
    keeps the versions, which take parsing every template, for the command line.
    `handed`: templates compiled already (precompiled()), for a new environment."""
    sources: dict[str, str] = {}
    for path in sorted(templates_dir.rglob("*")) if templates_dir.is_dir() else ():
        if path.is_file():
            sources[path.relative_to(templates_dir).as_posix()] = path.read_text("utf-8", "replace")
    state = hashlib.blake2b(repr(sorted(sources.items())).encode(), digest_size=16).digest()
    where = templates_dir.resolve()
    known = _TEMPLATES.get(where)
    if known is not None and known[0] == state:
        return known[1], known[2]
    env = make_environment(templates_dir, Handed(handed) if handed is not None else None)
    versions = memo.get(state) if memo is not None else None
    if versions is None:
        versions = template_versions(env, sources)
    if memo is not None:
        memo.clear()
        memo[state] = versions
    _TEMPLATES[where] = (state, env, versions)
    return env, versions


def template_versions(env: jinja2.Environment, sources: dict[str, str]) -> dict[str, str]:
    """A digest per template of its own source and of every template it extends, includes
    or imports (transitively), so editing one template re-renders only the pages using it.
    A template naming another by a variable depends on all of them."""
    uses: dict[str, set[str]] = {}
    for name, text in sources.items():
        try:
            found = set(meta.find_referenced_templates(env.parse(text)))
        except jinja2.TemplateError:
            found = set()  # reported when rendered; its own text is in its digest
        uses[name] = set(sources) if None in found else {n for n in found if isinstance(n, str)}
    versions: dict[str, str] = {}
    for name in sources:
        closure, todo = {name}, [name]
        while todo:
            for used in uses.get(todo.pop(), ()):
                if used not in closure:
                    closure.add(used)
                    todo.append(used)
        joined = "\x00".join(f"{n}\x00{sources.get(n, '')}" for n in sorted(closure))
        versions[name] = hashlib.blake2b(joined.encode(), digest_size=12).hexdigest()
    return versions


def _describe(exc: Exception) -> str:
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"template '{exc.name}' not found"
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"syntax error: {exc.message}"
    message = re.sub(r"'intimacy_ssg\.views\.(\w+) object'", r"a \1", str(exc))
    return f"{type(exc).__name__}: {message}"


def _template_location(exc: Exception, templates_dir: Path, fallback: str) -> tuple[str, int]:
    """The template file and line where the error happened (Jinja maps frames to templates)."""
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        return display_path(Path(exc.filename)), exc.lineno or 0
    root = templates_dir.resolve()
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename)
        if path.suffix == ".html" and path.resolve().is_relative_to(root):
            return display_path(path), frame.lineno or 0
    return display_path(templates_dir / fallback), 0
