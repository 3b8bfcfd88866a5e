"""The link graph on small hand-made sites: edges, findings, backlinks, related reading."""

from __future__ import annotations

import json
import pickle
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intimacy_ssg import graph as graph_module
from intimacy_ssg import pickling
from intimacy_ssg.diagnostics import Location
from intimacy_ssg.graph import Edge, Graph, Node, graph_document, graph_json
from intimacy_ssg.model import Planned

from .support import build_content, page

QUIET = (("structured-data-recommended", "off"),)


def graph_of(tmp_path: Path, files: dict[str, str], **options: Any) -> tuple[Graph, list[str]]:
    result, problems = build_content(tmp_path, files, graph_rules=True, **options)
    assert result.graph is not None
    return result.graph, problems


def codes(problems: list[str]) -> list[str]:
    return [p.split(": ", 2)[1] + " " + p.split(":", 1)[0] for p in problems]


WIRED = {
    "index.md": page("Home", "[[topic]] [[about]]\n"),
    "about.md": page("About", "[[index]]\n"),
    "topic/index.md": page("Topic", "[[a]] [[b]] [[c]]\n"),
    "topic/a.md": page("A", "[[topic]] [[b]] [[c]]\n", tags="[x, y]"),
    "topic/b.md": page("B", "[[topic]] [[a]] [[c]]\n", tags="[x]"),
    "topic/c.md": page("C", "[[topic]] [[a]] [[b]]\n", tags="[z]"),
}


def test_a_well_wired_site_has_no_findings(tmp_path: Path) -> None:
    graph, problems = graph_of(tmp_path, WIRED)
    assert problems == []
    assert graph.findings == ()


def test_edges_are_unique_by_kind_and_skip_self_links(tmp_path: Path) -> None:
    files = dict(
        WIRED,
        **{
            "about.md": page(
                "About",
                "[[index]] [home](index.md) [[about]] [me](#x)\n\n## X\n",
                related="[index]",
            )
        },
    )
    graph, _ = graph_of(tmp_path, files)
    about = [(target, kind) for source, target, kind in graph.edges if source == "about"]
    assert about == [("index", "body"), ("index", "related")]
    members = sorted(target for _, target, kind in graph.edges if kind == "member")
    assert members == ["topic/a", "topic/b", "topic/c"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"topic/a.md": page("A", "[[b]] [[c]]\n")},
            ["warning[contract-hub-link] content/topic/a.md"],
        ),
        (
            {"topic/index.md": page("Topic", "[[a]] [[b]]\n")},
            ["warning[contract-spoke-link] content/topic/index.md"],
        ),
        ({"topic/index.md": page("Topic", "[[a]] [[b]]\n", related="[c]")}, []),
        (
            {"topic/c.md": page("C", "[[topic]] [[a]]\n")},
            ["warning[contract-siblings] content/topic/c.md"],
        ),
        (
            {"about.md": page("About", "[[index]]\n"), "index.md": page("Home", "[[topic]]\n")},
            ["warning[orphan] content/about.md"],
        ),
        ({"about.md": page("About", "No links.\n")}, ["warning[dead-end] content/about.md"]),
        (
            {
                "about.md": page("About", "[[index]] and a mention of Some Topic.\n"),
                "topic/c.md": page("C", "[[topic]] [[a]] [[b]]\n", keywords="[some topic]"),
            },
            ["info[unlinked-mention] content/about.md"],
        ),
    ],
)
def test_each_finding(tmp_path: Path, change: dict[str, str], expected: list[str]) -> None:
    _, problems = graph_of(tmp_path, dict(WIRED, **change))
    assert codes(problems) == expected


def test_breach_messages_name_the_page_and_what_is_missing(tmp_path: Path) -> None:
    files = dict(WIRED, **{"topic/c.md": page("C", "[[topic]]\n")})
    _, problems = graph_of(tmp_path, files)
    assert problems == [
        "content/topic/c.md:1:1: warning[contract-siblings]: spoke 'topic/c' links to 0 sibling "
        "spokes; the cluster contract asks for 2\n    hint: for example: [[a]], [[b]]"
    ]


