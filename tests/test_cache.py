"""The build cache and incremental writes: reuse must never change the output.

Property test: any sequence of edits (pages, templates, static files) built with the cache
gives exactly the tree a clean build gives. Unit tests: what is skipped (a no-op reads and
writes nothing; an edit re-renders only what depends on it; unchanged files keep their
mtime), and that a corrupt, foreign or planted cache is ignored, never trusted.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import importlib.util
import os
import pickle
import re
import shutil
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intimacy_ssg import cache as cache_module
from intimacy_ssg import graph as graph_module
from intimacy_ssg import links as links_module
from intimacy_ssg import load_config
from intimacy_ssg import render as render_module
from intimacy_ssg.build import BuildResult, build, confirmed
from intimacy_ssg.cache import MAGIC, BuildCache, CacheStore, touched_folders
from intimacy_ssg.config import Config
from intimacy_ssg.mentions import WordKeeper
from intimacy_ssg.model import UNREAD, Links
from intimacy_ssg.pickling import CacheDamaged
from intimacy_ssg.render import UNMARKED_KEY
from intimacy_ssg.write import OutputCheck, OutputWriter, recover

from .support import GRAPH_RULES_OFF, REPO, make_project, page, spy_aparts, tree

SITE = {
    "index.md": page("Home", "Welcome. [[topic]] [[other]] [[about]]\n"),
    "about.md": page("About", "[[index]]\n"),
    "topic/index.md": page("Topic", "The hub. [[a]] [[b]]\n"),
    "topic/a.md": page("Alpha", "First. [[b]] [[topic]]\n", tags="[x]"),
    "topic/b.md": page("Beta", "Second. [[a]] [[topic]]\n", tags="[x]"),
    "other/index.md": page("Other", "[[c]]\n"),
    "other/c.md": page("Gamma", "Third. [[topic/a]]\n", tags="[x]"),
}
SITE_YAML = "title: T\nsearch: false\n"

_tick = iter(range(1, 10**9))


def touch(path: Path, text: str) -> None:
    """Write, then give the file an mtime no earlier write had: stats always tell edits
    apart, as they do on disk when edits are seconds apart."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    moment = 1_700_000_000_000_000_000 + next(_tick) * 1_000_000
    os.utime(path, ns=(moment, moment))


def damage(path: Path) -> None:
    """Flip every bit of a file's last byte (its checksum's): always a change."""
    blob = path.read_bytes()
    path.write_bytes(blob[:-1] + bytes([blob[-1] ^ 0xFF]))


@contextmanager
def trusting_stats() -> Iterator[None]:
    """Files written by a test are seconds old at most; let the cache trust their stats
    (normally it distrusts anything changed in the last 2 s), so the stat paths are tested."""
    with mock.patch.object(cache_module, "RACY_NS", 0):
        yield


@contextmanager
def resolving() -> Iterator[list[frozenset[str] | None]]:
    """The pages each resolve_links() call made meanwhile was given (`only`; None: all)."""
    real = links_module.resolve_links
    calls: list[frozenset[str] | None] = []

    def spy(site: Any, base_path: str, only: frozenset[str] | None = None) -> Any:
        calls.append(only)
        return real(site, base_path, only=only)

    with mock.patch.object(links_module, "resolve_links", side_effect=spy):
        yield calls


@contextmanager
def pages_given(owner: Any, name: str) -> Iterator[list[str]]:
    """The id of the page each call to `owner.name(page, ...)` made meanwhile was given."""
    real = getattr(owner, name)
    ids: list[str] = []

    def spy(page: Any, *args: Any) -> Any:
        ids.append(page.id)
        return real(page, *args)

    with mock.patch.object(owner, name, side_effect=spy):
        yield ids


def project(root: Path, files: dict[str, str] = SITE) -> Path:
    make_project(root, SITE_YAML, {})
    for rel, text in files.items():
        touch(root / "content" / rel, text)
    for folder in ("templates", "static"):
        for path in (root / folder).rglob("*"):
            if path.is_file():
                touch(path, path.read_text("latin-1"))
    return root


def config_of(root: Path) -> Config:
    # The graph rules stay on (orphans, unlinked mentions...): their findings come from the
    # cached links, graph and mention memo, and must equal a clean build's too.
    return replace(load_config(root), severity=(("structured-data-recommended", "off"),))


def cached_build(root: Path, cache: BuildCache | None = None) -> BuildResult:
    config = config_of(root)
    store = CacheStore.for_config(root / ".cache", config) if cache is None else None
    return build(config, cache=cache, store=store)


def clean_build(root: Path) -> tuple[list[str], dict[str, bytes] | None]:
    """The same project built from scratch, without any cache: diagnostics and tree."""
    with tempfile.TemporaryDirectory() as other:
        copy = Path(other) / "p"
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns("output", ".cache", ".*"))
        result = build(config_of(copy))
        shown = [d.format().replace(str(copy), str(root)) for d in result.diagnostics]
        return shown, tree(copy / "output") if result.written else None


def clean_tree(root: Path) -> dict[str, bytes]:
    problems, built = clean_build(root)
    assert built is not None, problems
    return built


def mtimes(root: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, p.stat().st_ino)
        for p in root.rglob("*")
        if p.is_file()
    }


# -- the property ------------------------------------------------------------------------------

EDITS = st.lists(
    st.one_of(
        st.tuples(
            st.just("page"),
            st.sampled_from([*sorted(SITE), "topic/new.md", "third/index.md", "third/d.md"]),
            st.sampled_from(
                [
                    "More words. [[topic]]",
                    "Now links to [[b]] and [[other/c]].",
                    "title: Renamed",
                    "summary: A new summary.",
                    "tags: [y]",
                    "keywords: [first]",
                    "::: faq\n### Is this asked elsewhere?\nYes.\n:::",
                    "[[nowhere]]",
                ]
            ),
        ),
        st.tuples(
            st.just("append"),  # prose that leaves the site's structure as it was, or not
            st.sampled_from(sorted(SITE)),
            st.sampled_from(
                [
                    "Only more prose.",
                    "This names first and the Beta page.",
                    "## A new heading",
                    "A [[broken]] link.",
                    "See [[topic/b#a-new-heading]].",  # an anchor: broken until b has it
                    "Also [[b]] and [[other/c]].",
                ]
            ),
        ),
        st.tuples(
            st.just("front"),  # front matter set, the body kept: the frame may stay as it was
            st.sampled_from(sorted(SITE)),
            st.sampled_from(
                [
                    "summary: An edited summary.",
                    "summary: Another summary.",  # back and forth: see the put-back test
                    "description: An edited description.",
                    "date: 2026-01-02",
                    "sources: [{title: A book, year: 2001}]",
                    "faq: [{q: Why ask this?, a: Because it helps.}]",
                    "weight: 3",
                    "aliases: [/old-path/]",
                    "keywords: [first]",
                    "keywords: [second]",
                    "title: Retitled in place",  # the graph is patched: see GRAPH_EDITS
                    "related: [topic/b, about]",
                    "tags: [x, y]",
                ]
            ),
        ),
        st.tuples(st.just("delete"), st.sampled_from(sorted(SITE)), st.just("")),
        st.tuples(
            st.just("template"),
            st.sampled_from(["article.html", "map.html", "base.html", "_macros.html"]),
            st.sampled_from(["<!-- v2 -->", "\n", "{{ page.title }}"]),
        ),
        st.tuples(st.just("static"), st.sampled_from(["css/site.css", "extra.txt"]), st.just("x")),
        st.tuples(st.just("nothing"), st.just(""), st.just("")),
    ),
    min_size=1,
    max_size=6,
)


def apply(root: Path, current: dict[str, str], edit: tuple[str, str, str]) -> None:
    kind, name, change = edit
    if kind == "page":
        title, body = name.rsplit("/", 1)[-1].removesuffix(".md").title(), change
        fields: dict[str, str] = {}
        if ":" in change.split("\n")[0] and not change.startswith("::: "):
            key, value = change.split(": ", 1)
            fields[key] = value
            body = "[[index]]\n"
        if fields.get("title"):
            title = fields.pop("title")
        current[name] = page(title, body + "\n", **fields)
        touch(root / "content" / name, current[name])
    elif kind == "append" and name in current:
        current[name] += f"\n{change}\n"
        touch(root / "content" / name, current[name])
    elif kind == "front" and name in current:
        key = change.split(":", 1)[0]
        head, _, body = current[name].removeprefix("---\n").partition("\n---\n")
        lines = [line for line in head.split("\n") if not line.startswith(f"{key}:")]
        current[name] = "---\n" + "\n".join([*lines, change]) + "\n---\n" + body
        touch(root / "content" / name, current[name])
    elif kind == "delete" and name in current and len(current) > 1:
        del current[name]
        (root / "content" / name).unlink()
    elif kind == "template":
        path = root / "templates" / name
        touch(path, path.read_text() + change)
    elif kind == "static":
        path = root / "static" / name
        touch(path, (path.read_text() if path.exists() else "") + change)


@pytest.mark.parametrize("how", ["delete", "draft"])
def test_a_page_no_one_names_removed_takes_its_broken_links_with_it(
    tmp_path: Path, how: str
) -> None:
    """Found by the property test below: a page with a broken link, which no page links to,
    removed (or made a draft). No page is resolved again, yet its links and their
    diagnostics must go with it."""
    with trusting_stats():
        root = project(tmp_path)
        index = root / "content/index.md"
        touch(index, page("Home", "More words. [[topic]]\n"))  # no page names `other` now
        other = root / "content/other/index.md"
        touch(other, other.read_text() + "\nA [[broken]] link.\n")
        first = cached_build(root)
        assert "broken-link" in [d.code for d in first.diagnostics]
        if how == "delete":
            other.unlink()
        else:
            touch(other, other.read_text().replace("---\n", "---\ndraft: true\n", 1))
        result = cached_build(root)
        problems, _ = clean_build(root)
    assert [d.format() for d in result.diagnostics] == problems
    assert "broken-link" not in [d.code for d in result.diagnostics]


@settings(
    deadline=None,
    max_examples=100 if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 10,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(EDITS)
def test_cached_builds_after_any_edits_equal_a_clean_build(
    edits: list[tuple[str, str, str]],
) -> None:
    """From the command line's cache on disk, from a cache kept in memory (as the preview
    keeps it), and from one kept in memory by a watcher, which names the folders it saw
    change (build's `touched`) and keeps an index of the pages' words (made here, after
    each build, of its pages): every build equals a clean one."""
    with tempfile.TemporaryDirectory() as tmp, trusting_stats():
        root = project(Path(tmp))
        current = dict(SITE)
        in_memory = BuildCache()
        watched = BuildCache(words=WordKeeper(least=0, fork=False))
        preview = replace(config_of(root), output_dir=root / "preview")
        watching = replace(config_of(root), output_dir=root / "watched")
        roots = (watching.content_dir, watching.templates_dir, watching.static_dir)
        assert cached_build(root).written  # on disk, as the command line does
        assert build(preview, cache=in_memory).written  # in memory, as the preview does
        assert build(watching, cache=watched).written
        for edit, clean, problems in _each_edit_built_as_clean(root, current, edits):
            build(preview, cache=in_memory)
            seen = touched_folders([str(path) for path in _edited(root, edit)], roots)
            result = build(watching, cache=watched, touched=seen)
            assert [d.format() for d in result.diagnostics] == problems, edit
            if clean is not None:
                assert tree(root / "preview") == tree(root / "output"), edit
                assert tree(root / "watched") == tree(root / "output"), edit


def _edited(root: Path, edit: tuple[str, str, str]) -> list[Path]:
    """The path a watcher would see change for `edit` (see apply), if any."""
    kind, name, _ = edit
    folder = {"template": "templates", "static": "static", "nothing": ""}.get(kind, "content")
    return [root / folder / name] if folder else []


def _each_edit_built_as_clean(
    root: Path, current: dict[str, str], edits: list[tuple[str, str, str]]
) -> Iterator[tuple[tuple[str, str, str], dict[str, bytes] | None, list[str]]]:
    """Apply each edit and build from the command line's cache: the diagnostics must be a
    clean build's, and the output a clean build's (or, if the build failed, the last one).
    Yields each edit with the clean build's tree (None if it failed) and diagnostics."""
    for edit in edits:
        before = tree(root / "output")
        apply(root, current, edit)
        result = cached_build(root)
        problems, clean = clean_build(root)
        assert [d.format() for d in result.diagnostics] == problems, edit
        # a failed build leaves the last output as it was; a good one equals a clean build
        assert tree(root / "output") == (clean if clean is not None else before), edit
        yield edit, clean, problems


@settings(
    deadline=None,
    max_examples=50 if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 5,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(EDITS)
def test_cached_builds_with_their_forked_steps_after_any_edits_equal_a_clean_build(
    edits: list[tuple[str, str, str]],
) -> None:
    """The same from the command line, with every step a large site's rebuild hands to a
    forked process handed over: the output check, the parse of the pages changed since the
    last build with the templates' compiling, graph.json and the mention check."""
    build_module = importlib.import_module("intimacy_ssg.build")
    with (
        tempfile.TemporaryDirectory() as tmp,
        trusting_stats(),
        mock.patch.object(build_module, "APART_MIN", 0),
        mock.patch.object(build_module, "APART_MIN_PAGES", 0),
    ):
        root = project(Path(tmp))
        assert cached_build(root).written
        for _ in _each_edit_built_as_clean(root, dict(SITE), edits):
            pass


# -- what is skipped ---------------------------------------------------------------------------


def test_a_build_runs_with_the_collector_off_and_leaves_it_as_it_found_it(
    tmp_path: Path,
) -> None:
    """The cyclic garbage collector is off while a build runs (it walked the pages over and
    over as they grew), and as it was afterwards: on or off, and after a failed build.
    What the build made is then in the oldest generation: a young one would be walked
    whole by the collector's first pass."""
    config = config_of(project(tmp_path))
    during: list[bool] = []
    try:
        for before in (True, False):
            gc.enable() if before else gc.disable()
            result = build(config, progress=lambda _stage: during.append(gc.isenabled()))
            assert result.written
            assert gc.isenabled() is before
            oldest = {id(thing) for thing in gc.get_objects(generation=2)}
            assert id(result.graph) in oldest and id(result.site) in oldest  # made late
        gc.enable()
        failing = mock.patch.object(render_module, "render_site", side_effect=RuntimeError("boom"))
        with failing, pytest.raises(RuntimeError, match="boom"):
            build(config, progress=lambda _stage: during.append(gc.isenabled()))
        assert gc.isenabled()
    finally:
        gc.enable()
    assert len(during) > 10 and not any(during)


def test_a_no_op_build_reads_renders_and_writes_nothing(tmp_path: Path) -> None:
    with trusting_stats():
        root = project(tmp_path)
        first = cached_build(root)
        before = mtimes(root / "output")
        real = Path.read_bytes

        def no_content(path: Path) -> bytes:
            # only the cache's own state, and site.yaml (the configuration is loaded first)
            assert ".cache" in path.parts or path == root / "site.yaml", f"read {path}"
            return real(path)

        with mock.patch.object(Path, "read_bytes", no_content):
            again = cached_build(root)
    assert first.written and not first.unchanged
    assert again.unchanged and again.written and again.pages == first.pages
    assert again.diagnostics == first.diagnostics
    assert mtimes(root / "output") == before


def test_an_edit_rerenders_only_what_depends_on_it(tmp_path: Path) -> None:
    with trusting_stats():
        root = project(tmp_path)
        cached_build(root)
        before = mtimes(root / "output")
        touch(
            root / "content/topic/b.md",
            page("Beta", "Second, longer. [[a]] [[topic]]\n", tags="[x]"),
        )
        result = cached_build(root)
    after = mtimes(root / "output")
    changed = sorted(rel for rel in after if after[rel] != before.get(rel))
    assert changed == ["topic/b/index.html"]
    assert result.rendered == 1
    assert tree(root / "output") == clean_tree(root)


def test_a_prose_edit_reuses_the_links_and_the_graph(tmp_path: Path) -> None:
    with trusting_stats():
        root = project(tmp_path)
        cache = BuildCache()
        first = build(config_of(root), cache=cache)
        b = root / "content/topic/b.md"
        touch(b, b.read_text() + "\nA new paragraph of prose.\n")
        prose = build(config_of(root), cache=cache)
        assert prose.graph is first.graph  # the same object: nothing was recomputed
        assert prose.rendered == 1
        assert tree(root / "output") == clean_tree(root)
        touch(b, b.read_text() + "\n## A new heading\n\nSee [[a#nowhere]].\n")
        heading = build(config_of(root), cache=cache)
    assert heading.graph is not first.graph  # headings and links are structure
    assert [d.code for d in heading.diagnostics if d.code == "broken-anchor"] == ["broken-anchor"]
    problems, _ = clean_build(root)
    assert [d.format() for d in heading.diagnostics] == problems


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("summary: Before.", "summary: A summary shown on cards."),
        ("summary: Before.", "sources: [{title: A book, year: 2001}]"),
        ("last_reviewed: 2025-01-02", "last_reviewed: 2026-01-02"),
        ("faq: [{q: Why ask this?, a: Before.}]", "faq: [{q: Why ask this?, a: Because.}]"),
    ],
    ids=["summary", "source", "review date", "faq answer"],
)
def test_front_matter_only_rendered_pages_show_reuses_the_links_and_the_graph(
    tmp_path: Path, before: str, after: str
) -> None:
    """A summary, a source, a date or an FAQ answer is read by rendered pages only, not by
    link resolution, the graph or the mention search: editing one (in place: the body's
    links keep their lines) leaves the site's frame as it was, while the pages that show
    it are rendered again."""
    with trusting_stats():
        root = project(tmp_path)
        b = root / "content/topic/b.md"
        touch(b, b.read_text().replace("---\n", f"---\n{before}\n", 1))
        cache = BuildCache()
        first = build(config_of(root), cache=cache)
        assert first.graph is not None
        touch(b, b.read_text().replace(before, after))
        with mock.patch("intimacy_ssg.links.resolve_links", side_effect=AssertionError):
            edited = build(config_of(root), cache=cache)
        assert edited.graph is first.graph  # the same object: nothing was recomputed
        assert edited.rendered >= 1
        problems, _ = clean_build(root)
        assert [d.format() for d in edited.diagnostics] == problems
        assert tree(root / "output") == clean_tree(root)


