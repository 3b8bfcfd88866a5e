"""assemble_site(): parsed pages -> Site, with URLs, clusters and every output path checked.

Nothing is written before every claim on an output path is known: two sources writing one
file, a page taking a URL the generator reserves, or a static file shadowing a page are all
`duplicate-url` errors that name every claimant.
"""

from __future__ import annotations

import hashlib
import itertools
import posixpath
from collections import defaultdict
from collections.abc import Iterable
from typing import Literal

from . import diagnostics as diag
from .diagnostics import Diagnostic, Location
from .model import (
    Cluster,
    Page,
    PageKind,
    Site,
    StaticFile,
    dated_of,
    frame_of,
    landing_of,
    shape_of,
)
from .sitefiles import alias_path

# Output paths the generator writes (or will write) itself.
RESERVED = {
    "404.html": "the 404 page",
    "search/index.html": "the site search page",
    "graph.json": "the link graph export",
    "sitemap.xml": "the sitemap",
    "robots.txt": "robots.txt",
    "pagefind/pagefind.js": "the search index",
    "pagefind/index.html": "the search index",
    "feed.xml": "the site feed",
}
RESERVED_IN_CLUSTER = {"map/index.html": "the cluster map", "feed.xml": "the cluster feed"}


def page_url(page: Page) -> str:
    """The page's URL path below the site root: "" for home, "intimacy/x/" for a spoke."""
    return "" if page.source.kind is PageKind.HOME else page.id + "/"


def output_path(url: str) -> str:
    return url + "index.html"


# what assemble_site() made, by a digest of what it was made from, and the digest of the
# pages' landings it was made from (see assemble_site)
AssembleMemo = dict[
    bytes,
    tuple[
        tuple[int, ...],
        dict[str, str],
        tuple[Cluster, ...],
        frozenset[str],
        frozenset[str],
        tuple[Diagnostic, ...],
        bytes,
    ],
]


Part = Literal["shape", "frame", "landing", "assembly", "dated"]


def shapes_key(
    pages: tuple[Page, ...],
    statics: tuple[StaticFile, ...],
    content_display: str,
    include_drafts: bool = False,
    part: Part = "shape",
) -> bytes:
    """A digest of every page's shape (model.shape_of: all but its prose), the static files
    and the options. By "frame", of every page's frame and title instead (model.frame_of:
    its place and links, what the graph and the mention search read); by "landing", of
    what links to each page read of it (model.landing_of): while that is unchanged, only
    the pages whose own links changed need resolving again; by "assembly", of its landing
    and title, all assemble_site() reads; by "dated", of its place, draft flag and dates
    (model.dated_of), all the sitemap reads, and all the site's feed reads to choose the
    articles it shows."""
    return shapes_keys(pages, statics, content_display, include_drafts, (part,))[part]


def shapes_keys(
    pages: tuple[Page, ...],
    statics: tuple[StaticFile, ...],
    content_display: str,
    include_drafts: bool = False,
    parts: tuple[Part, ...] = ("shape", "frame", "landing", "assembly", "dated"),
) -> dict[Part, bytes]:
    """shapes_key() of each of `parts`, from one pass over the pages."""
    wanted = set(parts)
    titles = []
    if wanted & {"frame", "assembly"}:  # each title, NUL-ended (inline: no call per page)
        titles = [p.front.title.encode("utf-8", "surrogatepass") + b"\0" for p in pages]
    landings = []
    if wanted & {"landing", "assembly"}:
        landings = [page.landing or landing_of(page) for page in pages]
    keys: dict[Part, bytes] = {}
    for part in parts:
        # joined and hashed once: the same bytes as an update a page, without 10,000 calls
        if part == "shape":
            joined = b"".join([page.shape or shape_of(page) for page in pages])
        elif part == "landing":
            joined = b"".join(landings)
        elif part == "frame":
            frames = [page.frame or frame_of(page) for page in pages]
            joined = b"".join(itertools.chain.from_iterable(zip(frames, titles, strict=True)))
        elif part == "assembly":
            joined = b"".join(itertools.chain.from_iterable(zip(landings, titles, strict=True)))
        else:
            joined = b"".join([page.dated or dated_of(page) for page in pages])
        h = hashlib.blake2b(
            repr((statics, content_display, include_drafts, part)).encode(), digest_size=16
        )
        h.update(joined)
        keys[part] = h.digest()
    return keys


