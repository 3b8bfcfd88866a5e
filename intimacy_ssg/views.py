"""What templates see: small frozen view objects built from the Site, never raw dicts.

Templates get `site` (a SiteView) and `page` (a PageView). Every URL in a view already
carries the base path, so templates never build URLs by hand.
"""

from __future__ import annotations

import datetime
import hashlib
import html
import json
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar, overload
from urllib.parse import urlsplit

from markupsafe import Markup

from .config import Config
from .graph import Graph
from .model import (
    Cluster,
    Heading,
    Links,
    Page,
    PageKind,
    ResolvedLink,
    Site,
    fill_placeholders,
)
from .quiz import SCALE, Dimension, quiz_data
from .structured import PageFacts, page_jsonld
from .svgmap import MapNode, cluster_map_svg


@dataclass(frozen=True, slots=True)
class LinkView:
    title: str
    url: str
    summary: str = ""
    current: bool = False


_LINK_SLOTS = {name: LinkView.__dict__[name] for name in ("title", "url", "summary", "current")}


class _WatchedLink(LinkView):
    """A spoke as the site-wide view lists it: reading its summary (however: the attribute,
    its repr, equality, hashing) is reported to `seen` (see ViewBuilder.watched_key). The
    summary is read from the page only then: a list of every spoke shown by title (the
    home page's) leaves every other page's front matter packed."""

    __slots__ = ("_page", "_seen")
    _page: Page
    _seen: Callable[[], None]

    @property
    def summary(self) -> str:
        self._seen()
        return self._page.front.summary or self._page.front.description


def _watched_link(page: Page, url: str, seen: Callable[[], None]) -> LinkView:
    """ViewBuilder.link(page's id) as a _WatchedLink."""
    made = object.__new__(_WatchedLink)
    for name, value in (("title", page.front.title), ("url", url), ("current", False)):
        _LINK_SLOTS[name].__set__(made, value)
    object.__setattr__(made, "_page", page)
    object.__setattr__(made, "_seen", seen)
    return made


@dataclass(frozen=True, slots=True)
class DateView:
    iso: str  # 2026-11-22 (or a full ISO 8601 date-time when one was given)
    text: str  # 22 November 2026
    moment: str  # ISO 8601 with a time zone: a date is midnight in the site's time zone
    day: str  # YYYY-MM-DD

    @staticmethod
    def of(value: datetime.date | None, tz: str = "UTC") -> DateView | None:
        if value is None:
            return None
        zone = zoneinfo.ZoneInfo(tz)
        if isinstance(value, datetime.datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=zone)
            day = value.date()
        else:
            moment = datetime.datetime(value.year, value.month, value.day, tzinfo=zone)
            day = value
        text = f"{day.day} {MONTHS[day.month - 1]} {day.year}"  # never the machine's locale
        return DateView(value.isoformat(), text, moment.isoformat(), day.isoformat())


T = TypeVar("T")
NAV_LIMIT = 8  # clusters in the header on every page; the home page lists them all

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True, slots=True)
class AuthorView:
    name: str
    credentials: str
    url: str


@dataclass(frozen=True, slots=True)
class SourceView:
    title: str
    authors: str
    year: int | None
    publisher: str
    url: str


@dataclass(frozen=True, slots=True)
class FaqView:
    question: str
    answer: Markup
    anchor: str


@dataclass(frozen=True, slots=True)
class TocEntry:
    level: int
    text: str
    anchor: str
    children: tuple[TocEntry, ...] = ()  # the h3s under an h2


def table_of_contents(headings: tuple[Heading, ...]) -> tuple[TocEntry, ...]:
    """h2s with their h3s nested; an h3 before any h2 stands on its own."""
    entries: list[TocEntry] = []
    for h in headings:
        if h.level == 2 or (h.level == 3 and not entries):
            entries.append(TocEntry(h.level, h.text, h.id))
        elif h.level == 3:
            last = entries[-1]
            child = TocEntry(3, h.text, h.id)
            entries[-1] = TocEntry(last.level, last.text, last.anchor, (*last.children, child))
    return tuple(entries)


