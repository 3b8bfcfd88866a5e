"""The command line: the only place where problems become exit codes.

Exit codes: 0 built (or checked) cleanly, 1 content errors (or warnings under --strict),
2 usage or configuration errors, 130 interrupted. Bad content never prints a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import errno
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from . import __version__
from .build import CONFIRM_AFTER, MISSED, BuildResult, CacheFallback, build, confirmed
from .cache import BuildCache, CacheStore, no_gc, site_yaml_memo, touched_folders
from .config import SLUG_RE, Config, ConfigError, load_config
from .diagnostics import Diagnostic, Severity, as_dict, display_path, github_annotation, plural
from .write import SearchIndexFailed

EXIT_OK, EXIT_CONTENT, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="intimacy-ssg", description="Build a topic-cluster site.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def site_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--project",
            type=Path,
            default=Path("."),
            help="folder with site.yaml, templates/ and static/ (default: .)",
        )
        sub.add_argument("--content", type=Path, help="content folder (default: PROJECT/content)")
        sub.add_argument("--base-url", help="override site.yaml's base_url")
        sub.add_argument("--strict", action="store_true", help="fail on warnings too")
        sub.add_argument("--drafts", action="store_true", help="include draft pages")
        sub.add_argument(
            "--jobs",
            type=int,
            metavar="N",
            help="processes that parse pages in parallel (default: one per core)",
        )
        sub.add_argument(
            "--no-cache",
            action="store_true",
            help="ignore and do not update the build cache in PROJECT/.cache/",
        )

    def output_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--report",
            type=Path,
            metavar="FILE",
            help="write a JSON build report (pages, diagnostics, timings)",
        )
        sub.add_argument(
            "--format",
            choices=("text", "json", "github"),
            default="text",
            help="diagnostics as text (stderr), JSON or GitHub annotations",
        )
        sub.add_argument(
            "--watch",
            action="store_true",
            help="stay running: again after every change to the project, until Ctrl-C",
        )

    build_cmd = commands.add_parser("build", help="build the site into the output folder")
    site_options(build_cmd)
    output_options(build_cmd)
    build_cmd.add_argument("--output", type=Path, help="output folder (default: PROJECT/output)")
    check_cmd = commands.add_parser("check", help="run every validation, write nothing")
    site_options(check_cmd)
    output_options(check_cmd)

    new_cmd = commands.add_parser(
        "new", help="scaffold a page: new CLUSTER/SLUG, new SLUG, or new CLUSTER --hub"
    )
    new_cmd.add_argument("path", help="cluster/slug, a standalone slug, or a cluster with --hub")
    new_cmd.add_argument("--hub", action="store_true", help="create the cluster's hub page")
    new_cmd.add_argument("--project", type=Path, default=Path("."))
    new_cmd.add_argument("--content", type=Path)

    serve_cmd = commands.add_parser("serve", help="preview with live reload on 127.0.0.1")
    serve_cmd.add_argument("--project", type=Path, default=Path("."))
    serve_cmd.add_argument("--content", type=Path)
    serve_cmd.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--drafts", action="store_true", help="include draft pages")

    graph_cmd = commands.add_parser("graph", help="report the link graph per cluster")
    site_options(graph_cmd)
    graph_cmd.add_argument("--format", choices=("text", "json", "dot"), default="text")

    diff_cmd = commands.add_parser("diff", help="compare two builds (reports or output folders)")
    diff_cmd.add_argument("old", type=Path)
    diff_cmd.add_argument("new", type=Path)
    diff_cmd.add_argument("--format", choices=("markdown", "json"), default="markdown")
    diff_cmd.add_argument("--preview-url", default="", help="where NEW is deployed, for links")
    diff_cmd.add_argument(
        "--fail-on-new-errors",
        action="store_true",
        help="exit 1 when NEW has errors that OLD did not",
    )

    commands.add_parser("schema", help="print the front-matter JSON Schema")
    return parser


_SPARED: list[object] | None = None  # what run() exits without freeing (see _build())


def run() -> NoReturn:
    """The command's entry point: main(), then exit at once. A build leaves hundreds of
    thousands of objects behind, and a normal exit frees them one by one (a twentieth of
    a second at 10,000 pages); by then every file is closed and every worker has ended, so
    only the standard streams are left to flush (mypy exits the same way). The build
    cache is set aside too: freed when _build() returns, it would cost the same again."""
    global _SPARED
    _SPARED = []
    code = main()
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)  # a profiler or coverage tool still has its results to write
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheFallback)  # said as a note instead
        return _command(args)


def _command(args: argparse.Namespace) -> int:
    try:
        if args.command in ("build", "check"):
            return _build(args, write=args.command == "build")
        if args.command == "new":
            return _new(args)
        if args.command == "graph":
            return _graph(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "diff":
            return _diff(args)
        from .schema import schema_json

        sys.stdout.write(schema_json())
        return EXIT_OK
    except ConfigError as exc:
        for problem in exc.diagnostics:
            print(problem.format(), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: the previous output was left as it was", file=sys.stderr)
        return EXIT_INTERRUPTED


def _build(args: argparse.Namespace, *, write: bool) -> int:
    started = time.perf_counter()
    if args.watch and args.report is not None:
        print(
            f"intimacy-ssg {args.command}: --report and --watch do not go together",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.report is not None and not args.report.resolve().parent.is_dir():
        print(
            f"intimacy-ssg {args.command}: --report: no folder {args.report.parent} "
            "to write the report in",
            file=sys.stderr,
        )
        return EXIT_USAGE
    config = _config(args)
    store, cache = _cache(args, config)
    if _SPARED is not None:
        _SPARED.append(cache)
    code = _report(args, config, cache, _run(args, config, store, cache, write), write, started)
    return _watch(args, config, store, cache, write) if args.watch else code


def _config(args: argparse.Namespace) -> Config:
    return load_config(
        args.project,
        content_dir=args.content,
        output_dir=getattr(args, "output", None),
        base_url=args.base_url,
        strict=args.strict,
        drafts=args.drafts,
        # site.yaml's parse is kept beside the build cache, and taken while its bytes last
        remember=None if args.no_cache else site_yaml_memo(args.project / ".cache"),
    )


def _cache(args: argparse.Namespace, config: Config) -> tuple[CacheStore | None, BuildCache | None]:
    """The build cache on disk; with --no-cache, none (or one kept in memory, when
    watching: every rebuild is then incremental, and nothing is saved). A watcher's keeps
    an index of the pages' words too (see mentions.WordKeeper)."""
    if args.no_cache:
        store, cache = None, BuildCache() if args.watch else None
    else:
        store = CacheStore.for_config(config.project_dir / ".cache", config)
        cache = store.load()
    if args.watch and cache is not None:
        from .mentions import WordKeeper

        cache.words = WordKeeper()
    return store, cache


