"""JSON-LD, head metadata and the site files, checked in built pages."""

from __future__ import annotations

import datetime
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import extruct
import pytest
from schema_org.registry import get_model

from intimacy_ssg import build, load_config
from intimacy_ssg.views import DateView

from .support import REPO, build_content, chdir, page, tree


def jsonld(html: str) -> list[dict[str, Any]]:
    data = extruct.extract(html, syntaxes=["json-ld"], uniform=True)
    return list(data["json-ld"])


def schema_problems(node: Any, path: str = "") -> list[str]:
    """Property names that schema.org does not define for the node's @type."""
    problems: list[str] = []
    if isinstance(node, list):
        for i, item in enumerate(node):
            problems += schema_problems(item, f"{path}[{i}]")
    elif isinstance(node, dict):
        kind = node.get("@type")
        if kind:
            model = get_model(kind)
            names = {(f.alias or n) for n, f in model.model_fields.items()} | {"@context"}
            problems += [
                f"{path}.{key} not a property of {kind}" for key in node if key not in names
            ]
        for key, value in node.items():
            problems += schema_problems(value, f"{path}.{key}")
    return problems


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("site") / "out"
    with chdir(REPO):
        assert build(load_config(REPO, output_dir=out, strict=True)).written
    return tree(out)


def html_pages(files: dict[str, bytes]) -> dict[str, str]:
    return {
        name: data.decode()
        for name, data in files.items()
        if name.endswith("index.html") and "/map/" not in name and name != "search/index.html"
    }


def test_every_shipped_page_has_valid_json_ld(shipped: dict[str, bytes]) -> None:
    pages = html_pages(shipped)
    assert len(pages) == 30
    for name, html in pages.items():
        blocks = jsonld(html)
        types = [b["@type"] for b in blocks]
        assert schema_problems(blocks) == [], name
        if name == "index.html":
            assert types[0] == "WebSite"
            continue
        main, crumbs = blocks[0], blocks[1]
        assert main["@type"] == "MedicalWebPage", name
        for prop in ("headline", "description", "url", "datePublished", "dateModified", "image"):
            assert main[prop], (name, prop)
        assert main["author"]["name"] and main["author"]["url"].startswith("https://")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00\+00:00", main["datePublished"])
        assert "reviewedBy" not in main  # no review has happened
        assert crumbs["@type"] == "BreadcrumbList"
        visible = re.search(r'<nav class="breadcrumb.*?</nav>', html, re.S)
        assert visible is not None
        names = re.findall(r">([^<]+)</a></li>", visible.group(0))
        assert [i["name"] for i in crumbs["itemListElement"]] == names
        assert [i["position"] for i in crumbs["itemListElement"]] == list(range(1, len(names) + 1))
        if name.count("/") == 2:  # a spoke is part of its hub
            assert (
                main["isPartOf"]["url"] == "https://closer.example.org/" + name.split("/")[0] + "/"
            )
        faq = [b for b in blocks if b["@type"] == "FAQPage"]
        shown = html.count("<details id=")
        assert len(faq[0]["mainEntity"]) == shown if faq else shown == 0


def test_head_metadata_of_a_shipped_article(shipped: dict[str, bytes]) -> None:
    html = shipped["intimacy/fear-of-intimacy/index.html"].decode()
    head = html.split("</head>", 1)[0]
    url = "https://closer.example.org/intimacy/fear-of-intimacy/"
    for tag in (
        '<html lang="en">',
        "<title>Fear of intimacy | Closer</title>",
        f'<link rel="canonical" href="{url}">',
        f'<meta property="og:url" content="{url}">',
        '<meta property="og:type" content="article">',
        '<meta property="og:title" content="Fear of intimacy">',
        '<meta property="og:image" content="https://closer.example.org/img/social-card.png">',
        '<meta name="twitter:card" content="summary_large_image">',
        '<link rel="alternate" type="application/atom+xml" title="Closer" href="/feed.xml">',
    ):
        assert tag in html, tag
    description = re.search(r'<meta name="description" content="([^"]+)">', head)
    assert description is not None and len(description.group(1)) <= 160