def test_min_sibling_links_is_configurable_and_capped_by_cluster_size(tmp_path: Path) -> None:

    from intimacy_ssg import build, load_config

    from .support import REPO, chdir, write_content

    content = write_content(tmp_path, dict(WIRED, **{"topic/c.md": page("C", "[[topic]] [[a]]\n")}))
    with chdir(tmp_path):
        config = load_config(REPO, content_dir=content)
        strict_config = replace(
            config, min_sibling_links=5, severity=QUIET
        )  # more than the 2 siblings there are
        loose_config = replace(config, min_sibling_links=1, severity=QUIET)
        assert [d.code for d in build(strict_config, write=False).diagnostics] == [
            "contract-siblings"
        ]
        assert build(loose_config, write=False).diagnostics == ()


def test_planned_topics(tmp_path: Path) -> None:
    hub = page(
        "Topic",
        "[[a]] [[b]] [[c]]\n",
        planned="\n  - slug: d\n    title: Dee\n  - slug: a\n    title: Already here",
    )
    graph, problems = graph_of(tmp_path, dict(WIRED, **{"topic/index.md": hub}))
    assert [(p.slug, p.title) for p in graph.planned["topic"]] == [("d", "Dee")]
    assert problems == [
        "content/topic/index.md:7:5: warning[planned-exists]: planned topic 'a' has a page now\n"
        "    hint: remove it from planned: and link [A](a.md) instead"
    ]
    build_content(tmp_path, dict(WIRED, **{"topic/index.md": hub}), write=True)
    html = (tmp_path / "output/topic/index.html").read_text()
    assert "<h3>Coming soon</h3>" in html and "<li>Dee</li>" in html
    assert '<a href="/topic/d/">' not in html


def test_links_to_drafts_make_no_edges(tmp_path: Path) -> None:
    files = dict(
        WIRED,
        **{"topic/d.md": page("D", draft="true"), "about.md": page("About", "[[index]] [[d]]\n")},
    )
    graph, problems = graph_of(tmp_path, files)
    assert not any(target == "topic/d" for _, target, _ in graph.edges)
    assert codes(problems) == ["error[broken-link] content/about.md"]


def test_backlinks_same_cluster_first(tmp_path: Path) -> None:
    files = dict(WIRED, **{"about.md": page("About", "[[index]] [[a]]\n")})
    graph, _ = graph_of(tmp_path, files)
    assert graph.backlinks["topic/a"] == ("topic", "topic/b", "topic/c", "about")
    build_content(tmp_path, files, write=True)
    html = (tmp_path / "output/topic/a/index.html").read_text()
    section = html[html.index('id="backlinks-title"') :]
    assert section.index(">Topic<") < section.index(">B<") < section.index(">About<")


def test_related_explicit_first_then_siblings_by_shared_tags_then_other_clusters(
    tmp_path: Path,
) -> None:
    files = dict(WIRED)
    files["topic/a.md"] = page("A", "[[topic]] [[b]] [[c]]\n", tags="[x, y]", related="[about]")
    files["other/index.md"] = page("Other", "[[o]]\n")
    files["other/o.md"] = page("O", "[[other]]\n", tags="[y]")
    graph, _ = graph_of(tmp_path, files)
    # about (explicit); b shares tag x and links to c; c shares the link to b... then other/o
    assert graph.related["topic/a"][0] == "about"
    assert graph.related["topic/a"][1:3] == ("topic/b", "topic/c")
    assert graph.related["topic/a"][3:] == ("other/o",)
    assert "topic/a" not in graph.related["topic/a"]
    assert graph.related["index"] == ()  # pages outside clusters only get explicit ones