def _run(
    args: argparse.Namespace,
    config: Config,
    store: CacheStore | None,
    cache: BuildCache | None,
    write: bool,
    touched: frozenset[str] | None = None,
) -> BuildResult | None:
    """The build, or None when the machine (not the content) failed it, as said."""
    progress = _Progress(sys.stderr)
    try:
        return build(
            config,
            write=write,
            progress=progress,
            jobs=args.jobs,
            cache=cache,
            store=store,
            keep_facts=args.report is not None,
            touched=touched,
        )
    except OSError as exc:  # disk full, permissions: the machine's problem, not the content's
        progress.clear()
        read = _input_named(config, exc.filename)
        failed = (
            f"could not read {read}"
            if read
            else f"could not write {config.output_dir}"
            f"{f' ({exc.filename})' if exc.filename else ''}"
        )
        print(
            f"error: {failed}: {exc.strerror or exc}; the previous output was left as it was",
            file=sys.stderr,
        )
        return None
    except SearchIndexFailed as exc:  # a tool's problem: said, without a traceback
        progress.clear()
        print(f"error: {exc}; the previous output was left as it was", file=sys.stderr)
        return None
    finally:
        progress.clear()


def _input_named(config: Config, name: object) -> str:
    """The file an OSError names, as diagnostics show it, when it is one of the build's
    inputs (in the content, templates or static folder: a file that went between the scan
    and its reading, say); else ""."""
    if not isinstance(name, str) or not name:
        return ""
    path = Path(name).absolute()
    for folder in (config.content_dir, config.templates_dir, config.static_dir):
        if path.is_relative_to(Path(folder).absolute()):
            return display_path(path)
    return ""


