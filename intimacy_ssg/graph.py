"""build_graph(): the site's link graph, built once from every source of edges.

Edges come from body links (markdown links, wikilinks, links in FAQ answers), `related:`
lists and hub -> spoke membership; each keeps its kind and where it was written. From the
graph come what readers see (backlinks, related reading) and what editors are told
(cluster contract breaches, orphans, dead ends, planned topics that now exist).

Everything here is linear in the number of pages plus edges.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import itertools
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring
from operator import itemgetter

from . import diagnostics as diag
from . import pickling
from .config import Config
from .diagnostics import Diagnostic, Location
from .model import Links, Page, PageKind, Planned, Site

BODY, RELATED, MEMBER = "body", "related", "member"
COMMON = 200  # tags or link targets shared by more pages than this are ignored for related


# An edge: (source, target, kind), kind body, related or member. A plain tuple: a site of
# 10,000 pages has 100,000 of them, and tuples are made, pickled and unpickled in C.
Edge = tuple[str, str, str]


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
    links_to: dict[str, tuple[str, ...]]  # page -> pages its body links to, sorted
    backlinks: dict[str, tuple[str, ...]]  # page -> pages linking to it (body or related)
    related: dict[str, tuple[str, ...]]  # page -> explicit related first, then suggestions
    planned: dict[str, tuple[Planned, ...]]  # cluster -> promised topics without a page
    findings: tuple[Finding, ...]
    diagnostics: tuple[Diagnostic, ...]

    def cross_cluster(self) -> tuple[tuple[str, str, int], ...]:
        """Body links between pages of different clusters, counted per (from, to) pair."""
        cluster = {n.id: n.cluster for n in self.nodes}
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for source, target, kind in self.edges:
            a, b = cluster[source], cluster[target]
            if kind == BODY and a and b and a != b:
                counts[(a, b)] += 1
        return tuple((a, b, n) for (a, b), n in sorted(counts.items()))


# page id -> key, related ids, and its rank (see _Similarity.ranks) when they were chosen
RelatedMemo = dict[str, tuple[bytes, tuple[str, ...], str]]


@dataclass
class IndexMemo:
    """The similarity index (see _Similarity) the last graph was made with, and that graph:
    kept in memory only, so that a watcher's next patch_graph() patches the index rather
    than making it again from every page."""

    graph: Graph | None = None
    index: _Similarity | None = None

    def take(self, graph: Graph) -> _Similarity | None:
        """The index `graph` was made with, if kept; it is this memo's no longer."""
        index = self.index if self.graph is graph else None
        self.graph = self.index = None
        return index

    def keep(self, graph: Graph, index: _Similarity) -> Graph:
        self.graph, self.index = graph, index
        return graph


def links_out(
    site: Site,
    links: Links,
    only: frozenset[str] | None = None,
    before: Mapping[str, tuple[str, ...]] | None = None,
) -> dict[str, tuple[str, ...]]:
    """Graph.links_to alone: the other pages each page's body (and its quiz profiles) links
    to, sorted. The mention check needs no more, so it can start before the graph is made.
    With `only` and `before` (links_out() of earlier links that differ for those pages
    only): the entries of `only` made again, the others kept."""
    pages = site.by_id or {p.id: p for p in site.pages}
    out: dict[str, tuple[str, ...]] = {}
    if only is not None and before is not None:
        out.update((k, v) for k, v in before.items() if k not in only and k in pages)
    for page in site.pages if only is None else (pages[i] for i in sorted(only) if i in pages):
        targets = {r.target for r in links.resolved.get(page.id, ())}
        targets.update(t for profile in links.profiles.get(page.id, ()) for t in profile)
        targets = {t for t in targets if t != page.id and t in pages}
        if targets:
            out[page.id] = tuple(sorted(targets))
    return dict(sorted(out.items()))


