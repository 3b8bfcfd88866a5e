"""`make bench-pair`: time the generator at another git revision against the working tree's,
in pairs, minutes apart at most, on the same pages.

The machine's speed moves by up to half within an hour, so a change worth tens of
milliseconds cannot be judged from two `make bench` runs made at different times. Here
both versions build the same corpus, each in a project of its own (its own build cache),
and every edit is made to both, then built by each in a new process. The order in each
pair alternates (base first, then the working tree first), so that neither always runs
on a warmer machine. The `watch-` kinds time an edit under a `build --watch` of each
side instead, from the save to the watcher's report, the two watchers running side by
side and each edit timed while the other watcher is quiet. For each kind of build the
result holds every pair's times, each side's median, the median of the differences
(working tree minus base), how many pairs each side won and the sign test's p-value of
that split (how likely it would be if neither were faster). A pair's two times
can differ by a tenth of a second on this machine: a change of a few tens of
milliseconds needs many pairs, or a measure taken inside the process.

The base's code comes from `git archive REF intimacy_ssg templates static site.yaml`. The
working tree's code is this checkout's, uncommitted changes included. Each build's
process is checked to import the version it is meant to: the base through PYTHONPATH,
the working tree through the editable install.
Results go to bench/paired.json and a table on stdout.

    python -m bench.pair --base REF [--kinds prose,title] [--pairs 8] [--pages 10000]
"""

from __future__ import annotations

import argparse
import compileall
import io
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .corpus import write_corpus
from .measure import Watcher, run_measured, set_aside
from .run import REPO, edited, parse_ms_per_page

KINDS = ("noop", "prose", "summary", "title", "link", "cold")
WATCHED = ("watch-prose", "watch-summary", "watch-title", "watch-link")  # `build --watch`'s
SETTLE_S = 2.1  # a file changed in the last 2 s is never trusted by its stat (see cache.py)
# After a watcher's build, how long before the other side's edit: the watcher checks that
# it missed nothing once all has been quiet for a second (build.CONFIRM_AFTER), and that
# full scan (0.2-0.3 s at 10,000 pages) must not run while the other side is timed.
QUIET_S = 1.6
WARM_EDITS = 2  # untimed edits first: a watcher's first rebuild reads its cache from disk
WATCH_PATIENCE_S = 300.0  # a watcher silent this long (starting or building) fails the run
SHIPPED = ("intimacy_ssg", "templates", "static", "site.yaml")  # what a side is built with


@dataclass(frozen=True)
class Side:
    """One version of the generator and the project it builds: `code` is the folder its
    package is imported from (None: the working tree's, as installed)."""

    name: str
    code: Path | None
    project: Path

    @property
    def content(self) -> Path:
        return self.project / "content"

    @property
    def output(self) -> Path:
        return self.project / "output"

    def env(self) -> dict[str, str]:
        """The environment of its processes, which run in its project's folder: the base's
        imports its code through PYTHONPATH, the working tree's the installed package."""
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        if self.code is not None:
            env["PYTHONPATH"] = str(self.code)
        return env

    def build(self) -> float:
        """Seconds of one `intimacy-ssg build` of this side's project, in a new process."""
        command = [sys.executable, "-m", "intimacy_ssg", "build", "--project", str(self.project)]
        command += ["--content", str(self.content), "--output", str(self.output)]
        done = run_measured(command, env=self.env(), cwd=self.project)
        if done.returncode != 0:
            raise SystemExit(f"the {self.name} build failed:\n{done.stderr[-3000:]}")
        return done.seconds

    def imported(self) -> Path:
        """The folder the generator is imported from in this side's build processes."""
        done = subprocess.run(
            [sys.executable, "-c", "import intimacy_ssg; print(intimacy_ssg.__file__)"],
            env=self.env(),
            cwd=self.project,  # not this checkout's folder, which `python -c` would import from
            capture_output=True,
            text=True,
            check=True,
        )
        return Path(done.stdout.strip()).parent.parent


