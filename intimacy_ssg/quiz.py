"""Quizzes defined as data in front matter (`quiz:`), validated like any content.

A quiz has dimensions, statements answered on a five-point agree scale, and result profiles.
A dimension's score is the sum of weight * (answer - 3) over its statements; it is "high"
above 0 and "low" otherwise. The first profile whose `when` conditions all hold is the
result. The same rule runs in the reader's browser (templates/quiz.html); `score()` here is
the reference the tests hold both to.

Checks: weights and conditions must name declared dimensions; every profile must be the
result of at least one set of answers; every set of answers must reach some profile.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import diagnostics as diag
from . import pickling
from .config import SLUG_RE
from .diagnostics import Diagnostic, Location
from .model import Ref

if TYPE_CHECKING:
    from .frontmatter import Checker

SCALE = ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree")
LEVELS = ("high", "low")
MAX_STATES = 200_000  # reachable score vectors explored before giving up on the proof


@dataclass(frozen=True, slots=True)
class Dimension:
    id: str
    label: str
    low: str
    high: str


@dataclass(frozen=True, slots=True)
class Statement:
    text: str
    weights: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    title: str
    when: tuple[tuple[str, str], ...]
    description: str  # markdown
    links: tuple[Ref, ...]
    location: Location


@dataclass(frozen=True, slots=True)
class Quiz:
    dimensions: tuple[Dimension, ...]
    statements: tuple[Statement, ...]
    profiles: tuple[Profile, ...]


def parse_quiz(checker: Checker) -> tuple[Quiz | None, list[Diagnostic]]:
    """Read and check `quiz:` from front matter; problems come back with their positions."""
    raw = checker.get(("quiz",))
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        checker.wrong(("quiz",), "a mapping with dimensions, statements and profiles", raw)
        return None, []
    problems: list[Diagnostic] = []
    reported = len(checker.problems)
    for key in raw:
        if key not in ("dimensions", "statements", "profiles"):
            checker.unknown(("quiz", str(key)), ("dimensions", "statements", "profiles"))

    dimensions: list[Dimension] = []
    for i, _ in enumerate(checker.items(("quiz", "dimensions"), dict, "a mapping")):
        base = ("quiz", "dimensions", i)
        dim_id = checker.string((*base, "id"), required=True)
        if dim_id and not SLUG_RE.fullmatch(dim_id):
            problems.append(
                diag.make(
                    "invalid-slug",
                    f"dimension id '{dim_id}' is not a slug",
                    checker.loc((*base, "id")),
                )
            )
        dimensions.append(
            Dimension(
                dim_id,
                checker.string((*base, "label"), required=True),
                checker.string((*base, "low")),
                checker.string((*base, "high")),
            )
        )
    known = {d.id for d in dimensions}

    def unknown_dimension(path: tuple[str | int, ...], name: str) -> None:
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f"did you mean '{close[0]}'?" if close else "dimensions: " + ", ".join(sorted(known))
        problems.append(
            diag.make(
                "quiz-unknown-dimension",
                f"'{name}' is not a dimension of this quiz",
                checker.key_loc(path),
                hint=hint,
            )
        )

    statements: list[Statement] = []
    for i, _ in enumerate(checker.items(("quiz", "statements"), dict, "a mapping")):
        base = ("quiz", "statements", i)
        text = checker.string((*base, "text"), required=True)
        weights = checker.get((*base, "weights"))
        pairs: list[tuple[str, int]] = []
        if not isinstance(weights, dict) or not weights:
            checker.wrong((*base, "weights"), "a mapping of dimension to whole number", weights)
        else:
            for name, weight in weights.items():
                if str(name) not in known:
                    unknown_dimension((*base, "weights", str(name)), str(name))
                elif isinstance(weight, bool) or not isinstance(weight, int):
                    checker.wrong((*base, "weights", str(name)), "a whole number", weight)
                elif weight:
                    pairs.append((str(name), weight))
        statements.append(Statement(text, tuple(sorted(pairs))))

    profiles: list[Profile] = []
    for i, _ in enumerate(checker.items(("quiz", "profiles"), dict, "a mapping")):
        base = ("quiz", "profiles", i)
        when = checker.get((*base, "when")) or {}
        conditions: list[tuple[str, str]] = []
        if not isinstance(when, dict):
            checker.wrong((*base, "when"), "a mapping of dimension to high or low", when)
            when = {}
        for name, level in when.items():
            if str(name) not in known:
                unknown_dimension((*base, "when", str(name)), str(name))
            elif level not in LEVELS:
                checker.wrong((*base, "when", str(name)), "high or low", level)
            else:
                conditions.append((str(name), str(level)))
        links = tuple(
            Ref(target, checker.loc((*base, "links", j)))
            for j, target in enumerate(checker.items((*base, "links"), str, "a page id"))
        )
        profiles.append(
            Profile(
                checker.string((*base, "id"), required=True),
                checker.string((*base, "title"), required=True),
                tuple(sorted(conditions)),
                checker.string((*base, "description"), required=True),
                links,
                checker.loc(base),
            )
        )
    quiz = Quiz(tuple(dimensions), tuple(statements), tuple(profiles))
    clean = not problems and len(checker.problems) == reported
    if clean and dimensions and statements and profiles:
        problems += _check_reachability(quiz, checker.loc(("quiz",)))
    return quiz, problems


def levels(quiz: Quiz, answers: Sequence[int]) -> dict[str, str]:
    """Each dimension's level for answers 1..5, one per statement."""
    totals = dict.fromkeys((d.id for d in quiz.dimensions), 0)
    for statement, answer in zip(quiz.statements, answers, strict=True):
        for name, weight in statement.weights:
            totals[name] += weight * (answer - 3)
    return {name: "high" if total > 0 else "low" for name, total in totals.items()}


