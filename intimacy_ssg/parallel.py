"""Parse pages across cores: markdown parsing is most of a cold build's time.

Pages are parsed in spans by this process and a pool of forked ones (as many processes in
all as cores, unless --jobs says otherwise); results come back in input order, so the
output does not depend on scheduling. Workers inherit the sources and send pages back
without their source bytes (the parent still has them), to keep results compact. Small
sites, and builds with everything cached, never start a pool.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from . import diagnostics as diag
from . import discover
from .diagnostics import Diagnostic, Location
from .model import (
    UNREAD,
    FrontMatter,
    Listing,
    Page,
    SourceFile,
    with_digests,
)

ParseCache = dict[tuple[str, bytes], Page]
EMPTY = hashlib.sha256(b"").digest()
POOL_MIN = 64  # below this many pages to parse, a pool costs more than it saves


MAX_PAGE_BYTES = 1_000_000  # a page larger than this is refused, not parsed
PAGE_SECONDS = 20.0  # a page that takes longer to parse is given up on


class _Timeout(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _Timeout


def guarded_parse(
    source: SourceFile, default_author: str, authors: frozenset[str], content_dir: str = ""
) -> Page:
    """parse_page, within a size cap and (where signals work) a time limit; a page that
    breaks either, or the parser itself, becomes a diagnostic, never a traceback. The page
    comes back without its source bytes and with its digests (model.with_digests). A
    source not read yet (UNREAD) is read here, from `content_dir`."""
    if source.digest == UNREAD:
        source = discover.read_source(content_dir, source)
    return with_digests(_guarded_parse(source, default_author, authors))


def _guarded_parse(source: SourceFile, default_author: str, authors: frozenset[str]) -> Page:
    # imported here: a rebuild whose pages were parsed by a forked process (parse_changed)
    # never loads markdown-it itself
    from .parse import parse_page

    where = Location(source.display, 1, 1)
    if len(source.data) > MAX_PAGE_BYTES:
        return _failed(
            source,
            diag.make(
                "page-too-large",
                f"the file is {len(source.data):,} bytes; pages may be at most {MAX_PAGE_BYTES:,}",
                where,
                hint="split it into several pages",
            ),
        )
    timed = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if timed:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, PAGE_SECONDS)
    try:
        return parse_page(source, default_author, authors)
    except _Timeout:
        return _failed(
            source,
            diag.make(
                "page-too-slow",
                f"parsing took more than {PAGE_SECONDS:g} seconds",
                where,
                hint="look for pathological markdown, e.g. thousands of unclosed brackets",
            ),
        )
    except RecursionError:
        return _failed(
            source,
            diag.make(
                "page-too-slow",
                "the markdown is nested too deeply to parse",
                where,
                hint="look for thousands of nested quotes or lists",
            ),
        )
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _failed(source: SourceFile, problem: Diagnostic) -> Page:
    return Page(source, FrontMatter(source.slug, ""), b"", (), (), (), 0, (problem,))


# What forked parse workers inherit (set just before the pool starts, cleared after): the
# sources to parse, in order, with the default author, the known authors and the content
# folder (where the sources left unread are).
_SHARED: tuple[list[SourceFile], str, frozenset[str], str] | None = None


def _parse_span(span: tuple[int, int]) -> list[Page]:
    assert _SHARED is not None
    todo, default_author, authors, where = _SHARED
    return [guarded_parse(s, default_author, authors, where) for s in todo[span[0] : span[1]]]


def _parse_todo(
    sources: tuple[SourceFile, ...],
    todo: list[int],
    default_author: str,
    authors: frozenset[str],
    workers: int,
    where: str,
) -> Iterator[Page]:
    """The pages of sources[i] for i in todo, in order, parsed by this process and
    workers - 1 forked ones (see share_spans): the sources are inherited, not sent, and
    only the other processes' pages come back pickled."""
    global _SHARED
    if workers <= 1 or not can_fork():
        for i in todo:
            yield guarded_parse(sources[i], default_author, authors, where)
        return
    _SHARED = ([sources[i] for i in todo], default_author, authors, where)
    try:
        size = max(16, len(todo) // (workers * 64))
        yield from share_spans(len(todo), size, workers, _parse_span)
    finally:
        _SHARED = None


def can_fork() -> bool:
    import multiprocessing  # here: a rebuild parsing a few pages never loads it

    return "fork" in multiprocessing.get_all_start_methods()


T = TypeVar("T")
AHEAD = 3  # spans handed to each forked process before it needs them


def share_spans(
    count: int,
    size: int,
    workers: int,
    work: Callable[[tuple[int, int]], list[T]],
) -> Iterator[T]:
    """The results of `count` items, in order, worked out in spans of `size` (start, end)
    by `work` (a module-level function, reading what the fork left it) in this process
    and in a pool of workers - 1 forked processes. This process takes spans from
    the front, the pool from the back, a few ahead for each of its processes, until they
    meet: whichever is slowed down (by the machine, or this process by taking the others'
    results) leaves the more to the other. This process's results are given as it makes
    them; the pool's, which are held until then, come last. (Rendering shares its spans in
    order instead, render._share_spans: there this process also records every output as
    it comes, work which a split like this one leaves to the end, when the pool has
    nothing to do. Paired cold builds rendered 1.2 s slower with it at 10,000 pages.)"""
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    spans = [(n, min(n + size, count)) for n in range(0, count, size)]
    # never more ahead than the pool's fair share: with few spans, this process takes some
    ahead = min(AHEAD * (workers - 1), len(spans) * (workers - 1) // workers)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=context) as pool:
        theirs: dict[int, Future[list[T]]] = {}
        front, back = 0, len(spans)  # spans[front:back] are not taken yet
        while front < back:
            while front < back and sum(not f.done() for f in theirs.values()) < ahead:
                back -= 1
                theirs[back] = pool.submit(work, spans[back])
            if front < back:
                yield from work(spans[front])
                front += 1
        for n in sorted(theirs):
            yield from theirs[n].result()


def parse_changed(
    content_dir: Path,
    listing: Listing,
    since_ns: int,
    default_author: str,
    authors: frozenset[str],
) -> ParseCache:
    """The pages changed at or after `since_ns` (discover.changed_sources), parsed, by path
    and digest; none if there are more than a pool would take. Worked out by a forked
    process while a rebuild loads its cache (see build): the build takes a page from here
    only where the file it reads has the same path and digest, as it takes a cached one."""
    sources = discover.changed_sources(content_dir, listing, since_ns)
    if len(sources) >= 2 * POOL_MIN:  # parse_all hands that many to a pool
        return {}
    return {(s.rel, s.digest): guarded_parse(s, default_author, authors) for s in sources}


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def parse_all(
    sources: tuple[SourceFile, ...],
    default_author: str,
    authors: frozenset[str],
    cache: ParseCache | None = None,
    jobs: int | None = None,
    content_dir: Path | None = None,
) -> tuple[Page, ...]:
    """The page of each source, in order: from `cache` (by path and digest) or parsed, by
    this process and forked ones. A source left UNREAD (discover_sources(defer=True)) is
    read from `content_dir` by the process that parses it."""
    keys = [(s.rel, s.digest or hashlib.sha256(s.data).digest()) for s in sources]
    found: list[Page | None] = []
    for source, key in zip(sources, keys, strict=True):
        hit = cache.get(key) if cache is not None and key[1] != UNREAD else None
        found.append(hit if hit is not None and hit.source.display == source.display else None)
    todo = [i for i, page in enumerate(found) if page is None]
    # discover skips reading only files whose page the cache holds, or all when told to
    unread = [i for i in todo if not sources[i].data and sources[i].digest != EMPTY]
    unread = [i for i in unread if sources[i].digest != UNREAD or content_dir is None]
    if unread:
        raise RuntimeError(f"not read and not cached: {sources[unread[0]].display}")
    workers = min(jobs or default_jobs(), len(todo) // POOL_MIN or 1)
    where = os.fspath(content_dir) if content_dir is not None else ""
    for i, page in zip(
        todo, _parse_todo(sources, todo, default_author, authors, workers, where), strict=True
    ):
        found[i] = page  # without its bytes
        if keys[i][1] == UNREAD:
            keys[i] = (keys[i][0], page.source.digest)
    pages = tuple(p for p in found if p is not None)
    if cache is not None:
        cache.clear()  # keep only this build's versions: deleted and edited files drop out
        cache.update(zip(keys, pages, strict=True))
    return pages