def build_graph(
    site: Site,
    links: Links,
    config: Config,
    memo: RelatedMemo | None = None,
    body_links: dict[str, tuple[str, ...]] | None = None,
    indexes: IndexMemo | None = None,
) -> Graph:
    """`memo` (from the build cache) keeps each page's computed related reading under a key
    of everything it was chosen from (see _Similarity.key). `body_links`: links_out(site,
    links), if made already. `indexes`: where to keep the similarity index (see patch_graph)."""
    links_to = links_out(site, links) if body_links is None else body_links
    pages = site.by_id or {p.id: p for p in site.pages}
    spokes_of = {c.hub: c.spokes for c in site.clusters}
    ordered: list[tuple[str, str, str]] = []
    for page in site.pages:
        ordered += _edges_from(page.id, links_to, links.related, spokes_of, pages)
    inbound: dict[str, set[str]] = defaultdict(set)
    for source, target, kind in ordered:
        if kind != MEMBER:
            inbound[target].add(source)
    rank = {page_id: _rank(page) for page_id, page in pages.items()}
    backlinks = {page_id: _backlinks_of(page_id, inbound.get(page_id), rank) for page_id in pages}

    body = _bodies(links_to)
    found = _Found()
    _check_contracts(site, pages, body, links, config, found)
    for page in site.pages:
        _check_ends(page, backlinks[page.id], body[page.id], found)
    planned = _check_planned(site, pages, found)
    index = _Similarity(site, body)
    graph = Graph(
        nodes=tuple(_node_of(site, p) for p in site.pages),
        edges=tuple(ordered),
        links_to=links_to,
        backlinks=backlinks,
        related=_all_related(site, pages, links, index, config.related_count, memo),
        planned=planned,
        findings=tuple(found.findings),
        diagnostics=tuple(found.problems),
    )
    return indexes.keep(graph, index) if indexes is not None else graph