def extract(ref: str, dest: Path, repo: Path = REPO) -> str:
    """The generator, templates, static files and site.yaml at git revision `ref`, written
    into `dest`; returns the commit `ref` names."""
    commit = _git(repo, "rev-parse", "--verify", f"{ref}^{{commit}}").strip()
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", commit, *SHIPPED],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise SystemExit(f"git archive {ref} failed: {archive.stderr.decode(errors='replace')}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
            tar.extractall(dest, filter="data")
        else:  # this repository's own archive
            tar.extractall(dest)
    return commit


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def make_project(shipped: Path, project: Path, pages: int) -> None:
    """A project built with `shipped`'s templates, static files and site.yaml (search off,
    as `make bench` has it), holding the corpus of `pages` pages."""
    for part in ("templates", "static"):
        shutil.copytree(shipped / part, project / part)
    site_yaml = (shipped / "site.yaml").read_text()
    (project / "site.yaml").write_text(site_yaml + "search: false\n")
    write_corpus(project / "content", pages)


def edit(side: Side, kind: str, n: int) -> None:
    """Edit number `n` of `kind` made to the side's project (the same page each time)."""
    kind = kind.removeprefix("watch-")
    if kind == "cold":  # moved aside, not deleted: see measure.set_aside
        set_aside(side.output)
        set_aside(side.project / ".cache")
    elif kind != "noop":
        page = next(side.content.glob("*/topic-02.md"))
        page.write_text(edited(page.read_text(), kind, n))


def in_turns(pair: int, sides: tuple[Side, Side]) -> tuple[Side, Side]:
    """The order a pair's builds run in: base first in even pairs, the other first in odd."""
    return sides if pair % 2 == 0 else (sides[1], sides[0])


def sign_test(wins: int, losses: int) -> float:
    """The two-sided sign test's p-value: how likely a split at least this uneven is if
    neither side were faster (ties left out). 1.0 with no pair decided."""
    decided = wins + losses
    fewer = min(wins, losses)
    tail = sum(math.comb(decided, k) for k in range(fewer + 1)) / (1 << decided)
    return min(1.0, 2 * tail)


def summary(base: list[float], head: list[float]) -> dict[str, Any]:
    """What the pairs' times say: each side's median, each pair's difference (the working
    tree's time minus the base's) and their median, how many pairs each side won, and
    the sign test's p-value of that split."""
    if len(base) != len(head) or not base:
        raise ValueError("pairs need as many times on each side, and at least one")
    differences = [round(h - b, 4) for b, h in zip(base, head, strict=True)]
    head_faster, base_faster = sum(d < 0 for d in differences), sum(d > 0 for d in differences)
    return {
        "base_s": [round(s, 4) for s in base],
        "head_s": [round(s, 4) for s in head],
        "base_median_s": round(statistics.median(base), 4),
        "head_median_s": round(statistics.median(head), 4),
        "differences_s": differences,
        "median_difference_s": round(statistics.median(differences), 4),
        "head_faster": head_faster,
        "base_faster": base_faster,
        "sign_test_p": round(sign_test(head_faster, base_faster), 4),
    }


def pair_kind(
    kind: str,
    pairs: int,
    sides: tuple[Side, Side],
    settle: Callable[[], None] = lambda: time.sleep(SETTLE_S),
    first: int = 0,
) -> dict[str, Any]:
    """`pairs` pairs of builds of `kind` (see KINDS): each pair edits both projects alike,
    waits for the edits to settle, then builds each side in turn (see in_turns). The
    edits are numbered from `first` (each differs from the others: see bench.run.edited)."""
    times: dict[str, list[float]] = {side.name: [] for side in sides}
    for n in range(first, first + pairs):
        for side in sides:
            edit(side, kind, n)
        if kind not in ("noop", "cold"):
            settle()
        for side in in_turns(n, sides):
            times[side.name].append(side.build())
    return summary(times[sides[0].name], times[sides[1].name])


class Watching(Watcher):
    """A side's `intimacy-ssg build --watch`, running until closed (see measure.Watcher)."""

    def __init__(self, side: Side, patience: float = WATCH_PATIENCE_S) -> None:
        command = [sys.executable, "-m", "intimacy_ssg", "build", "--watch"]
        command += ["--project", str(side.project), "--content", str(side.content)]
        command += ["--output", str(side.output)]
        name = f"the {side.name} watcher"
        super().__init__(command, name, side.env(), side.project, patience)
        self.side = side
        try:
            self.said("watching ")
        except BaseException:
            self.close()
            raise

    def timed(self, kind: str, n: int) -> float:
        """Seconds from edit number `n` of `kind` to the watcher saying the site is written."""
        started = time.perf_counter()
        edit(self.side, kind, n)
        self.said("built ")
        return time.perf_counter() - started