def keys_kept(
    root: Path, cache: BuildCache
) -> tuple[BuildResult, list[dict[str, tuple[bytes, bytes]]], dict[str, tuple[bytes, bytes]]]:
    """Build with `cache`: the result, a copy of what each render.keys_without() call kept,
    and the render keys a clean build makes of the same project."""
    kept: list[dict[str, tuple[bytes, bytes]]] = []
    real = render_module.keys_without

    def keeping(*args: Any) -> dict[str, tuple[bytes, bytes]]:
        keys = real(*args)
        kept.append(dict(keys))  # a copy: the build fills the dict it is given
        return keys

    with mock.patch.object(render_module, "keys_without", side_effect=keeping):
        edited = build(config_of(root), cache=cache)
    clean = BuildCache()
    build(config_of(root), write=False, cache=clean)
    assert clean.structure is not None
    return edited, kept, clean.structure.render_keys


LANDING_EDITS = ["added", "removed", "moved", "draft", "weight", "alias", "faq"]


@pytest.mark.parametrize("edit", LANDING_EDITS)
@pytest.mark.parametrize("rel", sorted(SITE))
def test_the_render_keys_kept_after_a_landing_changed_are_a_clean_builds_keys(
    tmp_path: Path, rel: str, edit: str
) -> None:
    """After a page is added (linking to this one), removed, moved to another cluster or
    made a draft, or its weight, aliases or FAQ questions are edited (a repeated question
    no longer repeated: another page's markup changes), the render keys that may have
    changed are forgotten (render.keys_without with the pages relinked, and render_site's
    own check of the FAQ markup); every key kept must be the very key a clean build makes.
    Pages a changed page does not touch keep their keys."""
    faq = "faq: [{q: Why ask this here?, a: Because it helps.}]"
    with trusting_stats():
        root = project(tmp_path)
        path = root / "content" / rel
        page_id = rel.removesuffix(".md").removesuffix("/index")
        # a spoke linking nowhere (no related reading either: its cluster lists it only),
        # and a page out of every cluster linking to the edited one (its link shows it)
        touch(root / "content/topic/d.md", page("Delta", "Fourth.\n"))
        if rel != "about.md":
            about = root / "content/about.md"
            touch(about, about.read_text() + f"See [[{page_id}]].\n")
        if edit == "faq":
            for where in {path, root / "content/other/c.md"}:
                touch(where, where.read_text().replace("---\n", f"---\n{faq}\n", 1))
        cache = BuildCache()
        build(config_of(root), cache=cache)
        before = dict(cache.structure.render_keys) if cache.structure else {}
        text = path.read_text()
        if edit == "added":
            cluster = page_id.split("/")[0] if "/" in rel else "topic"
            touch(root / f"content/{cluster}/new.md", page("New", f"[[{page_id}]] [[{cluster}]]\n"))
        elif edit == "removed":
            path.unlink()
        elif edit == "moved":
            elsewhere = "topic" if rel.startswith("other/") else "other"
            moved = (
                f"{elsewhere}/{page_id.rsplit('/', 1)[-1]}.md" if "/" in rel else f"{page_id}-x.md"
            )
            path.unlink()
            touch(root / "content" / moved, text)
        else:
            change = {"draft": "draft: true", "weight": "weight: 9", "alias": "aliases: [/x/]"}
            if edit == "faq":
                touch(path, text.replace("Why ask this here?", "Why is this asked alone?"))
            else:
                touch(path, text.replace("---\n", f"---\n{change[edit]}\n", 1))
        edited, kept, made = keys_kept(root, cache)
        problems, tree_now = clean_build(root)
    assert [d.format() for d in edited.diagnostics] == problems
    if tree_now is not None:
        assert tree(root / "output") == tree_now
    assert len(kept) == 1
    # every key kept is a clean build's (the FAQ markup they were made with is a record,
    # which render_site compares), and so is every key after rendering
    differ = {k for k, v in kept[0].items() if made.get(k) != v}
    # (after an FAQ edit, the other page asking the question may be marked up anew)
    assert differ <= {UNMARKED_KEY, "other/c/index.html"} if edit == "faq" else not differ
    assert cache.structure is not None
    assert cache.structure.render_keys == made
    if edit in ("added", "weight", "alias") and not rel.endswith("index.md"):
        assert kept[0] and len(kept[0]) < len(before)  # kept, but not all


@pytest.mark.parametrize("field", ["summary", "title", "links"])
@pytest.mark.parametrize("rel", sorted(SITE))
def test_the_render_keys_kept_after_an_edit_are_a_clean_builds_keys(
    tmp_path: Path, rel: str, field: str
) -> None:
    """After an edit that keeps the frame (a summary) or the landings (a title, the page's
    own links), the render keys that may show the edited page are forgotten
    (render.keys_without); every key kept must be the very key a clean build makes,
    whatever page was edited and whatever the shipped templates show. A hub's title is in
    every page's header: nothing is kept; a hub's links are not."""
    with trusting_stats():
        root = project(tmp_path)
        path = root / "content" / rel
        if field == "links":
            before_text, after_text = "Before words.", "[[about]] and [[topic/b#nowhere]]."
            after_text = after_text.replace("about", "other") if rel == "about.md" else after_text
            touch(path, path.read_text() + before_text + "\n")
        else:
            before_text, after_text = f"{field}: Before words", f"{field}: After words"
            text = re.sub(f"\n{field}: .*", "", path.read_text(), count=1)  # one of each
            touch(path, text.replace("---\n", f"---\n{before_text}\n", 1))
        cache = BuildCache()
        build(config_of(root), cache=cache)
        assert cache.structure is not None
        before = dict(cache.structure.render_keys)
        touch(path, path.read_text().replace(before_text, after_text))
        edited, kept, made = keys_kept(root, cache)
        problems, _ = clean_build(root)
    assert [d.format() for d in edited.diagnostics] == problems
    hub = rel.endswith("/index.md")
    assert len(kept) == 1 and (kept[0] == {} if hub and field == "title" else kept[0])
    assert len(kept[0]) < len(before)
    assert {k: v for k, v in kept[0].items() if made.get(k) != v} == {}


@pytest.mark.parametrize(
    ("edit", "resolved"),
    [
        ("[[about]] and [[other/c#nowhere]].", {"topic/b"}),  # its own links: b's alone
        ("related: [other/c]", {"topic/b"}),
        ("tags: [y]", set()),  # read by the graph, not by links
        ("title: Beta Two", set()),
        ("## A heading others may link to", {"topic/b", "topic", "topic/a"}),  # b, linkers
        ("faq_canonical: true", {"topic/b", "topic", "topic/a"}),  # b's landing: its namers
    ],
    ids=["body link", "related", "tags", "title", "heading", "faq canonical"],
)
@pytest.mark.parametrize("from_disk", [False, True], ids=["in memory", "from disk"])
def test_an_edit_resolves_again_only_the_links_it_can_change(
    tmp_path: Path, edit: str, resolved: set[str] | None, from_disk: bool
) -> None:
    """While no page's landing changes (its place, draft flag and FAQ questions, what links
    to it read but its headings' ids, see model.landing_of), a page's links resolve as
    before: an edit to one page's links resolves that page's alone; a tag or title edit in
    place, none; a new heading, the links of the page and of the pages linking to it; an
    FAQ flag (in the landing), those of the page and of the pages with a link naming it.
    Output and diagnostics equal a clean build's, and the links saved to disk are the
    patched ones: the next build resolves nothing. A heading is not in the frame: the
    graph is kept."""
    with trusting_stats():
        root = project(tmp_path)
        cache = None if from_disk else BuildCache()
        first = cached_build(root, cache)
        b = root / "content/topic/b.md"
        if ":" in edit.split(" ", 1)[0]:
            key = edit.split(":", 1)[0]
            text = re.sub(f"\n{key}: .*", "", b.read_text(), count=1)
            touch(b, text.replace("---\n", f"---\n{edit}\n", 1))
        else:
            touch(b, b.read_text() + f"\n{edit}\n")
        with resolving() as calls:
            edited = cached_build(root, cache)
            touch(root / "content/about.md", (root / "content/about.md").read_text() + "More.\n")
            after = cached_build(root, cache)  # a prose edit: the patched links are kept
        problems, clean = clean_build(root)
    assert calls == ([] if resolved == set() else [None if resolved is None else resolved])
    if not from_disk:
        assert (edited.graph is first.graph) == edit.startswith("## ")
    assert [d.format() for d in after.diagnostics] == problems
    if clean is not None:  # else (a broken anchor is an error) nothing was written
        assert tree(root / "output") == clean
    assert after.written == (clean is not None)
    if resolved:  # b's new broken anchor is found, and kept by the next build
        assert any(d.code == "broken-anchor" for d in after.diagnostics) == ("#no" in edit)


@pytest.mark.parametrize(
    ("change", "resolved"),
    [
        # about and c have a broken link each ([[zed]], [[nowhere]]): their hints may change
        ("add topic/zed.md", {"topic/zed", "about", "other/c"}),
        ("remove topic/b.md", {"topic", "topic/a", "about", "other/c"}),  # these link to b
        ("move about.md to about/index.md", {"about", "index", "other/c"}),  # [[about]]
        ("add topic/nowhere.md", {"topic/nowhere", "about", "other/c"}),
        ("make topic/b.md a draft", {"topic", "topic/a", "about", "other/c"}),
    ],
    ids=["added", "removed", "moved", "broken link mended", "draft"],
)
@pytest.mark.parametrize("from_disk", [False, True], ids=["in memory", "from disk"])
def test_a_page_added_removed_or_moved_resolves_again_only_the_links_naming_it(
    tmp_path: Path, change: str, resolved: set[str], from_disk: bool
) -> None:
    """A page added, removed, moved or made a draft changes a landing (model.landing_of):
    the links that can resolve differently are those naming it (by id, slug, file or URL,
    as it is or as it was) and the broken ones, whose hints name the closest page; only
    their pages are resolved again (links.named_again). Output and diagnostics equal a
    clean build's."""
    site = {
        **SITE,
        "about.md": page("About", "[[index]] and [[zed]], not yet written.\n"),
        "other/c.md": page("Gamma", "Third. [[topic/a]] [[nowhere]]\n", tags="[x]"),
    }
    with trusting_stats():
        root = project(tmp_path, site)
        cache = None if from_disk else BuildCache()
        cached_build(root, cache)
        content = root / "content"
        verb, rel = change.split(" ")[:2]
        if verb == "add":
            touch(
                content / rel, page(rel.split("/")[-1].removesuffix(".md").title(), "[[topic]]\n")
            )
        elif verb == "remove":
            (content / rel).unlink()
        elif verb == "move":
            text = (content / rel).read_text()
            (content / rel).unlink()
            touch(content / change.split(" ")[-1], text)
        else:
            touch(
                content / rel, (content / rel).read_text().replace("---\n", "---\ndraft: true\n", 1)
            )
        with resolving() as calls:
            result = cached_build(root, cache)
        problems, clean = clean_build(root)
    assert calls == [frozenset(resolved)]
    assert [d.format() for d in result.diagnostics] == problems
    if clean is not None:
        assert tree(root / "output") == clean


@pytest.mark.parametrize("from_disk", [False, True], ids=["in memory", "from disk"])
def test_a_link_edited_then_a_page_added_that_it_now_names(tmp_path: Path, from_disk: bool) -> None:
    """The table of what each page's links name is made again only when a landing changes:
    a page whose links changed since is read as it is now. b's new [[c]] goes to other/c,
    the only c; once topic/c exists, b's cluster's own c wins, and b's link must follow."""
    with trusting_stats():
        root = project(tmp_path)
        cache = None if from_disk else BuildCache()
        cached_build(root, cache)
        b = root / "content/topic/b.md"
        touch(b, b.read_text() + "\nSee [[c]].\n")
        cached_build(root, cache)
        assert 'href="/other/c/">Gamma' in (root / "output/topic/b/index.html").read_text()
        touch(root / "content/topic/c.md", page("Sea", "[[topic]] [[a]] [[b]]\n"))
        added = cached_build(root, cache)
        problems, clean = clean_build(root)
    assert 'href="/topic/c/">Sea' in (root / "output/topic/b/index.html").read_text()
    assert [d.format() for d in added.diagnostics] == problems
    assert clean is not None and tree(root / "output") == clean


def test_a_static_file_removed_resolves_every_link_again(tmp_path: Path) -> None:
    """Links to static files are not named by any page's landing: a static file added or
    removed (like a changed configuration) makes every link resolve again."""
    site = {**SITE, "about.md": page("About", "[[index]] and [the notes](/notes.txt).\n")}
    with trusting_stats():
        root = project(tmp_path, site)
        touch(root / "static/notes.txt", "Notes.\n")
        cache = BuildCache()
        assert build(config_of(root), cache=cache).written
        (root / "static/notes.txt").unlink()
        with resolving() as calls:
            result = build(config_of(root), cache=cache)
        problems, _ = clean_build(root)
    assert calls == [None]
    assert any("/notes.txt" in d.message for d in result.diagnostics)
    assert [d.format() for d in result.diagnostics] == problems