def patch_graph(
    before: Graph,
    before_links: Links,
    site: Site,
    links: Links,
    config: Config,
    memo: RelatedMemo | None = None,
    body_links: dict[str, tuple[str, ...]] | None = None,
    earlier: Mapping[str, Page] | None = None,
    indexes: IndexMemo | None = None,
) -> Graph:
    """build_graph(site, links, config, memo, body_links), made from the last build's graph
    (`before`, made from `before_links` and the same configuration) when every page it
    had that is still published is where it was then: with the same URL, cluster and role.
    Pages may have been added or removed, and titles, tags, weights, related and planned
    pages and links edited (see build._build). The edges of the pages added or removed or
    whose links changed (a hub's spokes among them) are made again, and the backlinks and
    the orphan and dead-end findings of the pages they link to or did, or a retitled page
    links to; the rest of the edges, backlinks and those findings are kept. The cluster
    contracts, planned topics and related reading are worked out again (they are quick,
    or keep a memo of their own). Given any other `before`: build_graph().

    `earlier`: the last build's version of every page parsed again since or gone (by id),
    if known. Only the pages whose related-reading keys may have changed then make them
    again: those edited, added, removed or retitled, the pages sharing a tag or a link
    target with one of them (now or then), and the hubs and members of their clusters.

    `indexes`: the similarity index `before` was made with, if it holds it, which is patched
    (given `earlier`) rather than made again from every page; and where the new graph's
    is kept."""
    index_before = indexes.take(before) if indexes is not None else None
    links_to = links_out(site, links) if body_links is None else body_links
    pages = site.by_id or {p.id: p for p in site.pages}
    old_nodes = {n.id: n for n in before.nodes}
    spokes: dict[str, set[str]] = defaultdict(set)  # cluster -> its spokes in `before`
    for n in before.nodes:
        if n.role == _SPOKE:
            spokes[n.cluster].add(n.id)
    urls = site.urls
    # A page not parsed again since the last build (see `earlier`) has the URL, cluster,
    # role and title it had then: only the others are compared.
    suspects = site.pages if earlier is None else [pages[i] for i in earlier if i in pages]
    for page in suspects:
        file = page.source
        old = old_nodes.get(file.page_id)
        if old is not None and (
            old.url != urls[file.page_id]
            or old.cluster != file.cluster
            or old.role != _ROLE[file.kind]
        ):
            return build_graph(site, links, config, memo, links_to, indexes)
    old_to, old_related, related = before.links_to, before_links.related, links.related
    gone = old_nodes.keys() - pages.keys()
    edited = {
        i
        for i in pages
        if i not in old_nodes
        or links_to.get(i) != old_to.get(i)
        or related.get(i) != old_related.get(i)
    }
    edited.update(c.hub for c in site.clusters if spokes[c.name] != set(c.spokes))
    retitled = {
        p.id
        for p in suspects
        if (was := old_nodes.get(p.id)) is not None and was.title != p.front.title
    }
    spokes_of = {c.hub: c.spokes for c in site.clusters}

    # The edges of the pages edited or gone in place of their old ones (all sorted by
    # source), and the pages whose backlinks may change: those an edited or removed page
    # links to now or did, and those a retitled page links to (its title places it among
    # their backlinks).
    old_edges, source_of = before.edges, itemgetter(0)
    parts: list[Iterable[Edge]] = []
    at = 0
    now: dict[str, set[str]] = {}  # an edited page -> the pages its body or related: name
    for source in sorted(edited | gone):
        mine = _edges_from(source, links_to, related, spokes_of, pages) if source in pages else []
        now[source] = {target for _, target, kind in mine if kind != MEMBER}
        start = bisect.bisect_left(old_edges, source, at, key=source_of)
        parts += (old_edges[at:start], mine)
        at = bisect.bisect_right(old_edges, source, start, key=source_of)
    parts.append(old_edges[at:])
    touched: set[str] = set()
    for source in now.keys() | retitled:
        touched.update(old_to.get(source, ()), links_to.get(source, ()))
        touched.update(old_related.get(source, ()), related.get(source, ()))
    touched &= pages.keys()

    kept = before.backlinks
    inbound = {t: {s for s in kept.get(t, ()) if s not in now} for t in touched}
    for source, targets in now.items():
        for target in targets:
            inbound[target].add(source)
    rank = {i: _rank(pages[i]) for i in {*touched, *(s for v in inbound.values() for s in v)}}
    backlinks = {  # in page order, as build_graph makes it
        i: _backlinks_of(i, inbound[i], rank) if i in touched else kept.get(i, ()) for i in pages
    }

    # orphans and dead-ends are kept for every other page; the page order, which is by id,
    # places them among the other findings
    body = _bodies(links_to)
    ends: dict[str, list[tuple[Finding, Diagnostic]]] = defaultdict(list)
    for finding, problem in zip(before.findings, before.diagnostics, strict=True):
        page_id = finding.page
        if finding.code in END_CODES and page_id not in now and page_id not in touched:
            ends[page_id].append((finding, problem))  # a page gone is in `now`
    for page_id in touched.union(now).intersection(pages):
        checked = _Found()
        _check_ends(pages[page_id], backlinks[page_id], body[page_id], checked)
        if checked.findings:
            ends[page_id] = list(zip(checked.findings, checked.problems, strict=True))
    found = _Found()
    _check_contracts(site, pages, body, links, config, found)
    for page_id in sorted(ends):
        for finding, problem in ends[page_id]:
            found.findings.append(finding)
            found.problems.append(problem)
    planned = _check_planned(site, pages, found)
    index = None
    if index_before is not None and earlier is not None:
        index = index_before.patched(site, body, {*earlier, *edited, *gone})
    if index is None:
        index = _Similarity(site, body)
    unsettled = None
    if earlier is not None:
        unsettled = _unsettled(
            site, before, index, {*earlier, *now, *retitled}, earlier, old_to, links_to
        )
    graph = Graph(
        nodes=tuple(
            _node_of(site, p) if p.id in retitled or p.id not in old_nodes else old_nodes[p.id]
            for p in site.pages
        ),
        edges=tuple(itertools.chain.from_iterable(parts)),
        links_to=links_to,
        backlinks=backlinks,
        related=_all_related(site, pages, links, index, config.related_count, memo, unsettled),
        planned=planned,
        findings=tuple(found.findings),
        diagnostics=tuple(found.problems),
    )
    return indexes.keep(graph, index) if indexes is not None else graph


