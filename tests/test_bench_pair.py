"""bench/pair.py: another git revision's builds and the working tree's, in pairs, on the same
pages: the order, the edits, the summary and the sign test, which code each side runs, and
real runs over a small corpus, from the command line and under `build --watch`."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

import bench.pair
from bench.pair import Side, extract, in_turns, pair_kind, run_pairs, summary
from bench.run import REPO


def test_the_summary_gives_medians_differences_and_wins() -> None:
    found = summary([1.0, 2.0, 3.0, 10.0], [0.5, 2.5, 2.0, 4.0])
    assert found["base_median_s"] == 2.5 and found["head_median_s"] == 2.25
    assert found["differences_s"] == [-0.5, 0.5, -1.0, -6.0]
    assert found["median_difference_s"] == -0.75  # not the difference of the medians
    assert (found["head_faster"], found["base_faster"]) == (3, 1)
    assert found["sign_test_p"] == 0.625  # 2 * (1 + 4) / 16
    assert summary([1.0], [1.0])["head_faster"] == summary([1.0], [1.0])["base_faster"] == 0


@pytest.mark.parametrize(
    ("wins", "losses", "p"),
    [(5, 1, 0.21875), (6, 0, 0.03125), (3, 3, 1.0), (0, 0, 1.0), (1, 9, 0.021484375)],
)
def test_the_sign_test_says_how_likely_a_split_is_by_chance(
    wins: int, losses: int, p: float
) -> None:
    assert bench.pair.sign_test(wins, losses) == pytest.approx(p)
    assert bench.pair.sign_test(losses, wins) == pytest.approx(p)  # two-sided


@pytest.mark.parametrize(("base", "head"), [([], []), ([1.0], [1.0, 2.0])])
def test_the_summary_wants_whole_pairs(base: list[float], head: list[float]) -> None:
    with pytest.raises(ValueError, match="pairs"):
        summary(base, head)


def test_the_sides_take_turns_to_build_first(tmp_path: Path) -> None:
    base, head = Side("base", tmp_path, tmp_path / "a"), Side("head", None, tmp_path / "b")
    assert [in_turns(n, (base, head))[0].name for n in range(4)] == ["base", "head"] * 2


@dataclass
class _Scripted:
    """A side whose builds take the times given, each recorded in `said` as it runs."""

    name: str
    times: list[float]
    said: list[str]
    done: list[float] = field(default_factory=list)

    def build(self) -> float:
        self.said.append(f"build {self.name}")
        self.done.append(self.times[len(self.done)])
        return self.done[-1]


@pytest.mark.parametrize(("kind", "settles"), [("prose", True), ("title", True), ("noop", False)])
def test_each_pair_edits_both_sides_alike_then_builds_them_in_turn(
    monkeypatch: pytest.MonkeyPatch, kind: str, settles: bool
) -> None:
    said: list[str] = []
    base = _Scripted("base", [1.0, 3.0, 5.0], said)
    head = _Scripted("head", [2.0, 1.0, 4.0], said)
    monkeypatch.setattr(bench.pair, "edit", lambda side, k, n: said.append(f"{k} {n} {side.name}"))
    found = pair_kind(kind, 3, (base, head), settle=lambda: said.append("settle"))  # type: ignore[arg-type]
    wait = ["settle"] if settles else []
    assert said == [
        *(f"{kind} 0 base", f"{kind} 0 head", *wait, "build base", "build head"),
        *(f"{kind} 1 base", f"{kind} 1 head", *wait, "build head", "build base"),
        *(f"{kind} 2 base", f"{kind} 2 head", *wait, "build base", "build head"),
    ]
    assert found["base_s"] == [1.0, 3.0, 5.0] and found["head_s"] == [2.0, 1.0, 4.0]
    assert found["differences_s"] == [1.0, -2.0, -1.0] and found["head_faster"] == 2


class _FakeWatching:
    """Stands in for a side's `build --watch`: each edit recorded, timed as scripted."""

    said: ClassVar[list[str]] = []  # set by each test
    times: ClassVar[dict[str, list[float]]] = {}

    def __init__(self, side: Side) -> None:
        self.side = side
        self.said.append(f"watch {side.name}")

    def timed(self, kind: str, n: int) -> float:
        self.said.append(f"{kind} {n} {self.side.name}")
        return self.times[self.side.name].pop(0)

    def close(self) -> None:
        self.said.append(f"close {self.side.name}")


