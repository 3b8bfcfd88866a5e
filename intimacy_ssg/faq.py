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
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from . import diagnostics as diag
from .diagnostics import Diagnostic
from .model import FaqItem, Page, PageKind, faq_digest_of

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


@dataclass(frozen=True, slots=True)
class _Entry:
    page: Page
    item: FaqItem
    words: frozenset[str]


GroupMemo = dict[bytes, list[list[tuple[int, int]]]]  # digest -> groups of (page, question)


def repeated_groups(
    pages: Sequence[Page], memo: GroupMemo | None = None
) -> list[list[tuple[Page, FaqItem]]]:
    """Groups of questions that are the same or near-identical across different pages.
    They depend only on which page asks which question, so `memo` (from the build cache)
    keeps the last answer under a digest of every page's id and questions, in order (each
    page's from model.faq_digest_of: a cached page's FAQ is then not even unpacked)."""
    key = b""
    if memo is not None:
        h = hashlib.blake2b(digest_size=16)
        for page in pages:  # every page: the groups name pages by their position
            asks = page.faq_digest or faq_digest_of(page)
            h.update(page.id.encode("utf-8", "surrogatepass") + b"\x00" + asks)
        key = h.digest()
        if key in memo:
            return [[(pages[p], pages[p].faq[q]) for p, q in members] for members in memo[key]]
    asked = [(n, q) for n, page in enumerate(pages) for q in range(len(page.faq))]
    found = [[asked[i] for i in members] for members in _group(pages, asked)]
    if memo is not None:
        memo.clear()
        memo[key] = found
    return [[(pages[p], pages[p].faq[q]) for p, q in members] for members in found]


def _group(pages: Sequence[Page], asked: list[tuple[int, int]]) -> list[list[int]]:
    keys = [normalise(pages[p].faq[q].question) for p, q in asked]
    entries = [
        _Entry(pages[p], pages[p].faq[q], frozenset(key.split()) - STOPWORDS)
        for (p, q), key in zip(asked, keys, strict=True)
    ]
    parent = list(range(len(entries)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    exact: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key in exact:
            union(exact[key], i)
        else:
            exact[key] = i
    frequency = Counter(word for entry in entries for word in entry.words)
    index: dict[str, list[int]] = defaultdict(list)
    for i, entry in enumerate(entries):
        # Compare only with questions that share this one's rarest meaningful word: a
        # paraphrase keeps its distinctive word, and common words would make this quadratic.
        shared = sorted(
            (w for w in entry.words if frequency[w] > 1), key=lambda w: (frequency[w], w)
        )  # a word seen once matches nothing
        candidates: set[int] = set()
        for word in shared[:1]:
            candidates.update(index[word])
        for word in entry.words:
            index[word].append(i)
        words = entry.words
        size = len(words)
        if not size:
            continue
        # Jaccard |a & b| / |a | b| >= NEAR, with |a | b| = |a| + |b| - |a & b|; it can be
        # no more than min(|a|, |b|) / max(|a|, |b|), so sizes far apart are skipped.
        low, high = size * NEAR, size / NEAR
        for j in candidates:
            other = entries[j]
            theirs = len(other.words)
            if theirs < low or theirs > high or other.page is entry.page:
                continue
            common = len(words & other.words)
            if common / (size + theirs - common) >= NEAR:
                union(i, j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(entries)):
        groups[find(i)].append(i)
    result = [
        members for members in groups.values() if len({entries[i].page.id for i in members}) > 1
    ]
    return sorted(result, key=lambda g: (entries[g[0]].page.id, entries[g[0]].item.location.line))


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