def _unsettled(
    site: Site,
    before: Graph,
    index: _Similarity,
    changed: set[str],
    earlier: Mapping[str, Page],
    old_to: Mapping[str, tuple[str, ...]],
    links_to: Mapping[str, tuple[str, ...]],
) -> set[str]:
    """The pages whose related-reading keys (see _Similarity.key) may differ from the last
    graph's, when `changed` holds every page (by id) whose own tags, body links, related
    pages, title, weight or place may have changed, or that was added or removed: those
    pages; the members of each tag group and link-target group one of them is in, or was
    (any other member of a group has it now, as it had it then), unless the group has more
    than COMMON members now and had then (a key reads such a group as "*", whoever is in
    it); the hubs whose spokes may have moved; and every page of a cluster whose hub
    changed."""
    pages = site.by_id or {p.id: p for p in site.pages}
    found = set(changed)
    tags: set[str] = set()
    targets: set[str] = set()
    for page_id in changed:
        for page in (pages.get(page_id), earlier.get(page_id)):
            if page is not None:
                tags.update(page.front.tags)
        targets.update(old_to.get(page_id, ()), links_to.get(page_id, ()))
    # Only the pages in `changed` can have joined or left a group: one larger than this
    # now had more than COMMON members then too.
    common = COMMON + len(changed)
    for tag in tags:
        if len(group := index.by_tag.get(tag, ())) <= common:
            found.update(group)
    for target in targets:
        if len(group := index.by_target.get(target, ())) <= common:
            found.update(group)
    hubs = {n.cluster: n.id for n in before.nodes if n.role == _HUB}
    for cluster in site.clusters:
        if hubs.get(cluster.name) != cluster.hub:
            found.update((cluster.hub, *cluster.spokes))
        elif not found.isdisjoint(cluster.spokes):
            found.add(cluster.hub)
    gone = hubs.keys() - {c.name for c in site.clusters}  # a hub gone: its cluster's too
    if gone:
        found.update(p.id for p in site.pages if p.source.cluster in gone)
    return found


def _edges_from(
    source: str,
    links_to: Mapping[str, tuple[str, ...]],
    related: Mapping[str, tuple[str, ...]],
    spokes_of: Mapping[str, tuple[str, ...]],
    pages: Mapping[str, Page],
) -> list[tuple[str, str, str]]:
    """A page's edges as (source, target, kind), sorted: its body links (links_to: every
    resolved link and quiz profile link to another page), its related pages and, for a
    hub, its spokes."""
    mine = {(target, BODY) for target in links_to.get(source, ())}
    mine.update(
        (target, RELATED)
        for target in related.get(source, ())
        if target != source and target in pages
    )
    mine.update((m, MEMBER) for m in spokes_of.get(source, ()) if m != source and m in pages)
    return [(source, target, kind) for target, kind in sorted(mine)]


def _bodies(links_to: Mapping[str, tuple[str, ...]]) -> dict[str, set[str]]:
    return defaultdict(set, {s: set(t) for s, t in links_to.items()})


def _node_of(site: Site, page: Page) -> Node:
    return Node(
        page.id, site.urls[page.id], page.front.title, page.source.cluster, _ROLE[page.source.kind]
    )


# A page's role in a node, by its kind: an enum member's .value is a slow descriptor lookup.
_ROLE = {kind: kind.value for kind in PageKind}
_HUB, _SPOKE = PageKind.HUB.value, PageKind.SPOKE.value


END_CODES = frozenset({"orphan", "dead-end"})


class _Found:
    """The findings of a graph check, each with its diagnostic, in the order reported."""

    __slots__ = ("findings", "problems")

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.problems: list[Diagnostic] = []

    def report(
        self, page: Page, code: str, message: str, hint: str = "", location: Location | None = None
    ) -> None:
        self.findings.append(Finding(page.id, code, message))
        self.problems.append(
            diag.make(code, message, location or Location(page.source.display, 1, 1), hint=hint)
        )


