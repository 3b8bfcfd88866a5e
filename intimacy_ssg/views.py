"""What templates see: small frozen view objects built from the Site, never raw dicts.

Templates get `site` (a SiteView) and `page` (a PageView). Every URL in a view already
carries the base path, so templates never build URLs by hand.
"""

from __future__ import annotations

import datetime
import html
from dataclasses import dataclass

from markupsafe import Markup

from .config import Config
from .markdown import fill_placeholders
from .model import Links, Page, PageKind, ResolvedLink, Site


@dataclass(frozen=True, slots=True)
class LinkView:
    title: str
    url: str
    summary: str = ""
    current: bool = False


@dataclass(frozen=True, slots=True)
class DateView:
    iso: str  # 2026-11-22 (or a full ISO 8601 date-time when one was given)
    text: str  # 22 November 2026

    @staticmethod
    def of(value: datetime.date | None) -> DateView | None:
        if value is None:
            return None
        day = value.date() if isinstance(value, datetime.datetime) else value
        return DateView(value.isoformat(), f"{day.day} {day:%B} {day.year}")


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


@dataclass(frozen=True, slots=True)
class ClusterView:
    name: str
    title: str
    url: str
    spokes: tuple[LinkView, ...]
    current: bool = False


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
    word_count: int = 0
    reading_minutes: int = 0


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

    def url(self, path: str) -> str:
        """A site-root path ('css/site.css', '/about/') as a URL under the base path."""
        return self.base_path + path.lstrip("/")


def _fill(fragment: str, resolved: tuple[ResolvedLink, ...]) -> Markup:
    def one(kind: str, index: int) -> str:
        link = resolved[index]
        return html.escape(link.href if kind == "H" else link.title, quote=True)

    return Markup(fill_placeholders(fragment, one))


class ViewBuilder:
    def __init__(self, site: Site, links: Links, config: Config) -> None:
        self.site, self.links, self.config = site, links, config
        self.base_path = config.base_path
        self.by_id = {p.id: p for p in site.pages}
        self.cluster_of = {c.name: c for c in site.clusters}

    def url(self, page_id: str) -> str:
        return self.base_path + self.site.urls[page_id]

    def link(self, page_id: str, current: str = "") -> LinkView:
        page = self.by_id[page_id]
        summary = page.front.summary or page.front.description
        return LinkView(page.front.title, self.url(page_id), summary, page_id == current)

    def site_view(self, current_cluster: str = "") -> SiteView:
        nav = tuple(
            ClusterView(
                c.name,
                self.by_id[c.hub].front.title,
                self.url(c.hub),
                tuple(self.link(s) for s in c.spokes),
                c.name == current_cluster,
            )
            for c in self.site.clusters
        )
        return SiteView(
            self.config.title,
            self.config.description,
            self.config.language,
            self.config.base_url,
            self.base_path,
            self.base_path,
            nav,
            self.base_path + "css/site.css",
        )

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
            cluster_view = ClusterView(
                cluster.name,
                self.by_id[cluster.hub].front.title,
                self.url(cluster.hub),
                tuple(self.link(s, page.id) for s in cluster.spokes),
                True,
            )
            if kind is PageKind.SPOKE:
                crumbs.append(self.link(cluster.hub))
                at = cluster.spokes.index(page.id)
                previous = self.link(cluster.spokes[at - 1]) if at > 0 else None
                following = (
                    self.link(cluster.spokes[at + 1]) if at + 1 < len(cluster.spokes) else None
                )
            else:
                spokes = cluster_view.spokes
        if kind is not PageKind.HOME:
            crumbs.append(LinkView(front.title, self.url(page.id), current=True))
        canonical = self.config.base_url + self.site.urls[page.id]
        return PageView(
            id=page.id,
            kind=kind.value,
            title=front.title,
            description=front.description,
            summary=front.summary,
            url=self.url(page.id),
            canonical=canonical,
            body=_fill(page.body_html, resolved),
            toc=tuple(TocEntry(h.level, h.text, h.id) for h in page.headings if h.level in (2, 3)),
            breadcrumb=tuple(crumbs),
            cluster=cluster_view,
            previous=previous,
            next=following,
            date=DateView.of(front.date),
            updated=DateView.of(front.updated),
            author=self.author(front.author),
            reviewed_by=self.author(front.reviewed_by),
            last_reviewed=DateView.of(front.last_reviewed),
            content_note=front.content_note,
            tags=front.tags,
            faq=tuple(
                FaqView(f.question, _fill(f.answer_html, resolved), f.anchor) for f in page.faq
            ),
            sources=tuple(
                SourceView(s.title, s.authors, s.year, s.publisher, s.url) for s in front.sources
            ),
            related=tuple(self.link(r) for r in self.links.related.get(page.id, ())),
            spokes=spokes,
            word_count=page.word_count,
            reading_minutes=max(1, round(page.word_count / 230)),
        )

    def not_found_view(self) -> PageView:
        return PageView(
            id="404",
            kind="404",
            title="Page not found",
            description="This page does not exist.",
            breadcrumb=(LinkView("Home", self.base_path),),
        )
