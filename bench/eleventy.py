"""Build the benchmark corpus with Eleventy too, when it is installed.

Eleventy (npm `@11ty/eleventy`, run with the machine's Node.js) is looked for as the
`ELEVENTY` environment variable names it (the path of its `eleventy` command), else in
the repository's `node_modules/` (where `.ci/run` installs it:
`npm install --no-save @11ty/eleventy@3`), else on PATH.

The Eleventy site is as minimal as the Hugo one (bench/hugo.py): one Nunjucks layout with
the page's title, description and content, and on a folder's `index.md` (a hub) a list of
the folder's other pages; the corpus's markdown copied as it is (Eleventy reads its YAML
front matter). Markdown is not run through a template language first
(`markdownTemplateEngine: false`), as our build never does. Eleventy renders wikilinks and
`::: faq` blocks as plain text and shows no FAQ, related pages or sources, so it does less
work per page than our build: the ratio is a bound on how far behind we are, not an exact
comparison.

    python -m bench.eleventy --pages 1000 [--runs 3]
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .measure import Rival, rival_main, run_measured, set_aside, time_rival

REPO = Path(__file__).resolve().parent.parent

CONFIG_MJS = """\
// Written by bench/eleventy.py: the benchmark corpus built with Eleventy.
export default function (eleventyConfig) {
  eleventyConfig.addGlobalData("layout", "page.njk");
  // Each folder's pages but its index, in file order: a hub's list of spokes.
  eleventyConfig.addCollection("folders", (api) => {
    const folders = {};
    for (const item of api.getAll()) {
      if (item.inputPath.endsWith("/index.md")) continue;
      const folder = item.page.filePathStem.split("/").slice(0, -1).join("/");
      (folders[folder] ??= []).push(item);
    }
    for (const pages of Object.values(folders)) {
      pages.sort((a, b) => (a.inputPath < b.inputPath ? -1 : 1));
    }
    return folders;
  });
  return {
    dir: { input: "content", includes: "../_includes", output: "_site" },
    markdownTemplateEngine: false,
  };
}
"""

PAGE_NJK = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} | Benchmark corpus</title>
{% if description %}<meta name="description" content="{{ description }}">{% endif %}
</head>
<body>
<header><a href="/">Benchmark corpus</a></header>
<main>
<article>
<h1>{{ title }}</h1>
{% if description %}<p>{{ description }}</p>{% endif %}
{{ content | safe }}
</article>
{% if page.inputPath.endsWith("/index.md") %}
{% set spokes = collections.folders[page.filePathStem | replace("/index", "")] %}
{% if spokes %}<nav>
<ul>
{% for spoke in spokes %}<li><a href="{{ spoke.url }}">{{ spoke.data.title }}</a></li>
{% endfor %}</ul>
</nav>{% endif %}
{% endif %}
</main>
</body>
</html>
"""

ELEVENTY_TIMEOUT = 900  # seconds: 10,000 pages take 12-16 s; more than this, it is stuck


def eleventy_command() -> list[str] | None:
    """How to run Eleventy, or None when it is not installed (or Node.js is not)."""
    candidates = [
        os.environ.get("ELEVENTY"),
        str(REPO / "node_modules" / ".bin" / "eleventy"),
        shutil.which("eleventy"),
    ]
    for candidate in candidates:
        if not candidate or not Path(candidate).is_file():
            continue
        try:
            done = subprocess.run(
                [candidate, "--version"], capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.strip()[:1].isdigit():
            return [candidate]
    return None


def make_eleventy_site(corpus_content: Path, site_dir: Path) -> None:
    """Write a minimal Eleventy site in `site_dir` whose content is a copy of
    `corpus_content`: `eleventy.config.mjs`, `_includes/page.njk` and `content/`, written
    afresh (anything else in `site_dir` is left alone). The same corpus always gives the
    same bytes."""
    site_dir.mkdir(parents=True, exist_ok=True)
    (site_dir / "eleventy.config.mjs").write_text(CONFIG_MJS)
    includes = site_dir / "_includes"
    shutil.rmtree(includes, ignore_errors=True)
    includes.mkdir()
    (includes / "page.njk").write_text(PAGE_NJK)
    content = site_dir / "content"
    shutil.rmtree(content, ignore_errors=True)
    shutil.copytree(corpus_content, content)


def timed_eleventy_build(command: list[str], site_dir: Path) -> tuple[float, int]:
    """Seconds and peak RSS (KB) of one quiet Eleventy build of `site_dir` into its
    `_site/` (see bench/measure.py); a failed build exits with Eleventy's error."""
    site_dir = site_dir.resolve()  # Eleventy reads its folders relative to the working one
    done = run_measured(
        [
            *command,
            f"--config={site_dir / 'eleventy.config.mjs'}",
            f"--input={site_dir / 'content'}",
            f"--output={site_dir / '_site'}",
            "--quiet",
        ],
        timeout=ELEVENTY_TIMEOUT,
    )
    if done.timed_out:
        raise SystemExit(f"eleventy did not finish within {ELEVENTY_TIMEOUT} s (killed)")
    if done.returncode != 0:
        raise SystemExit(f"eleventy build failed:\n{(done.stderr or done.stdout)[-3000:]}")
    return done.seconds, done.peak_kb


def eleventy_rival(corpus_content: Path, work: Path) -> Rival | None:
    """Eleventy, ready to build `corpus_content` from cold (see measure.Rival); None
    without it. Each build starts with no `_site/` and writes the site to disk, as our
    build does; one untimed build comes first, after the copied content is flushed to
    disk, as for Hugo (see bench/hugo.py's hugo_rival)."""
    command = eleventy_command()
    if command is None:
        return None
    site = work / "eleventy-site"
    make_eleventy_site(corpus_content, site)
    version = subprocess.run(
        [*command, "--version"], capture_output=True, text=True, timeout=60, check=True
    ).stdout.strip()
    os.sync()

    def build() -> tuple[float, int | None]:
        set_aside(site / "_site")  # not deleted before a timed build: see measure.py
        return timed_eleventy_build(command, site)

    build()  # untimed: see above
    return Rival(
        f"eleventy {version}", build, lambda: sum(1 for _ in (site / "_site").rglob("*.html"))
    )


def time_eleventy(corpus_content: Path, work: Path, runs: int) -> dict[str, Any] | None:
    """Build `corpus_content` with Eleventy `runs` times from cold (see eleventy_rival);
    None without it. Returns measure.Rival.result()."""
    return time_rival(lambda: eleventy_rival(corpus_content, work), runs)


def main() -> None:
    rival_main(
        __doc__.splitlines()[0],
        "eleventy",
        eleventy_rival,
        "eleventy is not installed: npm install --no-save @11ty/eleventy@3",
    )


if __name__ == "__main__":
    main()