def test_related_never_exceeds_the_count_unless_explicit(tmp_path: Path) -> None:
    files = dict(WIRED)
    files["topic/a.md"] = page(
        "A", "[[topic]] [[b]] [[c]]\n", related="[about, index, b, c, topic]"
    )
    graph, _ = graph_of(tmp_path, files)
    assert graph.related["topic/a"] == ("about", "index", "topic/b", "topic/c", "topic")
    graph, _ = graph_of(tmp_path, WIRED)
    assert all(len(r) <= 4 for r in graph.related.values())


def test_severity_overrides(tmp_path: Path) -> None:

    from intimacy_ssg import build, load_config

    from .support import REPO, chdir, write_content

    content = write_content(tmp_path, dict(WIRED, **{"about.md": page("About", "No links.\n")}))
    with chdir(tmp_path):
        config = load_config(REPO, content_dir=content)
        as_error = build(replace(config, severity=(("dead-end", "error"), *QUIET)), write=False)
        dropped = build(replace(config, severity=(("dead-end", "off"), *QUIET)), write=False)
    assert [(d.code, d.severity.value) for d in as_error.diagnostics] == [("dead-end", "error")]
    assert as_error.failed(strict=False)
    assert dropped.diagnostics == ()


def test_graph_json_and_map_pages(tmp_path: Path) -> None:
    hub = page("Topic", "[[a]] [[b]] [[c]]\n", planned="\n  - slug: d\n    title: Dee & co")
    build_content(tmp_path, dict(WIRED, **{"topic/index.md": hub}), write=True)
    document = json.loads((tmp_path / "output/graph.json").read_text())
    assert document["version"] == 1
    assert [n["id"] for n in document["nodes"]] == sorted(n["id"] for n in document["nodes"])
    assert {"source": "topic/a", "target": "topic", "kind": "body"} in document["edges"]
    assert document["planned"] == [{"cluster": "topic", "slug": "d", "title": "Dee & co"}]
    html = (tmp_path / "output/topic/map/index.html").read_text()
    svg = html[html.index("<svg") : html.index("</svg>") + 6]
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    links = [a.get("href") for a in root.iter(f"{ns}a")]
    assert links == ["/topic/", "/topic/a/", "/topic/b/", "/topic/c/"]
    labels = [t.text for t in root.iter(f"{ns}text")]
    assert labels == ["Topic", "A", "B", "C", "Dee & co (planned)"]
    assert len([line for line in root.iter(f"{ns}line") if line.get("class") == "map-link"]) == 3
    # the text alternative lists every node, planned ones unlinked
    assert "Dee &amp; co <em>(coming soon)</em>" in html


def document_nodes(graph: Graph) -> list[object]:
    nodes = graph_document(graph)["nodes"]
    assert isinstance(nodes, list)
    return nodes


def test_graph_json_is_its_document_one_item_a_line() -> None:
    """graph.json encodes edges' page ids once each: the result must still be exactly the
    documented shape, with quotes, backslashes and non-ASCII text kept, one node, edge or
    planned topic a line, from a graph read back from the build cache too."""
    odd = 'Quote " slash \\ é \u2028 end'
    b = 'b"é'  # not a page id the generator makes, but JSON must hold any
    nodes = (Node("a", "a/", odd, "c", "spoke"), Node(b, "b/", "B", "", "page"))
    edges: tuple[Edge, ...] = (("a", b, "body"), (b, "a", "related"))
    planned: dict[str, tuple[Planned, ...]] = {"c": (Planned("d", odd, Location("x.md", 2, 3)),)}
    graph = Graph(nodes, edges, {}, {}, {}, planned, (), ())
    data = graph_json(graph)
    assert json.loads(data) == graph_document(graph)
    lines = data.decode().split("\n")
    assert lines[:3] == ["{", ' "version": 1,', ' "nodes": [']
    as_json = [
        json.dumps(n, ensure_ascii=False, separators=(", ", ": ")) for n in document_nodes(graph)
    ]
    assert lines[3:5] == ["  " + as_json[0] + ",", "  " + as_json[1]]  # as json writes them
    assert lines[6:9] == [
        ' "edges": [',
        '  {"source": "a", "target": "b\\"é", "kind": "body"},',
        '  {"source": "b\\"é", "target": "a", "kind": "related"}',
    ]
    assert lines[-4:] == [
        '  {"cluster": "c", "slug": "d", "title": ' + json.dumps(odd, ensure_ascii=False) + "}",
        " ]",
        "}",
        "",
    ]
    cached = pickling.safe_loads(pickle.dumps(pickling.pack(graph)))
    assert type(cached) is not Graph and graph_json(cached) == data


