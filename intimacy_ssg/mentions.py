"""unlinked_mentions(): where a page names another page without linking it.

Each page's title (when it has two words or more) and its `keywords:` are phrases. One pass
over each page's text looks every word up in a table keyed by a phrase's first word, so the
cost grows with the text, not with the number of titles. Only the first mention of each
target on a page is suggested, and never one the page already links to.
"""

from __future__ import annotations

import array
import contextlib
import gc
import hashlib
import operator
import os
import pickle
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from . import diagnostics as diag
from .diagnostics import Diagnostic, Location
from .forked import Apart
from .model import Page, Site, fold, prose_holds, unpack_prose
from .pickling import CacheDamaged, Later, safe_loads

WORD = re.compile("[a-z0-9]+(?:['-][a-z0-9]+)*")


# ASCII characters that can never be part of a word: splitting at them changes no word.
_SEPARATORS = str.maketrans(
    {chr(c): " " for c in range(128) if not (chr(c).isalnum() or chr(c) in "'-")}
)


def _words(text: str) -> list[str]:
    return _folded_words(fold(text))


def _folded_words(folded: str) -> list[str]:
    """The words of text folded already (see model.fold: a page's packed prose is)."""
    if folded.isascii() and "'" not in folded and "-" not in folded:
        return folded.translate(_SEPARATORS).split()  # the same words, several times faster
    return WORD.findall(folded)


# page id -> (key of the page's own part, its source's digest, findings); and under BASIS
# (no page's id), (the site's frame, the digest of the table of phrases) every entry holds
# under. One record for all: when a title changes, the pages kept keep their entries as
# they are (the cache then saves only what changed).
MentionMemo = dict[str, tuple[bytes, bytes, tuple[Diagnostic, ...]]]
BASIS = ""
# a phrase's first word -> (its words, the page it names, the phrase as written, that page's
# file), longest first
Entry = tuple[tuple[str, ...], str, str, str]
Phrases = dict[str, list[Entry]]


def unlinked_mentions(
    site: Site,
    linked: Mapping[str, tuple[str, ...]],
    memo: MentionMemo | None = None,
    frame: bytes = b"",
    table: bytes = b"",
    before: bytes = b"",
    words: WordIndex | None = None,
    state: PhraseState | None = None,
) -> tuple[tuple[Diagnostic, ...], bytes, MentionMemo]:
    """The findings; the table of phrases packed for the build cache; and what `memo` is
    to hold next (the caller stores it: this may run in a forked process, see
    build._build). `linked`: the pages each page links to (graph.links_out()).

    `memo` (from the build cache) keeps each page's findings under a key of what they
    depend on: the page's text and place, what it links to, and the table of phrases.
    When the site's frame (site.structure_key by frames, which covers the titles, keywords
    and links) is given, a page whose source and the frame are both unchanged is a hit at
    once, without the table. `table` is the packed table returned before under the same
    frame: a miss then unpacks it rather than making it from every page again. `before`
    is the packed table of the last build, under another frame: a page whose own part is
    unchanged and whose text holds no word telling a phrase that changed since (a new
    title, a keyword: see _telling_words) keeps its findings, unscanned. `words`: an index
    of the words of (some of) the pages, which tells which hold one of those words without
    reading their text (a watcher keeps one: see WordKeeper). `state`: what the last
    check in this process kept (a watcher's, never saved: see PhraseState), which it
    updates; the findings are the same without it."""
    fresh: MentionMemo = {}
    misses = []
    basis = memo.get(BASIS) if memo is not None else None
    made = basis[1] if basis is not None else b""  # the table the entries hold under
    # the frame covers every page's place, title and links; the digest, the page's text
    same = basis is not None and bool(frame) and basis[0] == frame
    if same and memo is not None:
        for page in site.pages:
            source = page.source
            hit = memo.get(source.page_id)
            if hit is not None and hit[1] == source.digest:
                fresh[source.page_id] = hit
            else:
                misses.append(page)
    else:
        misses = list(site.pages)
    if misses:
        digest, phrases = _unpack(table) if table else _phrases(site, state)
        if memo is not None and not table:  # a watcher's (with a state) packed at its save
            new = (digest, phrases)
            table = Later(new, _packed) if state is not None else _packed(new)
        changed = None
        if memo is not None and before:
            if state is not None and state.table and before is state.table:
                old, old_phrases = state.digest, state.phrases  # the table it packed
            else:
                old, old_phrases = _unpack(before)
            changed = (old, _telling_words(old_phrases, phrases))
        own = state.own if state is not None else None
        fresh.update(_find(linked, misses, memo, made, digest, phrases, changed, words, own))
        made = digest
        if state is not None and table:
            state.table, state.digest, state.phrases = table, digest, phrases
        if state is not None and len(state.own) > len(site.pages):  # pages gone: forgotten
            state.own = {p.id: state.own[p.id] for p in site.pages if p.id in state.own}
    if memo is not None:
        fresh[BASIS] = (frame, made, ())
    problems = [found for page in site.pages for found in fresh[page.source.page_id][2]]
    return tuple(problems), table, fresh


