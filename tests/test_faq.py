"""The site-wide repeated-question check (faq.repeated_groups): found afresh and found again
from the last build's index after pages are added, removed or their questions edited, it
gives what the check's original, whole-site algorithm gives (kept below as the oracle)."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from intimacy_ssg import faq
from intimacy_ssg.diagnostics import Location
from intimacy_ssg.model import FaqItem, FrontMatter, Page, PageKind, SourceFile


def make_page(page_id: str, questions: list[str], canonical: bool = False) -> Page:
    rel = f"{page_id}.md"
    items = tuple(
        FaqItem(q, "<p>A.</p>", f"q-{n}", Location(f"content/{rel}", 10 + 2 * n, 5))
        for n, q in enumerate(questions)
    )
    source = SourceFile(rel, f"content/{rel}", b"", page_id, PageKind.PAGE, "", b"")
    front = FrontMatter(page_id.title(), "D.", faq_canonical=canonical)
    return Page(source, front, b"", (), items, (), 0, ())


def oracle(pages: list[Page]) -> list[list[tuple[str, int]]]:
    """The check as first written: every question compared with the earlier questions that
    hold its rarest meaningful word, grouped by union-find, groups of one page dropped."""
    asked = [(n, q) for n, page in enumerate(pages) for q in range(len(page.faq))]
    keys = [faq.normalise(pages[p].faq[q].question) for p, q in asked]
    words = [frozenset(key.split()) - faq.STOPWORDS for key in keys]
    parent = list(range(len(asked)))

    def find(i: int) -> int:
        while parent[i] != i:
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
    frequency = Counter(w for ws in words for w in ws)
    index: dict[str, list[int]] = defaultdict(list)
    for i, mine in enumerate(words):
        shared = sorted((w for w in mine if frequency[w] > 1), key=lambda w: (frequency[w], w))
        candidates = set(index[shared[0]]) if shared else set()
        for w in mine:
            index[w].append(i)
        size = len(mine)
        if not size:
            continue
        for j in candidates:
            theirs = len(words[j])
            if theirs < size * faq.NEAR or theirs > size / faq.NEAR:
                continue
            if asked[j][0] == asked[i][0]:
                continue
            common = len(mine & words[j])
            if common / (size + theirs - common) >= faq.NEAR:
                union(i, j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(asked)):
        groups[find(i)].append(i)
    found = [g for g in groups.values() if len({asked[i][0] for i in g}) > 1]
    found.sort(
        key=lambda g: (
            pages[asked[g[0]][0]].id,
            pages[asked[g[0]][0]].faq[asked[g[0]][1]].location.line,
        )
    )
    return [[(pages[asked[i][0]].id, asked[i][1]) for i in g] for g in found]


def named(groups: list[list[tuple[Page, FaqItem]]]) -> list[list[tuple[str, int]]]:
    return [[(page.id, page.faq.index(item)) for page, item in group] for group in groups]


def fresh_index(pages: list[Page]) -> faq.FaqIndex:
    index, _ = faq._regroup(pages, None)
    return index


def test_same_and_near_identical_questions_group_across_pages() -> None:
    pages = [
        make_page("a", ["How do I start?", "Is trust built slowly over shared time?"]),
        make_page("b", ["How do I START", "Is trust built slowly over time?"]),
        make_page("c", ["Why does desire fade?"]),
        make_page("d", ["Why does desire fade in long relationships?", "How do I start?"]),
    ]
    assert named(faq.repeated_groups(pages)) == [
        [("a", 0), ("b", 0), ("d", 1)],  # the same once normalised
        [("a", 1), ("b", 1)],  # 6 of 7 meaningful words shared: near-identical
    ]
    assert named(faq.repeated_groups(pages)) == oracle(pages)
    # twice on one page is the page's own problem (check_page_faq), not a repeat
    assert faq.repeated_groups([make_page("a", ["Why?", "Why?"]), make_page("b", [])]) == []


def test_only_the_questions_the_rule_compares_are_matched() -> None:
    """Near-identical questions on one page are not paired with each other: a.1 is near
    a.0 only, and stays out of the group a.0 makes with b.0 (near a.0, not a.1). And a pair
    is compared only from the later question, by its rarest word: d.0 holds all of c.0's
    words and one more ("aaa", as rare as the others and first by name), which c.0 lacks,
    so the two are never compared, as in the original."""
    pages = [
        make_page("a", ["trust bond calm slowly start", "trust bond calm slowly start time"]),
        make_page("b", ["trust bond calm slowly start today"]),
        make_page("bb", ["aaa"]),
        make_page("c", ["desire fade touch shared grow"]),
        make_page("d", ["desire fade touch shared grow aaa"]),
    ]
    assert named(faq.repeated_groups(pages)) == [[("a", 0), ("b", 0)]]
    assert named(faq.repeated_groups(pages)) == oracle(pages)


# Questions of a few words from a small vocabulary: exact repeats, near-identical pairs
# (five of six words shared) and rarest words that move as questions come and go.
WORDS = ["trust", "desire", "touch", "fade", "start", "slowly", "time", "shared", "bond", "calm"]
question = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=4, max_size=7, unique=True),
    st.lists(st.sampled_from(WORDS[:6]), min_size=0, max_size=3),
).map(lambda ws: (" ".join(ws) or "what") + "?")
questions = st.lists(question, max_size=3)
PAGE_IDS = [f"p{n:02}" for n in range(12)]
site = st.dictionaries(st.sampled_from(PAGE_IDS), questions, max_size=10)


def pages_of(asked: dict[str, list[str]]) -> list[Page]:
    return [make_page(page_id, qs) for page_id, qs in sorted(asked.items())]


@settings(max_examples=150, deadline=None)
@given(site)
def test_found_afresh_equals_the_original_check(asked: dict[str, list[str]]) -> None:
    pages = pages_of(asked)
    assert named(faq.repeated_groups(pages)) == oracle(pages)


@settings(max_examples=300, deadline=None)
@given(
    site,
    st.lists(
        st.tuples(st.sampled_from(PAGE_IDS), st.none() | questions),
        min_size=1,
        max_size=8,
    ),
)
def test_found_again_after_edits_equals_the_original_check(
    asked: dict[str, list[str]], edits: list[tuple[str, list[str] | None]]
) -> None:
    """Each edit adds a page, removes it (None) or gives it new questions; the groups found
    from the last build's memo and index equal the oracle's, and the index kept equals one
    made afresh, pair for pair."""
    memo: faq.GroupMemo = {}
    kept: dict[str, bytes] = {}
    pages = pages_of(asked)
    assert named(faq.repeated_groups(pages, memo, kept)) == oracle(pages)
    for page_id, qs in edits:
        if qs is None:
            asked.pop(page_id, None)
        else:
            asked[page_id] = qs
        pages = pages_of(asked)
        assert named(faq.repeated_groups(pages, memo, kept)) == oracle(pages)
        index = faq._unpack(kept["index"])
        assert index is not None
        again = fresh_index(pages)
        assert (index.asked, index.frequency, index.rarest, index.near) == (
            again.asked,
            again.frequency,
            again.rarest,
            again.near,
        )


def test_a_damaged_index_is_ignored() -> None:
    pages = pages_of({"a": ["How do I start?"], "b": ["How do I start?"]})
    for blob in (b"not compressed", hashlib.blake2b(b"x").digest()):
        kept = {"index": blob}
        assert named(faq.repeated_groups(pages, {}, kept)) == [[("a", 0), ("b", 0)]]
        assert faq._unpack(kept["index"]) is not None  # made again, whole
