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
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any

from .build import BuildResult
from .diagnostics import as_dict
from .graph import Graph
from .model import OutputFile, Site

REPORT_VERSION = 1

_HEAD = re.compile(r"<head>.*?</head>", re.S)
_NAV = re.compile(
    r'<nav\b.*?</nav>|<header class="site-header">.*?</header>|<footer\b.*?</footer>|'
    r'<section class="(?:related|backlinks)".*?</section>',
    re.S,
)
_JSONLD = re.compile(r'<script type="application/ld\+json">\s*(.*?)\s*</script>', re.S)
_QUESTION = re.compile(r"<summary><h3>(.*?)</h3></summary>", re.S)


def _hash(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()[:16]


def page_parts(html: str) -> dict[str, Any]:
    """Hashes of a page's metadata, navigation and text; its FAQ questions and JSON-LD."""
    head = "".join(_HEAD.findall(html))
    body = _HEAD.sub("", html)
    navigation = "".join(_NAV.findall(body))
    text = _NAV.sub("", body)
    blocks = [json.loads(b) for b in _JSONLD.findall(head)]
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


def make_report(result: BuildResult, outputs: tuple[OutputFile, ...]) -> dict[str, Any]:
    """The versioned JSON report of one build."""
    site, graph = result.site, result.graph
    assert site is not None and graph is not None
    by_rel = {o.rel: o for o in outputs}
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
            "hash": _hash(output.data) if output else "",
        }
        if output is not None:
            facts.update(page_parts(output.data.decode()))
        pages.append(facts)
    return {
        "version": REPORT_VERSION,
        "pages": pages,
        "files": {o.rel: _hash(o.data) for o in outputs} | {s.rel: "" for s in site.statics},
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
