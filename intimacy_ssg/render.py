"""render_site(): Site + Links -> the bytes of every generated file, through Jinja2.

Autoescape is on and undefined names are errors (StrictUndefined). Content is data passed to
templates, never a template itself. A template error is reported once per template line,
naming the page being rendered, instead of once per page.
"""

from __future__ import annotations

import re
import traceback
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import jinja2
from markupsafe import Markup

from . import diagnostics as diag
from .config import Config
from .diagnostics import Diagnostic, Location, display_path
from .graph import Graph, graph_json
from .model import Links, OutputFile, PageKind, Site
from .site import output_path
from .structured import lint_jsonld, script_json
from .views import PageView, ViewBuilder

TEMPLATES = {
    PageKind.HOME: "home.html",
    PageKind.HUB: "hub.html",
    PageKind.SPOKE: "article.html",
    PageKind.PAGE: "page.html",
}


def make_environment(templates_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_site(
    site: Site,
    links: Links,
    graph: Graph,
    config: Config,
    unmarked: frozenset[tuple[str, str]] = frozenset(),
) -> tuple[tuple[OutputFile, ...], tuple[Diagnostic, ...]]:
    env = make_environment(config.templates_dir)
    views = ViewBuilder(site, links, graph, config, unmarked)
    lint: list[Diagnostic] = []
    failures: dict[tuple[str, int, str], list[str]] = defaultdict(list)
    outputs: list[OutputFile] = []

    def render(template_name: str, page: PageView, source: str, rel: str) -> None:
        try:
            template = env.get_template(template_name)
            text = template.render(site=views.site_view(), page=page)
        except Exception as exc:  # any template failure becomes a diagnostic
            where, line = _template_location(exc, config.templates_dir, template_name)
            failures[(where, line, _describe(exc))].append(source)
            return
        outputs.append(OutputFile(rel, text.encode("utf-8")))

    for page in site.pages:
        view = views.page_view(page)
        blocks = views.structured(page, view)
        lint.extend(lint_jsonld(blocks, Location(page.source.display, 1, 1)))
        view = replace(view, jsonld=tuple(Markup(script_json(b)) for b in blocks))
        render(
            "quiz.html" if page.front.quiz else TEMPLATES[page.source.kind],
            view,
            page.source.display,
            output_path(site.urls[page.id]),
        )
    for cluster in site.clusters:
        where = f"the map of '{cluster.name}'"
        render("map.html", views.map_view(cluster), where, f"{cluster.name}/map/index.html")
    if config.search:
        render("search.html", views.search_view(), "the search page", "search/index.html")
    render("404.html", views.not_found_view(), "the 404 page", "404.html")
    outputs.append(OutputFile("graph.json", graph_json(graph)))

    problems = []
    for (where, line, message), sources in sorted(failures.items()):
        others = f" and {diag.plural(len(sources) - 1, 'other page')}" if len(sources) > 1 else ""
        problems.append(
            diag.make(
                "template-error",
                f"{message} (while rendering {sources[0]}{others})",
                Location(where, line, 1 if line else 0),
                hint="templates see `site` and `page`; see the README's template reference",
            )
        )
    return tuple(sorted(outputs, key=lambda o: o.rel)), tuple(problems + lint)


def _describe(exc: Exception) -> str:
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"template '{exc.name}' not found"
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"syntax error: {exc.message}"
    message = re.sub(r"'intimacy_ssg\.views\.(\w+) object'", r"a \1", str(exc))
    return f"{type(exc).__name__}: {message}"


def _template_location(exc: Exception, templates_dir: Path, fallback: str) -> tuple[str, int]:
    """The template file and line where the error happened (Jinja maps frames to templates)."""
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        return display_path(Path(exc.filename)), exc.lineno or 0
    root = templates_dir.resolve()
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename)
        if path.suffix == ".html" and path.resolve().is_relative_to(root):
            return display_path(path), frame.lineno or 0
    return display_path(templates_dir / fallback), 0