def _report(
    args: argparse.Namespace,
    config: Config,
    cache: BuildCache | None,
    result: BuildResult | None,
    write: bool,
    started: float,
) -> int:
    if result is None:
        return EXIT_CONTENT
    unreported = False  # a report was asked for and could not be written
    if cache is not None and cache.note:
        print(f"note: {cache.note}", file=sys.stderr)
        cache.note = ""  # said once
    if args.format == "json":
        import json  # here, as below: a build without --format json or --report never needs it

        sys.stdout.write(json.dumps([as_dict(d) for d in result.diagnostics], indent=2) + "\n")
    else:
        for problem in result.diagnostics:
            if args.format == "github":
                print(github_annotation(problem))
            else:
                print(problem.format(), file=sys.stderr)
    if args.report is not None:
        import json

        from .report import make_report

        # Written as it is encoded (a 10,000-page site's report is 19 MB, and its encoding
        # in one string took 100 MB more), with the collector off, as in the build; into
        # a file beside it, then renamed over it: a report cut short never takes its place.
        part = args.report.with_name(f".{args.report.name}.{os.getpid()}.part")
        try:
            with no_gc(), part.open("w", encoding="utf-8") as file:
                json.dump(make_report(result), file, indent=1, ensure_ascii=False)
                file.write("\n")
            os.replace(part, args.report)
        except OSError as exc:  # the machine's problem: said, without a traceback
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
            print(
                f"error: could not write the report {args.report}: {exc.strerror or exc}",
                file=sys.stderr,
            )
            unreported = True
    print(_summary(result, config, write, time.perf_counter() - started), file=sys.stderr)
    sys.stdout.flush()
    return EXIT_CONTENT if unreported or result.failed(config.strict) else EXIT_OK