@pytest.mark.parametrize("from_disk", [False, True], ids=["in memory", "from disk"])
def test_a_renamed_heading_breaks_the_links_to_it_and_only_their_pages_are_resolved(
    tmp_path: Path, from_disk: bool
) -> None:
    """c links to a heading of a. Renaming the heading (a's frame and landing stay) makes
    c's link a broken anchor, found by resolving a's links and those of the pages linking
    to a only; renaming it back mends it."""
    with trusting_stats():
        root = project(tmp_path)
        a, c = root / "content/topic/a.md", root / "content/other/c.md"
        touch(a, a.read_text() + "\n## First part\n\nMore.\n")
        touch(c, c.read_text().replace("[[topic/a]]", "[[topic/a#first-part]]"))
        cache = None if from_disk else BuildCache()
        first = cached_build(root, cache)
        assert not any(d.code == "broken-anchor" for d in first.diagnostics)
        calls: list[frozenset[str] | None] = []
        found = []
        for heading in ("Second part", "First part"):
            touch(a, re.sub("## .* part", f"## {heading}", a.read_text()))
            with resolving() as called:
                result = cached_build(root, cache)
            calls += called
            problems, _ = clean_build(root)
            assert [d.format() for d in result.diagnostics] == problems
            broken = [d for d in result.diagnostics if d.code == "broken-anchor"]
            found.append([d.location.path.rsplit("/", 2)[-2:] for d in broken])
    assert found == [[["other", "c.md"]], []]
    linking_a = frozenset({"topic/a", "topic", "topic/b", "other/c"})  # a and its linkers
    assert calls == [linking_a, linking_a]
    assert tree(root / "output") == clean_tree(root)


@pytest.mark.parametrize("edit", ["flag", "question"])
def test_a_repeated_faq_question_changes_the_markup_of_a_page_not_edited(
    tmp_path: Path, edit: str
) -> None:
    """Of a question repeated on two pages, only one keeps its FAQPage markup: the one on a
    page marked canonical, else on the first page by id. Flipping b's flag (in place:
    nothing moves) changes the about page; the about page taking up b's question changes
    b's. Neither shows anything of the other, and no link changed."""
    faq = "faq: [{q: Why ask this here?, a: Because it helps.}]"
    with trusting_stats():
        root = project(tmp_path)
        about, b = root / "content/about.md", root / "content/topic/b.md"
        for path in (about, b) if edit == "flag" else (b,):
            touch(path, path.read_text().replace("---\n", f"---\n{faq}\n", 1))
        touch(b, b.read_text().replace("---\n", "---\nfaq_canonical: false\n", 1))
        cache = BuildCache()
        build(config_of(root), cache=cache)
        shown = about if edit == "flag" else b
        output = root / "output" / shown.relative_to(root / "content").with_suffix("")
        marked = (output / "index.html").read_bytes()
        if edit == "flag":
            touch(b, b.read_text().replace("faq_canonical: false", "faq_canonical: true"))
        else:
            touch(about, about.read_text().replace("---\n", f"---\n{faq}\n", 1))
        build(config_of(root), cache=cache)
        assert tree(root / "output") == clean_tree(root)
    assert (output / "index.html").read_bytes() != marked


def test_patched_packed_links_keep_the_rest_packed_and_save_as_they_are() -> None:
    from intimacy_ssg import pickling

    packed = pickling.PackedMap({k: pickle.dumps(v) for k, v in {"a": 1, "b": 2, "c": 3}.items()})
    assert packed["a"] == 1
    patched = packed.updated({"b": 20})
    assert list(patched) == ["a", "b", "c"] and dict(patched) == {"a": 1, "b": 20, "c": 3}
    assert dict(packed) == {"a": 1, "b": 2, "c": 3}  # the original is unchanged
    reordered = packed.updated({"d": 4}, ["c", "d", "a"])  # b's page removed, d's added
    assert list(reordered) == ["c", "d", "a"] and dict(reordered) == {"c": 3, "d": 4, "a": 1}
    blobs = {k: pickle.dumps(v) for k, v in {"x": 1, "y": 2}.items()}
    fresh = pickling.PackedMap(dict(blobs))
    assert fresh["x"] == 1
    saved = pickling.pack(Links(fresh, {}, ()))  # saved with the links: not pickled again
    assert all(saved._packed[1][k] is blobs[k] for k in blobs)  # type: ignore[attr-defined]
    assert pickle.loads(fresh.updated({"y": 5}).blobs()["y"]) == 5


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("keywords: [nothing]", "keywords: [first]"),
        ("weight: 1", "weight: 9"),
        ("tags: [x]", "tags: [y]"),
        ("aliases: [/one/]", "aliases: [/two/]"),
        ("aliases: [/one/]", "aliases: [/topic/a/]"),  # a page's URL: an error
        ("faq_canonical: false", "faq_canonical: true"),
    ],
    ids=["keywords", "weight", "tags", "aliases", "alias taken", "faq canonical"],
)
def test_an_in_place_edit_to_what_links_or_the_graph_read_is_seen(
    tmp_path: Path, before: str, after: str
) -> None:
    """Keywords (the mention search), weight (the cluster's order), tags (related reading)
    and aliases (redirects, claimed URLs) are part of the frame: edited in place, without
    moving the body, the links, graph and mentions are made again."""
    with trusting_stats():
        root = project(tmp_path)
        c = root / "content/other/c.md"
        touch(c, c.read_text().replace("tags: [x]\n", "").replace("---\n", f"---\n{before}\n", 1))
        cache = BuildCache()
        first = build(config_of(root), cache=cache)
        built = tree(root / "output")
        touch(c, c.read_text().replace(before, after))
        edited = build(config_of(root), cache=cache)
        assert edited.graph is not first.graph
        problems, clean = clean_build(root)
        assert [d.format() for d in edited.diagnostics] == problems
        assert tree(root / "output") == (built if clean is None else clean)
    assert (clean is None) == (after == "aliases: [/topic/a/]")  # the build failed
    if after == "keywords: [first]":  # a's "First." now names c, which it does not link
        assert any(d.code == "unlinked-mention" for d in edited.diagnostics)


def test_a_weight_edited_in_place_reorders_the_cluster(tmp_path: Path) -> None:
    """A spoke's weight orders its cluster (the hub's list, every member's navigation): the
    site's assembly is made again, though no link changed."""
    with trusting_stats():
        root = project(tmp_path)
        b = root / "content/topic/b.md"
        touch(b, b.read_text().replace("---\n", "---\nweight: 1\n", 1))
        cache = BuildCache()
        first = build(config_of(root), cache=cache)
        touch(b, b.read_text().replace("weight: 1", "weight: -1"))
        edited = build(config_of(root), cache=cache)
        assert tree(root / "output") == clean_tree(root)
    assert first.site is not None and edited.site is not None
    assert first.site.clusters[1].spokes == ("topic/a", "topic/b")
    assert edited.site.clusters[1].spokes == ("topic/b", "topic/a")


@pytest.mark.parametrize("body", ["Second. [[a]] [[topic]]\nA [[broken]] link.\n", "Prose.\n"])
def test_a_line_added_to_the_front_matter_moves_only_that_pages_link_diagnostics(
    tmp_path: Path, body: str
) -> None:
    """A source added to the front matter moves the body down: the frame is unchanged (the
    links and graph are reused), but the moved page's links and related pages are resolved
    again so that their diagnostics point at their new lines; no other page's are."""
    with trusting_stats():
        root = project(tmp_path)
        b = root / "content/topic/b.md"
        touch(b, page("Beta", body, tags="[x]", related="[nowhere]"))
        cache = BuildCache()
        first = build(config_of(root), cache=cache)
        touch(b, b.read_text().replace("---\n", "---\nsources:\n  - title: A book\n", 1))
        with resolving() as calls:
            moved = build(config_of(root), cache=cache)
        problems, _ = clean_build(root)
    assert calls == [frozenset({"topic/b"})]
    assert moved.graph is first.graph
    for code in ("broken-link", "unknown-related"):
        lines = [d.location.line for d in moved.diagnostics if d.code == code]
        assert lines == [d.location.line + 2 for d in first.diagnostics if d.code == code]
    assert any(d.code == "unknown-related" for d in moved.diagnostics)
    assert [d.format() for d in moved.diagnostics] == problems


def test_a_title_edit_renders_again_the_pages_whose_links_or_related_reading_show_it(
    tmp_path: Path,
) -> None:
    """A retitled page is shown by pages that link to it (an unlabelled wikilink's text),
    and moves in other pages' related reading, which is ordered by title among equals: c
    shares one tag with five spokes and shows four of them; renaming Alpha to Zeta drops
    it from c's list though c neither links to it nor is linked from it."""
    site = {
        **SITE,
        "about.md": page("About", "[[index]] [[topic/b]]\n"),  # no cluster, no related
        "other/c.md": page("Gamma", "Third. [[other]]\n", tags="[x]"),
        "topic/d.md": page("Delta", "Fourth. [[topic]]\n", tags="[x]"),
        "topic/e.md": page("Epsilon", "Fifth. [[topic]]\n", tags="[x]"),
        "topic/f.md": page("Foxtrot", "Sixth. [[topic]]\n", tags="[x]"),
    }
    with trusting_stats():
        root = project(tmp_path, site)
        cache = BuildCache()
        first = build(config_of(root), cache=cache)
        assert first.graph is not None
        assert first.graph.related["other/c"] == ("topic/a", "topic/b", "topic/d", "topic/e")
        for rel, old, new in (("topic/a.md", "Alpha", "Zeta"), ("topic/b.md", "Beta", "Bravo")):
            path = root / "content" / rel
            touch(path, path.read_text().replace(f"title: {old}", f"title: {new}"))
            build(config_of(root), cache=cache)
            assert tree(root / "output") == clean_tree(root), rel
    assert ">Bravo</a>" in (root / "output/about/index.html").read_text()
    assert "Zeta" not in (root / "output/other/c/index.html").read_text()


@pytest.mark.parametrize("from_disk", [False, True], ids=["in memory", "from disk"])
def test_a_title_edit_chooses_again_only_the_related_reading_it_can_move(
    tmp_path: Path, from_disk: bool
) -> None:
    """Related reading breaks ties by title: a new title can move a page only among the
    candidates of the pages sharing a tag or a link target with it. Those choose again (r
    links to q, as p does); the others keep theirs."""
    site = {
        "index.md": page("Home", "[[t]] [[u]]\n"),
        "t/index.md": page("Tee", "[[p]] [[q]]\n"),
        "t/p.md": page("Pea one", "[[q]] [[t]]\n", tags="[x]"),
        "t/q.md": page("Queue one", "[[p]] [[t]]\n", tags="[x]"),
        "u/index.md": page("You", "[[r]] [[s]]\n"),
        "u/r.md": page("Are one", "[[s]] [[u]] [[t/q]]\n", tags="[y]"),  # as p links q
        "u/s.md": page("Ess one", "[[r]] [[u]]\n", tags="[y]"),
    }
    with trusting_stats():
        root = project(tmp_path, site)
        cache = None if from_disk else BuildCache()
        cached_build(root, cache)
        p = root / "content/t/p.md"
        touch(p, p.read_text().replace("title: Pea one", "title: Zed one"))
        with pages_given(graph_module, "_related") as chosen:
            retitled = cached_build(root, cache)
        problems, _ = clean_build(root)
    assert sorted(chosen) == ["t", "t/p", "t/q", "u/r"]
    assert [d.format() for d in retitled.diagnostics] == problems
    assert tree(root / "output") == clean_tree(root)


@pytest.mark.parametrize("from_disk", [False, True], ids=["in memory", "from disk"])
def test_a_title_edit_reuses_the_links_and_makes_the_graph_again(
    tmp_path: Path, from_disk: bool
) -> None:
    """Resolved links do not hold titles: a title edit keeps them (no link is resolved
    again), while the graph and the mention search, which read titles, are made again, and
    an unlabelled wikilink to the page shows its new title."""
    with trusting_stats():
        root = project(tmp_path)
        c = root / "content/other/c.md"
        touch(c, c.read_text() + "\nMore about the beta renamed one.\n")  # c links a only
        cache = None if from_disk else BuildCache()
        first = cached_build(root, cache)
        b = root / "content/topic/b.md"
        touch(b, b.read_text().replace("title: Beta", "title: Beta Renamed"))
        with mock.patch("intimacy_ssg.links.resolve_links", side_effect=AssertionError):
            retitled = cached_build(root, cache)
        problems, _ = clean_build(root)
    assert retitled.graph is not first.graph
    assert retitled.graph is not None
    assert "Beta Renamed" in {n.title for n in retitled.graph.nodes}
    assert [d.format() for d in retitled.diagnostics] == problems
    assert any("'Beta Renamed'" in d.message for d in retitled.diagnostics)  # c mentions it
    assert tree(root / "output") == clean_tree(root)
    linking = (root / "output/topic/a/index.html").read_text()  # a's body: "[[b]]"
    assert ">Beta Renamed</a>" in linking


# Edits that leave every page kept where it was: the graph is patched from the last one.
# Each is (file, text replaced, by); None for text: the file is added, or removed. The site
# they start from has a spoke no page links to (topic/e), to be removed without breaking
# a link, and a second spoke in `other`.
GRAPH_SITE = dict(
    SITE,
    **{
        "topic/e.md": page("Epsilon", "[[topic]] [[a]]\n", tags="[x]"),
        "other/f.md": page("Phi", "[[c]]\n"),  # after c among its hub's spokes
    },
)
GRAPH_EDITS: dict[str, tuple[str, str | None, str | None]] = {
    "retitled spoke": ("topic/b.md", "title: Beta", "title: Beta Renamed"),
    "retitled hub": ("topic/index.md", "title: Topic", "title: Topic Renamed"),
    "retitled to come first": ("topic/b.md", "title: Beta", "title: Aardvark"),  # a's before
    "link added": ("topic/a.md", "First. [[b]]", "First. [[other/c]] [[b]]"),
    "link removed": ("topic/b.md", "Second. [[a]]", "Second."),
    "every link removed": ("other/c.md", "Third. [[topic/a]]", "Third."),
    "orphaned": ("index.md", "[[about]]", ""),
    "spoke unlinked from its hub": ("topic/index.md", "[[a]]", ""),
    "related added": ("other/c.md", "tags: [x]", "tags: [x]\nrelated: [topic/b, about]"),
    "tags changed": ("topic/a.md", "tags: [x]", "tags: [y, z]"),
    "weight changed": ("topic/b.md", "tags: [x]", "tags: [x]\nweight: -1"),
    "planned added": (
        "topic/index.md",
        "description: About topic.",
        "description: About topic.\nplanned: [{slug: b, title: Bee}, {slug: f, title: Eff}]",
    ),
    "spoke added": ("topic/d.md", None, page("Delta", "[[topic]] [[a]] [[b]]\n", tags="[x]")),
    "spoke removed": ("topic/e.md", page("Epsilon", "[[topic]] [[a]]\n", tags="[x]"), None),
    "made a draft": ("topic/a.md", "title: Alpha", "title: Alpha\ndraft: true"),
    "page added": ("more.md", None, page("More", "[[about]] [[topic/b]]\n")),
    "page added, linking nowhere": ("lonely.md", None, page("Lonely", "No link.\n")),
    # its hub shares no tag or link target with it, and lists its spokes in another order
    "retitled to come last in its cluster": ("other/c.md", "title: Gamma", "title: Zeta"),
    "hub removed": ("other/index.md", SITE["other/index.md"], None),
}


def edit_graph(root: Path, rel: str, old: str | None, new: str | None) -> None:
    path = root / "content" / rel
    if new is None:
        path.unlink()
    elif old is None:
        touch(path, new)
    else:
        text = path.read_text()
        assert old in text, (rel, old)
        touch(path, text.replace(old, new, 1))


@dataclass
class Patches:
    edges: list[int] = field(default_factory=list)  # edges each patch added or removed
    indexed: list[bool] = field(default_factory=list)  # each patched the last similarity index


def similarity(index: Any) -> dict[str, Any]:
    """What a graph._Similarity holds, but its lazily made digests and groups left empty."""
    held = {
        name: value
        for name, value in vars(index).items()
        if name not in ("_tag_keys", "_target_keys")
    }
    for name in ("by_tag", "by_target", "body"):
        held[name] = {k: v for k, v in held[name].items() if v}
    return held


