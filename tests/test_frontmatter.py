from __future__ import annotations

import datetime

import pytest

from intimacy_ssg.frontmatter import FIELDS, parse_front_matter, split_front_matter

P = "content/x.md"


@pytest.mark.parametrize(
    ("text", "yaml_text", "body", "body_line", "codes"),
    [
        ("---\ntitle: T\n---\nBody\n", "title: T", "Body\n", 4, []),
        ("---\ntitle: T\n...\nBody", "title: T", "Body", 4, []),
        ("---  \ntitle: T\n---  \n", "title: T", "", 4, []),
        ("No front matter\n", None, "No front matter\n", 1, []),
        ("---\n---\nBody", "", "Body", 3, []),
        ("---\ntitle: T\nBody", None, "", 4, ["frontmatter-unclosed"]),
        ("Text\n---\ntitle: T\n---\n", None, "Text\n---\ntitle: T\n---\n", 1, []),
    ],
)
def test_split(
    text: str, yaml_text: str | None, body: str, body_line: int, codes: list[str]
) -> None:
    split = split_front_matter(text, P)
    assert (split.yaml_text, split.body, split.body_line) == (yaml_text, body, body_line)
    assert [d.code for d in split.diagnostics] == codes


def parse(yaml_text: str, **kwargs: object):
    split = split_front_matter(f"---\n{yaml_text}---\n", P)
    return parse_front_matter(split, P, **kwargs)  # type: ignore[arg-type]


GOOD = "title: T\ndescription: D\n"


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (GOOD, []),
        ("description: D\n", ["1:1 missing-field 'title' is required and must not be empty"]),
        (
            "title: ''\ndescription: D\n",
            ["2:8 missing-field 'title' is required and must not be empty"],
        ),
        ("title: no\ndescription: D\n", ["2:8 field-type 'title' must be a string, got a boolean"]),
        (
            "title: 2024\ndescription: D\n",
            ["2:8 field-type 'title' must be a string, got a number"],
        ),
        (GOOD + "weight: 1.5\n", ["4:9 field-type 'weight' must be a whole number, got a number"]),
        (
            GOOD + "draft: yes please\n",
            ["4:8 field-type 'draft' must be true or false, got a string"],
        ),
        (GOOD + "tags: [a, 3]\n", ["4:11 field-type 'tags[1]' must be a string, got a number"]),
        (GOOD + "related: x\n", ["4:10 field-type 'related' must be a list, got a string"]),
        (
            GOOD + "date: 31/01/2026\n",
            ["4:7 field-type 'date' must be a date (YYYY-MM-DD), got a string"],
        ),
        (
            GOOD + "faq:\n  - q: ''\n    a: A\n",
            ["5:8 missing-field 'faq[0].q' is required and must not be empty"],
        ),
        (
            GOOD + "faq:\n  - q: Q?\n    answer: A\n",
            [
                "5:5 missing-field 'faq[0].a' is required and must not be empty",
                "6:5 unknown-field unknown key 'answer' in 'faq[0]'",
            ],
        ),
        (
            GOOD + "faq: [just text]\n",
            ["4:7 field-type 'faq[0]' must be a mapping with 'q' and 'a', got a string"],
        ),
        (
            GOOD + "sources:\n  - title: S\n    year: '1999'\n",
            ["6:11 field-type 'sources[0].year' must be a whole number, got a string"],
        ),
        (GOOD + "tilte: T\n", ["4:1 unknown-field unknown front-matter field 'tilte'"]),
        (
            "- a\n- b\n",
            [
                "2:1 frontmatter-not-mapping front matter must be a mapping of keys to values, "
                "not a list"
            ],
        ),
        (
            "just a string\n",
            [
                "2:1 frontmatter-not-mapping front matter must be a mapping of keys to values, "
                "not a single value"
            ],
        ),
    ],
)
def test_validation_table(yaml_text: str, expected: list[str]) -> None:
    result = parse(yaml_text)
    got = [f"{d.location.line}:{d.location.col} {d.code} {d.message}" for d in result.diagnostics]
    assert got == expected


def test_quote_it_hint_shows_the_raw_text() -> None:
    [problem] = parse("title: yes\ndescription: D\n").diagnostics
    assert problem.hint == 'quote it: "yes"'


def test_did_you_mean_for_unknown_fields() -> None:
    [problem] = parse(GOOD + "sumary: S\n").diagnostics
    assert problem.hint == "did you mean 'summary'?"


def test_values_are_typed() -> None:
    result = parse(
        GOOD
        + "date: 2026-01-02\nupdated: '2026-02-03T10:00:00+01:00'\nweight: 5\ndraft: true\n"
        + "tags: [a, b]\nrelated: [x, y]\nsources:\n  - title: S\n    year: 1999\n"
        + "faq:\n  - q: Why?\n    a: |\n      Because.\n"
    )
    assert result.diagnostics == ()
    front = result.front
    assert front.date == datetime.date(2026, 1, 2)
    assert front.updated == datetime.datetime.fromisoformat("2026-02-03T10:00:00+01:00")
    assert (front.weight, front.draft, front.tags) == (5, True, ("a", "b"))
    assert [r.target for r in front.related] == ["x", "y"]
    assert [(r.location.line, r.location.col) for r in front.related] == [(9, 11), (9, 14)]
    assert front.sources[0].year == 1999
    [faq] = result.faq
    assert (faq.question, faq.answer, faq.location.line, faq.answer_line) == (
        "Why?",
        "Because.",
        14,
        16,
    )


def test_default_author_and_unknown_author() -> None:
    assert parse(GOOD, default_author="team").front.author == "team"
    result = parse(GOOD + "author: tem\n", authors=frozenset({"team"}))
    [problem] = result.diagnostics
    assert (problem.code, problem.location.line, problem.hint) == (
        "unknown-author",
        4,
        "did you mean 'team'?",
    )


def test_a_broken_document_reports_only_its_syntax_error() -> None:
    result = parse("title: [\n")
    assert [d.code for d in result.diagnostics] == ["yaml-syntax"]
    assert result.front.title == "x"  # a fallback, so links to the page still resolve


def test_every_field_has_a_description() -> None:
    assert all(f.description.endswith(".") for f in FIELDS)
