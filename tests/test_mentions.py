"""The mention search's word index (mentions.WordIndex) and a watcher's keeper of it
(mentions.WordKeeper): the index answers as reading the pages would, covers only the
files it was made from, and is made between a watcher's builds without holding them up."""

from __future__ import annotations

import os
import pickle
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from intimacy_ssg import mentions as mentions_module
from intimacy_ssg.build import build
from intimacy_ssg.cache import BuildCache, CacheStore
from intimacy_ssg.mentions import WordIndex, WordKeeper, _folded_words
from intimacy_ssg.model import Page, unpack_prose
from intimacy_ssg.pickling import Later

from .support import build_content, page

FILES = {
    "index.md": page("Home", "[[topic]] [[about]]\n"),
    "about.md": page(
        "About", "[[index]]\n\nA close call, near the zebras.\n\nPartner\u2019s needs.\n"
    ),
    "topic/index.md": page("Topic", "[[a]] [[b]]\n\nA well-worn path. Zebra crossings.\n"),
    "topic/a.md": page("Close call", "[[topic]] [[b]]\n\nNothing else here.\n"),
    "topic/b.md": page("Near miss", "[[topic]] [[a]]\n\nA zebra, and a close-run thing.\n"),
}


def pages_of(tmp_path: Path, files: dict[str, str] = FILES) -> tuple[Page, ...]:
    result, _ = build_content(tmp_path, files)
    assert result.site is not None
    return result.site.pages


def made(keeper: WordKeeper) -> Any:
    """What the keeper's forked process made, once it is done (within 30 s)."""
    deadline = time.monotonic() + 30
    while keeper._making is not None:
        keeper.ready()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return keeper.index


def slow(pages: Any) -> WordIndex:
    """An index made so slowly that the tests stop it first."""
    time.sleep(60)
    return WordIndex(pages)


def words_read(page: Page) -> set[str]:
    """The words of a page as the search reads them: line by line (see _page_mentions)."""
    _, joined = unpack_prose(page.text_z)
    return {word for text in joined.split("\0") for word in _folded_words(text)}


@pytest.mark.parametrize(
    ("word", "held"),
    [
        ("close", {"about"}),  # "close-run" is one word
        ("close-run", {"topic/b"}),
        ("zebra", {"topic", "topic/b"}),  # not inside "zebras"
        ("zebras", {"about"}),
        ("partner's", {"about"}),  # folded: the curly apostrophe is straight
        ("well-worn", {"topic"}),
        ("missing", set()),
    ],
)
def test_the_index_holds_a_page_by_the_words_its_prose_is_read_as(
    tmp_path: Path, word: str, held: set[str]
) -> None:
    pages = pages_of(tmp_path)
    index = WordIndex(pages)
    assert index.holding([word]) == held
    assert held == {p.id for p in pages if word in words_read(p)}


def test_the_index_holds_every_page_by_every_word_as_read(tmp_path: Path) -> None:
    pages = pages_of(tmp_path)
    index = WordIndex(pages)
    every = set().union(*(words_read(p) for p in pages))
    assert len(every) > 15
    for word in every:
        assert index.holding([word]) == {p.id for p in pages if word in words_read(p)}, word
    assert index.holding(["zebra", "zebras"]) == {"about", "topic", "topic/b"}  # either


def test_the_index_covers_a_page_only_while_its_file_is_the_one_it_was_made_from(
    tmp_path: Path,
) -> None:
    pages = pages_of(tmp_path)
    index = WordIndex(pages[1:])
    assert [index.covers(p) for p in pages] == [False] + [True] * (len(pages) - 1)
    edited = replace(pages[1], source=replace(pages[1].source, digest=b"another"))
    moved = replace(pages[1], source=replace(pages[1].source, rel="elsewhere.md"))
    assert not index.covers(edited) and not index.covers(moved)


CONTENT = {
    "index.md": page("Home", "Welcome. [[topic]] [[about]]\n"),
    "about.md": page("About", "[[index]]\n\nSome zebras, and one zebra herd.\n"),
    "topic/index.md": page("Topic", "The hub. [[a]] [[b]]\n\nZebras everywhere.\n"),
    "topic/a.md": page("Alpha", "First. [[b]] [[topic]]\n\nA zebra crossing.\n"),
    "topic/b.md": page("Beta", "Second. [[a]] [[topic]]\n"),
}


