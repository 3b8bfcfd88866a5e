"""A deterministic synthetic corpus shaped like the shipped site, at any size.

N pages of about 1,100 words in clusters of 12 (a hub and 11 spokes), each page with 5-10
internal links, 3 related pages and 3 FAQ entries, plus a home page linking every hub.
The same (n, seed) always writes the same bytes.

    python -m bench.corpus OUT_DIR --pages 1000 [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

WORDS = (
    "closeness trust partner feeling care attention safety desire comfort distance habit "
    "pattern research study moment conversation repair bond attachment warmth curiosity "
    "pressure context stress rest touch signal response question answer evening morning "
    "friend family change choice boundary respect honesty worry hope memory story body "
    "mind time space room voice listen notice practice gentle steady small slow clear "
    "often sometimes rarely usually together apart between within around through after"
).split()
CLUSTER = 12  # a hub and 11 spokes


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, links: list[str]) -> str:
    parts = [sentence(rng) for _ in range(rng.randint(4, 7))]
    for link in links:
        parts.insert(rng.randrange(len(parts) + 1), link)
    return " ".join(parts)


def write_corpus(out: Path, pages: int, seed: int = 1) -> int:
    """Write a content folder of about `pages` pages; returns the number written."""
    rng = random.Random(seed)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    clusters = max(1, round((pages - 1) / CLUSTER))
    names = [f"cluster-{c:04}" for c in range(clusters)]
    home = ["---", "title: Home", "description: The benchmark corpus.", "---", ""]
    home += [f"- [Cluster {c}]({name}/index.md)" for c, name in enumerate(names)]
    (out / "index.md").write_text("\n".join(home) + "\n")
    written = 1
    for c, name in enumerate(names):
        folder = out / name
        folder.mkdir()
        spokes = [f"topic-{s:02}" for s in range(1, CLUSTER)]
        for index, slug in enumerate(["index", *spokes]):
            is_hub = slug == "index"
            siblings = [s for s in spokes if s != slug]
            targets = [f"[{s.replace('-', ' ')}]({s}.md)" for s in rng.sample(siblings, 3)]
            if not is_hub:
                targets.append("[the hub](index.md)")
            else:
                targets += [f"[{s.replace('-', ' ')}]({s}.md)" for s in spokes]
            other = names[(c + 1) % len(names)]
            targets.append(f"[a neighbour](../{other}/topic-0{rng.randint(1, 9)}.md)")
            while len(targets) < rng.randint(5, 10):
                targets.append(f"[more]({rng.choice(siblings)}.md)")
            related = [f"{name}/{s}" for s in rng.sample(siblings, 3)]
            faq = []
            for q in range(3):
                faq += [
                    f"  - q: Question {q + 1} about {name} {slug}?",
                    f"    a: {sentence(rng)} {sentence(rng)}",
                ]
            tags = rng.sample(WORDS[:20], 3)
            front = [
                "---",
                f"title: {'Cluster' if is_hub else 'Topic'} {c} {slug.replace('-', ' ')}",
                f"description: {sentence(rng)[:150]}",
                f"summary: {sentence(rng)}",
                f"date: 2026-{rng.randint(1, 12):02}-{rng.randint(1, 28):02}",
                f"weight: {index * 10}",
                f"tags: [{', '.join(tags)}]",
                f"related: [{', '.join(related)}]",
                "faq:",
                *faq,
                "sources:",
                "  - title: A source",
                "    authors: Someone, A.",
                "    year: 2001",
                "---",
                "",
            ]
            body: list[str] = []
            chunks = [targets[i::6] for i in range(6)]
            for section in range(6):
                body.append(f"## Section {section + 1}")
                body.append("")
                body.append(paragraph(rng, chunks[section]))
                body.append("")
                body.append(paragraph(rng, []))
                body.append("")
                if section % 2:
                    body.append(f"### Detail {section}")
                    body.append("")
                    body.append(paragraph(rng, []))
                    body.append("")
            (folder / f"{slug}.md").write_text("\n".join(front + body))
            written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(write_corpus(args.out, args.pages, args.seed), "pages written to", args.out)


if __name__ == "__main__":
    main()