def test_sitemap_and_feeds_list_exactly_the_published_pages(tmp_path: Path) -> None:
    files = {
        "index.md": page("Home", "[[t]]\n", date="2026-01-01"),
        "t/index.md": page("Topic", "[[a]]\n", date="2026-01-02"),
        "t/a.md": page("A <b>", "x\n", date="2026-01-03", updated="2026-02-01"),
        "t/wip.md": page("Draft", draft="true", date="2026-03-01"),
        "about.md": page("About"),
    }
    build_content(tmp_path, files, write=True, base_url="https://example.org/blog/")
    out = tmp_path / "output"
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "a": "http://www.w3.org/2005/Atom"}
    root = ET.parse(out / "sitemap.xml").getroot()
    locs = [u.findtext("s:loc", namespaces=ns) for u in root.findall("s:url", ns)]
    base = "https://example.org/blog/"
    assert locs == [base + p for p in ("about/", "", "t/", "t/a/")]
    lastmods = [u.findtext("s:lastmod", namespaces=ns) for u in root.findall("s:url", ns)]
    assert lastmods == [None, "2026-01-01", "2026-01-02", "2026-02-01"]
    assert (out / "robots.txt").read_text() == (
        "User-agent: *\nAllow: /\n\nSitemap: https://example.org/blog/sitemap.xml\n"
    )
    feed = ET.parse(out / "feed.xml").getroot()
    entries = [e.findtext("a:title", namespaces=ns) for e in feed.findall("a:entry", ns)]
    assert entries == ["A <b>", "Topic"]  # newest first; no drafts, no undated pages
    assert feed.findtext("a:updated", namespaces=ns) == "2026-02-01T00:00:00+00:00"
    cluster = ET.parse(out / "t/feed.xml").getroot()
    assert len(cluster.findall("a:entry", ns)) == 2
    assert "wip" not in (out / "graph.json").read_text()


def test_each_feed_entry_keeps_its_own_day_or_moment(tmp_path: Path) -> None:
    """Pages of one day share its stamp (made once); a moment keeps its own zone, even when
    another page's moment is the same instant written in another zone."""
    files = {
        "index.md": page("Home", "[[t]]\n"),
        "t/index.md": page("Topic", "[[a]] [[b]] [[c]]\n", date="2026-01-03"),
        "t/a.md": page("A", "x\n", date="2026-01-03"),
        "t/b.md": page("B", "x\n", date="2026-01-02", updated="'2026-01-03T10:00:00+01:00'"),
        "t/c.md": page("C", "x\n", date="2026-01-02", updated="'2026-01-03T09:00:00+00:00'"),
    }
    build_content(tmp_path, files, write=True)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.parse(tmp_path / "output/feed.xml").getroot()
    stamps = {
        e.findtext("a:title", namespaces=ns): e.findtext("a:updated", namespaces=ns)
        for e in feed.findall("a:entry", ns)
    }
    assert stamps == {
        "Topic": "2026-01-03T00:00:00+00:00",
        "A": "2026-01-03T00:00:00+00:00",
        "B": "2026-01-03T10:00:00+01:00",
        "C": "2026-01-03T09:00:00+00:00",
    }


def test_a_feed_holds_its_newest_entries_ties_broken_by_page(tmp_path: Path) -> None:
    """With more articles than a feed holds (sitefiles.FEED_SIZE), it keeps the newest:
    by the day or moment each last changed, and among pages of one day, the page id last
    in order first. The order is worked out here from the dates, page by page."""
    from intimacy_ssg.sitefiles import FEED_SIZE

    days = [f"2026-01-{1 + n % 9:02d}" for n in range(FEED_SIZE + 7)]  # many share a day
    names = [f"s{n:02d}" for n in range(len(days))]
    links = " ".join(f"[[{name}]]" for name in names)
    files = {"index.md": page("Home", "[[t]]\n"), "t/index.md": page("Topic", links + "\n")}
    for name, day in zip(names, days, strict=True):
        files[f"t/{name}.md"] = page(name.upper(), "x\n", date=day)
    build_content(tmp_path, files, write=True)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.parse(tmp_path / "output/feed.xml").getroot()
    titles = [e.findtext("a:title", namespaces=ns) for e in feed.findall("a:entry", ns)]
    by_newest = sorted(zip(days, names, strict=True), reverse=True)  # ids are "t/sNN"
    assert titles == [name.upper() for _, name in by_newest[:FEED_SIZE]]
    assert len(titles) == FEED_SIZE


