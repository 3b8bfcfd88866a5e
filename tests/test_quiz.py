"""The quiz: scoring on fixed answer sets, and its validation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from intimacy_ssg.frontmatter import Parsed, parse_front_matter, split_front_matter
from intimacy_ssg.parse import parse_page
from intimacy_ssg.quiz import Quiz, score

from .support import REPO


def shipped_quiz() -> Quiz:
    from intimacy_ssg.discover import discover_sources

    found = discover_sources(REPO / "content", REPO / "static")
    [source] = [s for s in found.sources if s.page_id == "quiz"]
    page = parse_page(source)
    assert page.diagnostics == ()
    assert page.front.quiz is not None
    return page.front.quiz


def answers_for(quiz: Quiz, closeness: int, reassurance: int) -> list[int]:
    """Agree (5) or disagree (1) in the direction of each wanted sign; 0 means neutral (3)."""
    out = []
    for statement in quiz.statements:
        [(dimension, weight)] = statement.weights
        want = closeness if dimension == "closeness" else reassurance
        out.append(3 if want == 0 else (5 if want * weight > 0 else 1))
    return out


def test_shipped_quiz_shape() -> None:
    quiz = shipped_quiz()
    assert 10 <= len(quiz.statements) <= 14
    assert [d.id for d in quiz.dimensions] == ["closeness", "reassurance"]
    assert len(quiz.profiles) == 4


@pytest.mark.parametrize(
    ("closeness", "reassurance", "profile"),
    [
        (1, -1, "open-and-steady"),
        (1, 1, "wholehearted-and-watchful"),
        (-1, -1, "independent-and-self-assured"),
        (-1, 1, "hopeful-and-careful"),
        (1, 0, "open-and-steady"),  # a score of exactly 0 counts as low
        (0, 0, "independent-and-self-assured"),
    ],
)
def test_shipped_quiz_scoring_on_fixed_answer_sets(
    closeness: int, reassurance: int, profile: str
) -> None:
    quiz = shipped_quiz()
    result = score(quiz, answers_for(quiz, closeness, reassurance))
    assert result is not None and result.id == profile


def test_every_answer_set_of_the_shipped_quiz_gets_a_profile() -> None:
    quiz = shipped_quiz()
    assert score(quiz, [3] * len(quiz.statements)) is not None
    with pytest.raises(ValueError):
        score(quiz, [6] * len(quiz.statements))


def parse(yaml_text: str) -> Parsed:
    path = "content/q.md"
    split = split_front_matter(f"---\ntitle: Q\ndescription: D\n{yaml_text}---\n", path)
    return parse_front_matter(split, path)


QUIZ = """quiz:
  dimensions:
    - id: a
      label: A
  statements:
    - text: S
      weights: {a: 2}
  profiles:
    - id: up
      title: Up
      when: {a: high}
      description: Up.
    - id: rest
      title: Rest
      description: Everything else.
"""


def test_a_fallback_profile_without_conditions_is_reachable() -> None:
    result = parse(QUIZ)
    assert result.diagnostics == ()
    quiz = result.front.quiz
    assert quiz is not None
    results = [score(quiz, [a]) for a in range(1, 6)]
    assert [p.id if p else None for p in results] == ["rest", "rest", "rest", "up", "up"]


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        (("{a: 2}", "{b: 2}"), ["quiz-unknown-dimension 10:17"]),
        (("{a: 2}", "{a: two}"), ["field-type 10:20"]),
        (("{a: high}", "{a: up}"), ["field-type 14:17"]),
        (("      when: {a: high}\n", ""), ["quiz-unreachable-profile 15:7"]),
        (
            ("    - id: rest\n      title: Rest\n      description: Everything else.\n", ""),
            ["quiz-unreachable-profile 5:3"],
        ),
    ],
)
def test_quiz_validation(replace: tuple[str, str], expected: list[str]) -> None:
    result = parse(QUIZ.replace(*replace))
    got = [f"{d.code} {d.location.line}:{d.location.col}" for d in result.diagnostics]
    assert got == expected


def test_quiz_page_works_without_javascript_and_embeds_safe_data(tmp_path: Path) -> None:
    from .support import build_content, page

    body = QUIZ.replace("title: Up", "title: Up </script><script>alert(1)</script>")
    files = {
        "index.md": page("Home", "[[q]]\n"),
        "q.md": "---\ntitle: Q\ndescription: D\n" + body + "---\nIntro.\n",
    }
    _, problems = build_content(tmp_path, files, write=True)
    assert problems == []
    html = (tmp_path / "output/q/index.html").read_text()
    assert html.count('type="radio"') == 5
    assert html.count('class="quiz-profile"') == 2  # every profile readable without a script
    assert "<script>alert(1)" not in html
    data = re.search(r'<script type="application/json" id="quiz-data">(.*?)</script>', html, re.S)
    assert data is not None
    assert json.loads(data.group(1)) == {
        "dimensions": ["a"],
        "weights": [{"a": 2}],
        "profiles": [{"id": "up", "when": {"a": "high"}}, {"id": "rest", "when": {}}],
    }