@contextmanager
def patched_graphs() -> Iterator[Patches]:
    """Each graph patch_graph() makes meanwhile checked against build_graph()'s from the same
    site and links, without falling back to it; the related-reading memo it leaves (see
    graph._all_related) against the one build_graph() fills when it starts from none; and
    the similarity index it keeps (patched from the last one's, or made) against the one
    build_graph() makes."""
    real = graph_module.patch_graph
    patches = Patches()

    def spy(before: Any, before_links: Any, site: Any, links: Any, config: Any, *rest: Any) -> Any:
        indexes = rest[3] if len(rest) > 3 else None
        had = indexes is not None and indexes.graph is before and indexes.index is not None
        with mock.patch.object(graph_module, "build_graph", side_effect=AssertionError):
            made = real(before, before_links, site, links, config, *rest)
        memo: dict[str, Any] = {}
        fresh = graph_module.IndexMemo()
        assert made == graph_module.build_graph(site, links, config, memo, None, fresh)
        assert rest[0] == memo
        if indexes is not None:
            assert indexes.graph is made
            assert similarity(indexes.index) == similarity(fresh.index)
        patches.edges.append(len(set(made.edges) ^ set(before.edges)))
        patches.indexed.append(had)
        return made

    with mock.patch.object(graph_module, "patch_graph", side_effect=spy):
        yield patches


def assert_clean(root: Path, result: BuildResult, edit: str) -> None:
    """The build's diagnostics are a clean build's, and so is the output when it is written."""
    problems, clean = clean_build(root)
    assert [d.format() for d in result.diagnostics] == problems, edit
    if clean is not None:
        assert tree(root / "output") == clean, edit


@pytest.mark.parametrize("edit", GRAPH_EDITS)
@pytest.mark.parametrize("from_disk", [False, True], ids=["in memory", "from disk"])
def test_a_graph_patched_after_an_edit_equals_one_made_afresh(
    tmp_path: Path, from_disk: bool, edit: str
) -> None:
    """Titles, tags, weights, related and planned pages and links edited, pages added,
    removed or made drafts, each then put back: the graph is patched from the last build's
    each time, and equals the graph made afresh (edges, backlinks, related reading,
    findings and their order); the output and diagnostics equal a clean build's."""
    rel, old, new = GRAPH_EDITS[edit]
    with trusting_stats():
        root = project(tmp_path, GRAPH_SITE)
        cache = None if from_disk else BuildCache()
        assert cached_build(root, cache).written
        if cache is not None:  # a full build keeps neither of the watcher's memos
            assert cache.similarity is None and cache.graph_lines is None
        path = root / "content" / rel
        text = path.read_text() if path.exists() else None
        assert old is None or (text is not None and old in text)
        with patched_graphs() as patches:
            edit_graph(root, rel, old, new)
            assert_clean(root, cached_build(root, cache), edit)
            if text is None:  # put back
                path.unlink()
            else:
                touch(path, text)
            assert_clean(root, cached_build(root, cache), edit)
            if cache is not None:  # kept from a build that patched the graph
                assert cache.similarity.graph is not None and cache.graph_lines is not None
    assert len(patches.edges) == 2
    # in memory, a patch starts from the similarity index the last patch kept (a full
    # build keeps none)
    assert patches.indexed == [False, not from_disk]
    assert tree(root / "output") == clean_tree(root)


@pytest.mark.parametrize("common", [graph_module.COMMON, 3, 2])
@pytest.mark.parametrize("from_disk", [False, True], ids=["in memory", "from disk"])
def test_graphs_patched_edit_after_edit_equal_ones_made_afresh(
    tmp_path: Path, common: int, from_disk: bool
) -> None:
    """The same edits one after another, each build patching the graph the last one made
    (itself patched), and in memory its similarity index. Also with groups (pages sharing a
    tag or a link target) larger than COMMON, which related reading ignores, and groups
    growing past it and shrinking below."""
    with trusting_stats(), mock.patch.object(graph_module, "COMMON", common):
        root = project(tmp_path, GRAPH_SITE)
        cache = None if from_disk else BuildCache()
        cached_build(root, cache)
        with patched_graphs() as patches:
            for edit, (rel, old, new) in GRAPH_EDITS.items():
                edit_graph(root, rel, old, new)
                assert_clean(root, cached_build(root, cache), edit)
    assert len(patches.edges) == len(GRAPH_EDITS)
    assert any(patches.edges)  # some edits changed edges, and the patch matched them
    assert patches.indexed == [False] + [not from_disk] * (len(GRAPH_EDITS) - 1)


def test_the_pages_of_a_group_too_large_to_count_are_not_keyed_again(tmp_path: Path) -> None:
    """Related reading ignores a tag or link target shared by more than COMMON pages, and
    its members' keys read such a group as "*": when a spoke with tag x is added to a site
    where x (and every target the new spoke or Gamma link to) was shared by more than
    COMMON pages already, Gamma, which is in those groups only, keeps its related-reading
    key unmade; with COMMON larger it is made again. The graph equals one made afresh."""
    unsettled: list[set[str]] = []
    real = graph_module._unsettled

    def spy(*args: Any) -> set[str]:
        unsettled.append(real(*args))
        return unsettled[-1]

    added = page("Delta", "[[topic]] [[a]] [[b]]\n", tags="[x]")
    for n, common in enumerate([2, 3]):
        with (
            trusting_stats(),
            mock.patch.object(graph_module, "COMMON", common),
            mock.patch.object(graph_module, "_unsettled", side_effect=spy),
        ):
            (tmp_path / str(n)).mkdir()
            root = project(tmp_path / str(n), GRAPH_SITE)
            cached_build(root)
            with patched_graphs() as patches:
                edit_graph(root, "topic/d.md", None, added)
                assert_clean(root, cached_build(root), f"COMMON {common}")
            assert patches.edges
    assert [("topic/d" in found, "other/c" in found) for found in unsettled] == [
        (True, False),
        (True, True),
    ]


@pytest.mark.parametrize("from_disk", [False, True], ids=["in memory", "from disk"])
def test_a_build_with_no_page_cached_leaves_each_file_to_the_process_parsing_it(
    tmp_path: Path, from_disk: bool
) -> None:
    """With no page to reuse, discovery reads no file: each is read where it is parsed (by
    every core at once, in a large build), and its digest taken there, under which the
    cache keeps its page. Once pages are cached, a file with a new stat is read first,
    and one whose bytes did not change is found in the cache by its digest, unparsed."""
    from intimacy_ssg import parallel

    unread: list[set[bool]] = []
    parsed: list[str] = []
    real_all, real_one = parallel.parse_all, parallel.guarded_parse

    def spy_all(sources: Any, *rest: Any) -> Any:
        unread.append({s.digest == UNREAD for s in sources})
        return real_all(sources, *rest)

    def spy_one(source: Any, *rest: Any) -> Any:
        parsed.append(source.rel)
        return real_one(source, *rest)

    with (
        trusting_stats(),
        mock.patch.object(parallel, "parse_all", side_effect=spy_all),
        mock.patch.object(parallel, "guarded_parse", side_effect=spy_one),
    ):
        root = project(tmp_path)
        cache = None if from_disk else BuildCache()
        assert cached_build(root, cache).written
        pages = len(parsed)
        b = root / "content/topic/b.md"
        touch(b, b.read_text())  # a new stat, the same bytes
        result = cached_build(root, cache)
    assert unread == [{True}, {False}]
    assert pages > 3 and len(parsed) == pages  # none parsed again
    assert_clean(root, result, "touched")


@pytest.mark.parametrize("from_disk", [False, True], ids=["in memory", "from disk"])
def test_a_new_keyword_scans_again_only_the_pages_holding_its_words(
    tmp_path: Path, from_disk: bool
) -> None:
    """The mention search keeps a page's findings when the page is unchanged and holds no
    longest word of a phrase that changed (a keyword, a title): only the edited page and
    the pages holding "crossings" are scanned again, and a finding comes and goes with it."""
    from intimacy_ssg import mentions as mentions_module

    with trusting_stats():
        root = project(tmp_path)
        c = root / "content/other/c.md"
        touch(c, c.read_text() + "\nA word on zebra crossings.\n")
        cache = None if from_disk else BuildCache()
        cached_build(root, cache)
        b = root / "content/topic/b.md"
        for keyword, found in (("zebra crossings", True), ("giraffe necks", False)):
            text = re.sub("\nkeywords: .*", "", b.read_text())
            touch(b, text.replace("---\n", f"---\nkeywords: [{keyword}]\n", 1))
            with pages_given(mentions_module, "_page_mentions") as scanned:
                result = cached_build(root, cache)
            problems, _ = clean_build(root)
            assert [d.format() for d in result.diagnostics] == problems
            assert sorted(scanned) == ["other/c", "topic/b"], keyword
            shown = any("'zebra crossings'" in d.message for d in result.diagnostics)
            assert shown == found, keyword


def test_a_new_title_scans_only_the_pages_holding_its_telling_word(tmp_path: Path) -> None:
    """A title starting with "A" names a phrase whose first word is in nearly every page;
    the pages scanned again are those holding its longest word ("zebra"), and the page
    retitled."""
    from intimacy_ssg import mentions as mentions_module

    with trusting_stats():
        root = project(tmp_path)
        c, a = root / "content/other/c.md", root / "content/topic/a.md"
        touch(c, c.read_text() + "\nA word on a zebra or two.\n")
        touch(a, a.read_text() + "\nA quiet afternoon, and a walk.\n")  # "a", no zebra
        cache = BuildCache()
        build(config_of(root), cache=cache)
        b = root / "content/topic/b.md"
        before = dict(cache.mentions)
        touch(b, b.read_text().replace("title: Beta", "title: A zebra of a page"))
        with pages_given(mentions_module, "_page_mentions") as scanned:
            result = build(config_of(root), cache=cache)
        problems, _ = clean_build(root)
    assert sorted(scanned) == ["other/c", "topic/b"]
    assert [d.format() for d in result.diagnostics] == problems
    # the pages not scanned keep their entries as they were (the cache saves only changes);
    # the basis (frame and table) is one record for all
    changed = {k for k, v in cache.mentions.items() if before.get(k) != v}
    assert changed <= {"", "other/c", "topic/b"} and "" in changed


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "not forked"])
def test_pages_looked_through_for_a_new_titles_words_are_shared_with_a_forked_process(
    tmp_path: Path, fork: bool
) -> None:
    """After a title edit, many pages to look through for its words: a forked process takes
    the second half. The findings and the memo entries are the same as when one process
    does all of them, and as a clean build's; so they are when the fork fails."""
    from intimacy_ssg import forked
    from intimacy_ssg import mentions as mentions_module

    started: list[bool] = []

    class Spied(forked.Apart):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            started.append(True)
            super().__init__(*args, fork=fork, **kwargs)

    with trusting_stats():
        root = project(tmp_path)
        c = root / "content/other/c.md"
        touch(c, c.read_text() + "\nA word on a zebra of a page, and on the Beta page.\n")
        memos = []
        for split in (2, 10**9):  # shared, then not
            cache = BuildCache()
            build(config_of(root), cache=cache)
            b = root / "content/topic/b.md"
            touch(b, b.read_text().replace("title: Beta", "title: A zebra of a page"))
            with (
                mock.patch.object(mentions_module, "SPLIT_MIN", split),
                mock.patch.object(mentions_module, "Apart", Spied),
            ):
                result = build(config_of(root), cache=cache)
            problems, _ = clean_build(root)
            assert [d.format() for d in result.diagnostics] == problems
            assert any("'A zebra of a page'" in p for p in problems)
            memos.append(dict(cache.mentions))
            touch(b, b.read_text().replace("title: A zebra of a page", "title: Beta"))
    assert started == [True]  # the first build only
    assert memos[0] == memos[1]
    assert list(memos[0]) == list(memos[1])  # in page order both ways


def test_a_page_moved_under_its_own_id_updates_the_mention_hints_naming_its_file(
    tmp_path: Path,
) -> None:
    """guide.md becomes guide/index.md, a hub: its id stays "guide", but the hint of a
    mention of "Field Guide" on another page names its new file."""
    site = {**SITE, "guide.md": page("Field Guide", "[[index]]\n")}
    site["about.md"] = page("About", "[[index]] A field guide, unlinked.\n")
    with trusting_stats():
        root = project(tmp_path, site)
        cache = BuildCache()
        first = build(config_of(root), cache=cache)
        (root / "content/guide.md").rename(root / "content/guide.md.moved")
        touch(root / "content/guide/index.md", page("Field Guide", "[[index]]\n"))
        (root / "content/guide.md.moved").unlink()
        moved = build(config_of(root), cache=cache)
        problems, _ = clean_build(root)
    hints = [d.hint for r in (first, moved) for d in r.diagnostics if d.code == "unlinked-mention"]
    assert hints == ["link it: [Field Guide](guide.md)", "link it: [Field Guide](guide/index.md)"]
    assert [d.format() for d in moved.diagnostics] == problems


def test_a_summary_edit_from_disk_keeps_the_saved_links_and_graph(tmp_path: Path) -> None:
    """From the command line too: the links and graph saved on disk (`.structure`) are
    reused, not rewritten; the pages showing the summary (b's related cards and hub) and
    b's cluster feed are made again, other clusters' feeds and graph.json are not."""
    with trusting_stats():
        root = project(tmp_path)
        b = root / "content/topic/b.md"
        touch(b, b.read_text().replace("---\n", "---\nsummary: Before.\ndate: 2026-01-01\n", 1))
        cached_build(root)
        made = next((root / ".cache/intimacy-ssg").glob("*.structure"))
        saved = made.stat().st_mtime_ns, made.read_bytes()
        before = mtimes(root / "output")
        touch(b, b.read_text().replace("summary: Before.", "summary: Beta on a card."))
        with mock.patch("intimacy_ssg.links.resolve_links", side_effect=AssertionError):
            edited = cached_build(root)
        assert (made.stat().st_mtime_ns, made.read_bytes()) == saved
        assert edited.written and tree(root / "output") == clean_tree(root)
        assert b"Beta on a card." in (root / "output/topic/a/index.html").read_bytes()
        assert b"Beta on a card." in (root / "output/topic/feed.xml").read_bytes()
        after = mtimes(root / "output")
        for kept in ("other/feed.xml", "graph.json", "about/index.html"):
            assert after[kept] == before[kept], kept
        assert after["topic/feed.xml"] != before["topic/feed.xml"]
        touch(b, b.read_text().replace("title: Beta", "title: Beta Two"))
        retitled = cached_build(root)  # a title is read by links and the graph: made again
        again = mtimes(root / "output")
    assert made.read_bytes() != saved[1]
    assert retitled.written and tree(root / "output") == clean_tree(root)
    assert again["other/feed.xml"] == before["other/feed.xml"]  # made from its own pages
    assert again["topic/feed.xml"] != after["topic/feed.xml"]


def test_a_summary_edited_and_put_back_is_shown_as_put_back(tmp_path: Path) -> None:
    """The cache on disk may hold a page's older version beside its newest (its parsed
    pages are saved as a base and the changes since): a summary put back as it was must
    still count as an edit for the pages that show it."""
    with trusting_stats():
        root = project(tmp_path)
        b = root / "content/topic/b.md"
        touch(b, b.read_text().replace("---\n", "---\nsummary: First words.\n", 1))
        cached_build(root)
        for summary in ("Second words.", "First words."):
            touch(b, re.sub("summary: .*", f"summary: {summary}", b.read_text()))
            cached_build(root)
            shown = (root / "output/topic/a/index.html").read_bytes()
            assert summary.encode() in shown
            assert tree(root / "output") == clean_tree(root)


