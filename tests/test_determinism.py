"""Same input, same bytes: whatever the hash seed, the time zone or the listing order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .support import REPO, SITES, tree


def build_in_subprocess(out: Path, content: Path, hash_seed: str, tz: str, epoch: str) -> None:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed, TZ=tz, SOURCE_DATE_EPOCH=epoch)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "intimacy_ssg",
            "build",
            "--project",
            str(REPO),
            "--content",
            str(content),
            "--output",
            str(out),
        ],
        env=env,
        check=True,
        capture_output=True,
    )


def test_two_builds_are_byte_identical_across_hash_seeds_time_zones_and_clocks(
    tmp_path: Path,
) -> None:
    for content in (REPO / "content", SITES / "valid-basic/content"):
        first, second = tmp_path / f"{content.parent.name}-1", tmp_path / f"{content.parent.name}-2"
        build_in_subprocess(first, content, "1", "UTC", "0")
        build_in_subprocess(second, content, "4242", "Pacific/Kiritimati", "1900000000")
        one, two = tree(first), tree(second)
        assert sorted(one) == sorted(two)
        assert [name for name in one if one[name] != two[name]] == []
        assert len(one) > 5