def watched_builds(tmp_path: Path, words: WordKeeper | None) -> tuple[list[list[str]], int]:
    """A watcher's builds (the cache in memory) after a title edit, and after another page
    is edited too; with `words` as the cache's keeper. The diagnostics of each, and the
    pages scanned for mentions in all."""
    from .test_cache import config_of, project, touch, trusting_stats

    scanned: list[str] = []
    real = mentions_module._page_mentions

    def spy(page: Page, *args: Any) -> Any:
        scanned.append(page.id)
        return real(page, *args)

    tmp_path.mkdir()
    with trusting_stats():
        root = project(tmp_path, CONTENT)
        cache = BuildCache(words=words)
        config = config_of(root)
        shown = [[d.format() for d in build(config, cache=cache).diagnostics]]
        b, about = root / "content/topic/b.md", root / "content/about.md"
        with mock.patch.object(mentions_module, "_page_mentions", side_effect=spy):
            touch(b, b.read_text().replace("title: Beta", "title: Zebra herd"))
            shown.append([d.format() for d in build(config, cache=cache).diagnostics])
            touch(about, about.read_text() + "\nZebras at rest.\n")
            touch(b, b.read_text().replace("title: Zebra herd", "title: Zebras at rest"))
            shown.append([d.format() for d in build(config, cache=cache).diagnostics])
    cache.close()
    return shown, len(scanned)


def test_a_watchers_mention_search_with_the_index_finds_what_it_finds_without(
    tmp_path: Path,
) -> None:
    """The findings are the same with the index (made from the last build's pages: a page
    edited since is read instead) as without; a page holding a changed title's word only
    inside another ("zebras" for "zebra") is not scanned again."""
    keeper = WordKeeper(least=0, fork=False)
    with_index, scanned_with = watched_builds(tmp_path / "with", keeper)
    without, scanned_without = watched_builds(tmp_path / "without", None)
    assert [[p.replace("/with/", "/") for p in b] for b in with_index] == [
        [p.replace("/without/", "/") for p in b] for b in without
    ]
    assert [p.split(": ", 1)[0].rsplit("/", 1)[1] for p in with_index[1]] == ["about.md:7:1"]
    assert "mentions 'Zebra herd'" in with_index[1][0]
    assert [p.split(": ", 1)[0].rsplit("/", 1)[1] for p in with_index[2]] == ["about.md:9:1"]
    assert "mentions 'Zebras at rest'" in with_index[2][0]
    assert scanned_with < scanned_without


def test_the_keeper_makes_the_index_in_a_forked_process_and_keeps_it_while_it_covers(
    tmp_path: Path,
) -> None:
    pages = pages_of(tmp_path) * 4  # twenty
    keeper = WordKeeper(least=0)
    assert keeper.ready() is None
    keeper.refresh(pages)
    making = keeper._making
    assert making is not None and making.forked
    index = made(keeper)
    assert all(index.covers(p) for p in pages)
    assert index.holding(["zebra"]) == WordIndex(pages).holding(["zebra"])
    one = replace(pages[0], source=replace(pages[0].source, digest=b"edited"))
    keeper.refresh([one, one, *pages[2:]])  # nine in ten still those pages: kept
    assert keeper._making is None and keeper.ready() is index
    keeper.refresh([one, one, one, *pages[3:]])  # 17 of 20: made again
    assert keeper._making is not None
    keeper.close()
    assert keeper._making is None and keeper.ready() is None


def test_the_keeper_never_waits_and_what_it_started_is_stopped_when_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = pages_of(tmp_path)

    monkeypatch.setattr(mentions_module, "_index_of", slow)
    keeper = WordKeeper(least=0)
    keeper.refresh(pages)
    making = keeper._making
    assert making is not None
    pid = making._pid
    assert keeper.ready() is None and keeper._making is making  # still being made
    keeper.close()
    with pytest.raises(ChildProcessError):  # stopped and reaped
        os.waitpid(pid, os.WNOHANG)