def match(quiz: Quiz, level_of: Mapping[str, str]) -> Profile | None:
    return next((p for p in quiz.profiles if all(level_of[d] == v for d, v in p.when)), None)


def score(quiz: Quiz, answers: Sequence[int]) -> Profile | None:
    """The profile a reader with these answers (1 = strongly disagree ... 5) is shown."""
    if any(a not in range(1, 6) for a in answers):
        raise ValueError("answers run from 1 to 5")
    return match(quiz, levels(quiz, answers))


def _check_reachability(quiz: Quiz, where: Location) -> list[Diagnostic]:
    """Explore every reachable score vector (a few thousand for a real quiz)."""
    names = [d.id for d in quiz.dimensions]
    states = {tuple(0 for _ in names)}
    for statement in quiz.statements:
        step = [(names.index(n), w) for n, w in statement.weights]
        grown = set()
        for state in states:
            for answer in (-2, -1, 0, 1, 2):
                moved = list(state)
                for index, weight in step:
                    moved[index] += weight * answer
                grown.add(tuple(moved))
        states = grown
        if len(states) > MAX_STATES:
            return []  # too many combinations to prove anything; say nothing rather than guess
    reached: set[str] = set()
    gap = False
    for state in states:
        profile = match(
            quiz, {n: "high" if v > 0 else "low" for n, v in zip(names, state, strict=True)}
        )
        if profile is None:
            gap = True
        else:
            reached.add(profile.id)
    problems = [
        diag.make(
            "quiz-unreachable-profile",
            f"no set of answers leads to profile '{p.id}'",
            p.location,
            hint="an earlier profile matches first, or its conditions cannot all hold",
        )
        for p in quiz.profiles
        if p.id not in reached
    ]
    if gap:
        problems.append(
            diag.make(
                "quiz-unreachable-profile",
                "some sets of answers match no profile",
                where,
                hint="add a profile for the missing combination, or one without `when:` last",
            )
        )
    return problems


def quiz_data(quiz: Quiz) -> dict[str, Any]:
    """What the page's script needs to score answers: dimensions, weights, conditions."""
    return {
        "dimensions": [d.id for d in quiz.dimensions],
        "weights": [dict(s.weights) for s in quiz.statements],
        "profiles": [{"id": p.id, "when": dict(p.when)} for p in quiz.profiles],
    }


pickling.register(globals())