def _watch(
    args: argparse.Namespace,
    config: Config,
    store: CacheStore | None,
    cache: BuildCache | None,
    write: bool,
) -> int:
    """Build again whenever the content, templates, static files or site.yaml change, with
    the cache kept in memory between builds (and saved after each, as a build does), until
    Ctrl-C or SIGTERM. A failed build leaves the output as it was; watching goes on.

    Ctrl-C during a build interrupts it (the output stays as it was); at any other time,
    including while the cache is being saved, it ends the watch once that is done.

    A rebuild lists again only the folders where the watcher saw changes, and trusts
    output/ to hold what the last build wrote (see build.build's `touched`). Once nothing
    has changed for a while (CONFIRM_AFTER), a full scan of the inputs and output/ confirms
    it (build.confirmed); if the watcher missed a change, a full build builds it and says
    so."""
    from .serve.watcher import Classifier, Debouncer, observe  # watchdog loads only here

    project = config.project_dir
    folders = (config.content_dir, config.templates_dir, config.static_dir)
    ignored = (config.output_dir, project / ".cache")
    debouncer = Debouncer(Classifier(project, *folders, ignored=ignored))
    stop = threading.Event()
    building = False

    def on_signal(signum: int, frame: object) -> None:
        stop.set()
        if building:
            raise KeyboardInterrupt

    try:
        observer = observe(debouncer, project, folders)
    except OSError as exc:  # e.g. Linux's limit on inotify watches
        print(
            f"intimacy-ssg {args.command}: cannot watch {display_path(project)}: "
            f"{exc.strerror or exc} (on Linux, raise fs.inotify.max_user_watches)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    handlers = {held: signal.signal(held, on_signal) for held in (signal.SIGINT, signal.SIGTERM)}
    interrupted = False
    try:
        print(f"watching {display_path(project)} for changes (Ctrl-C to stop)", file=sys.stderr)
        confirm_at: float | None = None
        said: tuple[Diagnostic, ...] = ()  # the last report's diagnostics
        while (changes := debouncer.wait_changes(stop, confirm_at)) is not None:
            started = time.perf_counter()
            kinds, paths = changes
            confirming, confirm_at = not kinds, None
            if "config" in kinds:
                try:
                    config = _config(args)
                except ConfigError as exc:
                    for problem in exc.diagnostics:
                        print(problem.format(), file=sys.stderr)
                    print("site.yaml has errors: waiting for it to be fixed", file=sys.stderr)
                    if cache is not None:
                        cache.scans = {}  # the changes seen with it: the next build scans all
                    continue
                if cache is not None:
                    cache.close()
                store, cache = _cache(args, config)  # another configuration, another cache
            # Once the cache is loaded whole, it is saved after the report rather than within
            # the build: the report comes as soon as the output is written.
            later = store if store is not None and store.pages_loaded else None
            if confirming and cache is not None and confirmed(config, cache, write):
                continue  # the watcher missed nothing
            touched = None
            if cache is not None and cache.scans and not confirming and "config" not in kinds:
                roots = (config.content_dir, config.templates_dir, config.static_dir)
                touched = touched_folders(paths, roots)
            building = True
            result = _run(args, config, None if later else store, cache, write, touched)
            building = False
            if confirming and result is not None and result.adds_nothing(config.strict, said):
                continue  # nothing missed that changes what is built (a swap file, say)
            if confirming and result is not None:
                print(f"note: {MISSED}", file=sys.stderr)
            _report(args, config, cache, result, write, started)
            said = result.diagnostics if result is not None else ()
            if touched is not None and (result is None or not result.failed(config.strict)):
                # at once when the machine failed it: a file it trusted output/ to hold
                # may be gone (the full build makes the output whole again)
                confirm_at = time.monotonic() + (CONFIRM_AFTER if result is not None else 0)
            if later is not None and cache is not None:
                later.save(cache, pages_changed=True)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        observer.stop()
        observer.join(timeout=5)
        if cache is not None:
            cache.close()
        for held, handler in handlers.items():
            signal.signal(held, handler)
    # said once the watcher's threads have stopped: anything they log comes before it
    if interrupted:
        print("interrupted: the previous output was left as it was", file=sys.stderr)
        return EXIT_INTERRUPTED
    print("stopped watching", file=sys.stderr)
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    from .diff import diff_snapshots, new_errors, to_json, to_markdown
    from .report import load_snapshot

    try:
        old, new = load_snapshot(args.old), load_snapshot(args.new)
    except (OSError, ValueError, KeyError) as exc:
        print(
            f"intimacy-ssg diff: cannot read {exc}: give two build reports "
            "(build --report FILE) or two built output folders",
            file=sys.stderr,
        )
        return EXIT_USAGE
    result = diff_snapshots(old, new)
    if args.format == "json":
        sys.stdout.write(to_json(result))
    else:
        sys.stdout.write(to_markdown(result, args.preview_url))
    return EXIT_CONTENT if args.fail_on_new_errors and new_errors(result) else EXIT_OK


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve(args: argparse.Namespace) -> int:
    from .serve import Preview  # watchdog and the server load only when previewing

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: serving on {args.host} makes the preview reachable from other "
            "machines; the default 127.0.0.1 keeps it on this one",
            file=sys.stderr,
        )
    preview = Preview(args.project, args.content, args.host, args.port, args.drafts)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C
    try:
        preview.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"intimacy-ssg serve: port {args.port} is already in use; try "
                f"--port {args.port + 1}, or stop the other server",
                file=sys.stderr,
            )
            return EXIT_USAGE
        raise
    print(f"serving {preview.url} (Ctrl-C to stop)", file=sys.stderr)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
    finally:
        preview.stop()
    return EXIT_OK


