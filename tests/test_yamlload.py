from __future__ import annotations

import pytest

from intimacy_ssg.yamlload import load_yaml


def test_positions_are_recorded_by_key_path() -> None:
    doc = load_yaml("title: T\nfaq:\n  - q: Why?\n    a: |\n      Because.\n")
    assert doc.value == {"title": "T", "faq": [{"q": "Why?", "a": "Because.\n"}]}
    assert (doc.values[("title",)].line, doc.values[("title",)].col) == (0, 7)
    assert doc.values[("faq", 0, "q")].line == 2
    assert doc.values[("faq", 0, "a")].style == "|"
    assert doc.keys[("faq",)].line == 1
    assert doc.pos(("faq", 0, "missing")) == doc.values[("faq", 0)]


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    doc = load_yaml("a: 1\nb: 2\na: 3\n")
    assert doc.value is None
    [problem] = doc.problems
    assert (problem.code, problem.line, problem.col, problem.ref_line) == ("duplicate-key", 2, 0, 0)


def test_nested_duplicate_keys_are_reported_too() -> None:
    doc = load_yaml("faq:\n  - q: a\n    q: b\n")
    assert [(p.code, p.line) for p in doc.problems] == [("duplicate-key", 2)]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: [1, 2\n", 1),
        ("a: b: c\n", 0),
        ("a:\n\tb: 1\n", 1),
        ("key: 'unclosed\n", 1),
    ],
)
def test_syntax_errors_carry_a_position(text: str, line: int) -> None:
    [problem] = load_yaml(text).problems
    assert problem.code == "yaml-syntax"
    assert problem.line == line


@pytest.mark.parametrize(
    "text",
    [
        "x: !!python/object/apply:os.system ['echo pwned']\n",
        "x: !!python/name:os.system\n",
        "x: !custom 1\n",
    ],
)
def test_unsafe_tags_are_refused_not_executed(text: str) -> None:
    doc = load_yaml(text)
    assert doc.value is None
    assert [p.code for p in doc.problems] == ["yaml-syntax"]


def test_empty_document_is_none() -> None:
    assert load_yaml("").value is None
    assert load_yaml("# only a comment\n").problems == ()


def test_yaml_1_1_booleans_arrive_as_booleans_with_their_raw_text() -> None:
    doc = load_yaml("title: no\n")
    assert doc.value == {"title": False}
    assert doc.values[("title",)].raw == "no"
