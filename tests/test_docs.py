"""README.md and `make help` tell a new user the truth."""

from __future__ import annotations

import re
import subprocess

from intimacy_ssg.diagnostics import CODES
from intimacy_ssg.frontmatter import FIELDS

from .support import REPO

README = (REPO / "README.md").read_text()


def test_quick_start_is_exactly_two_commands() -> None:
    block = README.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == [
        "make build",
        "make test",
    ]


def test_every_diagnostic_code_is_documented_with_its_severity() -> None:
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| (error|warning|info) \|", README, re.M))
    assert rows == {code: severity.value for code, (severity, _) in CODES.items()}


def test_every_front_matter_field_is_documented() -> None:
    table = README.split("### Front matter", 1)[1].split("###", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+)` \|", table, re.M)
    assert documented == [f.name for f in FIELDS]


def test_make_help_lists_the_targets_the_readme_names() -> None:
    out = subprocess.run(
        ["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    listed = set(re.findall(r"make ([a-z-]+)", out))
    in_readme = set(re.findall(r"^\| `make ([a-z-]+)` \|", README, re.M))
    assert in_readme <= listed
    assert {"help", "install", "build", "check", "test", "lint", "golden", "clean"} <= listed