@pytest.mark.parametrize(
    ("edited", "edit", "made"),
    [
        ("b", "[[other]] added to the prose.", set()),
        ("b", "## A new heading", set()),
        ("b", "date: 2024-05-06", {"sitemap", "site_feed"}),
        ("b", "updated: 2024-05-06", {"sitemap", "site_feed"}),
        ("b", "aliases: [/old-b/]", {"site_feed", "redirects"}),
        ("b", "title: Beta, retitled", {"site_feed"}),
        ("b", "summary: Another summary.", {"site_feed"}),
        ("a", "title: Alpha, retitled", set()),  # no date: not an article, not in the feed
        ("a", "summary: Another summary.", set()),
        ("c", "title: Gamma, retitled", {"redirects"}),  # the page with an alias, undated
        ("c", "date: 2024-05-06", {"sitemap", "site_feed", "redirects"}),
    ],
)
def test_the_sitemap_feed_and_redirects_are_each_made_again_only_when_what_they_read_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edited: str, edit: str, made: set[str]
) -> None:
    """The site-wide files are made from the pages' places and front matter alone, each
    from its own part: the sitemap from every page's place, draft flag and dates; the
    site's feed from the articles it shows (chosen by their dates); the redirect pages
    from the pages with aliases. An edit to a page's links or headings keeps them all as
    they were (they are not even made); an edit to a title, summary or alias makes again
    only the files that show that page, and a date every file that it may reorder. The
    output is a clean build's each time."""
    from intimacy_ssg import sitefiles

    calls: list[str] = []

    def spy(name: str) -> None:
        real = getattr(sitefiles, name)

        def spied(*args: Any) -> Any:
            calls.append(name)
            return real(*args)

        monkeypatch.setattr(sitefiles, name, spied)

    for name in ("sitemap", "site_feed", "redirects"):
        spy(name)
    with trusting_stats():
        files = {
            **SITE,
            "topic/b.md": page("Beta", "Second. [[a]] [[topic]]\n", date="2024-01-02"),
            "other/c.md": page("Gamma", "Third.\n", aliases="[/old-c/]"),
        }
        root = project(tmp_path, files)
        cached_build(root)
        assert sorted(calls) == ["redirects", "site_feed", "sitemap"]
        calls.clear()
        path = root / f"content/{'topic' if edited != 'c' else 'other'}/{edited}.md"
        text = path.read_text()
        if ":" in edit.split()[0]:  # a front matter line
            key = edit.split(":")[0]
            lines = [line for line in text.splitlines() if not line.startswith(f"{key}:")]
            text = "\n".join(lines).replace("---\n", f"---\n{edit}\n", 1) + "\n"
        else:
            text += f"\n{edit}\n"
        touch(path, text)
        result = cached_build(root)
    assert result.rendered >= 1
    assert set(calls) == made and len(calls) == len(made)
    assert tree(root / "output") == clean_tree(root)


def test_the_site_feed_is_made_again_when_the_articles_it_shows_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more articles than the site's feed holds (one, here), an edit to the title of
    one it leaves out keeps it as it was; a date that makes that article the newest puts
    it in, and a title edit then makes the feed again. Each time, as a clean build."""
    from intimacy_ssg import sitefiles

    monkeypatch.setattr(sitefiles, "FEED_SIZE", 1)
    made: list[bytes] = []
    real = sitefiles.site_feed

    def spied(*args: Any) -> Any:
        feed = real(*args)
        made.append(feed.data)
        return feed

    monkeypatch.setattr(sitefiles, "site_feed", spied)
    with trusting_stats():
        files = {
            **SITE,
            "topic/a.md": page("Alpha", "First. [[b]] [[topic]]\n", date="2024-01-01"),
            "topic/b.md": page("Beta", "Second. [[a]] [[topic]]\n", date="2024-01-02"),
        }
        root = project(tmp_path, files)
        cached_build(root)
        assert len(made) == 1 and b"<title>Beta</title>" in made[0]
        assert b"Alpha" not in made[0]
        a = root / "content/topic/a.md"
        for title, date, again, shown in [
            ("Alpha, retitled", "2024-01-01", False, "Beta"),
            ("Alpha, retitled", "2024-02-01", True, "Alpha, retitled"),
            ("Alpha, again", "2024-02-01", True, "Alpha, again"),
        ]:
            made.clear()
            touch(a, page(title, "First. [[b]] [[topic]]\n", date=date))
            cached_build(root)
            assert len(made) == again, (title, date)
            feed = (root / "output/feed.xml").read_text()
            assert f"<title>{shown}</title>" in feed and feed.count("<entry>") == 1
            assert tree(root / "output") == clean_tree(root)


def test_a_memos_changes_are_its_new_and_changed_entries_and_its_removed_keys() -> None:
    """What `.changes` saves of a memo (cache._changes): the entries that are not the very
    objects last saved and differ from them, in the memo's order, and the keys gone."""
    kept, equal, moved = ("kept",), (b"equal",), [1, 2]
    old = {"a": kept, "b": (b"equal",), "c": moved, "gone": 1, "d": None, "also gone": 2}
    new = {"new": 0, "a": kept, "b": equal, "c": [1, 3], "d": 0}
    changed, removed = cache_module._changes(new, old)
    assert list(changed.items()) == [("new", 0), ("c", [1, 3]), ("d", 0)]
    assert removed == ["gone", "also gone"]
    assert cache_module._changes(old, old) == ({}, [])
    assert cache_module._changes({"x": None}, {}) == ({"x": None}, [])  # a new None too


def test_the_structure_memo_is_kept_on_disk_and_checked(tmp_path: Path) -> None:
    with trusting_stats():
        root = project(tmp_path)
        cached_build(root)
        b = root / "content/topic/b.md"
        touch(b, b.read_text() + "\nMore prose.\n")
        with mock.patch("intimacy_ssg.links.resolve_links", side_effect=AssertionError):
            prose = cached_build(root)  # from the command line too, links are not resolved
        assert prose.written and prose.rendered == 1
        assert tree(root / "output") == clean_tree(root)
        made = next((root / ".cache/intimacy-ssg").glob("*.structure"))
        damage(made)  # ignored, never trusted
        touch(b, b.read_text() + "\nEven more prose.\n")
        config = config_of(root)
        store = CacheStore.for_config(root / ".cache", config)
        cache = store.load()
        again = build(config, cache=cache, store=store)
    assert "corrupt" in cache.note
    assert again.written and tree(root / "output") == clean_tree(root)


def test_a_changed_title_rerenders_the_pages_that_show_it(tmp_path: Path) -> None:
    with trusting_stats():
        root = project(tmp_path)
        cached_build(root)
        before = mtimes(root / "output")
        keys = _render_keys(root)
        touch(root / "content/other/c.md", page("Gamma Ray", "Third. [[topic/a]]\n", tags="[x]"))
        result = cached_build(root)
    after = _render_keys(root)
    # Every page's header shows the clusters, but not their spokes: only the pages that may
    # show the spoke's title are rendered again. The home and 404 pages read every cluster
    # (the watched part of the site-wide view); c's hub and map show their own cluster; a,
    # b and the topic hub show c as a backlink or as related reading; c is the page itself.
    # About and the topic map are not rendered.
    rendered = sorted(rel for rel in after if rel.endswith(".html") and after[rel] != keys.get(rel))
    assert rendered == [
        "404.html",
        "index.html",
        "other/c/index.html",
        "other/index.html",
        "other/map/index.html",
        "topic/a/index.html",
        "topic/b/index.html",
        "topic/index.html",
    ]
    assert result.rendered == len(rendered)
    changed = mtimes(root / "output")
    rewritten = {rel for rel in changed if changed[rel] != before.get(rel)}
    assert "about/index.html" not in rewritten and "topic/map/index.html" not in rewritten
    assert b"Gamma Ray" in (root / "output/topic/a/index.html").read_bytes()  # a backlink
    assert tree(root / "output") == clean_tree(root)


@pytest.mark.parametrize(
    "reads",
    [
        "{% for c in site.nav %}{{ c.spokes|length }}/{% endfor %}",
        "{{ site.clusters[0].spokes|map(attribute='title')|join(',') }}",
    ],
    ids=["spoke counts", "spoke titles"],
)
def test_a_template_reading_every_cluster_is_rendered_again_when_one_changes(
    tmp_path: Path, reads: str
) -> None:
    """Outputs that read the site-wide view's clusters beyond the header's names (here,
    every page, in the layout) depend on all of them: a renamed or an added spoke renders
    every page again."""
    with trusting_stats():
        root = project(tmp_path)
        layout = root / "templates/base.html"
        touch(layout, layout.read_text().replace("</body>", f"<p>{reads}</p></body>"))
        first = cached_build(root)
        about = root / "output/about/index.html"
        touch(root / "content/other/c.md", page("Gamma Ray", "Third. [[topic/a]]\n", tags="[x]"))
        renamed = cached_build(root)
        assert tree(root / "output") == clean_tree(root)
        touch(root / "content/topic/d.md", page("Delta", "Fourth. [[a]] [[topic]]\n"))
        added = cached_build(root)
        assert added.written and tree(root / "output") == clean_tree(root)
    if "length" in reads:
        assert b"<p>1/3/</p>" in about.read_bytes()
    else:
        assert renamed.rendered == first.rendered  # every page, map and the 404 page
        assert b"<p>Gamma Ray</p>" in about.read_bytes()


@pytest.mark.parametrize(
    ("reads", "shown"),
    [
        ("{{ site.clusters[0].spokes|map(attribute='title')|join(',') }}", False),
        ("{{ site.clusters[0].spokes|map(attribute='summary')|join(',') }}", True),
        ("{{ site.clusters[0].spokes }}", True),  # printed whole: its summary too
    ],
    ids=["titles", "summaries", "printed"],
)
def test_a_summary_edit_renders_again_the_outputs_that_read_summaries_site_wide(
    tmp_path: Path, reads: str, shown: bool
) -> None:
    """Every page's layout lists the first cluster's spokes (other/c): by title only, a
    summary edited there leaves the pages that do not show the page's card as they were;
    reading a summary there (or printing the spokes whole) renders every page again."""
    with trusting_stats():
        root = project(tmp_path)
        layout = root / "templates/base.html"
        touch(layout, layout.read_text().replace("</body>", f"<p>{reads}</p></body>"))
        first = cached_build(root)
        before = mtimes(root / "output")
        c = root / "content/other/c.md"
        touch(c, c.read_text().replace("title: Gamma", "title: Gamma\nsummary: Now summed up."))
        edited = cached_build(root)
        after = mtimes(root / "output")
        assert tree(root / "output") == clean_tree(root)
    about, home = "about/index.html", "index.html"  # neither shows c's card otherwise
    assert (b"Now summed up." in (root / "output" / about).read_bytes()) is shown
    assert (after[about] != before[about], after[home] != before[home]) == (shown, shown)
    assert (edited.rendered == first.rendered) is shown


def test_spokes_listed_site_wide_by_title_leave_their_front_matter_packed(
    tmp_path: Path,
) -> None:
    """The site-wide view lists every cluster's spokes (as a home page does): reading their
    titles leaves the front matter of pages loaded from the cache packed; reading a
    summary unpacks that page's alone, gives its summary (or its description when it has
    none) and is reported as a summary read."""
    from intimacy_ssg import pickling
    from intimacy_ssg.model import FrontMatter
    from intimacy_ssg.site import assemble_site
    from intimacy_ssg.views import ViewBuilder

    with trusting_stats():
        root = project(tmp_path, {**SITE, "topic/b.md": page("Beta", summary="Bee.")})
        cached_build(root)
        config = config_of(root)
        store = CacheStore.for_config(root / ".cache", config)
        cache = store.load()
        store.load_pages(cache)
    assert cache.structure is not None
    assembled = assemble_site(tuple(cache.parsed.values()), (), "content")  # reads drafts
    store = CacheStore.for_config(root / ".cache", config)
    store.load_pages(again := store.load())  # the pages afresh, as a rebuild loads them
    pages = tuple(sorted(again.parsed.values(), key=lambda p: p.id))
    assert all(type(p.front) is pickling.VARIANTS[FrontMatter] for p in pages)
    site = replace(assembled, pages=pages, by_id={p.id: p for p in pages})
    views = ViewBuilder(site, cache.structure.links, cache.structure.graph, config)

    def unpacked() -> set[str]:
        return {p.id for p in pages if p.front._unpacked[0] is not None}  # type: ignore[attr-defined]

    listed = {c.name: c.spokes for c in views.site_view().clusters}
    assert [s.title for s in listed["topic"]] == ["Alpha", "Beta"]
    assert unpacked() == set() and not views.summaries_read
    assert [s.summary for s in listed["topic"]] == ["About alpha.", "Bee."]
    assert unpacked() == {"topic/a", "topic/b"} and views.summaries_read


def test_the_sitemap_feeds_redirects_and_assembly_read_no_packed_front_matter(
    tmp_path: Path,
) -> None:
    """What every page is read for after a front matter edit (dates, aliases, draft flags,
    keywords: model.FRONT_HEAD) loads unpacked: assembling the site and making the
    sitemap and redirects unpack no cached page's front matter, and the site feed only
    that of the articles it shows (for their summaries and authors)."""
    from intimacy_ssg import pickling
    from intimacy_ssg.model import FrontMatter
    from intimacy_ssg.site import assemble_site
    from intimacy_ssg.sitefiles import redirects, site_feed, sitemap

    files = {
        **SITE,
        "topic/a.md": page("Alpha", "[[b]]\n", date="2024-01-02", aliases="[/old-a/]"),
        "other/c.md": page("Gamma", "Third.\n", updated="2024-03-04", keywords="[gamma ray]"),
    }
    with trusting_stats():
        root = project(tmp_path, files)
        cached_build(root)
        config = config_of(root)
        store = CacheStore.for_config(root / ".cache", config)
        store.load_pages(cache := store.load())
    pages = tuple(sorted(cache.parsed.values(), key=lambda p: p.id))
    assert all(type(p.front) is pickling.VARIANTS[FrontMatter] for p in pages)

    def unpacked() -> set[str]:
        return {p.id for p in pages if p.front._unpacked[0] is not None}  # type: ignore[attr-defined]

    site = assemble_site(pages, (), "content")
    made = [sitemap(site, config), *redirects(site, config)]
    assert unpacked() == set()
    assert b"<lastmod>2024-03-04</lastmod>" in made[0].data
    assert [f.rel for f in made[1:]] == ["old-a/index.html"]
    assert [p.front.keywords for p in pages if p.front.keywords] == [("gamma ray",)]
    assert b"Alpha" in site_feed(site, config).data
    assert unpacked() == {"topic/a"}  # the one article: a spoke with a date


def _render_keys(root: Path) -> dict[str, tuple[bytes, str]]:
    """Each output's render memo (its key, and the site-wide key it read) from the cache."""
    store = CacheStore.for_config(root / ".cache", config_of(root))
    cache = store.load()
    store.load_pages(cache)
    return {rel: (memo[0], memo[3]) for rel, memo in cache.rendered.items()}


def test_a_template_edit_rerenders_only_the_pages_using_it(tmp_path: Path) -> None:
    with trusting_stats():
        root = project(tmp_path)
        cached_build(root)
        touch(root / "templates/map.html", (root / "templates/map.html").read_text() + "<!-- -->\n")
        result = cached_build(root)
    assert result.rendered == 2  # the two cluster maps
    assert tree(root / "output") == clean_tree(root)


def test_a_static_file_edit_is_only_copied(tmp_path: Path) -> None:
    with trusting_stats():
        root = project(tmp_path)
        cached_build(root)
        before = mtimes(root / "output")
        css = root / "static/css/site.css"
        touch(css, css.read_text() + "\n/* more */\n")
        result = cached_build(root)
    after = mtimes(root / "output")
    assert result.rendered == 0
    assert sorted(rel for rel in after if after[rel] != before.get(rel)) == ["css/site.css"]
    assert tree(root / "output") == clean_tree(root)


