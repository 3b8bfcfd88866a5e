"""FAQ checks: within a page, and across the whole site.

Two questions are "the same" when they match after lowercasing and dropping punctuation
and extra spaces, and "near-identical" when their sets of meaningful words overlap by at
least NEAR (Jaccard). To stay cheap on large sites, a question is only compared with the
questions that share its rarest meaningful word (among words that occur more than once):
a paraphrase keeps its distinctive words, and comparing every pair would be quadratic.

Google marks up a repeated question on one page only; `canonical_questions()` picks it:
a page with `faq_canonical: true`, else the hub, else the first page by id.
"""

from __future__ import annotations

import hashlib
import pickle
import re
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from . import diagnostics as diag
from .diagnostics import Diagnostic
from .model import FaqItem, Page, PageKind, faq_digest_of
from .pickling import safe_loads

NEAR = 0.8
STOPWORDS = frozenset(
    "a an and are as at be can do does for from how i if in is it my of on or our the to "
    "what when where which who why will with you your".split()
)


def normalise(question: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", question.lower()))


def check_page_faq(items: Sequence[FaqItem]) -> list[Diagnostic]:
    problems = []
    seen: dict[str, FaqItem] = {}
    for item in items:
        if not item.question.rstrip().endswith("?"):
            problems.append(
                diag.make(
                    "faq-question-mark",
                    f"question '{item.question}' does not end with '?'",
                    item.location,
                    hint="phrase it the way a reader would ask it",
                )
            )
        key = normalise(item.question)
        if key in seen:
            problems.append(
                diag.make(
                    "faq-duplicate",
                    f"question '{item.question}' is asked twice on this page",
                    item.location,
                    hint=f"first asked on line {seen[key].location.line}",
                )
            )
        else:
            seen[key] = item
    return problems


Entry = tuple[str, int]  # a question: its page's id and its number on the page
Question = tuple[str, tuple[str, ...]]  # normalised, and its meaningful words (sorted)
GroupMemo = dict[bytes, list[list[tuple[int, int]]]]  # digest -> groups of (page, question)
# model.faq_digest_of() of a page without questions (an empty question is never kept)
NO_FAQ = hashlib.blake2b(b"", digest_size=16).digest()


@dataclass(slots=True)
class FaqIndex:
    """What the last grouping found, kept (packed, in the build cache) so that grouping
    again after a page is added or removed or its FAQ edited redoes only what those
    questions can change (see _regroup)."""

    asked: dict[str, tuple[bytes, tuple[Question, ...]]]  # page id -> FAQ digest, questions
    frequency: dict[str, int]  # word -> how many questions hold it
    # page id -> each question's rarest word held by another question too (or None)
    rarest: dict[str, tuple[str | None, ...]]
    near: set[tuple[Entry, Entry]]  # near-identical pairs found, (earlier, later)


def repeated_groups(
    pages: Sequence[Page], memo: GroupMemo | None = None, kept: dict[str, bytes] | None = None
) -> list[list[tuple[Page, FaqItem]]]:
    """Groups of questions that are the same or near-identical across different pages.
    They depend only on which page asks which question, so `memo` (from the build cache)
    keeps the last answer under a digest of every page's id and questions, in order (each
    page's from model.faq_digest_of: a cached page's FAQ is then not even unpacked), and
    `kept` (from the build cache too) the FaqIndex it was found with, packed: when the
    digest changed, only the questions added, removed or edited and those whose rarest
    word they change are compared again. The answer is the same either way."""
    key = b""
    if memo is not None:
        # every page (the groups name pages by their position), joined and hashed at once
        asked = [
            p.source.page_id.encode("utf-8", "surrogatepass")
            + b"\x00"
            + (p.faq_digest or faq_digest_of(p))
            for p in pages
        ]
        key = hashlib.blake2b(b"".join(asked), digest_size=16).digest()
        if key in memo:
            return [[(pages[p], pages[p].faq[q]) for p, q in members] for members in memo[key]]
    index, found = _regroup(pages, _unpack(kept.get("index", b"")) if kept else None)
    if kept is not None:
        kept.clear()
        kept["index"] = _pack(index)
    where = {page.id: n for n, page in enumerate(pages)}
    positions = [[(where[p], q) for p, q in members] for members in found]
    if memo is not None:
        memo.clear()
        memo[key] = positions
    return [[(pages[p], pages[p].faq[q]) for p, q in members] for members in positions]


def _pack(index: FaqIndex) -> bytes:
    near = sorted(index.near)
    fields = (index.asked, index.frequency, index.rarest, near)
    return zlib.compress(pickle.dumps(fields, protocol=5), 1)


def _unpack(blob: bytes) -> FaqIndex | None:
    """The index packed by _pack(); None if there is none or it is damaged (all is then
    found afresh: the index is advice, like the rest of the cache)."""
    if not blob:
        return None
    try:
        asked, frequency, rarest, near = safe_loads(zlib.decompress(blob))
    except Exception:  # anything at all: damaged or planted
        return None
    if not (
        isinstance(asked, dict)
        and isinstance(frequency, dict)
        and isinstance(rarest, dict)
        and isinstance(near, list)
    ):
        return None
    return FaqIndex(asked, frequency, rarest, set(near))


def _questions(page: Page, vocabulary: dict[str, str]) -> tuple[Question, ...]:
    """Each question normalised, with its meaningful words (one string object per word
    across the site, so the packed index holds each word once)."""
    found = []
    for item in page.faq:
        key = normalise(item.question)
        words = {vocabulary.setdefault(w, w) for w in key.split()} - STOPWORDS
        found.append((key, tuple(sorted(words))))
    return tuple(found)


def _near(mine: frozenset[str], theirs: frozenset[str]) -> bool:
    """Jaccard |a & b| / |a | b| >= NEAR, with |a | b| = |a| + |b| - |a & b|; it can be no
    more than min(|a|, |b|) / max(|a|, |b|), so sizes far apart are not intersected."""
    size, other = len(mine), len(theirs)
    if not size or other < size * NEAR or other > size / NEAR:
        return False
    common = len(mine & theirs)
    return common / (size + other - common) >= NEAR


def _regroup(pages: Sequence[Page], old: FaqIndex | None) -> tuple[FaqIndex, list[list[Entry]]]:
    """The groups of repeated questions, each in site order, the groups ordered by their
    first question's page and line; and the index they were found with.

    Two questions are compared when the later one's rarest meaningful word (the fewest
    questions hold it, more than one; ties by the word) is a word of the earlier one: a
    paraphrase keeps its distinctive word, and common words would make this quadratic.
    From `old` (the last index), only the questions of pages added or whose FAQ changed,
    and those whose rarest word moved, look for their matches again; a pair found before
    between two questions that kept their words and rarest word is kept. Without `old`,
    every question is new: the same code finds everything."""
    old = old or FaqIndex({}, {}, {}, set())
    vocabulary = {word: word for word in old.frequency}
    asked: dict[str, tuple[bytes, tuple[Question, ...]]] = {}
    changed: set[str] = set()  # pages whose questions are new: added, or their FAQ edited
    for page in pages:
        digest = page.faq_digest or faq_digest_of(page)
        before = old.asked.get(page.id)
        if before is not None and before[0] == digest:
            asked[page.id] = before
        elif digest != NO_FAQ:
            asked[page.id] = (digest, _questions(page, vocabulary))
            changed.add(page.id)
    frequency = dict(old.frequency)
    touched: set[str] = set()
    for page_id, (_, questions) in old.asked.items():
        if page_id in changed or page_id not in asked:  # its questions are gone
            for _, words in questions:
                touched.update(words)
                for word in words:
                    frequency[word] -= 1
    for page_id in changed:
        for _, words in asked[page_id][1]:
            touched.update(words)
            for word in words:
                frequency[word] = frequency.get(word, 0) + 1
    for word in touched:
        if not frequency[word]:
            del frequency[word]
    moved = {w for w in touched if frequency.get(w, 0) != old.frequency.get(w, 0)}

    def rarest_of(words: tuple[str, ...]) -> str | None:
        best, count = None, 0
        for word in words:
            n = frequency[word]
            if n > 1 and (best is None or n < count or (n == count and word < best)):
                best, count = word, n
        return best

    # A question's rarest word moves only if its own count moved, or if a word of the
    # question whose count moved (held by others) now comes before it: few words do.
    early = sorted((frequency[w], w) for w in moved if frequency.get(w, 0) > 1)
    rank = {page_id: n for n, page_id in enumerate(asked)}  # questions sort by (rank, number)
    rarest: dict[str, tuple[str | None, ...]] = {}
    redo: list[Entry] = []  # questions that look for their matches again
    for page_id, (_, questions) in asked.items():
        if page_id in changed:
            rarest[page_id] = tuple(rarest_of(words) for _, words in questions)
            redo += ((page_id, q) for q in range(len(questions)))
            continue
        was_all = old.rarest[page_id]
        now_all = list(was_all)
        for q, (_, words) in enumerate(questions):
            was = was_all[q]
            if was is None or was in moved:
                if was is None and moved.isdisjoint(words):
                    continue
                now_all[q] = rarest_of(words)
            else:
                here = (frequency[was], was)
                for bound in early:
                    if bound >= here:
                        break
                    if bound[1] in words:
                        now_all[q] = rarest_of(words)
                        break
            if now_all[q] != was:
                redo.append((page_id, q))
        rarest[page_id] = tuple(now_all) if now_all != list(was_all) else was_all

    def words_of(entry: Entry) -> tuple[str, ...]:
        return asked[entry[0]][1][entry[1]][1]

    sets: dict[Entry, frozenset[str]] = {}

    def set_of(entry: Entry) -> frozenset[str]:
        found = sets.get(entry)
        if found is None:
            found = sets[entry] = frozenset(words_of(entry))
        return found

    redone = set(redo)
    near = {
        (j, i)
        for j, i in old.near
        if i not in redone
        and j[0] in asked
        and i[0] in asked
        and j[0] not in changed
        and i[0] not in changed
    }
    # The questions that look again: against every earlier question holding their word.
    # (The hot loop of a full check, as in a cold build: each holder carries its place in
    # site order and its word set, made once.)
    wanted = {rare for e in redo if (rare := rarest[e[0]][e[1]]) is not None}
    holders: dict[str, list[tuple[int, Entry, frozenset[str], int]]] = defaultdict(list)
    place_of: dict[Entry, int] = {}
    if wanted:
        n = 0
        for page_id, (_, questions) in asked.items():
            for q, (_, words) in enumerate(questions):
                entry = (page_id, q)
                place_of[entry] = n
                if not wanted.isdisjoint(words):
                    theirs = sets[entry] = frozenset(words)
                    held = (n, entry, theirs, len(theirs))
                    for word in wanted.intersection(words):
                        holders[word].append(held)
                n += 1
    for i in redo:
        rare = rarest[i[0]][i[1]]
        if rare is None:
            continue
        mine, at, page_i = set_of(i), place_of[i], i[0]
        size = len(mine)  # _near(), inline: the sizes first, then the words
        low, high = size * NEAR, size / NEAR
        for n, j, theirs, other in holders[rare]:
            if n >= at:
                break
            if other < low or other > high or j[0] == page_i:
                continue
            common = len(mine & theirs)
            if common / (size + other - common) >= NEAR:
                near.add((j, i))
    # A new question is also an earlier match for later questions that did not look again.
    if changed:
        fresh = {w for p in changed for _, words in asked[p][1] for w in words}
        owners: dict[str, list[Entry]] = defaultdict(list)
        for page_id, rares in rarest.items():
            if page_id not in changed:
                for q, rare in enumerate(rares):
                    if rare is not None and rare in fresh and (page_id, q) not in redone:
                        owners[rare].append((page_id, q))
        for page_id in sorted(changed):
            for q, (_, words) in enumerate(asked[page_id][1]):
                j, spot = (page_id, q), (rank[page_id], q)
                for word in words:
                    for i in owners.get(word, ()):
                        if (rank[i[0]], i[1]) > spot and _near(set_of(i), set_of(j)):
                            near.add((j, i))

    parent: dict[Entry, Entry] = {}  # union-find over the questions matched at all
    involved: set[Entry] = set()

    def place(e: Entry) -> tuple[int, int]:
        return (rank[e[0]], e[1])

    def find(e: Entry) -> Entry:
        root = e
        while (up := parent.get(root, root)) != root:
            root = up
        while e != root:  # point the path at its root for the next look-up
            parent[e], e = root, parent[e]
        return root

    def union(a: Entry, b: Entry) -> None:
        involved.update((a, b))
        ra, rb = find(a), find(b)
        if ra != rb:
            first, then = sorted((ra, rb), key=place)
            parent[then] = first

    exact: dict[str, Entry] = {}
    for page_id, (_, questions) in asked.items():
        for q, (key, _) in enumerate(questions):
            first_asked = exact.setdefault(key, (page_id, q))
            if first_asked[0] != page_id or first_asked[1] != q:
                union(first_asked, (page_id, q))
    for j, i in near:
        union(j, i)
    groups: dict[Entry, list[Entry]] = defaultdict(list)
    for entry in sorted(involved, key=place):
        groups[find(entry)].append(entry)
    found = [g for g in groups.values() if len({page_id for page_id, _ in g}) > 1]
    by_id = {page.id: page for page in pages}
    found.sort(key=lambda g: (g[0][0], by_id[g[0][0]].faq[g[0][1]].location.line))
    return FaqIndex(asked, frequency, rarest, near), found


def check_repeated(groups: list[list[tuple[Page, FaqItem]]]) -> list[Diagnostic]:
    problems = []
    for group in groups:
        for _, item in group:
            others = [f"{p.source.display}:{i.location.line}" for p, i in group if i is not item]
            problems.append(
                diag.make(
                    "faq-repeated",
                    f"question '{item.question}' is also asked at " + ", ".join(others),
                    item.location,
                    hint="answer it once on the most fitting page and link there from the others",
                )
            )
    return problems


def canonical_questions(groups: list[list[tuple[Page, FaqItem]]]) -> set[tuple[str, str]]:
    """(page id, anchor) of every repeated question that must NOT be marked up."""
    hidden = set()
    for group in groups:

        def rank(entry: tuple[Page, FaqItem]) -> tuple[bool, bool, str, int]:
            page, item = entry
            return (
                not page.front.faq_canonical,
                page.source.kind is not PageKind.HUB,
                page.id,
                item.location.line,
            )

        keep = min(group, key=rank)
        hidden |= {(p.id, i.anchor) for p, i in group if i is not keep[1]}
    return hidden
