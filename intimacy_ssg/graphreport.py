"""`intimacy-ssg graph`: the link graph per cluster, as text, JSON or Graphviz dot."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from .graph import BODY, MEMBER, RELATED, Graph
from .model import Site


def cluster_reports(site: Site, graph: Graph) -> list[dict[str, Any]]:
    """One summary per cluster, and one for the pages outside any cluster ("")."""
    inbound: dict[str, int] = defaultdict(int)
    outbound: dict[str, int] = defaultdict(int)
    seen: set[tuple[str, str]] = set()
    for source, target, kind in graph.edges:
        if kind in (BODY, RELATED) and (source, target) not in seen:
            seen.add((source, target))
            inbound[target] += 1
        if kind == BODY:
            outbound[source] += 1
    groups = [(c.name, c.hub, (c.hub, *c.spokes)) for c in site.clusters]
    clustered = {pid for _, _, members in groups for pid in members}
    loose = tuple(p.id for p in site.pages if p.id not in clustered)
    if loose:
        groups.append(("", "", loose))
    reports = []
    for name, hub, members in groups:
        findings = [f for f in graph.findings if f.page in members]
        reports.append(
            {
                "cluster": name,
                "hub": hub,
                "pages": len(members),
                "spokes": len(members) - (1 if hub else 0),
                "planned": [
                    {"slug": p.slug, "title": p.title} for p in graph.planned.get(name, ())
                ],
                "orphans": [f.page for f in findings if f.code == "orphan"],
                "dead_ends": [f.page for f in findings if f.code == "dead-end"],
                "contract_breaches": [
                    {"page": f.page, "code": f.code, "message": f.message}
                    for f in findings
                    if f.code.startswith("contract-")
                ],
                "links": [
                    {"page": m, "inbound": inbound[m], "outbound": outbound[m]} for m in members
                ],
            }
        )
    return reports


def graph_report(site: Site, graph: Graph, fmt: str) -> str:
    reports = cluster_reports(site, graph)
    cross = graph.cross_cluster()
    if fmt == "json":
        document = {
            "version": 1,
            "clusters": reports,
            "cross_cluster": [{"from": a, "to": b, "links": n} for a, b, n in cross],
        }
        return json.dumps(document, indent=2) + "\n"
    if fmt == "dot":
        return _dot(site, graph)
    lines = []
    for report in reports:
        name = report["cluster"] or "(pages outside clusters)"
        lines.append(
            f"{name}: {report['pages']} pages"
            + (f" (hub + {report['spokes']} spokes)" if report["hub"] else "")
            + f", {len(report['planned'])} planned, {len(report['orphans'])} orphans, "
            f"{len(report['dead_ends'])} dead ends, "
            f"{len(report['contract_breaches'])} contract breaches"
        )
        width = max(len(row["page"]) for row in report["links"])
        lines.append(f"  {'page'.ljust(width)}   in  out")
        for row in report["links"]:
            lines.append(f"  {row['page'].ljust(width)} {row['inbound']:4} {row['outbound']:4}")
        for item in report["planned"]:
            lines.append(f"  planned: {item['slug']} ({item['title']})")
        for breach in report["contract_breaches"]:
            lines.append(f"  breach: {breach['message']}")
        for page in report["orphans"]:
            lines.append(f"  orphan: {page}")
        for page in report["dead_ends"]:
            lines.append(f"  dead end: {page}")
    lines.append("cross-cluster links:" if cross else "cross-cluster links: none")
    lines += [f"  {a} -> {b}: {n}" for a, b, n in cross]
    return "\n".join(lines) + "\n"


def _dot(site: Site, graph: Graph) -> str:
    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["digraph site {", "  rankdir=LR;", "  node [shape=box];"]
    for cluster in site.clusters:
        lines.append(f"  subgraph {q('cluster_' + cluster.name)} {{")
        lines.append(f"    label={q(cluster.name)};")
        for member in (cluster.hub, *cluster.spokes):
            lines.append(f"    {q(member)};")
        lines.append("  }")
    styles = {BODY: "", RELATED: " [style=dashed]", MEMBER: " [style=dotted]"}
    for source, target, kind in graph.edges:
        lines.append(f"  {q(source)} -> {q(target)}{styles[kind]};")
    lines.append("}")
    return "\n".join(lines) + "\n"