def test_a_large_sites_rebuild_gets_its_templates_compiled_by_a_forked_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command-line rebuild of a large site (a fresh process reading its cache) has a
    forked process compile the templates while it loads; it compiles none itself."""
    import jinja2

    from intimacy_ssg import render

    monkeypatch.setattr(importlib.import_module("intimacy_ssg.build"), "APART_MIN", 0)
    with trusting_stats():
        root = project(tmp_path)
        cached_build(root)
        b = root / "content/topic/b.md"
        touch(b, b.read_text() + "\nMore prose.\n")
        monkeypatch.setattr(render, "_TEMPLATES", {})  # as in a new process
        compiled: list[str] = []
        original = jinja2.Environment.compile

        def counted(self: jinja2.Environment, source: Any, name: Any = None, *rest: Any) -> Any:
            compiled.append(str(name))  # in this process only: a forked one has its own list
            return original(self, source, name, *rest)

        monkeypatch.setattr(jinja2.Environment, "compile", counted)
        result = cached_build(root)
    assert result.rendered == 1 and compiled == []
    assert tree(root / "output") == clean_tree(root)


@pytest.mark.parametrize("guess", ["right", "wrong"])
def test_a_large_sites_rebuild_gets_its_edited_pages_parsed_by_a_forked_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guess: str
) -> None:
    """A command-line rebuild of a large site has the forked process that compiles the
    templates parse the pages changed since the last build first: this process parses none.
    A page parsed there from other bytes than the build reads (the file changed again
    meanwhile) is not used: this process parses the file it read, and keeps only that."""
    from intimacy_ssg import discover, parallel

    monkeypatch.setattr(importlib.import_module("intimacy_ssg.build"), "APART_MIN", 0)
    if guess == "wrong":
        real_changed = discover.changed_sources

        def changed_again(*args: Any) -> Any:  # runs in the forked process
            return [
                replace(s, data=(older := s.data + OLDER), digest=hashlib.sha256(older).digest())
                for s in real_changed(*args)
            ]

        monkeypatch.setattr(discover, "changed_sources", changed_again)
    with trusting_stats():
        root = project(tmp_path)
        cached_build(root)
        b = root / "content/topic/b.md"
        touch(b, b.read_text() + "\nMore prose.\n")
        parsed_here: list[str] = []
        real_parse = parallel.guarded_parse

        def spied(source: Any, *args: Any) -> Any:
            if os.getpid() == parent:  # a forked process's record is not seen here anyway
                parsed_here.append(source.page_id)
            return real_parse(source, *args)

        parent = os.getpid()
        monkeypatch.setattr(parallel, "guarded_parse", spied)
        result = cached_build(root)
        store = CacheStore.for_config(root / ".cache", config_of(root))
        cache = store.load()
        store.load_pages(cache)
    assert result.rendered == 1
    assert parsed_here == ([] if guess == "right" else ["topic/b"])
    assert tree(root / "output") == clean_tree(root)
    assert OLDER.strip() not in (root / "output/topic/b/index.html").read_bytes()
    read = b.read_bytes()
    assert ("topic/b.md", hashlib.sha256(read).digest()) in cache.parsed  # the page as read
    assert ("topic/b.md", hashlib.sha256(read + OLDER).digest()) not in cache.parsed


OLDER = b"\nOlder words.\n"


def test_mentions_checked_by_a_forked_process_fill_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forked mention check (large sites) sends back its findings for the cache and the
    table of phrases: a prose edit afterwards uses both, and reports what a clean build does."""
    monkeypatch.setattr(importlib.import_module("intimacy_ssg.build"), "APART_MIN_PAGES", 0)
    with trusting_stats():
        files = {
            **SITE,
            "about.md": page("About", "The first letter comes first.\n"),
            "topic/a.md": page("Alpha", "First. [[b]] [[topic]]\n", keywords="[first letter]"),
        }
        root = project(tmp_path, files)
        cache = BuildCache()
        first = cached_build(root, cache)
        assert first.site is not None and cache.structure is not None
        assert set(cache.mentions) == {"", *(p.id for p in first.site.pages)}  # "": the basis
        assert cache.structure.phrases  # the table came back too
        b = root / "content/topic/b.md"
        touch(b, b.read_text() + "\nMore prose.\n")
        second = cached_build(root, cache)
    assert second.rendered == 1
    shown = [d.format() for d in second.diagnostics]
    assert shown == clean_build(root)[0]
    found = cache.mentions["about"][2]  # found before severities apply (this test's are off)
    assert [d.code for d in found] == ["unlinked-mention"]


@pytest.mark.parametrize("forked", [False, True], ids=["here", "forked"])
def test_graph_json_and_the_packed_graph_made_apart_equal_those_made_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forked: bool
) -> None:
    """In a rebuild of a large site from a cache on disk, a forked process stages
    graph.json and packs the new graph for the cache file while the build checks FAQs
    and renders: the output, and the graph the next build reads back from the cache, are
    the same as when this process does both."""
    build_module = importlib.import_module("intimacy_ssg.build")
    monkeypatch.setattr(build_module, "APART_MIN", 0 if forked else 10**9)
    made: list[bool] = []
    real = build_module._graph_outputs

    def spied(*args: Any) -> Any:
        made.append(os.getpid() != parent)
        return real(*args)

    parent = os.getpid()
    monkeypatch.setattr(build_module, "_graph_outputs", spied)
    with trusting_stats():
        root = project(tmp_path)
        first = cached_build(root)  # cold: graph.json made, nothing to pack (no memo yet)
        a = root / "content/topic/a.md"
        touch(a, a.read_text().replace("title: Alpha", "title: Alpha, retitled"))
        second = cached_build(root)  # a new frame: graph.json and the graph packed
        store = CacheStore.for_config(root / ".cache", config_of(root))
        cache = store.load()
        store.load_pages(cache)
    assert first.written and second.written
    assert tree(root / "output") == clean_tree(root)
    assert cache.structure is not None and second.graph is not None
    assert type(cache.structure.graph) is not type(second.graph)  # read back packed
    assert cache.structure.graph == second.graph
    # the cold build and the clean one make them here; the rebuild here, or in a forked
    # process (whose own record is not seen here)
    assert made == ([False] * 2 if forked else [False] * 3)


def test_graph_json_is_handed_to_its_forked_process_before_the_faq_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a title edit of a large site, the forked process that makes graph.json and
    packs the graph is started as soon as the graph is made: before the FAQ check (and the
    wait for the mention check, which follows it), not when rendering starts, so that it
    works meanwhile instead of being waited for at the end of the render."""
    from intimacy_ssg import faq as faq_module

    build_module = importlib.import_module("intimacy_ssg.build")
    monkeypatch.setattr(build_module, "APART_MIN", 0)
    monkeypatch.setattr(build_module, "APART_MIN_PAGES", 0)
    events = spy_aparts(monkeypatch)  # the FAQ check recorded among them, below
    groups = faq_module.repeated_groups

    def checked(*args: Any, **kwargs: Any) -> Any:
        events.append(("faq check", False))
        return groups(*args, **kwargs)

    monkeypatch.setattr(faq_module, "repeated_groups", checked)
    with trusting_stats():
        root = project(tmp_path)
        assert cached_build(root).written
        a = root / "content/topic/a.md"
        touch(a, a.read_text().replace("title: Alpha", "title: Alpha, retitled"))
        events.clear()
        assert cached_build(root).written
    assert tree(root / "output") == clean_tree(root)
    assert ("_graph_outputs", True) in events
    assert events.index(("_graph_outputs", True)) < events.index(("faq check", False))


@pytest.mark.parametrize("how", ["here", "forked", "forked-failing"])
def test_a_cold_builds_pages_saved_by_a_forked_process_are_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A large site's pages, when saved whole (here, the cold build), are saved by a
    forked process while the build ends; if that process fails, by the build itself. Either
    way the next build reads every page but the edited one back from the cache, and its
    output is a clean build's."""
    from intimacy_ssg.model import PackedPage

    build_module = importlib.import_module("intimacy_ssg.build")
    monkeypatch.setattr(build_module, "APART_MIN_PAGES", 10**9 if how == "here" else 0)
    parent, record = os.getpid(), tmp_path / "savers"
    real = CacheStore.save_pages

    def spied(self: CacheStore, parsed: Any) -> bool:
        with record.open("a") as saver:  # the forked process's own memory is not seen here
            saver.write("apart\n" if os.getpid() != parent else "here\n")
        if how == "forked-failing" and os.getpid() != parent:
            raise RuntimeError("the forked process fails")
        return real(self, parsed)

    monkeypatch.setattr(CacheStore, "save_pages", spied)
    with trusting_stats():
        root = project(tmp_path)
        store = CacheStore.for_config(root / ".cache", config_of(root))
        resident = store.load()  # kept between builds, as `build --watch` keeps them
        build(config_of(root), cache=resident, store=store)
        saved = record.read_text().split()
        b = root / "content/topic/b.md"
        touch(b, b.read_text() + "\nMore prose.\n")
        build(config_of(root), cache=resident, store=store)  # it knows they were saved
        delta, _ = cache_module._read(store.delta, store.scope)
        assert delta is not None and [rel for rel, _ in delta["parsed"]] == ["topic/b.md"]
        touch(b, b.read_text() + "\nAnd more.\n")
        store = CacheStore.for_config(root / ".cache", config_of(root))  # a new process
        cache = store.load()
        result = build(config_of(root), cache=cache, store=store)
    assert (
        saved == {"here": ["here"], "forked": ["apart"], "forked-failing": ["apart", "here"]}[how]
    )
    assert record.read_text().split() == saved  # the edits saved a delta, not every page
    assert result.rendered == 1 and result.site is not None and cache.note == ""
    others = [p for p in result.site.pages if p.id != "topic/b"]
    assert len(others) == len(SITE) - 1 and all(type(p) is PackedPage for p in others)
    assert tree(root / "output") == clean_tree(root)


def test_a_build_failing_while_its_pages_are_saved_apart_waits_for_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that fails after handing its pages' save to a forked process waits for it
    rather than killing it halfway through a file: the pages file is whole, and no
    temporary file is left in the cache's folder."""
    build_module = importlib.import_module("intimacy_ssg.build")
    monkeypatch.setattr(build_module, "APART_MIN_PAGES", 0)
    real = CacheStore.save_pages

    def slow(self: CacheStore, parsed: Any) -> bool:
        time.sleep(0.5)  # still at work when the build fails
        return real(self, parsed)

    monkeypatch.setattr(CacheStore, "save_pages", slow)
    monkeypatch.setattr(build_module, "known_files", mock.Mock(side_effect=OSError("full")))
    root = project(tmp_path)
    with pytest.raises(OSError, match="full"):
        cached_build(root)
    store = CacheStore.for_config(root / ".cache", config_of(root))
    fields, why = cache_module._read(store.pages, store.scope)
    assert fields is not None and why == "" and len(fields["parsed"]) == len(SITE)
    assert cache_module._open_side(store.bodies, fields["side"])
    assert [p.name for p in store.pages.parent.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("apart", [False, True], ids=["here", "forked"])
@pytest.mark.parametrize("edit", [False, True], ids=["no-op", "prose-edit"])
def test_a_hand_edited_output_file_is_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, apart: bool, edit: bool
) -> None:
    """What the last build wrote is verified by stat before it is trusted: in this process,
    or (for a large site read from disk) in a forked one meanwhile (write.OutputCheck)."""
    forks = []
    init = OutputCheck.__init__

    def counted(self: OutputCheck, *args: Any, **options: Any) -> None:
        init(self, *args, **options)
        forks.append(self.forked)

    monkeypatch.setattr(OutputCheck, "__init__", counted)
    monkeypatch.setattr(
        importlib.import_module("intimacy_ssg.build"), "APART_MIN", 0 if apart else 10**9
    )
    with trusting_stats():
        root = project(tmp_path)
        cached_build(root)
        assert cached_build(root).unchanged  # the check passes when nothing changed
        good = (root / "output/about/index.html").read_bytes()
        (root / "output/about/index.html").write_bytes(b"defaced")
        if edit:
            b = root / "content/topic/b.md"
            touch(b, b.read_text() + "\nMore prose.\n")
        result = cached_build(root)
    assert not result.unchanged
    assert (root / "output/about/index.html").read_bytes() == good
    assert tree(root / "output") == clean_tree(root)
    assert forks == [apart, apart]  # the two builds that had an output to check


def test_a_watchers_build_trusts_the_output_and_a_full_build_mends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build given the folders a watcher saw change (`touched`) lists only those and
    trusts output/ to hold what the last build wrote, stat'ing none of it: a file removed
    from output/ meanwhile is not seen. The check the watcher makes once all is quiet
    (build.confirmed) sees it, and the full build that follows writes it again."""
    write_module = importlib.import_module("intimacy_ssg.write")
    with trusting_stats():
        root = project(tmp_path)
        config = config_of(root)
        roots = (config.content_dir, config.templates_dir, config.static_dir)
        cache = BuildCache()
        assert not confirmed(config, cache, write=True)  # nothing built yet
        assert build(config, cache=cache).written
        assert confirmed(config, cache, write=True)
        about = root / "content/about.md"
        touch(about, about.read_text() + "\nUnreported.\n")
        assert not confirmed(config, cache, write=True)  # an input changed unseen
        assert build(config, cache=cache).rendered  # a full build finds it
        assert "Unreported." in (root / "output/about/index.html").read_text()
        assert confirmed(config, cache, write=True)
        gone = root / "output/about/index.html"
        gone.unlink()
        b = root / "content/topic/b.md"
        with monkeypatch.context() as patch:
            patch.setattr(write_module, "verified", mock.Mock(side_effect=AssertionError))
            assert build(config, cache=cache, touched=frozenset()).unchanged
            touch(b, b.read_text() + "\nMore prose.\n")
            result = build(config, cache=cache, touched=touched_folders([str(b)], roots))
        assert result.written and result.rendered == 1 and not gone.exists()
        assert "More prose." in (root / "output/topic/b/index.html").read_text()
        assert not confirmed(config, cache, write=True)  # output/ lacks a file
        full = build(config, cache=cache)
    assert full.changed == 1 and gone.exists()
    assert tree(root / "output") == clean_tree(root)


def test_a_full_build_after_the_watchers_check_is_said_only_if_it_adds_something() -> None:
    """When the check once all is quiet finds the inputs changed, the full build that
    follows is reported only if it is not a no-op and made, changed or found something
    the last report did not say (cli._watch): a swap file alone changes the listing."""
    from intimacy_ssg import diagnostics as diag
    from intimacy_ssg.diagnostics import Location

    said = (diag.make("orphan", "no other page links here", Location("content/a.md", 1, 1)),)
    quiet = BuildResult(said, pages=3, written=True)
    assert BuildResult((), 3, True, unchanged=True).adds_nothing(False, said)
    assert quiet.adds_nothing(False, said)
    assert not replace(quiet, rendered=1).adds_nothing(False, said)
    assert not replace(quiet, changed=1).adds_nothing(False, said)
    assert not replace(quiet, diagnostics=()).adds_nothing(False, said)
    assert not quiet.adds_nothing(True, said)  # strict: the warning fails the build


def test_no_cache_builds_everything_and_saves_nothing(tmp_path: Path) -> None:
    root = project(tmp_path)
    first = build(config_of(root))
    second = build(config_of(root))
    assert first.written and second.written and not second.unchanged
    assert second.rendered == first.rendered == len(SITE) + 3
    assert not (root / ".cache").exists()


# -- a cache is advice, never trusted ----------------------------------------------------------


def damaged(root: Path, how: str) -> str:
    """Build once, damage the cache files, build again: return the note the build gave."""
    cached_build(root)
    suffix = ".memo" if how.startswith("memo ") else ".state"
    how = how.removeprefix("memo ")
    state = next((root / ".cache/intimacy-ssg").glob(f"*{suffix}"))
    blob = state.read_bytes()
    if how == "flip":
        state.write_bytes(blob[:-10] + bytes([blob[-10] ^ 0xFF]) + blob[-9:])
    elif how == "garbage":
        state.write_bytes(b"not a cache at all")
    elif how == "truncated":
        state.write_bytes(blob[: len(blob) // 2])
    elif how == "planted":  # a well-formed file whose pickle would run a command
        body = pickle.dumps({"last": _Evil()})
        header = blob[: len(MAGIC) + 2 + 16]
        state.write_bytes(header + body + zlib.crc32(body).to_bytes(4, "big"))
    (root / "content/about.md").write_text(page("About us", "[[index]]\n"))
    config = config_of(root)
    store = CacheStore.for_config(root / ".cache", config)
    cache = store.load()
    result = build(config, cache=cache, store=store)
    assert result.written and not result.unchanged
    assert tree(root / "output") == clean_tree(root)
    return cache.note


class _Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch /tmp/intimacy-ssg-pwned",))


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("flip", "corrupt (checksum mismatch)"),
        ("garbage", "is not a cache file"),
        ("truncated", "corrupt (checksum mismatch)"),
        ("planted", "could not be read (UnpicklingError)"),
        ("memo flip", "corrupt (checksum mismatch)"),
        ("memo planted", "could not be read (UnpicklingError)"),
    ],
)
def test_a_damaged_cache_is_ignored(tmp_path: Path, how: str, said: str) -> None:
    note = damaged(project(tmp_path), how)
    assert said in note
    assert not Path("/tmp/intimacy-ssg-pwned").exists()


def _entries(value: Any) -> Any:
    return {key: 5 for key in value}


# (file, field, what replaces the field, whether using it fails the build): memos of the
# wrong shape in a file whose checksum is right, as written by hand
PLANTED = [
    ("memo", "related", lambda v: {k: e[:2] for k, e in v.items()}, True),
    ("memo", "related", _entries, True),
    ("memo", "mentions", _entries, True),
    ("memo", "rendered", _entries, True),
    ("memo", "rendered", lambda v: 7, True),
    ("memo", "known", _entries, True),
    ("memo", "known", lambda v: [], True),
    ("memo", "faq_groups", _entries, True),
    ("memo", "render_keys", _entries, True),
    ("memo", "faq_index", _entries, False),
    ("memo", "templates", _entries, False),
    ("memo", "assembled", _entries, False),
    ("memo", "render_extras", lambda v: 5, False),
    ("memo", "render_extras", lambda v: (v[0], (5,)), False),
    ("memo", "render_feed", lambda v: (v[0], ("nowhere",)), False),
    ("memo", "render_feed", lambda v: [], False),
    ("state", "last", lambda v: 5, False),
    ("state", "output", lambda v: 5, False),
    ("state", "output", _entries, False),
]


@pytest.mark.parametrize(
    ("suffix", "name", "plant", "fails"),
    PLANTED,
    ids=[f"{s} {n} {i}" for i, (s, n, _, _) in enumerate(PLANTED)],
)
@pytest.mark.parametrize("edited", [True, False], ids=["edited", "unedited"])
def test_a_cache_of_the_wrong_shape_is_not_trusted(
    tmp_path: Path, suffix: str, name: str, plant: Any, fails: bool, edited: bool
) -> None:
    """A cache file whose checksum is right but whose entries are of the wrong shape: the
    state file is checked when read; a memo that makes the build fail has the build made
    again without the cache, with a note (and a CacheFallback warning for callers). The
    output is a clean build's either way, never a traceback."""
    from intimacy_ssg.build import CacheFallback

    with trusting_stats():
        root = project(tmp_path)
        cached_build(root)
        config = config_of(root)
        store = CacheStore.for_config(root / ".cache", config)
        made = next((root / ".cache/intimacy-ssg").glob(f"*.{suffix}"))
        fields, _ = cache_module._read(made, store.scope)
        assert fields is not None and fields[name]  # planted over something real
        cache_module._write(made, store.scope, {**fields, name: plant(fields[name])})
        for changes in (root / ".cache/intimacy-ssg").glob("*.changes"):
            changes.unlink()
        if edited:
            touch(root / "content/about.md", page("About us", "[[index]] and more.\n"))
        cache = store.load()
        if fails and edited:  # a no-op build reads no memo
            with pytest.warns(CacheFallback, match="internal error"):
                result = build(config, cache=cache, store=store)
            assert "internal error" in cache.note
            assert "built without the build cache" in cache.note
        else:
            result = build(config, cache=cache, store=store)
        if suffix == "state":
            assert "unexpected shape" in cache.note
    assert result.written and tree(root / "output") == clean_tree(root)