@dataclass(frozen=True, slots=True)
class ClusterView:
    name: str
    title: str
    url: str
    spokes: Sequence[LinkView]  # the current page's spoke has current=True
    map_url: str = ""
    planned: Sequence[str] = ()  # titles of topics promised but not written yet


@dataclass(frozen=True, slots=True)
class MapEntry:
    """One node of a cluster map, in words: the map's text alternative."""

    title: str
    url: str  # "" for a planned topic
    role: str  # hub, spoke or planned
    links_to: tuple[LinkView, ...] = ()


@dataclass(frozen=True, slots=True)
class ProfileView:
    id: str
    title: str
    description: Markup
    when: tuple[str, ...]  # "higher comfort with closeness", ...
    links: tuple[LinkView, ...]


@dataclass(frozen=True, slots=True)
class QuizView:
    dimensions: tuple[Dimension, ...]
    statements: tuple[str, ...]
    scale: tuple[str, ...]
    profiles: tuple[ProfileView, ...]
    data: Markup  # JSON for the scoring script, safe inside <script>


@dataclass(frozen=True, slots=True)
class MapView:
    svg: Markup
    entries: tuple[MapEntry, ...]


EMPTY = Markup("")


@dataclass(frozen=True, slots=True)
class PageView:
    id: str
    kind: str  # home, hub, spoke, page or 404
    title: str
    description: str = ""
    summary: str = ""
    url: str = ""
    canonical: str = ""
    body: Markup = EMPTY
    toc: tuple[TocEntry, ...] = ()
    breadcrumb: tuple[LinkView, ...] = ()
    cluster: ClusterView | None = None
    previous: LinkView | None = None
    next: LinkView | None = None
    date: DateView | None = None
    updated: DateView | None = None
    author: AuthorView | None = None
    reviewed_by: AuthorView | None = None
    last_reviewed: DateView | None = None
    content_note: str = ""
    tags: tuple[str, ...] = ()
    faq: tuple[FaqView, ...] = ()
    sources: tuple[SourceView, ...] = ()
    related: tuple[LinkView, ...] = ()
    spokes: tuple[LinkView, ...] = ()
    backlinks: tuple[LinkView, ...] = ()
    map: MapView | None = None
    quiz: QuizView | None = None
    word_count: int = 0
    reading_minutes: int = 0
    image: str = ""  # absolute URL for social cards, "" when none
    og_type: str = "website"
    jsonld: tuple[Markup, ...] = ()  # JSON-LD blocks, already escaped for <script>


OUTLINE_MARK = "t"  # starts an outline key as an output's memo holds it (a hex key never does)


class Watched(Sequence[T]):
    """A sequence whose items are made on first use, and whose every read (iterating,
    indexing, printing, and, unless `counted`, its length and truth) is reported to `seen`.
    The site-wide lists every page's template gets are these: an article's header reads
    only how many clusters there are, so a renamed spoke elsewhere (which changes the
    lists' items) does not make it render again (see ViewBuilder.members_key).
    `counted`: the length is part of every render key already, so reading it is free."""

    def __init__(
        self,
        length: int,
        make: Callable[[], tuple[T, ...]],
        seen: Callable[[], None],
        counted: bool = False,
    ) -> None:
        self._length, self._make, self._seen, self._counted = length, make, seen, counted
        self._items: tuple[T, ...] | None = None

    def _all(self) -> tuple[T, ...]:
        self._seen()
        if self._items is None:
            self._items = self._make()
            assert len(self._items) == self._length
        return self._items

    def __len__(self) -> int:
        if not self._counted:
            self._seen()
        return self._length

    def __bool__(self) -> bool:
        return len(self) > 0

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...

    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        return self._all()[index]

    def __iter__(self) -> Iterator[T]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Watched):
            other = other._all()
        return isinstance(other, tuple | list) and tuple(self._all()) == tuple(other)

    def __hash__(self) -> int:  # as the tuple it stands for (SiteView is hashable)
        return hash(self._all())

    def __repr__(self) -> str:
        return repr(self._all())


