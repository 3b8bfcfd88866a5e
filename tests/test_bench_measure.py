"""bench/measure.py: the figures `make bench` reports come from the real processes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.measure import SET_ASIDE, Rival, run_measured, set_aside

# A parent holding 40 MB forks two workers that each hold 30 MB more for half a second.
FORKS = """
import multiprocessing, time
held = b"x" * 40_000_000
def work(_):
    mine = b"y" * 30_000_000
    time.sleep(0.5)
    return len(mine)
if __name__ == "__main__":
    with multiprocessing.get_context("fork").Pool(2) as pool:
        print(sum(pool.map(work, [1, 2])))
"""


def test_the_largest_process_and_all_processes_together() -> None:
    alone = run_measured([sys.executable, "-c", FORKS])
    together = run_measured([sys.executable, "-c", FORKS], tree=True)
    assert alone.returncode == together.returncode == 0
    assert together.stdout.strip() == "60000000"
    mb = 1024
    assert 40 * mb < alone.peak_kb < 100 * mb  # the largest one process: about 40-70 MB
    assert alone.tree_peak_kb == 0  # not sampled unless asked
    assert together.tree_peak_kb > 95 * mb  # 40 + 2 x 30 MB, all at once
    assert together.tree_peak_kb < 150 * mb  # the parent's 40 MB counted once, not thrice


def test_a_process_running_past_its_timeout_is_killed_and_said_to_be() -> None:
    stuck = run_measured([sys.executable, "-c", "import time; time.sleep(60)"], timeout=0.5)
    assert stuck.timed_out and stuck.returncode == -9
    assert stuck.seconds < 30
    quick = run_measured([sys.executable, "-c", "print('done')"], timeout=30)
    assert not quick.timed_out and quick.returncode == 0 and quick.stdout == "done\n"


def test_a_rival_reports_the_median_of_its_runs_and_its_largest_peak() -> None:
    made = iter([(3.0, 100 * 1024), (1.0, None), (2.0, 300 * 1024)])
    rival = Rival("tool 1.0", lambda: next(made), lambda: 7)
    with pytest.raises(ValueError):
        rival.result()  # no run yet: nothing to report
    for _ in range(3):
        rival.run()
    assert rival.times == [3.0, 1.0, 2.0]
    assert rival.result() == {
        "version": "tool 1.0",
        "cold_s": 2.0,
        "runs_s": [3.0, 1.0, 2.0],
        "peak_rss_mb": 300.0,
        "pages": 7,
    }


def test_a_cold_run_sets_the_last_trees_aside_rather_than_deleting_them(tmp_path: Path) -> None:
    """set_aside() empties the way for a cold build without deleting anything: each tree
    moves, whole, into one folder beside it, under a name of its own."""
    project = tmp_path / "project"
    for round_ in range(2):
        for name in ("output", ".cache"):
            (project / name / "sub").mkdir(parents=True)
            (project / name / "sub" / "index.html").write_text(f"{name} {round_}")
        set_aside(project / "output")
        set_aside(project / ".cache")
        assert not (project / "output").exists() and not (project / ".cache").exists()
    set_aside(project / "output")  # nothing there: nothing to do
    aside = project / SET_ASIDE
    moved = {p.name: (p / "sub" / "index.html").read_text() for p in aside.iterdir()}
    assert moved == {
        "0-output": "output 0",
        "1-.cache": ".cache 0",
        "2-output": "output 1",
        "3-.cache": ".cache 1",
    }
    assert sorted(p.name for p in project.iterdir()) == [SET_ASIDE]
