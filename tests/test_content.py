"""The shipped site meets its editorial standards (issue: the article cluster itself)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from intimacy_ssg import build, load_config
from intimacy_ssg.discover import discover_sources
from intimacy_ssg.model import Page, PageKind
from intimacy_ssg.parse import parse_page

from .support import REPO, chdir, tree

SEEDS = REPO.parent / "shared" / "seeds"
INTIMACY_SPOKES = (
    "fear-of-intimacy",
    "intimacy-after-trauma",
    "vulnerability-threshold",
    "emotional-vs-physical-intimacy",
    "long-term-desire-paradox",
    "responsive-desire",
    "brakes-and-accelerators",
    "attachment-and-intimacy",
    "rebuilding-after-rupture",
    "kinds-of-intimacy",
    "sex-and-mental-health",
)


def pages() -> list[Page]:
    found = discover_sources(REPO / "content", REPO / "static")
    return [parse_page(s, "editorial-team") for s in found.sources]


ARTICLES = [p for p in pages() if p.source.kind in (PageKind.HUB, PageKind.SPOKE)]


@pytest.mark.parametrize("article", ARTICLES, ids=lambda p: p.id)
def test_article_standards(article: Page) -> None:
    front = article.front
    assert 900 <= article.word_count <= 1600
    assert len(front.description) < 160
    assert front.summary and front.date is not None
    assert len(article.faq) >= 3
    assert all(f.question.endswith("?") for f in article.faq)
    assert len(front.sources) >= 3
    assert all(s.year and s.authors for s in front.sources)
    assert front.author == "editorial-team"
    assert front.reviewed_by == "" and front.last_reviewed is None  # no invented review
    assert any(h.level == 2 for h in article.headings)


def test_pages_with_a_content_note_link_to_find_help() -> None:
    noted = [p for p in pages() if p.front.content_note]
    assert {"intimacy/intimacy-after-trauma", "attachment-styles/fearful-avoidant-attachment"} <= {
        p.id for p in noted
    }
    for page in noted:
        assert any(link.target.endswith("find-help.md") for link in page.links), page.id


def test_no_faq_question_is_asked_twice_on_the_site() -> None:
    seen: dict[str, str] = {}
    for page in pages():
        for item in page.faq:
            key = re.sub(r"[^a-z0-9]+", " ", item.question.lower()).strip()
            assert key not in seen, f"{page.id} repeats a question of {seen.get(key)}"
            seen[key] = page.id


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("site") / "out"
    with chdir(REPO):
        result = build(load_config(REPO, output_dir=out, strict=True))
    assert result.written
    return tree(out)


def hrefs(html: bytes) -> set[str]:
    return {h.strip("/") for h in re.findall(r'href="/([^"#]*)"', html.decode())}


def test_the_intimacy_hub_names_every_spoke_and_each_links_back(built: dict[str, bytes]) -> None:
    hub_body = built["intimacy/index.html"].decode().split('<div class="prose">', 1)[1]
    hub_body = hub_body.split("</div>", 1)[0]
    for slug in INTIMACY_SPOKES:
        assert f'href="/intimacy/{slug}/"' in hub_body, slug
        spoke = built[f"intimacy/{slug}/index.html"].decode()
        body = spoke.split('<div class="prose">', 1)[1].split("</div>", 1)[0]
        assert 'href="/intimacy/"' in body, slug


def test_home_reaches_every_cluster_in_one_click_and_every_article_in_two(
    built: dict[str, bytes],
) -> None:
    one = hrefs(built["index.html"])
    clusters = {"intimacy", "attachment-styles", "desire", "lust-vs-attachment"}
    assert clusters <= one
    two = set(one)
    for target in one:
        page = built.get(f"{target}/index.html" if target else "index.html")
        if page is not None:
            two |= hrefs(page)
    articles = {
        name.removesuffix("/index.html")
        for name in built
        if name.endswith("/index.html") and name.count("/") == 2 and "/map/" not in name
    }
    assert len(articles) == 21  # 11 + 4 + 3 + 3 spokes
    assert articles <= two
    assert "quiz" in one


def test_find_help_states_the_crisis_lines_exactly(built: dict[str, bytes]) -> None:
    text = built["find-help/index.html"].decode()
    for fact in (
        "988 Suicide &amp; Crisis Lifeline, call or text 988",
        "RAINN National Sexual Assault Hotline, 800-656-4673",
        "9-8-8 Suicide Crisis Helpline, call or text 988",
        "Samaritans, 116 123",
        "Lifeline, 13 11 14",
    ):
        assert fact in text


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'"))


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the planning seeds live in ../shared/seeds")
def test_no_six_word_run_is_shared_with_the_seed_documents() -> None:
    size = 6
    shingles: set[tuple[str, ...]] = set()
    for seed in SEEDS.glob("*.txt"):
        w = words(seed.read_text())
        shingles |= {tuple(w[i : i + size]) for i in range(len(w) - size + 1)}
    assert shingles
    for path in sorted((REPO / "content").rglob("*.md")):
        w = words(Path(path).read_text())
        shared = [
            " ".join(w[i : i + size])
            for i in range(len(w) - size + 1)
            if tuple(w[i : i + size]) in shingles
        ]
        assert shared == [], path.name
