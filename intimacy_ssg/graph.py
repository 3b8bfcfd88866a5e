"""build_graph(): the site's link graph, built once from every source of edges.

Edges come from body links (markdown links, wikilinks, links in FAQ answers), `related:`
lists and hub -> spoke membership; each keeps its kind and where it was written. From the
graph come what readers see (backlinks, related reading) and what editors are told
(cluster contract breaches, orphans, dead ends, planned topics that now exist).

Everything here is linear in the number of pages plus edges.
"""

from __future__ import annotations

import heapq
import json
from collections import defaultdict
from dataclasses import dataclass

from . import diagnostics as diag
from .config import Config
from .diagnostics import Diagnostic, Location
from .model import Links, Page, PageKind, Planned, Site

BODY, RELATED, MEMBER = "body", "related", "member"
COMMON = 200  # tags or link targets shared by more pages than this are ignored for related


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    kind: str  # body, related or member
    location: Location


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    url: str  # below the site root, without the base path
    title: str
    cluster: str
    role: str  # home, hub, spoke or page


@dataclass(frozen=True, slots=True)
class Finding:
    page: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]  # unique by (source, target, kind), sorted
    backlinks: dict[str, tuple[str, ...]]  # page -> pages linking to it (body or related)
    related: dict[str, tuple[str, ...]]  # page -> explicit related first, then suggestions
    planned: dict[str, tuple[Planned, ...]]  # cluster -> promised topics without a page
    findings: tuple[Finding, ...]
    diagnostics: tuple[Diagnostic, ...]

    def cross_cluster(self) -> tuple[tuple[str, str, int], ...]:
        """Body links between pages of different clusters, counted per (from, to) pair."""
        cluster = {n.id: n.cluster for n in self.nodes}
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for edge in self.edges:
            a, b = cluster[edge.source], cluster[edge.target]
            if edge.kind == BODY and a and b and a != b:
                counts[(a, b)] += 1
        return tuple((a, b, n) for (a, b), n in sorted(counts.items()))


def build_graph(site: Site, links: Links, config: Config) -> Graph:
    pages = {p.id: p for p in site.pages}
    edges: dict[tuple[str, str, str], Edge] = {}

    def add(source: str, target: str, kind: str, location: Location) -> None:
        if source != target and target in pages:
            edges.setdefault((source, target, kind), Edge(source, target, kind, location))

    for page in site.pages:
        for link, resolved in zip(page.links, links.resolved.get(page.id, ()), strict=True):
            add(page.id, resolved.target, BODY, link.location)
        for target, location in links.related.get(page.id, ()):
            add(page.id, target, RELATED, location)
        for profile_links in links.profiles.get(page.id, ()):
            for target, location in profile_links:
                add(page.id, target, BODY, location)
    for cluster in site.clusters:
        for member in cluster.spokes:
            add(cluster.hub, member, MEMBER, Location(pages[cluster.hub].source.display))

    body: dict[str, set[str]] = defaultdict(set)
    inbound: dict[str, set[str]] = defaultdict(set)
    explicit: dict[str, set[str]] = defaultdict(set)
    for source, target, kind in edges:
        if kind == BODY:
            body[source].add(target)
        if kind in (BODY, RELATED):
            inbound[target].add(source)
        if kind == RELATED:
            explicit[source].add(target)

    findings: list[Finding] = []
    problems: list[Diagnostic] = []

    def report(
        page: Page, code: str, message: str, hint: str = "", location: Location | None = None
    ) -> None:
        findings.append(Finding(page.id, code, message))
        problems.append(
            diag.make(code, message, location or Location(page.source.display, 1, 1), hint=hint)
        )

    for cluster in site.clusters:
        hub = pages[cluster.hub]
        spokes = cluster.spokes
        for spoke_id in spokes:
            spoke = pages[spoke_id]
            if hub.id not in body[spoke_id]:
                report(
                    spoke,
                    "contract-hub-link",
                    f"spoke '{spoke_id}' does not link to its hub '{hub.id}'",
                    f"add a link such as [{hub.front.title}](index.md) to the body",
                )
            if spoke_id not in body[hub.id] | explicit[hub.id]:
                report(
                    hub,
                    "contract-spoke-link",
                    f"hub '{hub.id}' does not link to its spoke '{spoke_id}'",
                    f"link it from the body, e.g. [{spoke.front.title}]"
                    f"({spoke.source.slug}.md), or add it to related:",
                )
            need = min(config.min_sibling_links, len(spokes) - 1)
            linked = [s for s in spokes if s in body[spoke_id]]
            if len(linked) < need:
                missing = [s for s in spokes if s != spoke_id and s not in linked][:2]
                report(
                    spoke,
                    "contract-siblings",
                    f"spoke '{spoke_id}' links to {len(linked)} sibling "
                    f"{'spoke' if len(linked) == 1 else 'spokes'}; the cluster contract asks "
                    f"for {need}",
                    "for example: " + ", ".join(f"[[{pages[s].source.slug}]]" for s in missing),
                )
    for page in site.pages:
        if page.source.kind is not PageKind.HOME and not inbound[page.id]:
            report(
                page,
                "orphan",
                f"no other page links to '{page.id}'",
                "link it from the body or the related: list of a page about the same topic",
            )
        if not body[page.id]:
            report(
                page,
                "dead-end",
                f"'{page.id}' links to no other page",
                "link to its hub or to the pages a reader should go to next",
            )

    planned: dict[str, tuple[Planned, ...]] = {}
    for cluster in site.clusters:
        hub = pages[cluster.hub]
        waiting = []
        for item in hub.front.planned:
            page_id = f"{cluster.name}/{item.slug}"
            if page_id in pages:
                report(
                    hub,
                    "planned-exists",
                    f"planned topic '{item.slug}' has a page now",
                    f"remove it from planned: and link [{pages[page_id].front.title}]"
                    f"({item.slug}.md) instead",
                    item.location,
                )
            else:
                waiting.append(item)
        planned[cluster.name] = tuple(waiting)

    similarity = _Similarity(site, body)
    return Graph(
        nodes=tuple(
            Node(p.id, site.urls[p.id], p.front.title, p.source.cluster, p.source.kind.value)
            for p in site.pages
        ),
        edges=tuple(sorted(edges.values(), key=lambda e: (e.source, e.target, e.kind))),
        backlinks={pid: _backlinks(pages, pid, inbound[pid]) for pid in pages},
        related={
            p.id: _related(p, pages, links, similarity, config.related_count) for p in site.pages
        },
        planned=planned,
        findings=tuple(findings),
        diagnostics=tuple(problems),
    )


