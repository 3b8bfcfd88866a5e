from __future__ import annotations

from pathlib import Path

import pytest

from .support import build_content, page

SITE = {
    "index.md": page("Home", "## Start\n"),
    "about.md": page("About"),
    "love/index.md": page("Love", "## Overview\n"),
    "love/limerence.md": page("Limerence", "## The rush\n"),
    "desire/index.md": page("Desire"),
    "desire/limerence.md": page("Desire limerence"),
    "desire/responsive.md": page("Responsive desire", "## The model\n"),
}


@pytest.mark.parametrize(
    ("markdown", "href", "text"),
    [
        ("[x](limerence.md)", "/love/limerence/", "x"),
        ("[x](../desire/responsive.md#the-model)", "/desire/responsive/#the-model", "x"),
        ("[x](../index.md#start)", "/#start", "x"),
        ("[x](index.md)", "/love/", "x"),
        ("[[responsive]]", "/desire/responsive/", "Responsive desire"),
        ("[[limerence]]", "/love/limerence/", "Limerence"),  # own cluster wins
        ("[[desire/limerence|label]]", "/desire/limerence/", "label"),
        ("[[about]]", "/about/", "About"),
        ("[[index]]", "/", "Home"),
        ("[[love#overview]]", "/love/#overview", "Love"),
        ("[x](/about/)", "/about/", "x"),
        ("[x](/about)", "/about/", "x"),
        ("[x](/css/site.css)", "/css/site.css", "x"),
        ("[self](#the-page-heading)", "#the-page-heading", "self"),
    ],
)
def test_links_resolve_to_urls(tmp_path: Path, markdown: str, href: str, text: str) -> None:
    files = dict(SITE)
    files["love/page.md"] = page("Page", f"## The page heading\n\n{markdown}\n")
    _result, problems = build_content(tmp_path, files, write=True)
    assert problems == []
    html = (tmp_path / "output/love/page/index.html").read_text()
    assert f'<a href="{href}">{text}</a>' in html


def test_links_honour_a_sub_path_base_url(tmp_path: Path) -> None:
    files = dict(SITE)
    files["love/page.md"] = page("Page", "[[responsive]] [x](/about/)\n")
    build_content(tmp_path, files, write=True, base_url="https://example.org/blog")
    html = (tmp_path / "output/love/page/index.html").read_text()
    assert '<a href="/blog/desire/responsive/">' in html
    assert '<a href="/blog/about/">' in html
    assert '<link rel="stylesheet" href="/blog/css/site.css">' in html
    assert '<link rel="canonical" href="https://example.org/blog/love/page/">' in html


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        (
            "[x](limerance.md)",
            "content/love/page.md:6:5: error[broken-link]: link to 'limerance.md': no such page\n"
            "    hint: did you mean 'limerence.md'?",
        ),
        (
            "[[desire-limerence]]",
            "content/love/page.md:6:1: error[broken-link]: wikilink [[desire-limerence]] matches no page\n"
            "    hint: did you mean 'desire/limerence'?",
        ),
        (
            "[x](../../up.md)",
            "content/love/page.md:6:5: error[broken-link]: link to '../up.md' leaves the content folder",
        ),
        (
            "[x](limerence.md#the-rash)",
            "content/love/page.md:6:5: error[broken-anchor]: '#the-rash' is not a heading of 'love/limerence'\n"
            "    hint: did you mean '#the-rush'?",
        ),
        (
            "[x](/nowhere/)",
            "content/love/page.md:6:5: error[broken-link]: link to '/nowhere/': no page has that URL",
        ),
    ],
)
def test_broken_links(tmp_path: Path, markdown: str, expected: str) -> None:
    files = dict(SITE)
    files["love/page.md"] = f"---\ntitle: P\ndescription: D\n---\nIntro.\n{markdown}\n"
    _, problems = build_content(tmp_path, files)  # the link is on file line 6
    assert problems == [expected]


def test_ambiguous_slug_lists_the_candidates(tmp_path: Path) -> None:
    files = dict(SITE)
    files["page.md"] = page("Page", "[[limerence]]\n")
    _, problems = build_content(tmp_path, files)
    assert problems == [
        "content/page.md:5:1: error[broken-link]: wikilink [[limerence]] matches no page\n"
        "    hint: 'limerence' is ambiguous: write one of desire/limerence, love/limerence"
    ]


def test_related_resolves_ids_and_slugs_in_order_without_duplicates(tmp_path: Path) -> None:
    files = dict(SITE)
    files["love/page.md"] = page("Page", related="[responsive, about, love/limerence, about]")
    _, problems = build_content(tmp_path, files, write=True)
    assert problems == []
    html = (tmp_path / "output/love/page/index.html").read_text()
    related = html[html.index("Related reading") :]
    assert related.index("Responsive desire") < related.index("About") < related.index("Limerence")
    assert related.count(">About<") == 1


def test_links_to_drafts_are_broken_unless_drafts_are_built(tmp_path: Path) -> None:
    files = dict(SITE)
    files["love/wip.md"] = page("WIP", draft="true")
    files["love/page.md"] = page("Page", "[x](wip.md) [[wip]]\n", related="[wip]")
    _, problems = build_content(tmp_path, files)
    assert [p.split(" error")[1].split(":")[0] for p in problems] == [
        "[unknown-related]",
        "[broken-link]",
        "[broken-link]",
    ]
    assert all("draft" in p for p in problems)
    _, problems = build_content(tmp_path, files, drafts=True)
    assert problems == []