def test_graph_json_with_a_memo_equals_graph_json_made_afresh() -> None:
    """graph_json() given the memo of the graphs it made before writes what it writes
    without one, encoding only the nodes (by object) and the pages' edges (by page) it has
    not written yet: a node replaced, a page's edges changed, added or removed, a graph
    read back from the cache (equal, but other objects), and the first graph again."""
    nodes = tuple(Node(i, f"{i}/", i.upper(), "c", "spoke") for i in "abcd")
    edges: tuple[Edge, ...] = (
        ("a", "b", "body"),
        ("a", "c", "related"),
        ("b", "a", "body"),
        ("c", "d", "body"),
    )
    first = Graph(nodes, edges, {}, {}, {}, {}, (), ())
    second = replace(
        first,
        nodes=(nodes[0], replace(nodes[1], title="Bee"), *nodes[2:]),
        edges=(edges[0], ("a", "d", "body"), edges[2], ("d", "a", "body")),
    )
    read_back = pickling.safe_loads(pickle.dumps(pickling.pack(second)))
    real, encoded = json.encoder.encode_basestring, []  # what graph_json calls

    def spy(text: str) -> str:
        encoded.append(text)
        return real(text)

    memo = graph_module.JsonMemo()
    for graph, made in [
        # each node's 5 strings; each source (3), target (4) and kind (2) once
        (first, 5 * 4 + 3 + 4 + 2),
        # b's new node; a's edges (a; b, d; body) and d's (d; a); a kind is encoded once
        (second, 5 + 4 + 2),
        # other node objects, all encoded again; the same edges, none
        (read_back, 5 * 4),
        # first's node objects (not the memo's now); a's edges (a; b, c; body, related),
        # and c's (c; d); b's are the same
        (first, 5 * 4 + 5 + 2),
    ]:
        encoded.clear()
        with mock.patch.object(graph_module, "encode_basestring", side_effect=spy):
            data = graph_json(graph, memo)
        assert data == graph_json(graph)
        assert len(encoded) == made, encoded


def test_unlinked_mentions_first_only_skip_headings_linked_and_single_words(
    tmp_path: Path,
) -> None:
    files = dict(WIRED)
    files["topic/c.md"] = page("Close call", "[[topic]] [[a]] [[b]]\n", keywords="[near miss]")
    files["about.md"] = page(
        "About",
        "[[index]]\n\n## A close call\n\nA close call, then another close call.\n"
        "A near miss. Topic is one word. [[b]] and B.\n",
    )
    _, problems = graph_of(tmp_path, files)
    assert problems == [
        "content/about.md:9:1: info[unlinked-mention]: mentions 'Close call' without linking it\n"
        "    hint: link it: [Close call](topic/c.md)"
    ]


def test_unlinked_mentions_are_found_whatever_the_case_and_apostrophe(tmp_path: Path) -> None:
    """The prose is folded when parsed (lowercase, curly apostrophes straight), the titles
    when the table is made: a mention in capitals with a curly apostrophe is found."""
    files = dict(WIRED)
    files["topic/c.md"] = page("Partner's needs", "[[topic]] [[a]] [[b]]\n")
    files["about.md"] = page("About", "[[index]]\n\nYour PARTNER\u2019S Needs matter.\n")
    _, problems = graph_of(tmp_path, files)
    assert problems == [
        "content/about.md:7:1: info[unlinked-mention]: mentions 'Partner's needs' without "
        "linking it\n    hint: link it: [Partner's needs](topic/c.md)"
    ]


