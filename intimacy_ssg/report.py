"""Build reports (`build --report FILE`) and the snapshots `intimacy-ssg diff` compares.

A snapshot can come from a report or straight from a built output folder (through its
graph.json and HTML), so a pull request can be compared with whatever the base branch has.
Each page's HTML is split into three parts, hashed separately, to say what kind of change
it is: its metadata (`<head>`), its navigation (header, breadcrumb, table of contents,
related reading, backlinks, cluster navigation, footer) and its text (everything else).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .diagnostics import as_dict
from .model import OutputFacts

if TYPE_CHECKING:
    from .build import BuildResult
    from .graph import Graph
    from .model import Site

REPORT_VERSION = 1

# A page's parts, as these patterns (re.S) would find them: `<head>.*?</head>`;
# `<nav\b.*?</nav>|<header class="site-header">.*?</header>|<footer\b.*?</footer>|
# <section class="(?:related|backlinks)".*?</section>`; and the JSON-LD blocks in the head,
# `<script type="application/ld\+json">\s*(.*?)\s*</script>`. Found instead by the tag
# that opens each (the group names the closing one) and str.find for the closing tag:
# `.*?` tries the closing tag at every character (splitting a 10,000-page corpus's page
# took 0.25 ms with the patterns, 0.08 ms now). tests/test_previews.py holds the
# patterns, and checks the two agree.
_HEAD = re.compile(r"<(head)>")
_NAV = re.compile(
    r'<(nav)\b|<(header) class="site-header">|<(footer)\b|<(section) class="(?:related|backlinks)"'
)
_JSONLD = re.compile(r'<script type="application/ld\+json">')
_QUESTION = re.compile(r"<summary><h3>(.*?)</h3></summary>", re.S)


def _hash(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()[:16]


def _spans(
    opening: re.Pattern[str], text: str, element: str = ""
) -> Iterator[tuple[int, int, int, int]]:
    """Each part of `text` as `opening.*?</element>` (re.S) would match them from left to
    right, `element` being the one the opening's matched group names unless given: where
    the part starts, where its content starts and ends, and where the part ends."""
    at = 0
    while (match := opening.search(text, at)) is not None:
        closing = f"</{element or match[match.lastindex or 0]}>"
        close = text.find(closing, match.end())
        if close < 0:  # no part starts here: the pattern would go on from the next character
            at = match.start() + 1
            continue
        at = close + len(closing)
        yield match.start(), match.end(), close, at


def _split(opening: re.Pattern[str], text: str) -> tuple[str, str]:
    """The parts of `text` (see _spans) joined, and the text without them."""
    found, rest, at = [], [], 0
    for start, _, _, end in _spans(opening, text):
        found.append(text[start:end])
        rest.append(text[at:start])
        at = end
    rest.append(text[at:])
    return "".join(found), "".join(rest)


def page_parts(html: str) -> dict[str, Any]:
    """Hashes of a page's metadata, navigation and text; its FAQ questions and JSON-LD."""
    head, body = _split(_HEAD, html)
    navigation, text = _split(_NAV, body)
    scripts = _spans(_JSONLD, head, "script")
    blocks = [json.loads(head[inner:close].strip()) for _, inner, close, _ in scripts]
    return {
        "meta_hash": _hash(head),
        "nav_hash": _hash(navigation),
        "text_hash": _hash(text),
        "faq": [unescape(q) for q in _QUESTION.findall(body)],
        "jsonld_hash": _hash(json.dumps(blocks, sort_keys=True)),
        "jsonld_types": sorted({str(b.get("@type")) for b in blocks}),
    }


@dataclass
class Snapshot:
    """What `diff` compares: one side of a pull request."""

    pages: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> facts
    files: dict[str, str] = field(default_factory=dict)  # output path -> hash
    edges: set[tuple[str, str, str]] = field(default_factory=set)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)


def output_facts(rel: str, data: bytes, page: bool) -> OutputFacts:
    """What the report says of one generated file; with `page`, a page's HTML."""
    return OutputFacts(rel, _hash(data), page_parts(data.decode()) if page else None)


