"""resolve_links(): every link recorded while parsing, checked once every page is known.

Targets resolve to URLs under the site's base path; anchors are checked against the target's
heading and FAQ ids. `related:` entries resolve the same way as wikilinks.
"""

from __future__ import annotations

import difflib
import pickle
import posixpath
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping

from . import diagnostics as diag
from .diagnostics import Diagnostic
from .model import LinkKind, LinkRef, Links, Page, ResolvedLink, Site
from .pickling import CacheDamaged, PackedMap, safe_loads
from .site import page_url


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
        target = page_name(target)
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


def written_targets(page: Page) -> frozenset[str]:
    """What the page's links, related pages and quiz profiles name, each as resolution looks
    it up: a wikilink's or a related entry's target without the slashes around it, a file
    link's path in the content folder, a root link's URL path with its last slash. Only a
    link naming a page (see names_of) can resolve differently when that page is added,
    removed or moved, broken links aside (their hints name the closest page)."""
    names: set[str] = set()
    for link in page.links:
        if link.kind is LinkKind.ROOT:
            names.add(url_path(link.target))
        elif link.kind is LinkKind.FILE:
            names.add(link.target)
        elif link.kind is LinkKind.WIKI:
            names.add(page_name(link.target))
    names.update(page_name(ref.target) for ref in page.front.related)
    if page.front.quiz is not None:
        for profile in page.front.quiz.profiles:
            names.update(page_name(ref.target) for ref in profile.links)
    return frozenset(names)


def page_name(target: str) -> str:
    """A wikilink's, related entry's or profile link's target as it is looked up."""
    return target.strip().strip("/")


def url_path(target: str) -> str:
    """A root link's target as it is looked up: a URL path ending with a slash."""
    return target if target.endswith("/") else target + "/"


def names_of(page: Page, url: str) -> frozenset[str]:
    """Every name a link can reach the page by: its id, its slug, its file and its URL path
    (`url`: site.page_url())."""
    return frozenset({page.id, page.source.slug, page.source.rel, "/" + url})


# What the build cache keeps to find the pages to resolve again after a landing changed:
# each page's landing and names (drafts too), and what each published page's links name.
Landings = dict[str, tuple[bytes, frozenset[str]]]
Written = dict[str, frozenset[str]]
BROKEN = ("broken-link", "unknown-related")  # their hints name the closest page


def landings_of(pages: Iterable[Page]) -> Landings:
    """Each page's landing and names (`pages`: every page parsed, drafts too)."""
    return {p.id: (p.landing, names_of(p, page_url(p))) for p in pages}


def relink_table(landings: Landings, written: Written) -> bytes:
    """`landings` (landings_of() every page parsed) and `written`, packed and compressed
    (it is saved with the links after every link edit, and read rarely)."""
    return zlib.compress(pickle.dumps((landings, written), protocol=5), 1)


def read_relink(table: bytes) -> tuple[Landings, Written]:
    try:
        landings, written = safe_loads(zlib.decompress(table))
    except Exception as exc:  # damaged or planted: the build starts again without the cache
        raise CacheDamaged("the build cache's table of link names could not be read") from exc
    shaped = (
        isinstance(landings, dict)
        and isinstance(written, dict)
        and all(isinstance(names, frozenset) for names in written.values())
        and all(
            isinstance(entry, tuple)
            and len(entry) == 2
            and isinstance(entry[0], bytes)
            and isinstance(entry[1], frozenset)
            for entry in landings.values()
        )
    )
    if not shaped:
        raise CacheDamaged("the build cache's table of link names has an unexpected shape")
    return landings, written


def named_again(
    now: Landings, site: Site, landings: Landings, written: Written, links: Links
) -> set[str]:
    """After landings changed (a page added, removed, moved or made a draft; its FAQ
    questions, aliases or weight edited), the pages whose links may resolve differently:
    the changed pages themselves, the pages with a link naming one of them as it is or as
    it was (written_targets), and the pages with a broken link or related entry, whose
    hints name the closest page. `now`: landings_of() every page parsed, `landings` the
    last build's."""
    changed: set[str] = set()
    names: set[str] = set()
    for page_id in now.keys() | landings.keys():
        here, there = now.get(page_id), landings.get(page_id)
        if here is None or there is None or here[0] != there[0]:
            changed.add(page_id)
            for entry in (here, there):
                names.update(entry[1] if entry is not None else ())
    broken = {d.location.path for d in links.diagnostics if d.code in BROKEN}
    return {
        p.id
        for p in site.pages
        if p.id in changed
        or p.source.display in broken
        or not written.get(p.id, frozenset()).isdisjoint(names)
    }


def resolve_again(site: Site, base_path: str, links: Links, again: frozenset[str]) -> Links:
    """`links` with the links, related pages and quiz profiles of the pages `again` resolved
    anew, and their diagnostics; every other page's kept as they are, and a page's that
    the site no longer has dropped. Right when `again` holds every page whose own links
    changed since `links` were resolved, every page linking to one whose anchors changed,
    and, if a page's landing changed (model.landing_of), every page with a link naming it
    (written_targets, names_of) or a broken link: what the others' links read is then the
    same."""
    fresh = resolve_links(site, base_path, only=again)
    kept_files = {p.source.display for p in site.pages if p.id not in again}
    kept = (d for d in links.diagnostics if d.location.path in kept_files)
    ids = [p.id for p in site.pages]  # a page removed since is dropped, a new one is fresh
    old = links.resolved
    if isinstance(old, PackedMap):  # from the build cache: the rest stays packed
        resolved: Mapping[str, tuple[ResolvedLink, ...]] = old.updated(fresh.resolved, ids)
    else:
        resolved = {i: fresh.resolved[i] if i in again else old[i] for i in ids}
    related = {i: fresh.related[i] if i in again else links.related[i] for i in ids}
    profiles = {k: v for k, v in links.profiles.items() if k not in again}
    profiles.update(fresh.profiles)
    return Links(
        resolved,
        related,
        (*kept, *fresh.diagnostics),
        {i: profiles[i] for i in ids if i in profiles},
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
        path = url_path(link.target)
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