def test_graph_command_reports_clusters_in_three_formats(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from intimacy_ssg.cli import main

    from .support import REPO, SITES, chdir

    site = SITES / "invalid-graph"
    args = ["graph", "--project", str(REPO), "--content", "content"]
    with chdir(site):
        assert main(args) == 0
        text = capsys.readouterr().out
        assert main([*args, "--format", "json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert main([*args, "--format", "dot"]) == 0
        dot = capsys.readouterr().out
    assert text.splitlines()[0] == (
        "loving: 4 pages (hub + 3 spokes), 1 planned, 0 orphans, 1 dead ends, 5 contract breaches"
    )
    assert "  breach: spoke 'loving/third-spoke' does not link to its hub 'loving'" in text
    assert "  orphan: forgotten" in text
    assert "cross-cluster links: none" in text
    loving = next(c for c in report["clusters"] if c["cluster"] == "loving")
    assert loving["planned"] == [{"slug": "fourth-spoke", "title": "The fourth spoke"}]
    assert loving["dead_ends"] == ["loving/third-spoke"]
    assert {"page": "loving/first-spoke", "inbound": 2, "outbound": 3} in loving["links"]
    assert dot.startswith("digraph site {") and '"loving/first-spoke" -> "loving";' in dot
    assert 'subgraph "cluster_solo"' in dot


@given(st.text(alphabet="abcXYZ019 ,.;:!?()[]_*/\\\"'-\t\n\u2019\u00e9#", max_size=40))
def test_the_fast_word_split_finds_the_same_words_as_the_pattern(text: str) -> None:
    from intimacy_ssg.mentions import WORD, _words
    from intimacy_ssg.model import CURLY_APOSTROPHE

    assert _words(text) == WORD.findall(text.lower().replace(CURLY_APOSTROPHE, "'"))


def test_folding_folded_text_changes_nothing_for_any_code_point() -> None:
    """A page's prose is saved folded (model.pack_text), and the mention search reads it
    without folding it again: that gives the same words only if folding is idempotent."""
    from intimacy_ssg.model import fold

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert fold(fold(every)) == fold(every)
    assert fold("A\u2019B \u0130") == "a'b i\u0307"  # changed: case, apostrophe, length


ELSEWHERE = {
    "a page added": dict(WIRED, **{"topic/d.md": page("D", "[[topic]] [[a]]\n")}),
    "a page moved": {("topic/d.md" if k == "topic/c.md" else k): v for k, v in WIRED.items()},
}


def graphs_made(tmp_path: Path, *sites: dict[str, str]) -> list[tuple[Any, Any, Any]]:
    """(site, links, config) of each site's build, as given to build_graph()."""
    real, made = graph_module.build_graph, []

    def spy(site: Any, links: Any, config: Any, *rest: Any) -> Any:
        made.append((site, links, config))
        return real(site, links, config, *rest)

    with mock.patch.object(graph_module, "build_graph", side_effect=spy):
        for n, files in enumerate(sites):
            build_content(tmp_path / str(n), files, graph_rules=True)
    return made


@pytest.mark.parametrize("files", ELSEWHERE.values(), ids=ELSEWHERE)
def test_a_graph_patched_from_one_of_other_pages_equals_one_made_afresh(
    tmp_path: Path, files: dict[str, str]
) -> None:
    """patch_graph() given the graph of a site with other pages, every page of both where
    it was: the pages added and removed are patched in."""
    (site, links, config), (now, now_links, _) = graphs_made(tmp_path, WIRED, files)
    before = graph_module.build_graph(site, links, config)
    patched = graph_module.patch_graph(before, links, now, now_links, config)
    assert patched == graph_module.build_graph(now, now_links, config)
    assert [n.id for n in patched.nodes] == [p.id for p in now.pages]


def similarity_made(tmp_path: Path, spoil: bool) -> tuple[Any, Any, list[Any]]:
    """patch_graph() from the graph of WIRED and the similarity index kept with it, with
    the same site, topic/a named as parsed again; `spoil`: the index lost topic/a from its
    group of tag x first, so it is not the one the graph was made with. Returns the
    patched graph, the index it kept, and what _Similarity.patched() returned."""
    [(site, links, config)] = graphs_made(tmp_path, WIRED)
    indexes = graph_module.IndexMemo()
    before = graph_module.build_graph(site, links, config, {}, None, indexes)
    assert indexes.graph is before and indexes.index is not None
    if spoil:
        indexes.index.by_tag["x"].remove("topic/a")
    real, returned = graph_module._Similarity.patched, []

    def spy(*args: Any) -> Any:
        returned.append(real(*args))
        return returned[-1]

    earlier = {"topic/a": site.by_id["topic/a"]}
    with mock.patch.object(graph_module._Similarity, "patched", autospec=True, side_effect=spy):
        patched = graph_module.patch_graph(
            before, links, site, links, config, {}, None, earlier, indexes
        )
    assert patched == graph_module.build_graph(site, links, config)
    assert indexes.graph is patched
    return patched, indexes.index, returned


@pytest.mark.parametrize("spoil", [False, True], ids=["kept", "spoilt"])
def test_a_similarity_index_is_patched_only_from_the_one_its_graph_was_made_with(
    tmp_path: Path, spoil: bool
) -> None:
    """A kept index is patched in place; one that turns out not to match the graph it was
    kept with (a page missing from a group it should be in) is made afresh instead."""
    _, index, returned = similarity_made(tmp_path, spoil)
    assert len(returned) == 1
    if spoil:
        assert returned == [None]
        assert index is not None and index.by_tag["x"] == ["topic/a", "topic/b"]
    else:
        assert returned == [index]


def test_a_similarity_index_kept_with_another_graph_is_not_used(tmp_path: Path) -> None:
    [(site, links, config)] = graphs_made(tmp_path, WIRED)
    indexes = graph_module.IndexMemo()
    before = graph_module.build_graph(site, links, config, {}, None, indexes)
    kept = indexes.index
    indexes.graph = replace(before)  # equal, but another graph
    with mock.patch.object(graph_module._Similarity, "patched") as patched:
        made = graph_module.patch_graph(before, links, site, links, config, {}, None, {}, indexes)
    assert not patched.called
    assert indexes.graph is made and indexes.index is not kept


@pytest.mark.parametrize("named", [False, True], ids=["all compared", "parsed again"])
@pytest.mark.parametrize("moved", ["url", "cluster", "role"])
def test_a_graph_patched_from_one_where_a_page_was_elsewhere_is_made_afresh(
    tmp_path: Path, moved: str, named: bool
) -> None:
    """A page kept under its id but with another URL, cluster or role than in the last graph
    (every page compared, or the page named as parsed again since): nothing of the last
    graph is kept."""
    [(site, links, config)] = graphs_made(tmp_path, WIRED)
    fresh = graph_module.build_graph(site, links, config)
    nodes = tuple(replace(n, **{moved: "x"}) if n.id == "topic/a" else n for n in fresh.nodes)
    real, calls = graph_module.build_graph, []

    def spy(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    with mock.patch.object(graph_module, "build_graph", side_effect=spy):
        patched = graph_module.patch_graph(
            replace(fresh, nodes=nodes),
            links,
            site,
            links,
            config,
            {},
            None,
            {"topic/a": site.by_id["topic/a"]} if named else None,
        )
    assert patched == fresh
    assert len(calls) == 1
