"""The site's machine-readable files: sitemap.xml, robots.txt, Atom feeds, alias redirects.

All pure functions of the Site: every date comes from content, never from the clock, so
the files are byte-identical from build to build.
"""

from __future__ import annotations

import datetime
import hashlib
import heapq
import operator
import zoneinfo
from collections.abc import Callable, Iterable
from html import escape

from .config import Config
from .model import Cluster, OutputFile, Page, PageKind, Site, matter_of

FEED_SIZE = 20


def _absolute(config: Config, path: str) -> str:
    """A path below the site root as an absolute URL (path-only base URLs stay paths)."""
    return config.base_url + path


def _moment(value: datetime.date, config: Config) -> str:
    zone = zoneinfo.ZoneInfo(config.timezone)
    if isinstance(value, datetime.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).isoformat()
    return datetime.datetime(value.year, value.month, value.day, tzinfo=zone).isoformat()


def sitemap(site: Site, config: Config) -> OutputFile:
    base, urls = config.base_url, site.urls
    days: dict[datetime.date, str] = {}  # a day's line, made once (many pages share one)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    add = lines.append
    for page in site.pages:
        front = page.front
        changed = front.updated or front.date  # when it last changed
        if changed is None:
            day = ""
        elif type(changed) is datetime.date:  # a datetime is never a key: see _lastmod
            day = days.get(changed) or days.setdefault(changed, _lastmod(changed))
        else:
            day = _lastmod(changed)
        add(f"  <url><loc>{escape(base + urls[page.id])}</loc>\n{day}  </url>")  # see _absolute
    lines.append("</urlset>")
    return OutputFile("sitemap.xml", ("\n".join(lines) + "\n").encode())


def _lastmod(changed: datetime.date) -> str:
    """A sitemap's line for the day a page last changed, with its line end. Datetimes in
    different zones can be equal and yet fall on different days, so only plain dates share
    one (see sitemap)."""
    day = changed.date() if isinstance(changed, datetime.datetime) else changed
    return f"    <lastmod>{day.isoformat()}</lastmod>\n"


def robots(config: Config) -> OutputFile:
    text = f"User-agent: *\nAllow: /\n\nSitemap: {_absolute(config, 'sitemap.xml')}\n"
    return OutputFile("robots.txt", text.encode())


def _article(page: Page) -> bool:
    return page.source.kind in (PageKind.HUB, PageKind.SPOKE) and page.front.date is not None


def site_feed(site: Site, config: Config, chosen: tuple[str, ...] | None = None) -> OutputFile:
    """An Atom feed of the newest articles of the whole site (each cluster has its own:
    cluster_feed). `chosen`: newest(site, config), if known."""
    if chosen is None:
        chosen = newest(site, config)
    by_id = site.by_id or {p.id: p for p in site.pages}
    shown = [(page_id, _stamp(by_id[page_id], config, {})) for page_id in chosen]
    return _feed(site, config, shown, "feed.xml", config.title)


def newest(site: Site, config: Config) -> tuple[str, ...]:
    """The ids of the articles the site's feed shows, newest first: chosen by their places,
    draft flags and dates alone (model.dated_of), and the configuration."""
    return tuple(page_id for page_id, _ in _newest([p for p in site.pages if _article(p)], config))


def matter_key(site: Site, ids: Iterable[str], settings: bytes) -> bytes:
    """A digest of `settings` (the configuration's) and the places and front matter of the
    pages `ids` (model.matter_of): what the site's feed, made from the articles newest()
    chose, and the redirect pages, made from the pages with aliases, are made from."""
    by_id = site.by_id or {p.id: p for p in site.pages}
    h = hashlib.blake2b(settings, digest_size=16)
    for page_id in ids:
        page = by_id[page_id]
        h.update(page_id.encode("utf-8", "surrogatepass") + b"\0")
        h.update(page.matter or matter_of(page))  # made at parse: see model.with_digests
    return h.digest()


def cluster_feed(site: Site, config: Config, cluster: Cluster) -> OutputFile:
    """The newest articles of one cluster: made from its own pages (and the site's
    configuration) only, see feed_key()."""
    members = (site.page(cluster.hub), *(site.page(s) for s in cluster.spokes))
    hub = members[0]
    articles = sorted((p for p in members if _article(p)), key=lambda p: p.id)
    return _feed(
        site,
        config,
        _newest(articles, config),
        f"{cluster.name}/feed.xml",
        f"{hub.front.title} | {config.title}",
    )