def pair_watched(
    kind: str,
    pairs: int,
    sides: tuple[Side, Side],
    quiet: Callable[[], None] = lambda: time.sleep(QUIET_S),
    first: int = 0,
) -> dict[str, Any]:
    """`pairs` pairs of edits of `kind` (see WATCHED) under a `build --watch` of each side,
    both running throughout: each side's edit is timed in turn (see in_turns), a quiet
    moment after each, and WARM_EDITS untimed edits of each side first. The edits are
    numbered from `first`, as pair_kind's are."""
    watching: dict[str, Watching] = {}
    try:
        for side in sides:
            watching[side.name] = Watching(side)
        for n in range(first, first + WARM_EDITS):
            for side in sides:
                watching[side.name].timed(kind, n)
                quiet()
        times: dict[str, list[float]] = {side.name: [] for side in sides}
        for n in range(first + WARM_EDITS, first + WARM_EDITS + pairs):
            for side in in_turns(n, sides):
                times[side.name].append(watching[side.name].timed(kind, n))
                quiet()
    finally:
        for watcher in watching.values():
            watcher.close()
    return summary(times[sides[0].name], times[sides[1].name])


def run_pairs(
    ref: str, kinds: list[str], pairs: int, pages: int, work: Path, repo: Path = REPO
) -> dict[str, Any]:
    """Both sides set up in `work`, built once from cold, then paired for each kind."""
    commit = extract(ref, work / "base", repo)
    base = Side("base", work / "base", work / "base-project")
    head = Side("head", None, work / "head-project")
    make_project(work / "base", base.project, pages)
    make_project(repo, head.project, pages)
    for side, expected in ((base, work / "base"), (head, repo)):
        found = side.imported()
        if found.resolve() != expected.resolve():
            raise SystemExit(f"the {side.name} builds import {found}, not {expected}")
        compileall.compile_dir(expected / "intimacy_ssg", quiet=1)  # as an installed package
    sides = (base, head)
    for side in sides:
        side.build()  # from cold: every kind but "cold" starts from a warm cache
    time.sleep(SETTLE_S)
    before_ms, _ = parse_ms_per_page(head.project, head.content)
    results = {}
    for number, kind in enumerate(kinds):
        first = 1000 * number  # each kind's edits differ from the others' too
        pair = pair_watched if kind in WATCHED else pair_kind
        results[kind] = pair(kind, pairs, sides, first=first)
    after_ms, _ = parse_ms_per_page(head.project, head.content)
    dirty = bool(_git(repo, "status", "--porcelain", "--untracked-files=no").strip())
    return {
        "base": {"ref": ref, "commit": commit},
        "head": {"commit": _git(repo, "rev-parse", "HEAD").strip(), "uncommitted": dirty},
        "pages": pages,
        "pairs": pairs,
        "date": time.strftime("%Y-%m-%d"),
        "parse_ms_per_page_one_core": {"before": round(before_ms, 2), "after": round(after_ms, 2)},
        "kinds": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the git revision to compare against")
    every = ",".join(KINDS + WATCHED)
    parser.add_argument("--kinds", default="prose,title", help=f"some of {every}")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--pages", type=int, default=10000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "paired.json")
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = [k for k in kinds if k not in KINDS + WATCHED]
    if unknown or not kinds or args.pairs < 1 or args.pages < 12:
        parser.error(f"--kinds takes some of {every}; --pairs >= 1; --pages >= 12")
    with tempfile.TemporaryDirectory(prefix="intimacy-ssg-pair-") as tmp:
        said = f"pairing {args.base} with the working tree at {args.pages} pages..."
        print(said, file=sys.stderr)
        results = run_pairs(args.base, kinds, args.pairs, args.pages, Path(tmp))
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    columns = ("kind", "base median s", "head median s", "median difference s")
    print(" | ".join((*columns, "head faster", "base faster", "sign test p")))
    for kind, row in results["kinds"].items():
        print(
            f"{kind} | {row['base_median_s']} | {row['head_median_s']} | "
            f"{row['median_difference_s']} | {row['head_faster']} | {row['base_faster']} | "
            f"{row['sign_test_p']}"
        )


if __name__ == "__main__":
    main()
