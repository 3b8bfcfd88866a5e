from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _same(made: object, expected: object) -> bool:
    """Equal, and of the same types all the way down (True == 1, but not here)."""
    if type(made) is not type(expected):
        return False
    if isinstance(made, dict):
        assert isinstance(expected, dict)
        return list(made) == list(expected) and all(
            _same(k, k2) and _same(made[k], expected[k2])
            for k, k2 in zip(made, expected, strict=True)
        )
    if isinstance(made, list):
        assert isinstance(expected, list)
        return len(made) == len(expected) and all(map(_same, made, expected))
    return made == expected or (made != made and expected != expected)  # NaN is NaN


def _as_pyyaml(text: str) -> tuple[object, str, type[Exception] | None]:
    """PyYAML's own safe load of `text` (what load_yaml made with it before it made plain
    values itself): the value, or the message of the YAML error it met, or the type of any
    other error it raised (a date that is not one: ValueError)."""
    import yaml

    loader = yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader
    try:
        return yaml.load(text, Loader=loader), "", None
    except yaml.MarkedYAMLError as exc:
        return None, (exc.problem or exc.context or "invalid YAML").strip(), None
    except Exception as exc:
        return None, "", type(exc)


PIECES = [
    "title: Plain words",
    "draft: yes",
    "weight: 0x1F",
    "count: 1_000",
    "time: 1:20",
    "ratio: .inf",
    "nothing: ~",
    "date: 2026-03-09",
    "moment: 2026-03-09 10:00:00",
    "bad_date: 2026-13-40",
    "text: !!str 5",
    "blob: !!binary aGk=",
    "odd: =",
    "tags: [a, b, 'c']",
    "faq:\n  - q: Why?\n    a: |\n      Because.\n",
    "nested: {a: [1, {b: no}], c: null}",
    "set: !!set {x, y}",
    "omap: !!omap [{a: 1}]",
    "merged: {<<: {m: 1}, n: 2}",
    "? [1, 2]\n: x",
    "1: one",
    "2.5: x",
    "true: t",
    "null: n",
    "2026-01-01: d",
    "empty:",
    "quoted: 'it''s'",
    "unsafe: !!python/object:os.system x",
    "folded: >\n  two\n  lines\n",
    "list:\n- 1\n- two\n- [3]",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=6, unique=True))
def test_values_are_pyyamls_own_for_any_document(pieces: list[str]) -> None:
    """Plain values made by the walk, the rest by PyYAML's safe constructor: the value (or
    the error) is PyYAML's, types and key order included, for any mix of scalars,
    tags, merge keys, complex keys and values it refuses."""
    text = "\n".join(pieces) + "\n"
    expected, error, raised = _as_pyyaml(text)
    doc = load_yaml(text)
    if "2026-13-40" in text:  # a date that does not exist: PyYAML raises ValueError (or
        # meets another error first); load_yaml reports the date, before any such error
        assert raised in (ValueError, None) and doc.value is None
        assert [p.message.split(" (")[0] for p in doc.problems] == [
            "'2026-13-40' is not a date or time that exists"
        ]
        return
    assert raised is None
    if error:
        assert doc.value is None and [p.message for p in doc.problems] == [error]
    else:
        assert doc.problems == () and _same(doc.value, expected), text


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(allow_nan=True),
            st.text(max_size=12),
            st.dates(),
        ),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=4)
        ),
        max_leaves=12,
    ),
    st.booleans(),
)
def test_any_dumped_value_loads_as_pyyaml_loads_it(value: object, flow: bool) -> None:
    import yaml

    text = yaml.safe_dump(value, default_flow_style=flow, allow_unicode=True)
    expected, error, raised = _as_pyyaml(text)
    doc = load_yaml(text)
    assert not error and raised is None and doc.problems == (), text
    assert _same(doc.value, expected), text


def test_a_date_that_does_not_exist_is_a_problem_where_it_was_written() -> None:
    """PyYAML's safe loader raises ValueError for a date or time that matches the format but
    does not exist; it is reported at its place, never raised (it was, before)."""
    doc = load_yaml("title: T\ndate: 2026-02-30\nsources:\n  - year: 2001-01-01 25:00:00\n")
    assert doc.value is None
    assert [(p.code, p.line, p.col) for p in doc.problems] == [
        ("yaml-syntax", 1, 6),
        ("yaml-syntax", 3, 10),
    ]
    assert doc.problems[0].message == (
        "'2026-02-30' is not a date or time that exists (day is out of range for month)"
    )
    assert load_yaml("2026-13-01: key\n").problems[0].line == 0