def assemble_site(
    pages: tuple[Page, ...],
    statics: tuple[StaticFile, ...],
    content_display: str,
    include_drafts: bool = False,
    memo: AssembleMemo | None = None,
    key: bytes = b"",
    landing: bytes = b"",
) -> Site:
    """`memo` (from the build cache) keeps the URLs, clusters, drafts and diagnostics under
    `key`, the shapes_key() of these arguments by assembly: an edit to a page's prose, its
    links, its tags, or front matter only rendered pages show (a summary, a date, a
    source), reuses them. An edit to a title too, when `landing` (their shapes_key() by
    landing, all but the titles) is the memo's: the title orders its cluster's spokes,
    which are sorted again."""
    if memo is not None:
        key = key or shapes_key(pages, statics, content_display, include_drafts, "assembly")
        landing = landing or shapes_key(pages, statics, content_display, include_drafts, "landing")
        hit, retitled = memo.get(key), False
        if hit is None:  # a title edited? The memo's one entry then has these landings
            hit = next((k for k in memo.values() if type(k) is tuple and k[-1] == landing), None)
            retitled = hit is not None
        if hit is not None:
            order, urls, clusters, drafts, draft_files, problems, _ = hit
            published = tuple(pages[n] for n in order)
            by_id = {p.source.page_id: p for p in published}
            if retitled:
                clusters = tuple(
                    Cluster(c.name, c.hub, _by_rank(by_id[s] for s in c.spokes)) for c in clusters
                )
                memo.clear()
                memo[key] = (order, urls, clusters, drafts, draft_files, problems, landing)
            return Site(published, urls, clusters, statics, drafts, draft_files, problems, by_id)
    site = _assemble(pages, statics, content_display, include_drafts)
    if memo is not None:
        position = {id(page): n for n, page in enumerate(pages)}
        order = tuple(position[id(page)] for page in site.pages)
        memo.clear()
        memo[key] = (
            order,
            site.urls,
            site.clusters,
            site.drafts,
            site.draft_files,
            site.diagnostics,
            landing,
        )
    return site


def _by_rank(spokes: Iterable[Page]) -> tuple[str, ...]:
    """A cluster's spokes in order: by weight, then title, then id."""
    return tuple(
        p.id for p in sorted(spokes, key=lambda p: (p.front.weight, p.front.title.lower(), p.id))
    )


def _assemble(
    pages: tuple[Page, ...],
    statics: tuple[StaticFile, ...],
    content_display: str,
    include_drafts: bool,
) -> Site:
    problems: list[Diagnostic] = []
    published = tuple(
        sorted((p for p in pages if include_drafts or not p.front.draft), key=lambda p: p.id)
    )
    left_out = [p for p in pages if p.front.draft and not include_drafts]
    drafts = frozenset(p.id for p in left_out)
    draft_files = frozenset(p.source.rel for p in left_out)
    urls = {p.id: page_url(p) for p in published}

    claims: dict[str, list[str]] = defaultdict(list)  # output path -> who writes it
    for reserved, what in RESERVED.items():
        claims[reserved].append(what)
    cluster_names = sorted({p.source.cluster for p in pages if p.source.cluster})
    for name in cluster_names:
        for reserved, what in RESERVED_IN_CLUSTER.items():
            claims[f"{name}/{reserved}"].append(f"{what} of '{name}'")
    for static in statics:
        claims[static.rel].append(static.display)
    aliased: dict[str, Page] = {}  # "content/x.md (alias /old/)" -> its page
    for page in published:
        claims[output_path(urls[page.id])].append(page.source.display)
        for alias in page.front.aliases:
            label = f"{page.source.display} (alias {alias})"
            aliased[label] = page
            claims[alias_path(alias)].append(label)
    by_display = {p.source.display: p for p in published}
    for path, claimants in sorted(claims.items()):
        if len(claimants) < 2:
            continue
        url = "/" + (path.removesuffix("index.html") if path.endswith("index.html") else path)
        names = " and ".join(claimants)
        for claimant in claimants:
            page_of = by_display.get(claimant) or aliased.get(claimant)
            if page_of is not None:
                problems.append(
                    diag.make(
                        "duplicate-url",
                        f"URL {url} is claimed by {names}",
                        Location(page_of.source.display, 1, 1),
                        hint="rename one of them; every page needs a URL of its own",
                    )
                )

    clusters: list[Cluster] = []
    by_cluster: dict[str, list[Page]] = defaultdict(list)
    for page in published:
        by_cluster[page.source.cluster].append(page)
    hubs = {p.source.cluster for p in pages if p.source.kind is PageKind.HUB}
    for name in cluster_names:
        members = by_cluster[name]
        hub = next((p for p in members if p.source.kind is PageKind.HUB), None)
        if hub is None:
            if name in hubs:
                continue  # the hub is a draft: its spokes are built without a cluster page
            folder = posixpath.dirname(members[0].source.display) if members else name
            problems.append(
                diag.make(
                    "missing-hub",
                    f"cluster '{name}' has no hub page",
                    Location(folder),
                    hint=f"create {folder}/index.md, e.g. with `intimacy-ssg new {name} --hub`",
                )
            )
            continue
        clusters.append(Cluster(name, hub.id, _by_rank(p for p in members if p is not hub)))
    if not any(p.source.kind is PageKind.HOME for p in pages):
        problems.append(
            diag.make(
                "missing-home",
                "there is no home page",
                Location(content_display),
                hint=f"create {content_display}/index.md",
            )
        )
    return Site(
        published,
        urls,
        tuple(clusters),
        statics,
        drafts,
        draft_files,
        tuple(problems),
        {p.id: p for p in published},
    )


def structure_key(shapes: bytes, config: object) -> bytes:
    """A digest of the configuration and `shapes`, a shapes_key() of the pages.

    By shapes, it is the site's structure: everything the site-wide files and every
    output's render key are made from. When it is unchanged (an edit to a paragraph), a
    rebuild reuses them whole; only the edited page's own output is made again. By frames,
    it is the site's frame: everything link resolution, the graph and the mention search are
    made from, which an edit to a summary, a date or a source leaves unchanged too. By
    landings, what resolving links reads of other pages: a link edited in one page leaves
    it unchanged."""
    return hashlib.blake2b(repr(config).encode() + shapes, digest_size=16).digest()