def _check_contracts(
    site: Site,
    pages: Mapping[str, Page],
    body: dict[str, set[str]],
    links: Links,
    config: Config,
    found: _Found,
) -> None:
    """Each cluster's contract: every spoke links to its hub and to enough siblings, and the
    hub links to (or lists as related) every spoke."""
    for cluster in site.clusters:
        hub = pages[cluster.hub]
        spokes = cluster.spokes
        members = frozenset(spokes)
        reach = body[hub.id] | {
            t for t in links.related.get(hub.id, ()) if t != hub.id and t in pages
        }
        need = min(config.min_sibling_links, len(spokes) - 1)
        for spoke_id in spokes:  # most spokes keep their contract: read only what says so
            mine = body[spoke_id]
            siblings = len(members.intersection(mine))  # a page never links to itself here
            if hub.id in mine and spoke_id in reach and siblings >= need:
                continue
            spoke = pages[spoke_id]
            if hub.id not in mine:
                found.report(
                    spoke,
                    "contract-hub-link",
                    f"spoke '{spoke_id}' does not link to its hub '{hub.id}'",
                    f"add a link such as [{hub.front.title}](index.md) to the body",
                )
            if spoke_id not in reach:
                found.report(
                    hub,
                    "contract-spoke-link",
                    f"hub '{hub.id}' does not link to its spoke '{spoke_id}'",
                    f"link it from the body, e.g. [{spoke.front.title}]"
                    f"({spoke.source.slug}.md), or add it to related:",
                )
            if siblings < need:
                missing = [s for s in spokes if s != spoke_id and s not in mine][:2]
                found.report(
                    spoke,
                    "contract-siblings",
                    f"spoke '{spoke_id}' links to {siblings} sibling "
                    f"{'spoke' if siblings == 1 else 'spokes'}; the cluster contract asks "
                    f"for {need}",
                    "for example: " + ", ".join(f"[[{pages[s].source.slug}]]" for s in missing),
                )


def _check_ends(page: Page, inbound: object, body: set[str], found: _Found) -> None:
    """An orphan (no page links to it: `inbound` is empty) or a dead end (it links nowhere)."""
    if page.source.kind is not PageKind.HOME and not inbound:
        found.report(
            page,
            "orphan",
            f"no other page links to '{page.id}'",
            "link it from the body or the related: list of a page about the same topic",
        )
    if not body:
        found.report(
            page,
            "dead-end",
            f"'{page.id}' links to no other page",
            "link to its hub or to the pages a reader should go to next",
        )