def feed_key(site: Site, cluster: Cluster, settings: bytes) -> bytes:
    """What a cluster's feed is made from: `settings` (a digest of the configuration), and
    its pages (their ids, hence URLs, and sources: titles, dates, authors, summaries).
    An edit elsewhere, a title's included, leaves it as it was."""
    by_id = site.by_id
    members = (cluster.hub, *cluster.spokes)
    ids = "\0".join((cluster.name, *members)).encode("utf-8", "surrogatepass")
    sources = b"".join([by_id[page_id].source.digest for page_id in members])
    return hashlib.blake2b(b"\0".join((settings, ids, sources)), digest_size=16).digest()


_swapped: Callable[[tuple[str, str]], tuple[str, str]] = operator.itemgetter(1, 0)


def _stamp(page: Page, config: Config, days: dict[datetime.date, str]) -> str:
    """When the page last changed, as an Atom date ("" if it has no date); `days`: each
    day's stamp, made once (many pages share one)."""
    changed = page.front.updated or page.front.date
    if type(changed) is datetime.date:  # a datetime keeps its own zone: not shared
        stamp = days.get(changed)
        if stamp is None:
            stamp = days[changed] = _moment(changed, config)
        return stamp
    return _moment(changed, config) if changed else ""


def _newest(pages: list[Page], config: Config) -> list[tuple[str, str]]:
    """The newest FEED_SIZE of `pages` by (stamp, id), newest first, each with its stamp:
    compared as plain tuples (in C) without a sort of every article."""
    days: dict[datetime.date, str] = {}
    stamps = {page.id: _stamp(page, config, days) for page in pages}
    return heapq.nlargest(FEED_SIZE, stamps.items(), key=_swapped)


def _feed(
    site: Site, config: Config, chosen: list[tuple[str, str]], rel: str, title: str
) -> OutputFile:
    """A feed of the pages `chosen` (newest first, each with its stamp): the first's stamp
    is the feed's own last change."""
    updated = chosen[0][1] if chosen else "1970-01-01T00:00:00+00:00"
    by_id = site.by_id or {p.id: p for p in site.pages}
    self_url = _absolute(config, rel)
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{escape(config.language)}">',
        f"  <title>{escape(title)}</title>",
        f"  <id>{escape(self_url)}</id>",
        f'  <link rel="self" href="{escape(self_url)}"/>',
        f'  <link rel="alternate" href="{escape(config.base_url)}"/>',
        f"  <updated>{updated}</updated>",
    ]
    for page_id, stamp in chosen:
        page = by_id[page_id]
        url = _absolute(config, site.urls[page_id])
        author = config.author(page.front.author)
        published = page.front.date
        lines += [
            "  <entry>",
            f"    <title>{escape(page.front.title)}</title>",
            f'    <link rel="alternate" href="{escape(url)}"/>',
            f"    <id>{escape(url)}</id>",
            f"    <updated>{stamp}</updated>",
        ]
        if published is not None:
            lines.append(f"    <published>{_moment(published, config)}</published>")
        if author is not None:
            lines.append(f"    <author><name>{escape(author.name)}</name></author>")
        summary = page.front.summary or page.front.description
        lines += [f"    <summary>{escape(summary)}</summary>", "  </entry>"]
    lines.append("</feed>")
    return OutputFile(rel, ("\n".join(lines) + "\n").encode())


def alias_path(alias: str) -> str:
    """Where an alias's redirect page is written: "/old/path/" -> "old/path/index.html"."""
    path = alias.strip("/")
    if not path or path.endswith(".html"):
        return path or "index.html"
    return path + "/index.html"


def redirects(site: Site, config: Config) -> list[OutputFile]:
    out = []
    for page in site.pages:
        if not page.front.aliases:
            continue  # most pages: nothing else is worked out for them
        target = config.base_path + site.urls[page.id]
        canonical = _absolute(config, site.urls[page.id])
        for alias in page.front.aliases:
            html = (
                '<!doctype html>\n<html lang="' + escape(config.language) + '">\n<head>\n'
                '<meta charset="utf-8">\n'
                f"<title>Moved: {escape(page.front.title)}</title>\n"
                f'<link rel="canonical" href="{escape(canonical)}">\n'
                '<meta name="robots" content="noindex">\n'
                f'<meta http-equiv="refresh" content="0; url={escape(target)}">\n'
                "</head>\n<body>\n"
                f'<p>This page has moved to <a href="{escape(target)}">'
                f"{escape(page.front.title)}</a>.</p>\n</body>\n</html>\n"
            )
            out.append(OutputFile(alias_path(alias), html.encode()))
    return out