def _phrases(site: Site, state: PhraseState | None = None) -> tuple[bytes, Phrases]:
    """The table of phrases, and a digest of everything in it. `state`: each page's
    entries as they were made last (see PhraseState), taken for a page whose front
    matter and file are the same objects; updated."""
    phrases: Phrases = defaultdict(list)
    seen: list[str] = []  # digested at once: one call, not one per phrase
    kept = state.named if state is not None else {}
    named: dict[str, tuple[object, str, tuple[Entry, ...], str]] = {}
    for page in site.pages:
        source, front = page.source, page.front
        page_id, rel = source.page_id, source.rel
        hit = kept.get(page_id)
        if hit is None or hit[0] is not front or hit[1] != rel:
            hit = (front, rel, *_entries_of(page))
        if state is not None:
            named[page_id] = hit
        for entry in hit[2]:
            phrases[entry[0][0]].append(entry)
        seen.append(hit[3])
    for candidates in phrases.values():
        if len(candidates) > 1:  # longest phrase wins; a stable sort, so ties stay in order
            candidates.sort(key=_phrase_length, reverse=True)
    if state is not None:
        state.named = named
    table = hashlib.blake2b("".join(seen).encode(), digest_size=16)
    return table.digest(), dict(phrases)


def _phrase_length(entry: Entry) -> int:
    return len(entry[0])


def _entries_of(page: Page) -> tuple[tuple[Entry, ...], str]:
    """The page's entries in the table of phrases (its title, when it has two words or
    more, then its keywords), and what the table's digest reads of them."""
    front, page_id, rel = page.front, page.id, page.source.rel
    title = tuple(_words(front.title))
    named = [(front.title, title)] if len(title) >= 2 else []
    named += [(keyword, tuple(_words(keyword))) for keyword in front.keywords]
    entries = tuple((words, page_id, name, rel) for name, words in named if words)
    return entries, "".join(f"{page_id}\0{rel}\0{name}\0" for _, _, name, _ in entries)


class PhraseState:
    """What a watcher's mention check keeps in memory from one build to the next (never
    saved, and only where the check runs in the watcher's own process: see
    build._build): each page's entries in the table of phrases, under the front matter
    object and file they were made from (a watcher's builds keep the Page, and so the
    FrontMatter, of every file not changed); each page's own key, under its SourceFile
    object and the pages it links to; and the last table it made, with what it holds
    (the next build's `before` is that very object: then it is not unpickled). The
    table is handed on unpacked, as a pickling.Later: it is pickled only if the cache is
    saved, after the build is reported."""

    __slots__ = ("digest", "named", "own", "phrases", "table")

    def __init__(self) -> None:
        self.named: dict[str, tuple[object, str, tuple[Entry, ...], str]] = {}
        self.own: dict[str, tuple[object, tuple[str, ...], bytes]] = {}
        self.table = b""
        self.digest = b""
        self.phrases: Phrases = {}