def test_a_keeper_whose_forked_process_fails_makes_no_index_and_does_not_try_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = pages_of(tmp_path)
    monkeypatch.setattr(mentions_module, "_index_of", lambda pages: os._exit(3))
    keeper = WordKeeper(least=0)
    keeper.refresh(pages)
    assert made(keeper) is None
    keeper.refresh(pages)
    assert keeper._making is None and keeper.ready() is None


def test_a_keeper_makes_no_index_of_a_small_site(tmp_path: Path) -> None:
    pages = pages_of(tmp_path)
    keeper = WordKeeper(least=len(pages) + 1)
    keeper.refresh(pages)
    assert keeper._making is None


def test_a_new_configuration_drops_the_index_and_keeps_the_keeper(tmp_path: Path) -> None:
    keeper = WordKeeper(least=0, fork=False)
    keeper.index = WordIndex(pages_of(tmp_path))
    cache = BuildCache(scope=b"one", words=keeper)
    cache.reset(b"two")
    assert cache.words is keeper and keeper.ready() is None


def test_a_watchers_next_build_is_not_held_up_by_the_index_being_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forked process making the index starts once the build has let go of the output
    folder's lock: the next build takes the lock while it still works."""
    from .test_cache import config_of, project, touch, trusting_stats

    monkeypatch.setattr(mentions_module, "_index_of", slow)
    keeper = WordKeeper(least=0)
    with trusting_stats():
        root = project(tmp_path, CONTENT)
        cache = BuildCache(words=keeper)
        assert build(config_of(root), cache=cache).written
        assert keeper._making is not None and keeper._making.forked  # working meanwhile
        a = root / "content/topic/a.md"
        touch(a, a.read_text() + "\nMore.\n")
        assert build(config_of(root), cache=cache).written
    cache.close()


def test_the_index_is_made_at_the_lowest_priority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It is made while the watcher waits: the next build's processes come first."""
    pages = pages_of(tmp_path)
    monkeypatch.setattr(mentions_module, "_index_of", lambda pages: os.nice(0))
    keeper = WordKeeper(least=0)
    keeper.refresh(pages)
    assert made(keeper) == 19 and os.nice(0) < 19  # there (made in place of the index), not here


def test_a_kept_phrase_state_gives_the_same_findings_and_reads_only_what_changed(
    tmp_path: Path,
) -> None:
    """unlinked_mentions() with a PhraseState finds what it finds without one, after a
    title edit: it takes the last table it packed as it was (not unpickled again), and
    each unchanged page's entries and own key as they were (the very objects)."""
    from intimacy_ssg.graph import links_out
    from intimacy_ssg.links import resolve_links
    from intimacy_ssg.mentions import PhraseState, unlinked_mentions
    from intimacy_ssg.site import assemble_site

    pages = pages_of(tmp_path)
    site = assemble_site(pages, (), "content")
    linked = links_out(site, resolve_links(site, "/"))
    state = PhraseState()
    first, table, memo = unlinked_mentions(site, linked, {}, b"one", state=state)
    assert state.table is table and set(state.named) == set(state.own) == set(site.by_id)
    named, own = dict(state.named), dict(state.own)

    b = site.by_id["topic/b"]
    renamed = replace(b, front=replace(b.front, title="Near the zebras"))
    edited = tuple(renamed if p.id == "topic/b" else p for p in pages)
    site = assemble_site(edited, (), "content")
    unpacked = mock.patch.object(mentions_module, "_unpack", side_effect=AssertionError)
    with unpacked:
        kept, _, _ = unlinked_mentions(site, linked, dict(memo), b"two", before=table, state=state)
    plain, _, _ = unlinked_mentions(site, linked, dict(memo), b"two", before=table)
    fresh, _, _ = unlinked_mentions(site, linked, {}, b"two")
    assert [d.format() for d in kept] == [d.format() for d in plain]
    assert [d.format() for d in kept] == [d.format() for d in fresh]
    assert "mentions 'Near the zebras'" in " ".join(d.format() for d in kept)
    assert [d.format() for d in kept] != [d.format() for d in first]
    for page_id in site.by_id:
        same = page_id != "topic/b"
        assert (state.named[page_id] is named[page_id]) is same, page_id
        assert state.own[page_id] is own[page_id]  # its file and links are as they were