def test_a_failing_search_index_is_not_blamed_on_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pagefind failing is a tool's problem: the build is not made again without the cache
    (no CacheFallback: the suite makes warnings errors), and the command line says it in
    one line, leaving the previous output as it was."""
    import subprocess

    from intimacy_ssg.cli import main
    from intimacy_ssg.write import SearchIndexFailed

    root = project(tmp_path)
    monkeypatch.chdir(root)
    assert main(["build"]) == 0
    before = tree(root / "output")
    (root / "site.yaml").write_text(SITE_YAML.replace("search: false", "search: true"))
    failed = subprocess.CompletedProcess([], 1, "", "boom")
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: failed)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: object())
    config = load_config(Path("."))
    store = CacheStore.for_config(Path(".cache"), config)
    with pytest.raises(SearchIndexFailed, match="pagefind failed: boom"):
        build(config, cache=store.load(), store=store)
    capsys.readouterr()
    assert main(["build"]) != 0
    said = capsys.readouterr().err
    assert "error: pagefind failed: boom; the previous output was left as it was" in said
    assert "Traceback" not in said and "note:" not in said
    assert tree(root / "output") == before


def test_the_command_line_says_why_it_built_without_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from intimacy_ssg.cli import main

    root = project(tmp_path)
    monkeypatch.chdir(root)
    assert main(["build"]) == 0
    config = load_config(Path("."))
    store = CacheStore.for_config(Path(".cache"), config)
    fields, _ = cache_module._read(store.memo, store.scope)
    assert fields is not None
    cache_module._write(
        store.memo, store.scope, {**fields, "mentions": _entries(fields["mentions"])}
    )
    touch(root / "content/about.md", page("About us", "[[index]] and more.\n"))
    capsys.readouterr()
    assert main(["build"]) == 0  # no CacheFallback escapes the command line
    said = capsys.readouterr().err
    assert "note: the build cache led to an internal error (TypeError" in said
    assert "Traceback" not in said
    assert tree(root / "output") == clean_tree(root)


def test_building_from_another_folder_names_files_from_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Diagnostics name files relative to the working directory, and cached pages carry
    those names: a build run from elsewhere must not reuse them."""
    with trusting_stats():
        (tmp_path / "p").mkdir()
        root = project(tmp_path / "p", {**SITE, "about.md": page("About", "[[nowhere]]\n")})
        monkeypatch.chdir(root)
        first = cached_build(root)
        monkeypatch.chdir(tmp_path)
        again = cached_build(root)
    broken = [d for d in first.diagnostics if d.code == "broken-link"]
    broken_again = [d for d in again.diagnostics if d.code == "broken-link"]
    assert [d.location.path for d in broken] == ["content/about.md"]
    assert [d.location.path for d in broken_again] == ["p/content/about.md"]
    assert [d.message for d in again.diagnostics] == [d.message for d in first.diagnostics]
    assert {d.location.path for d in again.diagnostics} == {
        "p/" + d.location.path for d in first.diagnostics
    }


def test_a_cache_from_another_configuration_is_not_used(tmp_path: Path) -> None:
    root = project(tmp_path)
    cached_build(root)
    (root / "site.yaml").write_text("title: Another title\nsearch: false\n")
    result = cached_build(root)
    assert result.rendered == len(SITE) + 3  # nothing reused
    assert b"Another title" in (root / "output/index.html").read_bytes()


# -- incremental commits and their journal -----------------------------------------------------