def _backlinks(pages: dict[str, Page], page_id: str, sources: set[str]) -> tuple[str, ...]:
    cluster = pages[page_id].source.cluster

    def order(source: str) -> tuple[bool, str, bool, str, str]:
        page = pages[source]
        return (
            page.source.cluster != cluster,  # the same cluster first,
            page.source.cluster,
            page.source.kind is not PageKind.HUB,  # its hub before its spokes
            page.front.title.lower(),
            source,
        )

    return tuple(sorted(sources, key=order))


def _related(
    page: Page, pages: dict[str, Page], links: Links, index: _Similarity, count: int
) -> tuple[str, ...]:
    """Explicit `related:` first, then siblings sharing tags or link targets, then other
    clusters' pages that do; at most `count` in all (explicit entries are always kept)."""
    chosen = [target for target, _ in links.related.get(page.id, ())]
    cluster = page.source.cluster
    if not cluster or len(chosen) >= count:
        return tuple(chosen)
    scores = index.scores(page)
    own_hub = index.hub_of.get(cluster, "")
    for skip in (page.id, own_hub, *chosen, *index.spokes_of.get(page.id, ())):
        scores.pop(skip, None)

    def rank(other_id: str) -> tuple[bool, int, int, str, str]:
        other = pages[other_id]
        return (
            other.source.cluster != cluster,
            -scores[other_id],
            other.front.weight,
            other.front.title.lower(),
            other_id,
        )

    chosen += heapq.nsmallest(count - len(chosen), scores, key=rank)
    return tuple(chosen)


class _Similarity:
    """Inverted indexes so related suggestions cost what the shared tags and links cost."""

    def __init__(self, site: Site, body: dict[str, set[str]]) -> None:
        self.body = body
        self.by_tag: dict[str, list[str]] = defaultdict(list)
        self.by_target: dict[str, list[str]] = defaultdict(list)
        for page in site.pages:
            if page.source.kind in (PageKind.HUB, PageKind.SPOKE):
                for tag in set(page.front.tags):
                    self.by_tag[tag].append(page.id)
                for target in body[page.id]:
                    self.by_target[target].append(page.id)
        self.spokes_of = {c.hub: c.spokes for c in site.clusters}
        self.hub_of = {c.name: c.hub for c in site.clusters}

    def scores(self, page: Page) -> dict[str, int]:
        scores: dict[str, int] = defaultdict(int)
        groups = [self.by_tag[t] for t in set(page.front.tags)]
        groups += [self.by_target[t] for t in self.body[page.id]]
        for group in groups:
            if len(group) <= COMMON:  # a tag or target nearly every page shares says nothing
                for other in group:
                    scores[other] += 1
        return scores


GRAPH_FORMAT_VERSION = 1


def graph_document(graph: Graph) -> dict[str, object]:
    """The documented, versioned shape of output/graph.json."""
    return {
        "version": GRAPH_FORMAT_VERSION,
        "nodes": [
            {"id": n.id, "url": "/" + n.url, "title": n.title, "cluster": n.cluster, "role": n.role}
            for n in graph.nodes
        ],
        "edges": [{"source": e.source, "target": e.target, "kind": e.kind} for e in graph.edges],
        "planned": [
            {"cluster": c, "slug": p.slug, "title": p.title}
            for c, items in sorted(graph.planned.items())
            for p in items
        ],
    }


def graph_json(graph: Graph) -> bytes:
    return (json.dumps(graph_document(graph), indent=1, ensure_ascii=False) + "\n").encode()