def _telling_words(old: Phrases, new: Phrases) -> set[str]:
    """For each phrase entry added or dropped between two tables (its words, the page it
    names, how it is written or that page's file changed), its longest word. Entries keep
    their order among themselves, and a page's scan only ever reads the entries of the
    words it holds; an entry whose words the page does not all hold never matches, so it
    decides nothing: a page holding none of these words finds what it found before."""
    changed: set[tuple[tuple[str, ...], str, str, str]] = set()
    for word in old.keys() | new.keys():
        before, after = old.get(word, []), new.get(word, [])
        if before != after:
            changed.update(set(before) ^ set(after))
    return {max(entry[0], key=len) for entry in changed}


def _packed(table: tuple[bytes, Phrases]) -> bytes:
    return pickle.dumps(table, pickle.HIGHEST_PROTOCOL)


def _unpack(table: bytes) -> tuple[bytes, Phrases]:
    """The packed table read back. The last one read is kept: a process that builds again
    and again (`build --watch`, the preview) passes the same table object while the frame
    stays as it was, and a one-page edit then need not unpickle it (8-13 ms at 10,000 pages
    on a fast machine).
    Nothing that reads the table changes it. A table not packed yet (a watcher's: see
    PhraseState) is taken as it was made."""
    global _unpacked
    if isinstance(table, Later):
        return table.value  # type: ignore[no-any-return]
    last = _unpacked  # read once: a build in another thread may replace it meanwhile
    if last is not None and last[0] is table:
        return last[1]
    try:
        digest, phrases = safe_loads(table)
    except Exception as exc:  # damaged or planted: the build starts again without the cache
        raise CacheDamaged("the build cache's table of phrases could not be read") from exc
    if not isinstance(digest, bytes) or not isinstance(phrases, dict):
        raise CacheDamaged("the build cache's table of phrases has an unexpected shape")
    _unpacked = (table, (digest, phrases))
    return digest, phrases


# the last table _unpack() read, and what it read (see there)
_unpacked: tuple[bytes, tuple[bytes, Phrases]] | None = None


SPLIT_MIN = 2000  # pages to look for changed words in before half go to a forked process
INDEX_MIN = 2000  # pages before a watcher's index of their words is worth making


def _find(
    linked_to: Mapping[str, tuple[str, ...]],
    pages: list[Page],
    memo: MentionMemo | None,
    made: bytes,
    table_digest: bytes,
    phrases: Phrases,
    changed: tuple[bytes, set[str]] | None = None,
    words: WordIndex | None = None,
    own: dict[str, tuple[object, tuple[str, ...], bytes]] | None = None,
) -> MentionMemo:
    """The entries of `pages`, each looked up in `memo` (whose entries hold under the
    table digested `made`) by its own part: when the table is the same, or (`changed`:
    the last table's digest and the words telling the entries that changed since, see
    _telling_words) when its text holds none of those words, its findings are the same.

    Looking for those words means reading every page's text (after a title edit, about
    0.4 s of work at 10,000 pages), but for the pages the index `words` covers (a
    watcher's: most of them, see WordKeeper): without one, for many pages, a forked
    process does the second half meanwhile (this may itself run in a forked process
    beside the graph: see build._build)."""
    args = (linked_to, memo, made, table_digest, phrases, changed, words)
    searched = memo is not None and changed is not None and bool(changed[1])
    if not searched or words is not None or len(pages) < SPLIT_MIN:
        return _find_in(pages, *args, own)
    half = len(pages) // 2
    with Apart(_find_in, pages[half:], *args) as other:
        fresh = _find_in(pages[:half], *args)
        fresh.update(other.result())  # in page order, after the first half
    return fresh