def test_an_interrupted_incremental_commit_is_completed_by_the_next_build(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    with OutputWriter(out, incremental=False) as writer:
        for name in ("a", "b", "c"):
            writer.put(f"{name}/index.html", b"old " + name.encode())
        writer.commit()
    manifest = writer.manifest
    real_replace = os.replace
    moved: list[str] = []

    def dies_after_one_move(source: object, target: object) -> None:
        if str(target).endswith("index.html") and moved:
            raise KeyboardInterrupt  # as good as a SIGKILL for what is left on disk
        real_replace(source, target)  # type: ignore[arg-type]
        if str(target).endswith("index.html"):
            moved.append(str(target))

    with (
        mock.patch("intimacy_ssg.write.os.replace", dies_after_one_move),
        pytest.raises(KeyboardInterrupt),
        OutputWriter(out, manifest) as writer,
    ):
        writer.put("a/index.html", b"new a")
        writer.put("b/index.html", b"new b")
        writer.commit()
    assert (out / "a/index.html").read_bytes() == b"new a"  # half done...
    assert (out / "b/index.html").read_bytes() == b"old b"
    assert recover(out)  # ...and completed, from the journal, before anything else
    assert {k: v for k, v in tree(out).items() if k.endswith(".html")} == {
        "a/index.html": b"new a",
        "b/index.html": b"new b",
    }
    assert not recover(out)


def test_large_fields_are_saved_in_chunks_and_read_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "x.pages"
    parsed = {(f"p{n}.md", bytes([n % 256])): n for n in range(2 * cache_module.CHUNK + 5)}
    cache_module._write(path, b"s" * 16, {"parsed": parsed, "small": {"a": 1}})
    fields, why = cache_module._read(path, b"s" * 16)
    assert why == "" and fields == {"parsed": parsed, "small": {"a": 1}}
    assert list(fields["parsed"]) == list(parsed)  # the order too


@pytest.mark.parametrize("mapped", [True, False])
def test_a_cache_file_reads_the_same_mapped_or_read_whole(tmp_path: Path, mapped: bool) -> None:
    """Cache files are mapped (their bytes not copied); where a file cannot be mapped (an
    empty one, or no mmap), it is read whole: the fields, or why not, are the same, and
    no file is left mapped."""
    path = tmp_path / "x.memo"
    fields = {"parsed": {f"p{n}": n for n in range(cache_module.CHUNK + 3)}, "small": b"s"}
    cache_module._write(path, b"s" * 16, fields)
    whole = path.read_bytes()
    header = len(cache_module.MAGIC) + 2 + 16
    cases = {
        "whole": (whole, ""),
        "empty": (b"", "is not a cache file"),
        "header only": (whole[:header], "corrupt (checksum mismatch)"),
        "short": (whole[: header + 3], "corrupt (checksum mismatch)"),
        "cut": (whole[:-1], "corrupt (checksum mismatch)"),
        "other scope": (whole[: header - 1] + b"t" + whole[header:], ""),
    }
    unmappable = mock.patch("mmap.mmap", side_effect=OSError("no mmap"))
    with nullcontext() if mapped else unmappable as refused:
        for data, why in cases.values():
            path.write_bytes(data)
            read, said = cache_module._read(path, b"s" * 16)
            assert read == (fields if data == whole else None)
            assert why in said if why else said == ""  # a stale file goes unremarked
    assert mapped or (refused is not None and refused.call_count == len(cases))  # read whole
    assert str(path) not in Path("/proc/self/maps").read_text()


def test_cached_pages_come_back_equal_and_still_frozen(tmp_path: Path) -> None:
    """Dataclasses are rebuilt by makers that set their slots directly (pickling.py): the
    values must equal what was saved, with the same types, and stay immutable."""
    import dataclasses

    from intimacy_ssg import pickling

    root = project(tmp_path, {**SITE, "about.md": page("About", "[[nowhere]]\n")})
    result = build(load_config(root), write=False)
    assert result.site is not None and result.graph is not None
    saved = (result.site.pages, result.graph, result.diagnostics)
    loaded = pickling.safe_loads(pickle.dumps(saved, protocol=5))
    assert loaded == saved
    assert [type(p) for p in loaded[0]] == [type(p) for p in saved[0]]
    assert loaded[2][0].location == saved[2][0].location  # nested: Diagnostic -> Location
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded[0][0].word_count = 1
    assert "make__model__Page" in pickling.MAKERS
    planted = pickle.dumps(pickling.register)  # a function of that module, but no maker
    for _ in range(2):  # what was refused is refused again: only admissions are remembered
        with pytest.raises(pickle.UnpicklingError):
            pickling.safe_loads(planted)
        with pytest.raises(pickle.UnpicklingError):
            pickling.safe_loads(pickle.dumps(os.system))
        assert pickling.safe_loads(pickle.dumps(saved, protocol=5)) == saved


def test_enum_members_are_saved_by_name_once_and_nothing_else_is_found_by_a_dotted_name() -> None:
    """A member (every cached page holds a PageKind) is pickled as a global, named once per
    file and remembered after; only members and this package's dataclasses and enums are
    admitted by a dotted name, never what an attribute chain reaches past them."""
    from intimacy_ssg import pickling
    from intimacy_ssg.model import LinkKind, PageKind

    members = [PageKind.HUB, PageKind.SPOKE, PageKind.HUB, LinkKind.WIKI] * 50
    blob = pickle.dumps(members, protocol=5)
    assert blob.count(b"PageKind.HUB") == 1 and blob.count(b"LinkKind.WIKI") == 1
    loaded = pickling.safe_loads(blob)
    assert all(a is b for a, b in zip(loaded, members, strict=True))
    for name in ("PageKind._value2member_map_", "PageKind.HUB.__class__.__call__", "Page.id"):
        planted = b"\x80\x05\x8c\x12intimacy_ssg.model\x94\x8c" + bytes([len(name)])
        planted += name.encode() + b"\x94\x93\x94."
        with pytest.raises(pickle.UnpicklingError, match="not allowed"):
            pickling.safe_loads(planted)
    assert pickling.safe_loads(planted.replace(b"\x07Page.id", b"\x0cPageKind.HUB")) is PageKind.HUB


def test_a_new_process_reads_every_cache_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading happens before most modules are imported (the graph's, for one): each cache
    file must still be readable from a fresh process, not silently ignored."""
    import subprocess
    import sys

    root = project(tmp_path)

    def run() -> str:
        command = [sys.executable, "-m", "intimacy_ssg", "build"]
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True)
        return done.stderr

    assert "note:" not in run()
    touch(
        root / "content/topic/a.md", page("Alpha", "First, edited. [[b]] [[topic]]\n", tags="[x]")
    )
    assert "note:" not in run()
    monkeypatch.chdir(root)  # cached diagnostics name files from where the build ran
    store = CacheStore.for_config(Path(".cache"), load_config(Path(".")))
    for path in (store.pages, store.memo, store.structure):
        fields, why = cache_module._read(path, store.scope)
        assert fields is not None and why == ""


def _unpacked(obj: object) -> list[bool]:
    """Which packed groups of an object loaded from the cache have been read."""
    return [group is not None for group in obj._unpacked]  # type: ignore[attr-defined]


def test_a_prose_edit_from_disk_unpacks_only_the_page_it_renders(tmp_path: Path) -> None:
    """Cached pages, links and the graph load with their bulky fields packed (PackedPage and
    friends in pickling.py). A prose edit must read them only where it renders: one stage
    reading every page's FAQ or links would quietly undo the saving."""
    from intimacy_ssg.graph import PackedGraph
    from intimacy_ssg.model import PackedLinks, PackedPage

    with trusting_stats():
        root = project(tmp_path)
        cached_build(root)
        b = root / "content/topic/b.md"
        touch(b, b.read_text() + "\nMore prose.\n")
        store = CacheStore.for_config(root / ".cache", config_of(root))
        cache = store.load()
        result = build(config_of(root), cache=cache, store=store)
    assert result.rendered == 1 and result.site is not None and result.graph is not None
    assert cache.structure is not None and type(cache.structure.links) is PackedLinks
    assert list(cache.structure.links.resolved._values) == ["topic/b"]  # type: ignore[attr-defined]
    assert tree(root / "output") == clean_tree(root)
    pages = {p.id: p for p in result.site.pages}
    assert type(pages["topic/b"]) is not PackedPage  # parsed again: a plain Page
    others = [p for p in pages.values() if p.id != "topic/b"]
    assert others and all(type(p) is PackedPage for p in others)
    assert [p.id for p in others if any(_unpacked(p))] == []  # bodies: its own only
    # front matter: of the pages its own output shows only (its hub, sibling and related
    # page); "about", "index" and "other" stay packed (the header's titles are not packed)
    shows = {"topic", "topic/a", "other/c"}
    assert {p.id for p in others if any(_unpacked(p.front))} <= shows
    assert type(result.graph) is PackedGraph and _unpacked(result.graph) == [False, False]


def test_a_quiz_page_keeps_its_template_through_cached_rebuilds(tmp_path: Path) -> None:
    """A rebuild picks an unchanged page's template from its render memo, without reading
    its front matter (see render_site): the quiz must still get quiz.html, and lose it
    when its source drops the quiz."""
    front = (REPO / "content/quiz.md").read_text().split("---\n")[1]
    skip = ("related:", "author:")  # pages and authors this small site does not have
    front = "".join(line for line in front.splitlines(True) if not line.startswith(skip))
    front = re.sub(r"links: \[.*\]", "links: [topic/a]", front)
    quiz = f"---\n{front}---\nA reflection. [[topic]]\n"
    with trusting_stats():
        root = project(tmp_path, {**SITE, "quiz.md": quiz})
        assert cached_build(root).written

        def form() -> bool:
            return '<form class="quiz"' in (root / "output/quiz/index.html").read_text()

        assert form()
        b = root / "content/topic/b.md"
        touch(b, b.read_text() + "\nMore prose.\n")  # another page edited: the quiz reused
        assert cached_build(root).rendered == 1 and form()
        touch(root / "content/quiz.md", quiz + "\nMore.\n")  # the quiz itself edited
        assert cached_build(root).rendered >= 1 and form()
        assert tree(root / "output") == clean_tree(root)
        touch(root / "content/quiz.md", page("Quiz", "No statements now. [[topic]]\n"))
        assert cached_build(root).written and not form()
        assert tree(root / "output") == clean_tree(root)


def test_a_prose_edit_from_disk_reuses_the_phrase_table_and_the_site_wide_key(
    tmp_path: Path,
) -> None:
    """The mention check's table of phrases and the site-wide part of every render key are
    made from every page: a prose edit, in a new process, reads both from the cache."""
    from intimacy_ssg import mentions, views

    files = {**SITE, "other/d.md": page("Delta Wave", "Fourth. [[other]]\n", tags="[x]")}
    severity = tuple(rule for rule in GRAPH_RULES_OFF if rule[0] != "unlinked-mention")
    with trusting_stats():
        root = project(tmp_path, files)
        config = replace(load_config(root), severity=severity)

        def new_process_build() -> BuildResult:
            store = CacheStore.for_config(root / ".cache", config)
            return build(config, cache=store.load(), store=store)

        assert not [d for d in new_process_build().diagnostics if d.code == "unlinked-mention"]
        b = root / "content/topic/b.md"
        touch(b, b.read_text() + "\nA delta wave passes by.\n")
        real = views.ViewBuilder.cluster_key
        with (
            mock.patch.object(mentions, "_phrases", side_effect=AssertionError),
            mock.patch.object(
                views.ViewBuilder, "cluster_key", autospec=True, side_effect=real
            ) as cluster_key,
        ):
            result = new_process_build()
    assert result.written and result.rendered == 1
    assert [c.args[1] for c in cluster_key.call_args_list] == ["topic"]  # b's own, no other
    found = [d for d in result.diagnostics if d.code == "unlinked-mention"]
    assert [(d.location.path, d.message) for d in found] == [
        (str(b), "mentions 'Delta Wave' without linking it")
    ]
    assert tree(root / "output") == clean_tree(root)


def test_rebuilds_with_the_cache_in_memory_read_the_phrase_table_once(tmp_path: Path) -> None:
    """A process that builds again and again (`build --watch`, the preview) passes the same
    table of phrases while no title or keyword changes: it is read back once, and each
    prose edit still finds what a clean build finds."""
    from intimacy_ssg.pickling import safe_loads

    files = {**SITE, "other/d.md": page("Delta Wave", "Fourth. [[other]]\n", tags="[x]")}
    severity = tuple(rule for rule in GRAPH_RULES_OFF if rule[0] != "unlinked-mention")
    b = tmp_path / "content/topic/b.md"
    with trusting_stats():
        root = project(tmp_path, files)
        config = replace(load_config(root), severity=severity)
        cache = BuildCache()
        build(config, cache=cache)
        found, reads = [], []
        reader = "intimacy_ssg.mentions.safe_loads"  # as mentions imported it
        with mock.patch(reader, wraps=safe_loads) as read:
            for n in range(3):
                touch(b, b.read_text() + f"\nA delta wave passes by, {n}.\n")
                before = read.call_count
                result = build(config, cache=cache)
                reads.append(read.call_count - before)
                assert result.written and result.rendered == 1
                mentioned = [d for d in result.diagnostics if d.code == "unlinked-mention"]
                clean = build(config, write=False).diagnostics  # no cache
                assert mentioned == [d for d in clean if d.code == "unlinked-mention"]
                found.append(mentioned)
    assert reads == [1, 0, 0]  # read back once, then kept
    assert [d.location.path for d in found[0]] == [str(b)]
    assert tree(root / "output") == clean_tree(root)


def test_a_phrase_table_read_back_is_never_taken_for_another() -> None:
    """The last table read is kept by identity: another table, even equal to it, is read
    for itself, and a damaged one is still refused."""
    from intimacy_ssg import mentions

    first = pickle.dumps((b"d1", {"delta": [(("delta", "wave"), "other/d", "Delta Wave", "d.md")]}))
    second = pickle.dumps(
        (b"d2", {"close": [(("close", "call"), "topic/a", "Close call", "a.md")]})
    )
    assert mentions._unpack(first)[0] == b"d1"
    assert mentions._unpack(first) is mentions._unpack(first)
    assert mentions._unpack(second)[0] == b"d2"
    equal = bytes(bytearray(second))
    assert equal == second and equal is not second
    assert mentions._unpack(equal) == mentions._unpack(second)
    assert mentions._unpack(equal) is not mentions._unpack(second)
    with pytest.raises(CacheDamaged):
        mentions._unpack(b"not a pickle")


@pytest.mark.parametrize("phrases", [b"not a pickle", pickle.dumps(os.system), pickle.dumps([1])])
def test_a_bad_phrase_table_in_the_cache_is_not_used(tmp_path: Path, phrases: bytes) -> None:
    """A damaged or planted table, in a file whose checksum is right, is refused when read:
    the build starts again without the cache."""
    with trusting_stats():
        root = project(tmp_path)
        cached_build(root)
        made = next((root / ".cache/intimacy-ssg").glob("*.structure"))
        config = config_of(root)
        store = CacheStore.for_config(root / ".cache", config)
        fields, _ = cache_module._read(made, store.scope)
        assert fields is not None and fields["phrases"]
        cache_module._write(made, store.scope, {**fields, "phrases": phrases})
        b = root / "content/topic/b.md"
        touch(b, b.read_text() + "\nMore prose.\n")
        cache = store.load()
        result = build(config, cache=cache, store=store)
    assert "table of phrases" in cache.note and "built without the build cache" in cache.note
    assert result.written and tree(root / "output") == clean_tree(root)


@pytest.mark.parametrize(
    "table",
    [
        b"not compressed",
        zlib.compress(b"not a pickle"),
        zlib.compress(pickle.dumps(os.system)),
        zlib.compress(pickle.dumps(({}, {"topic/a": "not a set of names"}))),
        zlib.compress(pickle.dumps(({"topic/a": (b"", "not a set")}, {}))),
    ],
    ids=["not compressed", "not a pickle", "planted", "bad names", "bad landing"],
)
def test_a_bad_table_of_link_names_in_the_cache_is_not_used(tmp_path: Path, table: bytes) -> None:
    """The table read when a page is added (see links.named_again), damaged or planted in a
    file whose checksum is right, is refused: the build starts again without the cache."""
    with trusting_stats():
        root = project(tmp_path)
        cached_build(root)
        made = next((root / ".cache/intimacy-ssg").glob("*.structure"))
        config = config_of(root)
        store = CacheStore.for_config(root / ".cache", config)
        fields, _ = cache_module._read(made, store.scope)
        assert fields is not None and fields["relink"]
        cache_module._write(made, store.scope, {**fields, "relink": table})
        touch(root / "content/topic/new.md", page("New", "[[topic]]\n"))
        cache = store.load()
        result = build(config, cache=cache, store=store)
    assert "table of link names" in cache.note and "built without the build cache" in cache.note
    assert result.written and tree(root / "output") == clean_tree(root)


def test_packed_objects_equal_their_originals_and_unpack_once(tmp_path: Path) -> None:
    from intimacy_ssg import pickling

    root = project(tmp_path)
    result = build(config_of(root), write=False)
    assert result.site is not None and result.graph is not None
    from intimacy_ssg.links import resolve_links

    links = resolve_links(result.site, "/")
    for original in (*result.site.pages, result.graph, links):
        packed = pickling.safe_loads(pickle.dumps(pickling.pack(original), protocol=5))
        assert type(packed) is not type(original) and isinstance(packed, type(original))
        assert not any(_unpacked(packed))
        assert packed == original and original == packed
        assert all(_unpacked(packed))  # comparing read every field
        assert pickling.pack(packed) is packed  # saved again as it is, not re-pickled
    page = pickling.pack(result.site.pages[0])
    assert hash(page) == hash(result.site.pages[0])  # a Page is hashable (a Graph is not)
    page = pickling.pack(result.site.pages[0])
    object.__setattr__(page, "_packed", (pickle.dumps(("too", "short")),))
    with pytest.raises(pickling.CacheDamaged, match="unexpected shape"):
        page.body_z  # noqa: B018 - reading it is the test
    groups = pickling.pack(result.site.pages[0])._packed  # type: ignore[attr-defined]
    page = pickling.pack(result.site.pages[0])
    object.__setattr__(page, "_packed", (*groups[:3], "prose, but not bytes"))
    with pytest.raises(pickling.CacheDamaged, match="unexpected shape"):
        page.text_z  # noqa: B018
    assert page.faq == result.site.pages[0].faq  # the other groups read as they were
    page = pickling.pack(result.site.pages[0])
    nowhere = pickling.span_of(b"no such side fil", 0, (b"x", b"y"))  # a 16-byte token
    object.__setattr__(page, "_packed", nowhere)
    with pytest.raises(pickling.CacheDamaged, match="could not be read"):
        page.headings  # noqa: B018


def test_a_pages_packed_groups_go_to_a_side_file_end_to_end_and_are_checked(
    tmp_path: Path,
) -> None:
    """divert() writes a packed page's groups to a side file, end to end, and keeps one
    Span naming them: each group reads back as it was; a page read back is diverted again
    (to a newer side file) from its groups; a damaged byte in a group, a span of the wrong
    shape or an unknown side file is a CacheDamaged when that group is read, and only
    that group is read."""
    from intimacy_ssg import pickling

    root = project(tmp_path)
    result = build(config_of(root), write=False)
    assert result.site is not None
    original = next(p for p in result.site.pages[2:] if p.text_z)  # no group empty
    packed = pickling.pack(original)
    groups: tuple[bytes, ...] = packed._packed  # type: ignore[attr-defined]
    assert groups[3] == original.text_z  # the prose is saved as its bytes, not pickled
    paths = [tmp_path / "first.bodies", tmp_path / "second.bodies"]
    with cache_module._SideWriter(paths[0]) as side:
        side.put((b"another page's",))
        diverted = pickling.divert(packed, side.put)
    assert type(diverted._packed) is bytes
    assert cache_module._open_side(paths[0], side.token)
    assert diverted == original and diverted.headings == original.headings
    read_back = pickling.safe_loads(pickle.dumps(diverted, protocol=5))
    with cache_module._SideWriter(paths[1]) as again:
        moved = pickling.divert(read_back, again.put)
    assert cache_module._open_side(paths[1], again.token)
    assert pickling.span_blobs(moved._packed) == groups
    assert moved == original
    span = diverted._packed
    start = int.from_bytes(span[16:24], "little")
    fields = ("body_z", "headings", "faq", "text_z")  # one of each group, in order
    for n, group in enumerate(groups):
        for where in (start, start + len(group) // 2, start + len(group) - 1):
            side_bytes = bytearray(pickling.SIDE_FILES[side.token])
            side_bytes[where] ^= 0xFF
            pickling.SIDE_FILES[b"damaged copy...."] = bytes(side_bytes)
            damaged = pickling.REBUILD[type(packed)](packed, b"damaged copy...." + span[16:])
            for m, name in enumerate(fields):  # found in its own group, which alone is read
                if m == n:
                    with pytest.raises(pickling.CacheDamaged, match="could not be read"):
                        getattr(damaged, name)
                else:
                    assert getattr(damaged, name) == getattr(original, name)
        start += len(group)
    for wrong in (span[:-1], span[:20], b"no such side fil" + span[16:], span[:32]):
        with pytest.raises(pickling.CacheDamaged, match="could not be read"):
            pickling.REBUILD[type(packed)](packed, wrong).text_z  # noqa: B018


@pytest.mark.parametrize("how", ["flipped", "missing", "swapped"])
def test_page_bodies_are_read_from_their_side_file_and_checked(tmp_path: Path, how: str) -> None:
    """Cached pages' bodies live in a side file (.bodies), read only when a page is rendered.
    A damaged one is found when read, mid-build: the build starts again without the cache.
    A missing one, or one from another save, is found when loading and ignored."""
    with trusting_stats():
        _check_side_file(tmp_path, how)


def _check_side_file(tmp_path: Path, how: str) -> None:
    root = project(tmp_path)
    cached_build(root)
    bodies = next((root / ".cache/intimacy-ssg").glob("*.bodies"))
    blob = bodies.read_bytes()
    if how == "flipped":  # one byte in every 97 after the header: every blob is damaged
        damaged = bytearray(blob)
        for i in range(len(blob) - 10, len(cache_module.SIDE_MAGIC) + 16, -97):
            damaged[i] ^= 0xFF
        bodies.write_bytes(bytes(damaged))
    elif how == "missing":
        bodies.unlink()
    else:  # the same bodies under another save's token
        header = len(cache_module.SIDE_MAGIC)
        bodies.write_bytes(blob[:header] + bytes(16) + blob[header + 16 :])
    layout = root / "templates/base.html"
    touch(layout, layout.read_text() + "\n")  # every page is rendered: every body is read
    config = config_of(root)
    store = CacheStore.for_config(root / ".cache", config)
    cache = store.load()
    result = build(config, cache=cache, store=store)
    assert result.written and tree(root / "output") == clean_tree(root)
    expected = {
        "flipped": "could not be read (ValueError); built without the build cache",
        "missing": ".bodies is missing or stale; ignored",
        "swapped": ".bodies is missing or stale; ignored",
    }
    assert expected[how] in cache.note
    touch(layout, layout.read_text() + "\n")  # the next build reads every body again: fine
    store = CacheStore.for_config(root / ".cache", config)
    cache = store.load()
    again = build(config, cache=cache, store=store)
    assert (again.written, again.rendered, cache.note) == (True, 10, "")
    assert tree(root / "output") == clean_tree(root)


def test_template_versions_are_kept_until_a_template_changes(tmp_path: Path) -> None:
    """Working out which templates each one uses means parsing them all: a new process
    reads the answer from the cache, and works it out again only after a template edit."""
    from intimacy_ssg import render

    with trusting_stats():
        root = project(tmp_path)
        cached_build(root)
        b = root / "content/topic/b.md"
        touch(b, b.read_text() + "\nMore prose.\n")
        render._TEMPLATES.clear()  # as in a new process
        with mock.patch.object(render, "template_versions", side_effect=AssertionError):
            assert cached_build(root).rendered == 1
        layout = root / "templates/article.html"
        touch(layout, layout.read_text() + "\n")
        render._TEMPLATES.clear()
        with mock.patch.object(
            render, "template_versions", wraps=render.template_versions
        ) as versions:
            edited = cached_build(root)
        assert versions.call_count == 1 and edited.rendered == 3  # the three articles
    assert tree(root / "output") == clean_tree(root)


def test_an_edit_writes_the_memos_changes_not_the_memos(tmp_path: Path) -> None:
    """The render and analysis memos hold an entry per output and per page: after an edit,
    only the entries that changed are written (`.changes`), and read back over `.memo`."""
    with trusting_stats():
        root = project(tmp_path)
        cached_build(root)
        folder = root / ".cache/intimacy-ssg"
        memo = next(folder.glob("*.memo"))
        before = memo.read_bytes()
        for n in range(2):
            b = root / "content/topic/b.md"
            touch(b, b.read_text() + f"\nMore prose, take {n}.\n")
            assert cached_build(root).rendered == 1
            assert memo.read_bytes() == before
            assert tree(root / "output") == clean_tree(root)
        changes = next(folder.glob("*.changes"))
        a = root / "content/topic/a.md"
        touch(a, a.read_text() + "\nAnother paragraph.\n")
        damage(changes)  # the memo alone is used
        store = CacheStore.for_config(root / ".cache", config_of(root))
        cache = store.load()
        result = build(config_of(root), cache=cache, store=store)
    assert "corrupt" in cache.note  # said, and then not trusted
    assert result.written and tree(root / "output") == clean_tree(root)