def test_the_site_feed_is_made_from_the_articles_newest_chooses_and_their_matter(
    tmp_path: Path,
) -> None:
    """sitefiles.newest() names the articles the site's feed shows, in its order, and
    site_feed() given them makes the same feed. matter_key() reads each page's front matter
    (its digest made at parse, or made there if a page lacks it): a title changes it."""
    from dataclasses import replace

    from intimacy_ssg.sitefiles import matter_key, newest, site_feed

    files = {
        "index.md": page("Home", "[[t]]\n"),
        "t/index.md": page("Topic", "[[a]] [[b]]\n", date="2026-01-02"),
        "t/a.md": page("A", "x\n", date="2026-01-03"),
        "t/b.md": page("B", "x\n", date="2026-01-01", updated="2026-01-04"),
    }
    result, _ = build_content(tmp_path, files)
    site = result.site
    assert site is not None
    with chdir(tmp_path):
        config = load_config(REPO, content_dir=tmp_path / "content")
    chosen = newest(site, config)
    assert chosen == ("t/b", "t/a", "t")  # by the day each last changed
    assert site_feed(site, config, chosen) == site_feed(site, config)
    key = matter_key(site, chosen, b"settings")
    assert all(p.matter for p in site.pages)
    bare = replace(site, pages=tuple(replace(p, matter=b"") for p in site.pages), by_id={})
    assert matter_key(bare, chosen, b"settings") == key
    assert matter_key(site, chosen, b"other settings") != key
    assert matter_key(site, chosen[:2], b"settings") != key
    retitled = replace(site.by_id["t/a"], front=replace(site.by_id["t/a"].front, title="A2"))
    pages = tuple(replace(retitled, matter=b"") if p.id == "t/a" else p for p in site.pages)
    assert matter_key(replace(site, pages=pages, by_id={}), chosen, b"settings") != key


def test_a_sitemap_gives_each_moment_its_own_day(tmp_path: Path) -> None:
    """A page's last change as a moment is given as the day it names, in its own zone:
    two moments that are the same instant, written in zones on either side of midnight,
    give two days (only plain dates share a day's line)."""
    files = {
        "index.md": page("Home", "[[a]] [[b]] [[c]]\n", date="2026-01-01"),
        "a.md": page("A", date="2026-01-01", updated="'2026-01-03T23:30:00-05:00'"),
        "b.md": page("B", date="2026-01-01", updated="'2026-01-04T04:30:00+00:00'"),
        "c.md": page("C", date="2026-01-01"),
    }
    build_content(tmp_path, files, write=True)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ET.parse(tmp_path / "output/sitemap.xml").getroot()
    lastmods = {
        u.findtext("s:loc", namespaces=ns): u.findtext("s:lastmod", namespaces=ns)
        for u in root.findall("s:url", ns)
    }
    assert sorted(d or "" for d in lastmods.values()) == [
        "2026-01-01",
        "2026-01-01",
        "2026-01-03",
        "2026-01-04",
    ]
    assert [d for loc, d in lastmods.items() if loc and loc.endswith("/a/")] == ["2026-01-03"]
    assert [d for loc, d in lastmods.items() if loc and loc.endswith("/b/")] == ["2026-01-04"]


def test_aliases_get_redirect_pages(tmp_path: Path) -> None:
    files = {"index.md": page("Home", "[[a]]\n"), "a.md": page("A", aliases="[/old-a/, /x.html]")}
    build_content(tmp_path, files, write=True, base_url="https://example.org/sub/")
    html = (tmp_path / "output/old-a/index.html").read_text()
    assert '<meta http-equiv="refresh" content="0; url=/sub/a/">' in html
    assert '<link rel="canonical" href="https://example.org/sub/a/">' in html
    assert (tmp_path / "output/x.html").exists()