def make_report(result: BuildResult) -> dict[str, Any]:
    """The versioned JSON report of one build (made with keep_facts: see build.build)."""
    site, graph = result.site, result.graph
    assert site is not None and graph is not None
    by_rel = {f.rel: f for f in result.facts}
    inbound, outbound = _link_counts(graph)
    pages = []
    for page in site.pages:
        url = site.urls[page.id]
        output = by_rel.get(url + "index.html")
        facts: dict[str, Any] = {
            "id": page.id,
            "source": page.source.display,
            "url": "/" + url,
            "title": page.front.title,
            "cluster": page.source.cluster,
            "role": page.source.kind.value,
            "words": page.word_count,
            "outbound_links": outbound.get(page.id, 0),
            "inbound_links": inbound.get(page.id, 0),
            "faq_count": len(page.faq),
            "hash": output.hash if output else "",
        }
        if output is not None and output.parts is not None:
            facts.update(output.parts)
        pages.append(facts)
    return {
        "version": REPORT_VERSION,
        "pages": pages,
        "files": {f.rel: f.hash for f in result.facts} | {s.rel: "" for s in site.statics},
        "edges": [{"source": s, "target": t, "kind": k} for s, t, k in graph.edges],
        "diagnostics": [as_dict(d) for d in result.diagnostics],
        "clusters": _clusters(site, graph),
        "timings": {k: round(v, 4) for k, v in result.timings.items()},
    }


def _link_counts(graph: Graph) -> tuple[dict[str, int], dict[str, int]]:
    inbound: dict[str, int] = {}
    outbound: dict[str, int] = {}
    pairs = {
        (source, target) for source, target, kind in graph.edges if kind in ("body", "related")
    }
    for _, target in pairs:
        inbound[target] = inbound.get(target, 0) + 1
    for source, _, kind in graph.edges:
        if kind == "body":
            outbound[source] = outbound.get(source, 0) + 1
    return inbound, outbound


def _clusters(site: Site, graph: Graph) -> list[dict[str, Any]]:
    orphans = {f.page for f in graph.findings if f.code == "orphan"}
    return [
        {
            "name": c.name,
            "hub": c.hub,
            "pages": 1 + len(c.spokes),
            "planned": [p.slug for p in graph.planned.get(c.name, ())],
            "orphans": sorted(orphans & {c.hub, *c.spokes}),
        }
        for c in site.clusters
    ]


def snapshot_from_report(report: dict[str, Any]) -> Snapshot:
    if report.get("version") != REPORT_VERSION:
        raise ValueError(f"not a version {REPORT_VERSION} build report")
    return Snapshot(
        pages={p["id"]: p for p in report["pages"]},
        files=dict(report["files"]),
        edges={(e["source"], e["target"], e["kind"]) for e in report["edges"]},
        diagnostics=list(report["diagnostics"]),
    )


def snapshot_from_folder(folder: Path) -> Snapshot:
    """Read a built output folder: its graph.json and the HTML of every page."""
    graph = json.loads((folder / "graph.json").read_text(encoding="utf-8"))
    files = {
        p.relative_to(folder).as_posix(): _hash(p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
    pages = {}
    for node in graph["nodes"]:
        rel = node["url"].lstrip("/") + "index.html"
        html = (folder / rel).read_text(encoding="utf-8")
        pages[node["id"]] = {
            "id": node["id"],
            "url": node["url"],
            "title": node["title"],
            "cluster": node["cluster"],
            "role": node["role"],
            "hash": files.get(rel, ""),
            "source": "",
            **page_parts(html),
        }
    return Snapshot(pages, files, {(e["source"], e["target"], e["kind"]) for e in graph["edges"]})


def load_snapshot(path: Path) -> Snapshot:
    if path.is_dir():
        return snapshot_from_folder(path)
    return snapshot_from_report(json.loads(path.read_text(encoding="utf-8")))
