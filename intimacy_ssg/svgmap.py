"""A cluster's map as an SVG drawn at build time: no JavaScript, same layout every build.

The hub sits in the centre, spokes on a circle around it in cluster order, planned topics
after them drawn dashed and unlinked. Lines join the hub to each spoke; a second style of
line joins spokes that link to each other. Every built page is a link.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 960, 620
CX, CY, RADIUS = WIDTH / 2, HEIGHT / 2, 210
MAX_LABEL = 34


@dataclass(frozen=True, slots=True)
class MapNode:
    id: str
    title: str
    href: str  # "" for a planned topic
    role: str  # hub, spoke or planned


def _label(title: str) -> str:
    return title if len(title) <= MAX_LABEL else title[: MAX_LABEL - 1].rstrip() + "…"


def _xy(index: int, count: int) -> tuple[float, float]:
    angle = -math.pi / 2 + 2 * math.pi * index / max(count, 1)
    return CX + RADIUS * math.cos(angle), CY + RADIUS * math.sin(angle)


def _f(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def cluster_map_svg(
    title: str, hub: MapNode, around: tuple[MapNode, ...], links: tuple[tuple[str, str], ...]
) -> str:
    """`around` are the spokes then the planned topics; `links` are spoke pairs to join."""
    where = {hub.id: (CX, CY)}
    for index, node in enumerate(around):
        where[node.id] = _xy(index, len(around))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cluster-map" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="map-svg-title">',
        f'<title id="map-svg-title">{escape(title)}</title>',
        '<g class="map-edges">',
    ]
    for node in around:
        x, y = where[node.id]
        dashed = ' class="map-planned-edge"' if node.role == "planned" else ""
        out.append(f'<line{dashed} x1="{_f(CX)}" y1="{_f(CY)}" x2="{_f(x)}" y2="{_f(y)}"/>')
    for a, b in links:
        (x1, y1), (x2, y2) = where[a], where[b]
        out.append(
            f'<line class="map-link" x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}"/>'
        )
    out.append("</g>")
    out.append(_node(hub, CX, CY, "middle", CY + 34))
    for node in around:
        x, y = where[node.id]
        dx = (x - CX) / RADIUS
        anchor = "middle" if abs(dx) < 0.2 else ("start" if dx > 0 else "end")
        lx = x + 14 * dx + (0 if anchor == "middle" else (10 if dx > 0 else -10))
        ly = y + (22 if y > CY + 1 else -14) if anchor == "middle" else y + 5
        out.append(_node(node, lx if anchor != "middle" else x, y, anchor, ly, x))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _node(
    node: MapNode, lx: float, y: float, anchor: str, ly: float, cx: float | None = None
) -> str:
    x = lx if cx is None else cx
    radius = 16 if node.role == "hub" else 9
    label = escape(_label(node.title) + (" (planned)" if node.role == "planned" else ""))
    shape = (
        f'<circle class="map-node map-{node.role}" cx="{_f(x)}" cy="{_f(y)}" r="{radius}"/>'
        f'<text x="{_f(lx)}" y="{_f(ly)}" text-anchor="{anchor}">{label}</text>'
    )
    if not node.href:
        return f'<g class="map-item">{shape}</g>'
    return f'<a class="map-item" href="{escape(node.href)}">{shape}</a>'