def _check_planned(
    site: Site, pages: Mapping[str, Page], found: _Found
) -> dict[str, tuple[Planned, ...]]:
    """Each cluster's planned topics still without a page; one that has a page now is
    reported where it was planned."""
    planned: dict[str, tuple[Planned, ...]] = {}
    for cluster in site.clusters:
        hub = pages[cluster.hub]
        waiting = []
        for item in hub.front.planned:
            page_id = f"{cluster.name}/{item.slug}"
            if page_id in pages:
                found.report(
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
    return planned


def _rank(page: Page) -> tuple[str, bool, str, str]:
    """Where a page comes among another's backlinks (see _backlinks_of)."""
    return (
        page.source.cluster,
        page.source.kind is not PageKind.HUB,
        page.front.title.lower(),
        page.id,
    )


def _backlinks_of(
    page_id: str, sources: Iterable[str] | None, rank: Mapping[str, tuple[str, bool, str, str]]
) -> tuple[str, ...]:
    """A page's inbound pages: those of its own cluster first, then by cluster, each
    cluster's hub before its spokes, then by title and id."""
    if not sources:
        return ()
    cluster = rank[page_id][0]
    return tuple(sorted(sources, key=lambda s: (rank[s][0] != cluster, rank[s])))


def _all_related(
    site: Site,
    pages: dict[str, Page],
    links: Links,
    index: _Similarity,
    count: int,
    memo: RelatedMemo | None,
    unsettled: set[str] | None = None,
) -> dict[str, tuple[str, ...]]:
    """Each page's related reading; `memo` keeps each page's under a key of everything it
    is chosen from (see _Similarity.key) but the site-wide order that breaks ties, which
    one page's new title or weight changes: a page keeps its reading when its key is the
    same and it shares no group with a page whose rank moved. `unsettled`: the only pages
    whose keys may have changed (see patch_graph); the others' are not made again."""
    related: dict[str, tuple[str, ...]] = {}
    fresh: RelatedMemo = {}
    ranks = index.ranks
    moved = set()
    if memo is not None:
        moved = {i for i, rank in ranks.items() if (hit := memo.get(i)) is None or hit[2] != rank}
    shifted = index.sharing(moved)
    explicit = links.related
    settled = memo if memo is not None and unsettled is not None else None
    unsure = unsettled or set()
    for page in site.pages:
        page_id = page.source.page_id
        if settled is not None and page_id not in shifted and page_id not in unsure:
            hit = settled.get(page_id)
            if hit is not None and hit[2] == ranks[page_id]:  # what the loop below keeps
                related[page_id], fresh[page_id] = hit[1], hit
                continue
        chosen = list(explicit.get(page_id, ()))
        key = b""
        if not page.source.cluster or len(chosen) >= count:
            mine = tuple(chosen)
        else:
            hit = memo.get(page_id) if memo is not None else None
            if hit is not None and unsettled is not None and page_id not in unsettled:
                key = hit[0]  # made from what it was made from last time
            else:
                key = index.key(page, chosen, count) if memo is not None else b""
            if hit is not None and hit[0] == key and page_id not in shifted:
                mine = hit[1]
            else:
                mine = _related(page, chosen, index, count)
        related[page_id] = mine
        fresh[page_id] = (key, mine, ranks[page_id])
    if memo is not None:
        memo.clear()
        memo.update(fresh)
    return related


def _related(page: Page, chosen: list[str], index: _Similarity, count: int) -> tuple[str, ...]:
    """Explicit `related:` first, then siblings sharing tags or link targets, then other
    clusters' pages that do; at most `count` in all (explicit entries are always kept)."""
    cluster = page.source.cluster
    scores = index.scores(page)
    own_hub = index.hub_of.get(cluster, "")
    for skip in (page.id, own_hub, *chosen, *index.spokes_of.get(page.id, ())):
        scores.pop(skip, None)
    if not scores:
        return tuple(chosen)
    # The order is (other cluster?, -score, weight, title, id); the last three are one
    # position in a site-wide ordering, so each candidate's rank packs into one integer.
    top, size, position, cluster_of = (
        max(scores.values()),
        len(index.order),
        index.position,
        index.cluster_of,
    )
    ranks = [
        ((cluster_of[other] != cluster) * (top + 1) + top - score) * size + position[other]
        for other, score in scores.items()
    ]
    chosen += (index.order[rank % size] for rank in heapq.nsmallest(count - len(chosen), ranks))
    return tuple(chosen)


class _Similarity:
    """Inverted indexes so related suggestions cost what the shared tags and links cost."""

    def __init__(self, site: Site, body: dict[str, set[str]]) -> None:
        # one pass over every page, each attribute read once (made after every title, tag
        # or link edit at 10,000 pages)
        self.body = body
        self.by_tag: dict[str, list[str]] = defaultdict(list)
        self.by_target: dict[str, list[str]] = defaultdict(list)
        self.tags_of: dict[str, set[str]] = {}  # the candidates' (hubs' and spokes') tags
        self.cluster_of: dict[str, str] = {}
        # what places a page in the order and its cluster: how it ranks as a candidate
        self.ranks: dict[str, str] = {}
        by_tag, by_target, tags_of, cluster_of = (
            self.by_tag,
            self.by_target,
            self.tags_of,
            self.cluster_of,
        )
        candidates = (PageKind.HUB, PageKind.SPOKE)
        places: list[tuple[int, str, str]] = []
        for page in site.pages:
            source, front = page.source, page.front
            page_id, cluster, weight, title = (
                source.page_id,
                source.cluster,
                front.weight,
                front.title,
            )
            if source.kind in candidates:
                tags = tags_of[page_id] = set(front.tags)
                for tag in tags:
                    by_tag[tag].append(page_id)
                for target in body[page_id]:
                    by_target[target].append(page_id)
            cluster_of[page_id] = cluster
            lower = title.lower()
            places.append((weight, lower, page_id))
            self.ranks[page_id] = f"{weight}\x00{lower}\x00{cluster}"
        self.spokes_of = {c.hub: c.spokes for c in site.clusters}
        self.hub_of = {c.name: c.hub for c in site.clusters}
        places.sort()  # by weight, title and id: page ids are unique
        self.places = places  # kept for patched()
        self.order = [page_id for _, _, page_id in places]
        self.position = {page_id: n for n, page_id in enumerate(self.order)}
        self._tag_keys: dict[str, str] = {}  # tag -> digest of its group (see key())
        self._target_keys: dict[str, str] = {}  # link target -> digest of its group

    def patched(
        self, site: Site, body: dict[str, set[str]], changed: Iterable[str]
    ) -> _Similarity | None:
        """_Similarity(site, body), made from this index in the time the pages in `changed`
        take, when only they (by id) may have been added or removed, or had their tags,
        body links, cluster, kind, weight or title changed since it was made: every other
        page's entries are kept. Made in place: this index is not to be used again. None
        if this index turns out not to be the one those changes were made to."""
        pages = site.by_id or {p.id: p for p in site.pages}
        candidates = (PageKind.HUB, PageKind.SPOKE)
        by_tag, by_target, tags_of, places = self.by_tag, self.by_target, self.tags_of, self.places
        old_body, position, changed = self.body, self.position, sorted(set(changed))
        for at in sorted((position[i] for i in changed if i in position), reverse=True):
            del places[at]  # places and order are in step
        for page_id in changed:
            tags = tags_of.pop(page_id, None)
            if tags is not None:  # a candidate, in groups by its tags and its body links
                for group in [by_tag[t] for t in tags] + [by_target[t] for t in old_body[page_id]]:
                    at = bisect.bisect_left(group, page_id)  # groups are in page (id) order
                    if at == len(group) or group[at] != page_id:
                        return None
                    del group[at]
            self.cluster_of.pop(page_id, None)
            self.ranks.pop(page_id, None)
            page = pages.get(page_id)
            if page is None:
                continue  # removed
            source, front = page.source, page.front
            if source.kind in candidates:
                tags = tags_of[page_id] = set(front.tags)
                for tag in tags:
                    bisect.insort(by_tag[tag], page_id)
                for target in body[page_id]:
                    bisect.insort(by_target[target], page_id)
            self.cluster_of[page_id] = source.cluster
            lower = front.title.lower()
            bisect.insort(places, (front.weight, lower, page_id))
            self.ranks[page_id] = f"{front.weight}\x00{lower}\x00{source.cluster}"
        self.body = body
        self.spokes_of = {c.hub: c.spokes for c in site.clusters}
        self.hub_of = {c.name: c.hub for c in site.clusters}
        self.order = [page_id for _, _, page_id in places]
        self.position = {page_id: n for n, page_id in enumerate(self.order)}
        self._tag_keys, self._target_keys = {}, {}
        return self

    def key(self, page: Page, chosen: list[str], count: int) -> bytes:
        """Everything _related() reads for this page but the site-wide order: the groups it
        scores from (by digest) and the pages it skips. The order (by weight, title and
        id) and the clusters break ties among the candidates: see _all_related."""
        cluster = page.source.cluster
        parts = [str(COMMON), str(count), page.id, cluster, self.hub_of.get(cluster, "")]
        parts += ("chosen", *chosen, "spokes", *self.spokes_of.get(page.id, ()))
        tags, targets = self._tag_keys, self._target_keys
        for tag in sorted(set(page.front.tags)):
            parts.append(tags.get(tag) or self._group_key("tag", tag, self.by_tag, tags))
        for to in sorted(self.body[page.id]):
            parts.append(targets.get(to) or self._group_key("to", to, self.by_target, targets))
        return _digest("\x1d".join(parts))

    def sharing(self, pages: set[str]) -> set[str]:
        """The pages that share a group (a tag, a link target) with one of `pages`: those
        whose candidates may include one of them."""
        found: set[str] = set()
        for page_id in pages:
            if page_id not in self.tags_of:
                continue  # not a hub or a spoke: never a candidate
            groups = [self.by_tag[t] for t in self.tags_of[page_id]]
            groups += [self.by_target[t] for t in self.body[page_id]]
            for group in groups:
                if len(group) <= COMMON:
                    found.update(group)
        return found

    @staticmethod
    def _group_key(kind: str, name: str, groups: dict[str, list[str]], made: dict[str, str]) -> str:
        members = groups.get(name, [])
        text = f"{kind}\x00{name}\x00" + ("\x00".join(members) if len(members) <= COMMON else "*")
        made[name] = hit = _digest(text).hex()
        return hit

    def scores(self, page: Page) -> dict[str, int]:
        scores: dict[str, int] = defaultdict(int)
        groups = [self.by_tag[t] for t in set(page.front.tags)]
        groups += [self.by_target[t] for t in self.body[page.id]]
        for group in groups:
            if len(group) <= COMMON:  # a tag or target nearly every page shares says nothing
                for other in group:
                    scores[other] += 1
        return scores


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


GRAPH_FORMAT_VERSION = 1


def graph_document(graph: Graph) -> dict[str, object]:
    """The documented, versioned shape of output/graph.json."""
    return {
        "version": GRAPH_FORMAT_VERSION,
        "nodes": [_node(n) for n in graph.nodes],
        "edges": [{"source": s, "target": t, "kind": k} for s, t, k in graph.edges],
        "planned": _planned(graph),
    }


def _node(n: Node) -> dict[str, str]:
    return {"id": n.id, "url": "/" + n.url, "title": n.title, "cluster": n.cluster, "role": n.role}


def _planned(graph: Graph) -> list[dict[str, str]]:
    return [
        {"cluster": c, "slug": p.slug, "title": p.title}
        for c, items in sorted(graph.planned.items())
        for p in items
    ]


class JsonMemo:
    """graph_json()'s lines of the graphs it made, kept in memory (by a watcher's cache) so
    that the next graph's are made only where they differ: a node's line by the node
    object (patch_graph keeps those of unchanged pages; each is immutable and kept alive
    here, so its id names it), and the lines of a page's edges by that page, checked
    against its edges."""

    __slots__ = ("edges", "node_lines", "nodes")

    def __init__(self) -> None:
        self.nodes: tuple[Node, ...] = ()
        self.node_lines: dict[int, str] = {}  # id(node) -> its line
        self.edges: dict[str, tuple[tuple[Edge, ...], str]] = {}  # source -> edges, lines


def graph_json(graph: Graph, memo: JsonMemo | None = None) -> bytes:
    """graph_document() with one node, edge or planned topic per line: readable, diffable,
    and quick to write (json's C encoder only runs without `indent`). Each line is written
    as that encoder would write its object: strings by its own C function, the page ids
    edges share encoded once each, and the opening of an edge shared by the edges that
    follow from the same page (at 10,000 pages, 106,000 edges: the whole 107 to 50 ms).
    `memo`: the lines of the last graphs made with it, kept and updated (see JsonMemo)."""
    text = encode_basestring  # json's own: what JSONEncoder(ensure_ascii=False) calls for a str
    known = memo.node_lines if memo is not None else {}
    node_lines: dict[int, str] = {}
    nodes, kept = [], graph.nodes  # read once: the objects whose ids name their lines
    for n in kept:
        line = known.get(id(n))
        if line is None:
            line = (
                f'  {{"id": {text(n.id)}, "url": {text("/" + n.url)}, "title": {text(n.title)}, '
                f'"cluster": {text(n.cluster)}, "role": {text(n.role)}}}'
            )
        node_lines[id(n)] = line
        nodes.append(line)
    made = memo.edges if memo is not None else {}
    blocks: dict[str, tuple[tuple[Edge, ...], str]] = {}
    targets: dict[str, str] = {}
    tails: dict[str, str] = {}
    for source, group in itertools.groupby(graph.edges, key=_SOURCE):
        edges = tuple(group)
        hit = made.get(source)
        if hit is None or hit[0] != edges:
            head = f'  {{"source": {text(source)}, "target": '
            block = []
            for _, t, k in edges:
                target = targets.get(t)
                if target is None:
                    target = targets[t] = text(t)
                tail = tails.get(k)
                if tail is None:
                    tail = tails[k] = f', "kind": {text(k)}}}'
                block.append(head + target + tail)
            hit = (edges, ",\n".join(block))
        blocks[source] = hit
    if memo is not None:
        memo.nodes, memo.node_lines, memo.edges = tuple(kept), node_lines, blocks
    encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    lists = {  # in graph_document's order
        "nodes": nodes,
        "edges": [block for _, block in blocks.values()],
        "planned": ["  " + encode(item) for item in _planned(graph)],
    }
    lines = ["{", f' "version": {GRAPH_FORMAT_VERSION},']
    for at, (key, items) in enumerate(lists.items()):
        lines.append(f' "{key}": [')
        lines.append(",\n".join(items))
        lines.append(" ]," if at + 1 < len(lists) else " ]")
    lines.append("}")
    return ("\n".join(line for line in lines if line) + "\n").encode()


_SOURCE = itemgetter(0)


pickling.register(globals())
# An edit rebuild reads backlinks and related pages; the edges and nodes are for graph.json.
PackedGraph = pickling.packed_variant(Graph, ("edges",), ("nodes",))