def test_a_repeated_question_is_marked_up_once(tmp_path: Path) -> None:
    faq = "\n  - q: Is it the same question?\n    a: Yes."
    files = {
        "index.md": page("Home", "[[t]] [[a]]\n", faq=faq),
        "t/index.md": page("Topic", "[[a]]\n", faq=faq),
        "t/a.md": page("A", "x\n", faq=faq),
    }
    _, problems = build_content(tmp_path, files, write=True)
    assert [p.split(": ")[1] for p in problems] == ["warning[faq-repeated]"] * 3

    def marked(rel: str) -> int:
        html = (tmp_path / "output" / rel).read_text()
        assert "<details id=" in html  # shown everywhere
        return sum(len(b["mainEntity"]) for b in jsonld(html) if b["@type"] == "FAQPage")

    assert [marked(r) for r in ("index.html", "t/index.html", "t/a/index.html")] == [0, 1, 0]
    files["t/a.md"] = page("A", "x\n", faq=faq, faq_canonical="true")
    build_content(tmp_path, files, write=True)
    assert [marked(r) for r in ("index.html", "t/index.html", "t/a/index.html")] == [0, 0, 1]


def test_script_content_cannot_break_out(tmp_path: Path) -> None:
    title = "</script><script>alert(1)</script> & <!--"
    files = {
        "index.md": page("Home", "[[x]]\n"),
        "x.md": page(json.dumps(title), faq="\n  - q: '</script>?'\n    a: '<b>&</b>'"),
    }
    build_content(tmp_path, files, write=True)
    html = (tmp_path / "output/x/index.html").read_text()
    assert "<script>alert(1)" not in html
    blocks = re.findall(r'<script type="application/ld\+json">\n(.*?)\n</script>', html, re.S)
    assert all("<" not in block for block in blocks)
    parsed = [json.loads(b) for b in blocks]
    assert parsed[0]["headline"] == title
    assert parsed[2]["mainEntity"][0]["name"] == "</script>?"


def test_review_dates_and_overdue_reviews(tmp_path: Path) -> None:
    from dataclasses import replace

    from .support import write_content

    content = write_content(
        tmp_path,
        {
            "index.md": page("Home", "[[x]]\n"),
            "x.md": page(
                "X", date="2026-01-01", reviewed_by="editorial-team", last_reviewed="2025-06-15"
            ),
        },
    )
    with chdir(tmp_path):
        config = load_config(REPO, content_dir=content, output_dir=tmp_path / "out")
        fresh = build(config, today=datetime.date(2026, 6, 15))
        late = build(config, write=False, today=datetime.date(2026, 6, 16))
        short = build(
            replace(config, review_max_age_months=3), write=False, today=datetime.date(2025, 9, 16)
        )
    overdue = [d for d in late.diagnostics if d.code == "review-overdue"]
    assert [d.code for d in fresh.diagnostics if d.code == "review-overdue"] == []
    assert [d.message for d in overdue] == ["last reviewed 2025-06-15, more than 12 months ago"]
    assert [d.code for d in short.diagnostics if d.code == "review-overdue"] == ["review-overdue"]
    html = (tmp_path / "out/x/index.html").read_text()
    assert "Reviewed by Closer editorial team" in html
    assert '<time datetime="2025-06-15">15 June 2025</time>' in html
    [main] = [b for b in jsonld(html) if b["@type"] == "MedicalWebPage"]
    assert main["reviewedBy"]["name"] == "Closer editorial team"
    assert main["lastReviewed"] == "2025-06-15"


@pytest.mark.parametrize(
    ("value", "tz", "moment"),
    [
        (datetime.date(2026, 7, 1), "UTC", "2026-07-01T00:00:00+00:00"),
        (datetime.date(2026, 7, 1), "Europe/London", "2026-07-01T00:00:00+01:00"),
        (datetime.datetime(2026, 1, 2, 9, 30), "America/New_York", "2026-01-02T09:30:00-05:00"),
        (
            datetime.datetime(2026, 1, 2, 9, 30, tzinfo=datetime.UTC),
            "Asia/Tokyo",
            "2026-01-02T09:30:00+00:00",
        ),
    ],
)
def test_dates_carry_the_site_time_zone(value: datetime.date, tz: str, moment: str) -> None:
    view = DateView.of(value, tz)
    assert view is not None and view.moment == moment


def test_description_length_warning_points_at_the_field(tmp_path: Path) -> None:
    long = "x" * 161
    files = {"index.md": f"---\ntitle: Home\ndescription: {long}\n---\n"}
    _, problems = build_content(tmp_path, files)
    assert problems[0].startswith(
        "content/index.md:3:14: warning[description-length]: the description is 161 characters"
    )
