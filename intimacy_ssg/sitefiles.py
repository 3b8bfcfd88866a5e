"""The site's machine-readable files: sitemap.xml, robots.txt, Atom feeds, alias redirects.

All pure functions of the Site: every date comes from content, never from the clock, so
the files are byte-identical from build to build.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Callable
from html import escape

from .config import Config
from .model import OutputFile, Page, PageKind, Site

FEED_SIZE = 20


def _absolute(config: Config, path: str) -> str:
    """A path below the site root as an absolute URL (path-only base URLs stay paths)."""
    return config.base_url + path


def _moment(value: datetime.date, config: Config) -> str:
    zone = zoneinfo.ZoneInfo(config.timezone)
    if isinstance(value, datetime.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).isoformat()
    return datetime.datetime(value.year, value.month, value.day, tzinfo=zone).isoformat()


def _changed(page: Page) -> datetime.date | None:
    return page.front.updated or page.front.date


def sitemap(site: Site, config: Config) -> OutputFile:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    for page in site.pages:
        lines.append(f"  <url><loc>{escape(_absolute(config, site.urls[page.id]))}</loc>")
        changed = _changed(page)
        if changed is not None:
            day = changed.date() if isinstance(changed, datetime.datetime) else changed
            lines.append(f"    <lastmod>{day.isoformat()}</lastmod>")
        lines.append("  </url>")
    lines.append("</urlset>")
    return OutputFile("sitemap.xml", ("\n".join(lines) + "\n").encode())


def robots(config: Config) -> OutputFile:
    text = f"User-agent: *\nAllow: /\n\nSitemap: {_absolute(config, 'sitemap.xml')}\n"
    return OutputFile("robots.txt", text.encode())


def feeds(site: Site, config: Config) -> list[OutputFile]:
    """An Atom feed of the newest articles, and one per cluster."""
    articles = [
        p for p in site.pages if p.source.kind in (PageKind.HUB, PageKind.SPOKE) and p.front.date
    ]
    stamps: dict[str, tuple[str, str]] = {}  # each article's newest(), made once

    def newest(page: Page) -> tuple[str, str]:
        hit = stamps.get(page.id)
        if hit is None:
            changed = _changed(page)
            hit = stamps[page.id] = (_moment(changed, config) if changed else "", page.id)
        return hit

    out = [_feed(site, config, articles, "feed.xml", config.title, newest)]
    by_cluster: dict[str, list[Page]] = defaultdict(list)
    for page in articles:
        by_cluster[page.source.cluster].append(page)
    for cluster in site.clusters:
        members = by_cluster[cluster.name]
        hub = site.page(cluster.hub)
        out.append(
            _feed(
                site,
                config,
                members,
                f"{cluster.name}/feed.xml",
                f"{hub.front.title} | {config.title}",
                newest,
            )
        )
    return out


def _feed(
    site: Site,
    config: Config,
    pages: list[Page],
    rel: str,
    title: str,
    newest: Callable[[Page], tuple[str, str]],
) -> OutputFile:
    """`newest(page)`: when the page last changed, as an Atom date, and its id."""
    entries = sorted(pages, key=newest, reverse=True)[:FEED_SIZE]
    updated = max((newest(p)[0] for p in entries), default="1970-01-01T00:00:00+00:00")
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
    for page in entries:
        url = _absolute(config, site.urls[page.id])
        author = config.author(page.front.author)
        published = page.front.date
        lines += [
            "  <entry>",
            f"    <title>{escape(page.front.title)}</title>",
            f'    <link rel="alternate" href="{escape(url)}"/>',
            f"    <id>{escape(url)}</id>",
            f"    <updated>{newest(page)[0]}</updated>",
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