def test_watched_edits_warm_up_then_take_turns_with_a_quiet_moment_after_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    said: list[str] = []
    monkeypatch.setattr(_FakeWatching, "said", said)
    monkeypatch.setattr(
        _FakeWatching, "times", {"base": [9.0, 9.0, 1.0, 3.0], "head": [9.0, 9.0, 2.0, 1.0]}
    )
    monkeypatch.setattr(bench.pair, "Watching", _FakeWatching)
    base, head = Side("base", tmp_path, tmp_path / "a"), Side("head", None, tmp_path / "b")
    found = bench.pair.pair_watched(
        "watch-title", 2, (base, head), quiet=lambda: said.append("quiet"), first=10
    )
    edits = [
        *("watch-title 10 base", "watch-title 10 head", "watch-title 11 base"),
        *("watch-title 11 head", "watch-title 12 base", "watch-title 12 head"),
        *("watch-title 13 head", "watch-title 13 base"),
    ]
    assert said == [
        "watch base",
        "watch head",
        *(x for edit in edits for x in (edit, "quiet")),
        "close base",
        "close head",
    ]
    assert found["base_s"] == [1.0, 3.0] and found["head_s"] == [2.0, 1.0]  # warm-ups left out


def test_the_base_is_the_revision_named(tmp_path: Path) -> None:
    commit = extract("HEAD", tmp_path / "base")
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert commit == head
    for shipped in ("intimacy_ssg/__init__.py", "templates/base.html", "static", "site.yaml"):
        assert (tmp_path / "base" / shipped).exists(), shipped
    assert not (tmp_path / "base" / "tests").exists()  # only what a build is made with
    with pytest.raises(SystemExit, match="no-such-revision"):
        extract("no-such-revision", tmp_path / "other")


def test_each_side_builds_with_its_own_code(tmp_path: Path) -> None:
    """The base's processes import the extracted package (PYTHONPATH), however the command
    is run; without one there, the working tree's installed package."""
    extract("HEAD", tmp_path / "base")
    for project in ("p", "q"):
        (tmp_path / project).mkdir()
    assert Side("base", tmp_path / "base", tmp_path / "p").imported() == tmp_path / "base"
    assert Side("head", None, tmp_path / "q").imported().resolve() == REPO.resolve()
    assert Side("base", tmp_path / "q", tmp_path / "p").imported().resolve() == REPO.resolve()


def _timed_and_edited(
    found: dict[str, Any], kinds: tuple[str, ...], pairs: int, work: Path
) -> list[tuple[str, Path]]:
    """Each kind's `pairs` times on each side, all plausible; then each side's project and
    its edited page."""
    for kind in kinds:
        row = found["kinds"][kind]
        assert len(row["base_s"]) == len(row["head_s"]) == pairs
        assert all(0 < s < 60 for s in row["base_s"] + row["head_s"]), row
    sides = ("base-project", "head-project")
    return [(side, next((work / side / "content").glob("*/topic-02.md"))) for side in sides]


def test_a_run_pairs_real_builds_of_both_sides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench.pair, "SETTLE_S", 0.0)
    found = run_pairs("HEAD", ["prose", "noop"], 2, 24, tmp_path)
    assert found["base"]["commit"] == found["head"]["commit"]
    assert found["pages"] == 24 and found["pairs"] == 2
    for side, page in _timed_and_edited(found, ("prose", "noop"), 2, tmp_path):
        assert page.read_text().count("Watched edit") == 2  # both pairs' edits, on each side
        assert (tmp_path / side / "output/index.html").is_file()
    json.dumps(found)  # what is written to bench/paired.json


def test_a_run_pairs_real_watched_edits_of_both_sides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench.pair, "SETTLE_S", 0.0)
    monkeypatch.setattr(bench.pair, "QUIET_S", 0.2)
    found = run_pairs("HEAD", ["title", "watch-title"], 1, 24, tmp_path)
    for side, page in _timed_and_edited(found, ("title", "watch-title"), 1, tmp_path):
        # the CLI pair's edit (0), then the watched ones: two to warm up, one timed
        assert "title: Watched title 1002\n" in page.read_text()
        built = tmp_path / side / "output" / page.parent.name / "topic-02/index.html"
        assert "Watched title 1002" in built.read_text()


def test_a_watcher_that_falls_silent_fails_the_run(tmp_path: Path) -> None:
    side = Side("head", None, tmp_path / "project")
    bench.pair.make_project(REPO, side.project, 12)
    watching = bench.pair.Watching(side)
    try:
        watching.patience = 0.5
        with pytest.raises(SystemExit, match=r"the head watcher said no 'never said' in 0\.5 s"):
            watching.said("never said")
    finally:
        watching.close()
    assert watching.process.returncode is not None


def test_the_command_refuses_unknown_kinds(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.pair", "--base", "HEAD", "--kinds", "prose,template"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "--kinds takes some of" in done.stderr