def _graph(args: argparse.Namespace) -> int:
    config = load_config(
        args.project, content_dir=args.content, base_url=args.base_url, drafts=args.drafts
    )
    result = build(config, write=False)
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    for problem in errors:
        print(problem.format(), file=sys.stderr)
    if result.graph is None or result.site is None:  # pragma: no cover - build always sets them
        return EXIT_CONTENT
    from .graphreport import graph_report

    sys.stdout.write(graph_report(result.site, result.graph, args.format))
    return EXIT_CONTENT if errors else EXIT_OK


def _summary(result: BuildResult, config: Config, write: bool, seconds: float) -> str:
    counts = f"{plural(result.errors, 'error')}, {plural(result.warnings, 'warning')}"
    pages = plural(result.pages, "page")
    if result.failed(config.strict):
        why = " (warnings fail under --strict)" if not result.errors else ""
        kept = "; the output folder was left as it was" if write else ""
        return f"failed: {counts}{why}{kept} ({pages}, {seconds:.2f} s)"
    if result.unchanged:
        where = f"{config.output_dir} is" if write else "the site is"
        return f"{where} up to date: no input changed ({pages}, {counts}, {seconds:.2f} s)"
    if write:
        search = "" if result.search == "indexed" else f"; search: {result.search}"
        work = f"; {result.rendered} rendered, {plural(result.changed, 'file')} changed"
        return f"built {pages} into {config.output_dir} ({counts}, {seconds:.2f} s){work}{search}"
    return f"checked {pages}: {counts} ({seconds:.2f} s)"


class _Progress:
    """A one-line progress display on a terminal; silent in CI and when piped."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.active = stream.isatty() and not os.environ.get("CI")
        self.shown = False

    def __call__(self, stage: str) -> None:
        if self.active:
            self.stream.write(f"\r\033[K{stage}...")
            self.stream.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def scaffold(title: str, author: str, today: datetime.date) -> str:
    return (
        "---\n"
        f"title: {title}\n"
        'description: ""  # required: under 160 characters, shown in search results\n'
        'summary: ""\n'
        f"date: {today.isoformat()}\n" + (f"author: {author}\n" if author else "") + "tags: []\n"
        "related: []\n"
        "faq: []\n"
        "sources: []\n"
        "---\n\n"
        "Write the introduction here.\n"
    )


def _new(args: argparse.Namespace) -> int:
    parts = args.path.strip("/").split("/")
    bad = [p for p in parts if not SLUG_RE.fullmatch(p)]
    if bad or len(parts) > 2 or (args.hub and len(parts) != 1):
        shape = "a cluster name" if args.hub else "cluster/slug or slug"
        reason = f"'{bad[0]}' is not a valid slug" if bad else f"expected {shape}"
        print(
            f"intimacy-ssg new: {reason} (slugs: lowercase letters, digits, single hyphens)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    config = load_config(args.project, content_dir=args.content)
    rel = Path(*parts, "index.md") if args.hub else Path(*parts[:-1], parts[-1] + ".md")
    target = config.content_dir / rel
    if target.exists():
        print(f"intimacy-ssg new: {target} already exists; not overwriting it", file=sys.stderr)
        return EXIT_USAGE
    words = parts[-1].replace("-", " ")
    title = words[:1].upper() + words[1:]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        scaffold(title, config.default_author, datetime.date.today()), encoding="utf-8"
    )
    print(display_path(target))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