def _find_in(
    pages: list[Page],
    linked_to: Mapping[str, tuple[str, ...]],
    memo: MentionMemo | None,
    made: bytes,
    table_digest: bytes,
    phrases: Phrases,
    changed: tuple[bytes, set[str]] | None,
    words: WordIndex | None = None,
    keys: dict[str, tuple[object, tuple[str, ...], bytes]] | None = None,
) -> MentionMemo:
    """_find(), in this process. `keys`: each page's own key as last made, under its
    SourceFile object and the pages it linked to (see PhraseState); updated."""
    fresh: MentionMemo = {}
    old, telling = changed if changed is not None else (b"", set())
    needles = sorted(word.encode("utf-8", "surrogatepass") for word in telling)
    holding = _Holding(needles, words, telling)
    # the test of _kept() and _Holding.holds(), inline for the pages the index covers
    # (after a title edit in a watcher: nearly all of 10,000, one pass each)
    same = made == table_digest
    by_index = bool(old) and made == old and words is not None
    files, held = (words.files, holding.held) if words is not None else ({}, frozenset())
    for page in pages:
        source = page.source
        page_id = source.page_id
        linked = linked_to.get(page_id, ())
        own = b""
        if memo is not None:
            made_of = keys.get(page_id) if keys is not None else None
            if made_of is not None and made_of[0] is source and made_of[1] == linked:
                own = made_of[2]
            else:
                h = hashlib.blake2b(digest_size=16)
                h.update(f"{source.rel}\0{source.display}\0".encode() + source.digest)
                h.update("\0".join(linked).encode())
                own = h.digest()
                if keys is not None:
                    keys[page_id] = (source, linked, own)
            hit = memo.get(page_id)
            if hit is not None and hit[0] == own:
                covered = files.get(page_id)
                if (
                    same
                    or (
                        by_index
                        and covered is not None
                        and covered[0] == source.rel
                        and covered[1] == source.digest
                        and page_id not in held
                    )
                    or _kept(made, table_digest, old, page, holding)
                ):
                    fresh[page_id] = hit  # as it was: the cache saves only the entries changed
                    continue
        found = _page_mentions(page, set(linked), phrases)
        fresh[page_id] = (own, source.digest, found)
    return fresh


def _kept(made: bytes, table: bytes, old: bytes, page: Page, holding: _Holding) -> bool:
    """Whether findings made under the table digested `made` hold under `table`: the same
    table, or the last one (`old`) when the page holds none of the changed words."""
    return made == table or (bool(old) and made == old and not holding.holds(page))


class _Holding:
    """Which pages hold one of some words (the changed phrases' telling words)."""

    def __init__(self, needles: list[bytes], index: WordIndex | None, words: set[str]) -> None:
        self.needles = needles  # the words, encoded
        self.index = index
        self.held = index.holding(words) if index is not None else frozenset()

    def holds(self, page: Page) -> bool:
        """Whether the page's prose may hold one of the words: as a word, by the index when
        it covers the page; otherwise as a word or inside one (a quick test that errs only
        towards yes). The prose is folded as the words are (see model.pack_text)."""
        if self.index is not None and self.index.covers(page):
            return page.id in self.held
        return bool(self.needles) and prose_holds(page.text_z, self.needles)


class WordIndex:
    """Which pages' prose holds each word, as the search splits it into words (the whole of
    a page's text at once: the NUL joining its texts splits words as its lines do), made
    from every page at once. It covers a page while the page's file (by path and digest)
    is the one it was made from: a page's prose is parsed from its file alone, and the
    index is not kept across configurations (see WordKeeper)."""

    def __init__(self, pages: Sequence[Page]) -> None:
        self.files = {page.id: (page.source.rel, page.source.digest) for page in pages}
        self.ids = tuple(page.id for page in pages)
        at: dict[str, list[int]] = defaultdict(list)
        for n, page in enumerate(pages):
            for word in set(_folded_words(unpack_prose(page.text_z)[1])):
                at[word].append(n)
        self.postings = {word: array.array("I", ns).tobytes() for word, ns in at.items()}

    def covers(self, page: Page) -> bool:
        return self.files.get(page.id) == (page.source.rel, page.source.digest)

    def holding(self, words: Iterable[str]) -> set[str]:
        """The ids of the pages it was made from that hold one of `words`."""
        held: set[str] = set()
        for word in words:
            ns = array.array("I")
            ns.frombytes(self.postings.get(word, b""))
            held.update(self.ids[n] for n in ns)
        return held


