"""Helpers shared by the tests and by `make golden`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from intimacy_ssg import BuildResult, Config, build, load_config

REPO = Path(__file__).resolve().parent.parent
SITES = REPO / "tests" / "sites"
GOLDEN = REPO / "tests" / "golden"
GOLDEN_BASE_URL = "https://example.org/sub/path/"


@contextmanager
def chdir(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


# The link-graph rules (issue 3) have their own sample sites; sites about other things turn
# them off with a `severity.yaml` beside their content, as a site.yaml `severity:` would.
GRAPH_RULES = (
    "contract-hub-link",
    "contract-spoke-link",
    "contract-siblings",
    "orphan",
    "dead-end",
    "planned-exists",
    "unlinked-mention",
)
# Small sites need no dates or images either.
GRAPH_RULES_OFF = tuple(
    sorted((code, "off") for code in (*GRAPH_RULES, "structured-data-recommended"))
)


def site_config(site: Path, output: Path | None = None, **options: Any) -> Config:
    """A sample site is a whole project when it has a site.yaml, else content for this repo."""
    if (site / "site.yaml").exists():
        config = load_config(site, output_dir=output, **options)
    else:
        config = load_config(REPO, content_dir=site / "content", output_dir=output, **options)
    config = replace(config, search=False)  # the search index has tests of its own
    overrides = site / "severity.yaml"
    if overrides.exists():
        levels = yaml.safe_load(overrides.read_text())
        config = replace(config, severity=tuple(sorted(levels.items())))
    return config


def check_site(site: Path, **options: Any) -> tuple[BuildResult, str]:
    """Validate a sample site from inside its folder; return the result and its diagnostics."""
    with chdir(site):
        result = build(site_config(site, **options), write=False)
    return result, "".join(d.format() + "\n" for d in result.diagnostics)


def need(present: bool, reason: str, task: str) -> None:
    """A test that needs a tool from outside the project (a browser, the Nu checker, Hugo,
    Eleventy): skipped with `reason` where it is missing, but failed in CI (`CI` set),
    which installs them all (see .ci/run) and must run `task`."""
    if present:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must {task}: {reason}")
    pytest.skip(reason)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root by posix path, with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def page(title: str, body: str = "", **fields: str) -> str:
    """A page's source: front matter (title, description, extra raw YAML lines) and body."""
    description = fields.pop("description", f"About {title.lower()}.")
    lines = [f"title: {title}", f"description: {description}"]
    lines += [f"{key}: {value}" for key, value in fields.items()]
    return "---\n" + "\n".join(lines) + "\n---\n" + body


def write_content(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create a content folder from {relative path: text or bytes}."""
    content = root / "content"
    for rel, data in files.items():
        path = content / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    return content


def build_content(
    root: Path,
    files: Mapping[str, str | bytes],
    write: bool = False,
    graph_rules: bool = False,
    search: bool = False,
    **options: Any,
) -> tuple[BuildResult, list[str]]:
    """Build (or check) content made from `files` with this repo's templates, from inside root.
    The link-graph rules are off unless asked for, so small sites need not be well wired."""
    content = write_content(root, files)
    with chdir(root):
        config = load_config(REPO, content_dir=content, output_dir=root / "output", **options)
        quiet = GRAPH_RULES_OFF if not graph_rules else (("structured-data-recommended", "off"),)
        config = replace(config, severity=quiet, search=search)
        result = build(config, write=write)
    return result, [d.format() for d in result.diagnostics]


def make_project(root: Path, site_yaml: str, files: Mapping[str, str | bytes]) -> Path:
    """A project of its own in root: site.yaml, this repo's templates and static files."""
    (root / "site.yaml").write_text(site_yaml)
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "static", root / "static")
    write_content(root, files)
    return root


def spy_aparts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """A list that records each Apart made from now on (forked.Apart: a step handed to a
    forked process) as (its work's name, whether it was forked), in order."""
    from intimacy_ssg.forked import Apart

    made: list[tuple[str, bool]] = []
    init = Apart.__init__

    def spied(self: Apart[Any], work: Any, *args: Any, **kwargs: Any) -> None:
        init(self, work, *args, **kwargs)
        made.append((work.__name__, self.forked))

    monkeypatch.setattr(Apart, "__init__", spied)
    return made
