"""`intimacy-ssg diff OLD NEW`: what a change does to the site, for a reviewer.

Each side is a build report or a built output folder. The result lists pages added,
removed and changed (and whether the text, the metadata or only the navigation changed),
URLs that moved without a redirect, new and fixed diagnostics, link-graph changes, FAQ
questions added and removed, and JSON-LD changes; as JSON for tools or as a markdown
pull-request comment.
"""

from __future__ import annotations

import json
from typing import Any

from .report import Snapshot

GRAPH_CODES = (
    "orphan",
    "dead-end",
    "contract-hub-link",
    "contract-spoke-link",
    "contract-siblings",
)


def _key(d: dict[str, Any]) -> tuple[str, str, str]:
    # Lines move when text above them changes: a problem is the same if its file, code
    # and message are.
    return (d["path"], d["code"], d["message"])


def diff_snapshots(old: Snapshot, new: Snapshot) -> dict[str, Any]:
    added = sorted(set(new.pages) - set(old.pages))
    removed = sorted(set(old.pages) - set(new.pages))
    changed = []
    for page_id in sorted(set(old.pages) & set(new.pages)):
        a, b = old.pages[page_id], new.pages[page_id]
        if a["hash"] == b["hash"] and a["url"] == b["url"]:
            continue
        parts = [
            name
            for name, key in (
                ("text", "text_hash"),
                ("metadata", "meta_hash"),
                ("navigation", "nav_hash"),
            )
            if a.get(key) != b.get(key)
        ]
        changed.append(
            {
                "id": page_id,
                "url": b["url"],
                "title": b["title"],
                "parts": parts,
                "only_navigation": parts == ["navigation"],
            }
        )
    moved = []
    for page_id in sorted(set(old.pages) & set(new.pages)):
        before, after = old.pages[page_id]["url"], new.pages[page_id]["url"]
        if before != after:
            moved.append(
                {"id": page_id, "from": before, "to": after, "redirect": _redirect(new, before)}
            )
    broken_urls = [m["from"] for m in moved if not m["redirect"]]
    broken_urls += [old.pages[p]["url"] for p in removed if not _redirect(new, old.pages[p]["url"])]
    old_diags = {_key(d): d for d in old.diagnostics}
    new_diags = {_key(d): d for d in new.diagnostics}
    new_problems = [new_diags[k] for k in sorted(set(new_diags) - set(old_diags))]
    fixed = [old_diags[k] for k in sorted(set(old_diags) - set(new_diags))]
    faq_added, faq_removed = [], []
    for page_id in sorted(set(old.pages) | set(new.pages)):
        before = set(old.pages.get(page_id, {}).get("faq", []))
        after = set(new.pages.get(page_id, {}).get("faq", []))
        faq_added += [{"page": page_id, "question": q} for q in sorted(after - before)]
        faq_removed += [{"page": page_id, "question": q} for q in sorted(before - after)]
    jsonld = [
        {"id": p, "types": new.pages[p].get("jsonld_types", [])}
        for p in sorted(set(old.pages) & set(new.pages))
        if old.pages[p].get("jsonld_hash") != new.pages[p].get("jsonld_hash")
    ]
    return {
        "pages": {
            "added": [
                {"id": p, "url": new.pages[p]["url"], "title": new.pages[p]["title"]} for p in added
            ],
            "removed": [
                {"id": p, "url": old.pages[p]["url"], "title": old.pages[p]["title"]}
                for p in removed
            ],
            "changed": changed,
        },
        "urls": {"moved": moved, "broken": sorted(broken_urls)},
        "diagnostics": {"new": new_problems, "fixed": fixed},
        "graph": {
            "edges_added": [_edge(e) for e in sorted(new.edges - old.edges)],
            "edges_removed": [_edge(e) for e in sorted(old.edges - new.edges)],
            "new_orphans": [d["path"] for d in new_problems if d["code"] == "orphan"],
            "new_contract_breaches": [d for d in new_problems if d["code"].startswith("contract-")],
        },
        "faq": {"added": faq_added, "removed": faq_removed},
        "jsonld": {"changed": jsonld},
    }


def _edge(e: tuple[str, str, str]) -> dict[str, str]:
    return {"source": e[0], "target": e[1], "kind": e[2]}


def _redirect(snapshot: Snapshot, url: str) -> bool:
    """Whether the new site still answers at `url` (a page, or an alias redirect)."""
    rel = url.lstrip("/")
    return (rel + "index.html") in snapshot.files or (rel in snapshot.files and rel != "")


def new_errors(result: dict[str, Any]) -> int:
    return sum(1 for d in result["diagnostics"]["new"] if d["severity"] == "error")


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2) + "\n"


def to_markdown(result: dict[str, Any], preview_url: str = "") -> str:
    pages, diags, graph = result["pages"], result["diagnostics"], result["graph"]
    base = preview_url.rstrip("/")

    def link(item: dict[str, Any]) -> str:
        title = item.get("title") or item["id"]
        return f"[{title}]({base}{item['url']})" if base else f"{title} (`{item['url']}`)"

    errors = new_errors(result)
    headline = [
        f"**{len(pages['added'])}** added, **{len(pages['removed'])}** removed, "
        f"**{len(pages['changed'])}** changed pages",
        f"**{errors}** new errors, **{len(diags['new']) - errors}** other new problems, "
        f"**{len(diags['fixed'])}** fixed",
        f"**{len(result['urls']['broken'])}** URLs that no longer answer",
    ]
    lines = ["### Site preview", "", *[f"- {h}" for h in headline], ""]

    def section(title: str, rows: list[str]) -> None:
        if rows:
            lines.extend(
                [
                    f"<details><summary>{title} ({len(rows)})</summary>",
                    "",
                    *rows,
                    "",
                    "</details>",
                    "",
                ]
            )

    section(
        "New problems",
        [
            f"- `{d['path']}:{d['line']}` {d['severity']}[{d['code']}]: {d['message']}"
            for d in diags["new"]
        ],
    )
    section(
        "Fixed problems", [f"- `{d['path']}` [{d['code']}]: {d['message']}" for d in diags["fixed"]]
    )
    section("Pages added", [f"- {link(p)}" for p in pages["added"]])
    section("Pages removed", [f"- {p['title']} (`{p['url']}`)" for p in pages["removed"]])
    section(
        "Pages changed",
        [
            f"- {link(p)}: {', '.join(p['parts']) or 'URL only'}"
            + (" (navigation only)" if p["only_navigation"] else "")
            for p in pages["changed"]
        ],
    )
    section(
        "URLs without a redirect",
        [f"- `{u}`: add it to the page's `aliases:`" for u in result["urls"]["broken"]],
    )
    section(
        "Link graph",
        [f"- added: `{e['source']}` -> `{e['target']}` ({e['kind']})" for e in graph["edges_added"]]
        + [
            f"- removed: `{e['source']}` -> `{e['target']}` ({e['kind']})"
            for e in graph["edges_removed"]
        ],
    )
    section(
        "FAQ questions",
        [f"- added on `{q['page']}`: {q['question']}" for q in result["faq"]["added"]]
        + [f"- removed from `{q['page']}`: {q['question']}" for q in result["faq"]["removed"]],
    )
    section(
        "Structured data changed",
        [f"- `{j['id']}`: {', '.join(j['types'])}" for j in result["jsonld"]["changed"]],
    )
    if len(lines) == 6:
        lines.append("No changes to the built site.")
        lines.append("")
    return "\n".join(lines)