@dataclass(frozen=True, slots=True)
class SiteView:
    title: str
    description: str
    language: str
    base_url: str
    base_path: str
    home_url: str
    nav: tuple[ClusterView, ...]
    stylesheet: str
    search: bool = False  # a search page exists (Pagefind)
    clusters: Sequence[ClusterView] = ()  # every cluster (nav holds the first NAV_LIMIT)

    def url(self, path: str) -> str:
        """A site-root path ('css/site.css', '/about/') as a URL under the base path."""
        return self.base_path + path.lstrip("/")


def _fill(fragment: str, resolved: tuple[ResolvedLink, ...], title: Callable[[str], str]) -> Markup:
    """`title(page_id)`: a page's title, the text of an unlabelled wikilink to it."""

    def one(kind: str, index: int) -> str:
        link = resolved[index]
        if kind == "H":
            return html.escape(link.href, quote=True)
        return html.escape(title(link.target) if link.target else link.text, quote=True)

    return Markup(fill_placeholders(fragment, one))


def _key(base: str, parts: list[str]) -> bytes:
    joined = "\x1d".join((base, *parts)).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(joined, digest_size=16).digest()


class ViewBuilder:
    def __init__(
        self,
        site: Site,
        links: Links,
        graph: Graph,
        config: Config,
        unmarked: frozenset[tuple[str, str]] = frozenset(),
        base_key: str = "",
        members_key: str = "",
        outline_key: str = "",
    ) -> None:
        """`base_key`, `members_key`, `outline_key`: as computed before for the same
        structure and configuration (from the build cache), so that one page's key does not
        need them all."""
        self.site, self.links, self.graph, self.config = site, links, graph, config
        self.unmarked = unmarked  # (page id, FAQ anchor) repeated elsewhere: no FAQPage markup
        parts = urlsplit(config.base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme else ""
        self.base_path = config.base_path
        self.by_id = site.by_id or {p.id: p for p in site.pages}
        self.cluster_of = {c.name: c for c in site.clusters}
        self._site_view: SiteView | None = None
        self._cards: dict[str, str] = {}
        self._links: dict[str, LinkView] = {}
        self._cluster_keys: dict[str, str] = {}
        self._unmarked_of: dict[str, list[str]] = defaultdict(list)
        for page_id, anchor in sorted(unmarked):
            self._unmarked_of[page_id].append(anchor)
        self._base_key = base_key
        self._members_key = members_key
        self._outline_key = outline_key
        # did the output being rendered read the watched part of the site-wide view (then
        # it depends on outline_key), and a summary there (then on members_key)?
        self.members_read = self.summaries_read = False

    def _links_within(self, members: tuple[str, ...]) -> dict[str, list[str]]:
        """The pages among `members` each member's body links to (sorted). A map
        reads its own cluster's links only: a rebuild rendering one map does not gather
        every page's (at 10,000 pages that took 30-40 ms)."""
        inside, links_to = set(members), self.graph.links_to
        return {m: [t for t in links_to.get(m, ()) if t in inside] for m in members}

    # -- what an output depends on -----------------------------------------------------------
    # A page is re-rendered only when its render key changes, so the key must name everything
    # page_view(), structured(), quiz_view() and site_view() read: the page's own source, its
    # resolved links, its cluster, the cards (title, URL, summary) of every page it shows, and
    # the configuration and site-wide views. The cache property tests check the result equals
    # a clean build.

    def card(self, page_id: str) -> str:
        hit = self._cards.get(page_id)
        if hit is None:
            page = self.by_id[page_id]
            summary = page.front.summary or page.front.description
            hit = "\x1f".join((page_id, page.front.title, self.site.urls[page_id], summary))
            self._cards[page_id] = hit
        return hit

    def cluster_key(self, name: str) -> str:
        hit = self._cluster_keys.get(name)
        if hit is None:
            cluster = self.cluster_of[name]
            planned = (p.title for p in self.graph.planned.get(name, ()))
            parts = (name, self.card(cluster.hub), *map(self.card, cluster.spokes), *planned)
            hit = self._cluster_keys[name] = "\x1e".join(parts)
        return hit

    def base_key(self) -> str:
        """What every output depends on: the configuration and the part of the site-wide
        view that is not watched (see site_view): how many clusters there are, and the
        name, hub title and URL of those in the header."""
        if not self._base_key:
            clusters = self.site.clusters
            heads = (
                f"{c.name}\x1f{self.by_id[c.hub].front.title}\x1f{self.url(c.hub)}"
                for c in clusters[:NAV_LIMIT]
            )
            joined = "\x1d".join((repr(self.config), str(len(clusters)), *heads))
            self._base_key = _key("", [joined]).hex()
        return self._base_key

    def members_key(self) -> str:
        """What the watched part of the site-wide view is made from: every cluster, its
        hub's and spokes' cards (summaries included) and planned topics. An output whose
        render read a summary there (summaries_read) is rendered again when it changes; one
        that read only titles and URLs, when outline_key() does; the others, not (see
        render.Sink.reuse)."""
        if not self._members_key:
            clusters = (self.cluster_key(c.name) for c in self.site.clusters)
            self._members_key = _key("", ["\x1d".join(clusters)]).hex()
        return self._members_key

    def members_key_made(self) -> str:
        """members_key() if it was given or made already, else "" (not made for this)."""
        return self._members_key

    def outline_key(self) -> str:
        """members_key() without the summaries: every cluster with its hub's and spokes'
        ids, titles and URLs, and its planned topics. What an output that read the watched
        part of the site-wide view but no summary there depends on."""
        if not self._outline_key:
            parts = []
            for cluster in self.site.clusters:
                planned = (p.title for p in self.graph.planned.get(cluster.name, ()))
                members = map(self._outline, (cluster.hub, *cluster.spokes))
                parts.append("\x1e".join((cluster.name, *members, *planned)))
            self._outline_key = _key("", ["\x1d".join(parts)]).hex()
        return self._outline_key

    def outline_key_made(self) -> str:
        """outline_key() if it was given or made already, else ""."""
        return self._outline_key

    def _outline(self, page_id: str) -> str:
        return f"{page_id}\x1f{self.by_id[page_id].front.title}\x1f{self.site.urls[page_id]}"

    def watched(self) -> int:
        """What the output just rendered read of the watched part of the site-wide view: 0,
        nothing; 1, its outline only; 2, a summary too."""
        return 2 if self.summaries_read else 1 if self.members_read else 0

    def watched_key(self, read: int | str) -> str:
        """The site-wide key an output depends on, by what it read (watched()) or by the key
        it depended on last time (then: that key's kind, as it is now)."""
        if read == 0 or read == "":
            return ""
        if read == 1 or (isinstance(read, str) and read.startswith(OUTLINE_MARK)):
            return OUTLINE_MARK + self.outline_key()
        return self.members_key()

    def _read_members(self) -> None:
        self.members_read = True

    def _read_summaries(self) -> None:
        self.members_read = self.summaries_read = True

    def page_key(self, page: Page, template: str) -> bytes:
        source = page.source
        parts = [template, source.rel, source.display, source.digest.hex(), self.url(page.id)]
        parts += (
            f"{r.href}\x1f{r.text}\x1f{r.target}\x1f{self.title(r.target) if r.target else ''}"
            for r in self.links.resolved.get(page.id, ())
        )
        if source.cluster in self.cluster_of:
            parts += ("cluster", self.cluster_key(source.cluster))
        parts.append("related")
        parts += map(self.card, self.graph.related.get(page.id, ()))
        parts.append("backlinks")
        parts += map(self.card, self.graph.backlinks.get(page.id, ()))
        for targets in self.links.profiles.get(page.id, ()):
            parts.append("profile")
            parts += map(self.card, targets)
        parts.append("unmarked")
        parts += self._unmarked_of.get(page.id, ())
        return _key(self.base_key(), parts)

    @staticmethod
    def showing(
        site: Site, links: Links, graph: Graph, changed: set[str]
    ) -> tuple[set[str], set[str]]:
        """The pages, and the clusters (whose maps), whose render key holds the card of a
        page in `changed`: page_key() and map_key() read other pages' cards (title, URL,
        summary) through the page's cluster, its related pages, its backlinks and its quiz
        profiles only, so these are every output whose key a changed summary can change."""
        clusters = {c.name for c in site.clusters if not changed.isdisjoint((c.hub, *c.spokes))}
        pages = set(changed)
        pages.update(p for c in site.clusters if c.name in clusters for p in (c.hub, *c.spokes))
        for shows in (graph.related, graph.backlinks):
            pages.update(page_id for page_id, ids in shows.items() if not changed.isdisjoint(ids))
        for page_id, per_profile in links.profiles.items():
            if any(not changed.isdisjoint(targets) for targets in per_profile):
                pages.add(page_id)
        return pages, clusters

    def map_key(self, cluster: Cluster, template: str) -> bytes:
        members = (cluster.hub, *cluster.spokes)
        within = self._links_within(members)
        edges = sorted(f"{m}>{t}" for m in members for t in within[m])
        return _key(self.base_key(), [template, "map", self.cluster_key(cluster.name), *edges])

    def fixed_key(self, name: str, template: str) -> bytes:
        return _key(self.base_key(), [template, name])

    def url(self, page_id: str) -> str:
        return self.base_path + self.site.urls[page_id]

    def title(self, page_id: str) -> str:
        return self.by_id[page_id].front.title

    def link(self, page_id: str, current: str = "") -> LinkView:
        if page_id == current:
            return replace(self.link(page_id), current=True)
        made = self._links.get(page_id)
        if made is None:  # made once a build: a page is linked from a dozen others
            page = self.by_id[page_id]
            summary = page.front.summary or page.front.description
            made = self._links[page_id] = LinkView(page.front.title, self.url(page_id), summary)
        return made

    def cluster_view(self, cluster: Cluster, current_page: str = "") -> ClusterView:
        return ClusterView(
            cluster.name,
            self.by_id[cluster.hub].front.title,
            self.url(cluster.hub),
            tuple(self.link(s, current_page) for s in cluster.spokes),
            f"{self.base_path}{cluster.name}/map/",
            tuple(p.title for p in self.graph.planned.get(cluster.name, ())),
        )

    def _watched_cluster_view(self, cluster: Cluster) -> ClusterView:
        """A cluster as the site-wide view shows it: its name, hub title, and URLs as they
        are; its spokes and planned topics watched (see Watched)."""
        planned = self.graph.planned.get(cluster.name, ())
        return ClusterView(
            cluster.name,
            self.by_id[cluster.hub].front.title,
            self.url(cluster.hub),
            Watched(  # made when read: most pages never read a spoke's title or summary
                len(cluster.spokes),
                lambda: tuple(
                    _watched_link(self.by_id[s], self.url(s), self._read_summaries)
                    for s in cluster.spokes
                ),
                self._read_members,
            ),
            f"{self.base_path}{cluster.name}/map/",
            Watched(len(planned), lambda: tuple(p.title for p in planned), self._read_members),
        )

    def site_view(self) -> SiteView:
        """The same for every page (built once): a page marks its own cluster itself.
        What it holds beyond base_key() is watched: reading it sets members_read."""
        if self._site_view is not None:
            return self._site_view
        clusters = self.site.clusters
        nav = tuple(self._watched_cluster_view(c) for c in clusters[:NAV_LIMIT])
        later = clusters[NAV_LIMIT:]
        every = Watched(
            len(clusters),
            lambda: nav + tuple(map(self._watched_cluster_view, later)),
            self._read_members,
            counted=True,  # in base_key()
        )
        self._site_view = SiteView(
            self.config.title,
            self.config.description,
            self.config.language,
            self.config.base_url,
            self.base_path,
            self.base_path,
            nav,
            self.base_path + "css/site.css",
            self.config.search,
            every,
        )
        return self._site_view

    def author(self, author_id: str) -> AuthorView | None:
        author = self.config.author(author_id)
        if author is None:
            return None
        url = self.base_path + author.url.lstrip("/") if author.url.startswith("/") else author.url
        return AuthorView(author.name, author.credentials, url)

    def page_view(self, page: Page) -> PageView:
        front = page.front
        resolved = self.links.resolved.get(page.id, ())
        kind = page.source.kind
        cluster = self.cluster_of.get(page.source.cluster)
        crumbs = [LinkView("Home", self.base_path)] if kind is not PageKind.HOME else []
        cluster_view = previous = following = None
        spokes: tuple[LinkView, ...] = ()
        if cluster is not None:
            cluster_view = self.cluster_view(cluster, page.id)
            if kind is PageKind.SPOKE:
                crumbs.append(self.link(cluster.hub))
                at = cluster.spokes.index(page.id)
                previous = self.link(cluster.spokes[at - 1]) if at > 0 else None
                following = (
                    self.link(cluster.spokes[at + 1]) if at + 1 < len(cluster.spokes) else None
                )
            else:
                spokes = tuple(cluster_view.spokes)
        if kind is not PageKind.HOME:
            crumbs.append(LinkView(front.title, self.url(page.id), current=True))
        canonical = self.config.base_url + self.site.urls[page.id]
        tz = self.config.timezone
        return PageView(
            id=page.id,
            kind=kind.value,
            title=front.title,
            description=front.description,
            summary=front.summary,
            url=self.url(page.id),
            canonical=canonical,
            body=_fill(page.body_html, resolved, self.title),
            toc=table_of_contents(page.headings),
            breadcrumb=tuple(crumbs),
            cluster=cluster_view,
            previous=previous,
            next=following,
            date=DateView.of(front.date, tz),
            updated=DateView.of(front.updated, tz),
            author=self.author(front.author),
            reviewed_by=self.author(front.reviewed_by),
            last_reviewed=DateView.of(front.last_reviewed, tz),
            content_note=front.content_note,
            tags=front.tags,
            faq=tuple(
                FaqView(f.question, _fill(f.answer_html, resolved, self.title), f.anchor)
                for f in page.faq
            ),
            sources=tuple(
                SourceView(s.title, s.authors, s.year, s.publisher, s.url) for s in front.sources
            ),
            related=tuple(self.link(r) for r in self.graph.related.get(page.id, ())),
            spokes=spokes,
            backlinks=tuple(self.link(b) for b in self.graph.backlinks.get(page.id, ())),
            word_count=page.word_count,
            reading_minutes=max(1, round(page.word_count / 230)),
            quiz=self.quiz_view(page, resolved),
            image=self.image_url(page),
            og_type="article" if kind in (PageKind.SPOKE, PageKind.HUB) else "website",
        )

    def absolute(self, url: str) -> str:
        """A URL below the site root as an absolute URL (when base_url has a host)."""
        if "://" in url or not url.startswith("/"):
            return url
        return self.origin + url

    def image_url(self, page: Page) -> str:
        image = page.front.image or self.config.default_image
        return self.absolute(self.base_path + image.lstrip("/")) if image.startswith("/") else image

    def structured(self, page: Page, view: PageView) -> list[dict[str, Any]]:
        author = self.config.author(page.front.author)
        reviewer = self.config.author(page.front.reviewed_by)
        cluster = view.cluster
        part_of = None
        if cluster is not None and page.source.kind is PageKind.SPOKE:
            part_of = {"name": cluster.title, "url": self.absolute(cluster.url)}
        facts = PageFacts(
            kind=view.kind,
            page_type=self.config.page_type,
            title=view.title,
            description=view.description,
            url=view.canonical,
            language=self.config.language,
            site_name=self.config.title,
            site_url=self.config.base_url,
            author={"name": author.name, "url": self.absolute(view.author.url)}
            if author and view.author
            else None,
            published=view.date.moment if view.date else "",
            modified=view.updated.moment if view.updated else "",
            image=self.image_url(page),
            reviewer={"name": reviewer.name, "description": reviewer.credentials}
            if reviewer
            else None,
            last_reviewed=view.last_reviewed.day if view.last_reviewed else "",
            part_of=part_of,
            breadcrumb=tuple((c.title, self.absolute(c.url)) for c in view.breadcrumb),
            faq=tuple(
                (f.question, str(f.answer).strip())
                for f in view.faq
                if (page.id, f.anchor) not in self.unmarked
            ),
        )
        return page_jsonld(facts)

    def quiz_view(self, page: Page, resolved: tuple[ResolvedLink, ...]) -> QuizView | None:
        quiz = page.front.quiz
        if quiz is None:
            return None
        labels = {d.id: d.label.lower() for d in quiz.dimensions}
        links = self.links.profiles.get(page.id, ())
        profiles = tuple(
            ProfileView(
                p.id,
                p.title,
                _fill(html, resolved, self.title),
                tuple(f"{level}er {labels[d]}" for d, level in p.when),
                tuple(self.link(target) for target in targets),
            )
            for p, html, targets in zip(quiz.profiles, page.profile_html, links, strict=True)
        )
        data = json.dumps(quiz_data(quiz), sort_keys=True, separators=(",", ":"))
        data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return QuizView(
            quiz.dimensions, tuple(s.text for s in quiz.statements), SCALE, profiles, Markup(data)
        )

    def map_view(self, cluster: Cluster) -> PageView:
        hub = self.by_id[cluster.hub]
        title = f"Map of {hub.front.title}"
        members = (cluster.hub, *cluster.spokes)
        within = self._links_within(members)
        spokes = set(cluster.spokes)
        pairs = sorted(
            {(min(a, b), max(a, b)) for a in cluster.spokes for b in within[a] if b in spokes}
        )
        planned = self.graph.planned.get(cluster.name, ())
        hub_node = MapNode(hub.id, hub.front.title, self.url(hub.id), "hub")
        around = tuple(
            MapNode(s, self.by_id[s].front.title, self.url(s), "spoke") for s in cluster.spokes
        ) + tuple(MapNode(f"planned:{p.slug}", p.title, "", "planned") for p in planned)
        svg = cluster_map_svg(title, hub_node, around, tuple(pairs))
        entries = tuple(
            MapEntry(
                self.by_id[m].front.title,
                self.url(m),
                "hub" if m == hub.id else "spoke",
                tuple(self.link(t) for t in members if t in within[m]),
            )
            for m in members
        ) + tuple(MapEntry(p.title, "", "planned") for p in planned)
        url = f"{self.base_path}{cluster.name}/map/"
        return PageView(
            id=f"{cluster.name}/map",
            kind="map",
            title=title,
            description=f"How the pages about {hub.front.title.lower()} link to each other.",
            url=url,
            canonical=f"{self.config.base_url}{cluster.name}/map/",
            breadcrumb=(
                LinkView("Home", self.base_path),
                self.link(hub.id),
                LinkView("Map", url, current=True),
            ),
            cluster=self.cluster_view(cluster),
            map=MapView(Markup(svg), entries),
        )

    def search_view(self) -> PageView:
        url = f"{self.base_path}search/"
        return PageView(
            id="search",
            kind="search",
            title="Search",
            description=f"Search every page of {self.config.title}.",
            url=url,
            canonical=f"{self.config.base_url}search/",
            breadcrumb=(LinkView("Home", self.base_path), LinkView("Search", url, current=True)),
        )

    def not_found_view(self) -> PageView:
        return PageView(
            id="404",
            kind="404",
            title="Page not found",
            description="This page does not exist.",
            breadcrumb=(LinkView("Home", self.base_path),),
        )
