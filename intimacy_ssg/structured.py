"""JSON-LD for every page, and a lint of what search engines require or recommend.

Each page gets: `WebSite` (home) or `Article`/`MedicalWebPage` (the rest), a
`BreadcrumbList` matching the visible breadcrumb, and a `FAQPage` of the questions this page
is the canonical home of. Serialised with json.dumps and escaped so that nothing in the
content can close the `<script>` element.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import diagnostics as diag
from .config import Config
from .diagnostics import Diagnostic, Location
from .model import Page


@dataclass(frozen=True, slots=True)
class PageFacts:
    """What the JSON-LD says about a page, every URL absolute."""

    kind: str  # home, hub, spoke, page
    page_type: str  # Article or MedicalWebPage
    title: str
    description: str
    url: str
    language: str
    site_name: str
    site_url: str
    author: dict[str, str] | None  # name, url
    published: str  # ISO 8601 with time zone, or ""
    modified: str
    image: str
    reviewer: dict[str, str] | None  # name, description (credentials)
    last_reviewed: str  # YYYY-MM-DD or ""
    part_of: dict[str, str] | None  # name, url of the cluster hub
    breadcrumb: tuple[tuple[str, str], ...]  # (name, absolute URL)
    faq: tuple[tuple[str, str], ...]  # (question, answer HTML) marked up on this page


def page_jsonld(facts: PageFacts) -> list[dict[str, Any]]:
    context = "https://schema.org"
    blocks: list[dict[str, Any]] = []
    if facts.kind == "home":
        blocks.append(
            {
                "@context": context,
                "@type": "WebSite",
                "name": facts.site_name,
                "url": facts.site_url,
                "description": facts.description,
                "inLanguage": facts.language,
            }
        )
    else:
        main: dict[str, Any] = {
            "@context": context,
            "@type": facts.page_type,
            "headline": facts.title,
            "name": facts.title,
            "description": facts.description,
            "url": facts.url,
            "inLanguage": facts.language,
        }
        if facts.author:
            main["author"] = {"@type": "Organization", **facts.author}
        if facts.published:
            main["datePublished"] = facts.published
        if facts.modified or facts.published:
            main["dateModified"] = facts.modified or facts.published
        if facts.image:
            main["image"] = facts.image
        if facts.page_type == "MedicalWebPage":  # reviewedBy belongs to web pages, not Article
            if facts.reviewer:
                main["reviewedBy"] = {"@type": "Person", **facts.reviewer}
            if facts.last_reviewed:
                main["lastReviewed"] = facts.last_reviewed
        else:
            main["mainEntityOfPage"] = facts.url
            main["publisher"] = {
                "@type": "Organization",
                "name": facts.site_name,
                "url": facts.site_url,
            }
        main["isPartOf"] = (
            {"@type": "WebPage", **facts.part_of}
            if facts.part_of
            else {"@type": "WebSite", "name": facts.site_name, "url": facts.site_url}
        )
        blocks.append(main)
        blocks.append(
            {
                "@context": context,
                "@type": "BreadcrumbList",
                "itemListElement": [
                    {"@type": "ListItem", "position": n, "name": name, "item": url}
                    for n, (name, url) in enumerate(facts.breadcrumb, start=1)
                ],
            }
        )
    if facts.faq:
        blocks.append(
            {
                "@context": context,
                "@type": "FAQPage",
                "mainEntity": [
                    {
                        "@type": "Question",
                        "name": question,
                        "acceptedAnswer": {"@type": "Answer", "text": answer},
                    }
                    for question, answer in facts.faq
                ],
            }
        )
    return blocks


def script_json(block: dict[str, Any]) -> str:
    """JSON that is safe between <script> tags: no '<', '>' or '&' survives as itself."""
    text = json.dumps(block, ensure_ascii=False, separators=(",", ":"))  # the fast C encoder
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


# What Google's documentation asks for, per type: (required, recommended).
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Article": (("headline",), ("author", "datePublished", "dateModified", "image")),
    "MedicalWebPage": (("headline",), ("author", "datePublished", "dateModified", "image")),
    "WebSite": (("name", "url"), ()),
    "BreadcrumbList": (("itemListElement",), ()),
    "FAQPage": (("mainEntity",), ()),
}


def lint_jsonld(blocks: list[dict[str, Any]], where: Location) -> list[Diagnostic]:
    problems = []
    for block in blocks:
        kind = str(block.get("@type"))
        required, recommended = RULES.get(kind, ((), ()))
        for name in required + recommended:
            if not block.get(name):
                need = "requires" if name in required else "recommends"
                code = "structured-data" if name in required else "structured-data-recommended"
                problems.append(
                    diag.make(
                        code,
                        f"{kind} has no '{name}' (Google {need} it)",
                        where,
                        hint=_HINTS.get(name, ""),
                    )
                )
        author = block.get("author")
        if isinstance(author, dict) and not author.get("url"):
            problems.append(
                diag.make(
                    "structured-data",
                    f"{kind} author has no 'url'",
                    where,
                    hint="give the author a url in site.yaml",
                )
            )
        for item in block.get("itemListElement", ()):
            if not (item.get("name") and item.get("item")):
                problems.append(
                    diag.make("structured-data", "a breadcrumb item has no name or URL", where)
                )
        for question in block.get("mainEntity", ()) if kind == "FAQPage" else ():
            if not question.get("name") or not question["acceptedAnswer"].get("text"):
                problems.append(
                    diag.make("structured-data", "an FAQ question has no name or answer", where)
                )
    return problems


_HINTS = {
    "datePublished": "add `date: YYYY-MM-DD` to the front matter",
    "dateModified": "add `date:` (and `updated:` after a substantive change)",
    "image": "add `image:` to the page, or `metadata: {image: ...}` to site.yaml",
    "author": "add `author:` or set `default_author` in site.yaml",
}


def review_overdue(pages: Sequence[Page], config: Config, today: datetime.date) -> list[Diagnostic]:
    """Pages whose last review is older than `metadata.review_max_age_months`."""
    months = config.review_max_age_months
    problems = []
    for page in pages:
        reviewed = page.front.last_reviewed
        if reviewed is None:
            continue
        day = reviewed.date() if isinstance(reviewed, datetime.datetime) else reviewed
        total = day.year * 12 + day.month - 1 + months
        due = datetime.date(total // 12, total % 12 + 1, min(day.day, 28))
        if today > due:
            problems.append(
                diag.make(
                    "review-overdue",
                    f"last reviewed {day.isoformat()}, more than {months} months ago",
                    Location(page.source.display, 1, 1),
                    hint="review the page, then update last_reviewed",
                )
            )
    return problems