def _index_of(pages: Sequence[Page]) -> WordIndex:
    """WordIndex(pages), with the cyclic garbage collector off: it makes several objects
    for each page and keeps them all (as build.build does)."""
    was = gc.isenabled()
    gc.disable()
    try:
        return WordIndex(pages)
    finally:
        if was:
            gc.enable()


def _index_apart(pages: Sequence[Page]) -> WordIndex:
    """_index_of(pages) in a forked process, at the lowest priority: it is made while the
    watcher waits, and must not slow the next build (with two cores, the build's own
    processes may want both)."""
    with contextlib.suppress(OSError):
        os.nice(19)
    return _index_of(pages)


class WordKeeper:
    """A watcher's WordIndex (`build --watch`, the preview: see build._build), made by a
    forked process between its builds, from the pages of the last (a site of `least`
    pages or more, by default INDEX_MIN; never where the system cannot fork). Made again
    once fewer than nine pages in ten are those it was made from. A build takes it only
    once made: it never waits for it."""

    def __init__(self, least: int | None = None, fork: bool = True) -> None:
        self.least = INDEX_MIN if least is None else least
        self.fork = fork
        self.index: WordIndex | None = None
        self._making: Apart[WordIndex | None] | None = None
        self._failed = False
        # the objects (by id) of the pages the index is made from, in order: a watcher's
        # builds keep the Page of every file not changed, so counting the pages still the
        # same objects (a quick pass) tells how much of the site it still covers; an id
        # used again by another object only delays making it again (WordIndex.covers,
        # by file, decides what is read)
        self._made_of: list[int] = []

    def ready(self) -> WordIndex | None:
        """The index, if made by now."""
        making = self._making
        if making is not None and self.fork and not making.forked:
            self._making, self._failed = None, True  # it could not fork: not made here
        elif making is not None and making.ready():
            self._making = None
            self.index = making.result()
            self._failed = self.index is None
        return self.index

    def refresh(self, pages: Sequence[Page]) -> None:
        """Start making an index of `pages`, unless one is being made, making one failed,
        or nine in ten of them are pages the one held was made from."""
        if self._making is not None or self._failed or len(pages) < self.least:
            return
        if self.fork and not hasattr(os, "fork"):
            return
        if self.index is not None:
            same = sum(map(operator.eq, map(id, pages), self._made_of))
            if 10 * same >= 9 * len(pages):
                return
        self._made_of = [id(page) for page in pages]
        make = _index_apart if self.fork else _index_of  # forked, or here when asked
        self._making = Apart(make, list(pages), fork=self.fork, otherwise=lambda: None)

    def close(self) -> None:
        """Stop making one, and drop the one held (another configuration's pages)."""
        if self._making is not None:
            self._making.close()
            self._making = None
        self.index, self._failed, self._made_of = None, False, []


def _page_mentions(
    page: Page,
    linked: set[str],
    phrases: Phrases,
) -> tuple[Diagnostic, ...]:
    numbers, joined = unpack_prose(page.text_z)  # folded texts joined by NUL: it splits words
    if phrases.keys().isdisjoint(_folded_words(joined)):
        return ()  # no word of the page starts a phrase (one pass over the whole page)
    seen = linked | {page.id}
    problems: list[Diagnostic] = []
    for line, text in zip(numbers, joined.split("\0"), strict=True):
        tokens = _folded_words(text)
        if phrases.keys().isdisjoint(tokens):
            continue  # most lines start no phrase: skip the word-by-word loop (in C)
        for i, token in enumerate(tokens):
            for phrase, target, name, rel in phrases.get(token, ()):
                if target in seen or tuple(tokens[i : i + len(phrase)]) != phrase:
                    continue
                seen.add(target)
                here = posixpath.dirname(page.source.rel) or "."
                where = posixpath.relpath(rel, here)
                problems.append(
                    diag.make(
                        "unlinked-mention",
                        f"mentions '{name}' without linking it",
                        Location(page.source.display, line, 1),
                        hint=f"link it: [{name}]({where})",
                    )
                )
                break
    return tuple(problems)