def test_a_kept_phrase_state_hands_its_table_on_unpacked_until_it_is_saved(
    tmp_path: Path,
) -> None:
    """With a PhraseState (a watcher's), the check pickles no table: it hands on the
    table it made as a pickling.Later, read back as it is by the next check, and packed
    only when asked for its bytes (the cache's save, after the build is reported). Those
    bytes are the table a check without one packs."""
    from intimacy_ssg.graph import links_out
    from intimacy_ssg.links import resolve_links
    from intimacy_ssg.mentions import PhraseState, unlinked_mentions
    from intimacy_ssg.pickling import made, safe_loads
    from intimacy_ssg.site import assemble_site

    site = assemble_site(pages_of(tmp_path), (), "content")
    linked = links_out(site, resolve_links(site, "/"))
    packing = mock.patch.object(pickle, "dumps", side_effect=AssertionError)
    with packing:
        _, table, _ = unlinked_mentions(site, linked, {}, b"one", state=PhraseState())
    assert isinstance(table, Later) and table  # truthy: b"" is "no table"
    _, plain, _ = unlinked_mentions(site, linked, {}, b"one")
    assert type(plain) is bytes and made(plain) is plain
    assert safe_loads(made(table)) == safe_loads(plain) == table.value
    assert made(table) is made(table)  # packed once
    with mock.patch.object(mentions_module, "safe_loads", side_effect=AssertionError):
        assert mentions_module._unpack(table) is table.value


def test_a_watcher_checks_mentions_in_its_own_process_once_its_word_index_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large site's mention check after a title edit runs in a forked process, but in a
    watcher whose index of the pages' words is made: that one keeps its memos in memory
    (a PhraseState), and finds the same."""
    import sys

    from .test_cache import config_of, project, touch, trusting_stats

    build_module = sys.modules["intimacy_ssg.build"]
    monkeypatch.setattr(build_module, "APART_MIN_PAGES", 0)  # this small site counts
    forks: list[tuple[str, bool]] = []
    real = build_module.Apart

    def recorded(work: Any, *args: Any, fork: bool = True, **kwargs: Any) -> Any:
        forks.append((work.__name__, fork))
        return real(work, *args, fork=fork, **kwargs)

    monkeypatch.setattr(build_module, "Apart", recorded)
    shown = []
    for keeper in (WordKeeper(least=0, fork=False), None):
        with trusting_stats():
            (folder := tmp_path / str(keeper is None)).mkdir()
            root = project(folder, CONTENT)
            cache = BuildCache(words=keeper)
            config = config_of(root)
            build(config, cache=cache)
            if keeper is not None:
                made(keeper)  # the index, made after the first build
            forks.clear()
            b = root / "content/topic/b.md"
            touch(b, b.read_text().replace("title: Beta", "title: Zebra herd"))
            result = build(config, cache=cache)
        checks = [fork for name, fork in forks if name == "unlinked_mentions"]
        assert checks == [keeper is None]
        assert (cache.phrase_state is not None) is (keeper is not None)
        assert cache.structure is not None
        assert isinstance(cache.structure.phrases, Later) is (keeper is not None)
        store = CacheStore.for_config(root / ".cache", config)
        store.save(cache, pages_changed=True)  # as the watcher does, after its report
        saved = CacheStore.for_config(root / ".cache", config)
        loaded = saved.load()
        saved.load_pages(loaded)
        assert loaded.structure is not None and type(loaded.structure.phrases) is bytes
        assert mentions_module._unpack(loaded.structure.phrases) == mentions_module._unpack(
            cache.structure.phrases
        )
        shown.append([d.format().replace(str(root), "") for d in result.diagnostics])
        cache.close()
    assert shown[0] == shown[1] and any("mentions 'Zebra herd'" in d for d in shown[0])
