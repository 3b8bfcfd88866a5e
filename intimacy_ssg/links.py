"""resolve_links(): every link recorded while parsing, checked once every page is known.

Targets resolve to URLs under the site's base path; anchors are checked against the target's
heading and FAQ ids. `related:` entries resolve the same way as wikilinks.
"""

from __future__ import annotations

import difflib
import posixpath
from collections import defaultdict

from . import diagnostics as diag
from .diagnostics import Diagnostic
from .model import LinkKind, LinkRef, Links, Page, ResolvedLink, Site
from .pickling import PackedMap


class _Index:
    def __init__(self, site: Site, base_path: str) -> None:
        self.site = site
        self.base_path = base_path
        self.by_id = {p.id: p for p in site.pages}
        self.by_rel = {p.source.rel: p for p in site.pages}
        self.by_slug: dict[str, list[Page]] = defaultdict(list)
        for page in site.pages:
            self.by_slug[page.source.slug].append(page)
        self.by_url = {"/" + url: site.page(pid) for pid, url in site.urls.items()}
        self.statics = {"/" + s.rel for s in site.statics}

    def url(self, page: Page, anchor: str = "") -> str:
        return self.base_path + self.site.urls[page.id] + (f"#{anchor}" if anchor else "")

    def find(self, target: str, origin: Page) -> tuple[Page | None, str]:
        """Resolve a page id or slug; on failure, say why (with a suggestion)."""
        target = target.strip().strip("/")
        if target in self.by_id:
            return self.by_id[target], ""
        cluster = origin.source.cluster
        if cluster and f"{cluster}/{target}" in self.by_id:
            return self.by_id[f"{cluster}/{target}"], ""
        matches = self.by_slug.get(target, [])
        if len(matches) == 1:
            return matches[0], ""
        if matches:
            ids = ", ".join(sorted(p.id for p in matches))
            return None, f"'{target}' is ambiguous: write one of {ids}"
        if target in self.site.drafts or f"{cluster}/{target}" in self.site.drafts:
            return None, "that page is a draft: build with --drafts to include it"
        close = difflib.get_close_matches(target, sorted(self.by_id), n=1)
        return None, f"did you mean '{close[0]}'?" if close else ""


def resolve_links(site: Site, base_path: str, only: frozenset[str] | None = None) -> Links:
    """Every page's links, or (`only`) those of the pages with these ids, against every
    page of the site."""
    index = _Index(site, base_path)
    problems: list[Diagnostic] = []
    resolved: dict[str, tuple[ResolvedLink, ...]] = {}
    related: dict[str, tuple[str, ...]] = {}
    pages = site.pages if only is None else tuple(p for p in site.pages if p.id in only)
    for page in pages:
        resolved[page.id] = tuple(_resolve(index, page, link, problems) for link in page.links)
        chosen: dict[str, None] = {}  # ordered, without duplicates
        for ref in page.front.related:
            target, why = index.find(ref.target, page)
            if target is None:
                problems.append(
                    diag.make(
                        "unknown-related",
                        f"related page '{ref.target}' does not exist",
                        ref.location,
                        hint=why,
                    )
                )
            elif target is page:
                problems.append(
                    diag.make(
                        "unknown-related", "a page cannot list itself as related", ref.location
                    )
                )
            else:
                chosen[target.id] = None
        related[page.id] = tuple(chosen)
    profiles: dict[str, tuple[tuple[str, ...], ...]] = {}
    for page in pages:
        if page.front.quiz is None:
            continue
        per_profile = []
        for profile in page.front.quiz.profiles:
            found: list[str] = []
            for ref in profile.links:
                target, why = index.find(ref.target, page)
                if target is None:
                    problems.append(
                        diag.make(
                            "broken-link",
                            f"profile '{profile.id}' links to '{ref.target}', "
                            "which matches no page",
                            ref.location,
                            hint=why,
                        )
                    )
                else:
                    found.append(target.id)
            per_profile.append(tuple(found))
        profiles[page.id] = tuple(per_profile)
    return Links(resolved, related, tuple(problems), profiles)


def resolve_again(site: Site, base_path: str, links: Links, again: frozenset[str]) -> Links:
    """`links` with the links, related pages and quiz profiles of the pages `again` resolved
    anew, and their diagnostics; every other page's kept as they are. Right while no page's
    landing changed since `links` were resolved (model.landing_of) and `again` holds every
    page whose own links changed and every page linking to one whose anchors changed:
    what the others' links read is then the same."""
    fresh = resolve_links(site, base_path, only=again)
    files = {p.source.display for page_id in again if (p := site.by_id.get(page_id))}
    kept = (d for d in links.diagnostics if d.location.path not in files)
    old = links.resolved
    resolved = (
        old.updated(fresh.resolved)
        if isinstance(old, PackedMap)  # from the build cache: the rest stays packed
        else {**old, **fresh.resolved}
    )
    profiles = {k: v for k, v in links.profiles.items() if k not in again}
    profiles.update(fresh.profiles)
    return Links(
        resolved,
        {**links.related, **fresh.related},
        (*kept, *fresh.diagnostics),
        {p.id: profiles[p.id] for p in site.pages if p.id in profiles},
    )


def _resolve(index: _Index, page: Page, link: LinkRef, problems: list[Diagnostic]) -> ResolvedLink:
    def broken(message: str, hint: str = "") -> ResolvedLink:
        problems.append(diag.make("broken-link", message, link.location, hint=hint))
        return ResolvedLink("", link.target)

    target: Page | None
    if link.kind is LinkKind.ANCHOR:
        target = page
    elif link.kind is LinkKind.FILE:
        target = index.by_rel.get(link.target)
        if target is None:
            here = posixpath.dirname(page.source.rel) or "."
            written = (
                posixpath.relpath(link.target, here)
                if not link.target.startswith("..")
                else link.target
            )
            if link.target.startswith(".."):
                return broken(f"link to '{written}' leaves the content folder")
            if link.target in index.site.draft_files:
                return broken(
                    f"link to '{written}': that page is a draft",
                    "build with --drafts to include it",
                )
            close = difflib.get_close_matches(link.target, sorted(index.by_rel), n=1)
            hint = f"did you mean '{posixpath.relpath(close[0], here)}'?" if close else ""
            return broken(f"link to '{written}': no such page", hint)
    elif link.kind is LinkKind.WIKI:
        target, why = index.find(link.target, page)
        if target is None:
            return broken(f"wikilink [[{link.target}]] matches no page", why)
    else:  # ROOT
        path = link.target if link.target.endswith("/") else link.target + "/"
        target = index.by_url.get(path)
        if target is None:
            if link.target in index.statics:
                return ResolvedLink(index.base_path + link.target.lstrip("/"), link.target)
            close = difflib.get_close_matches(path, sorted(index.by_url), n=1)
            return broken(
                f"link to '{link.target}': no page has that URL",
                f"did you mean '{close[0]}'?" if close else "",
            )
    if link.anchor and link.anchor not in target.anchors:
        close = difflib.get_close_matches(link.anchor, sorted(target.anchors), n=1)
        problems.append(
            diag.make(
                "broken-anchor",
                f"'#{link.anchor}' is not a heading of '{target.id}'",
                link.location,
                hint=f"did you mean '#{close[0]}'?"
                if close
                else "anchors are the ids of the target's headings and FAQ questions",
            )
        )
    if link.kind is LinkKind.ANCHOR:
        return ResolvedLink(f"#{link.anchor}", "", target.id)
    return ResolvedLink(index.url(target, link.anchor), "", target.id)
