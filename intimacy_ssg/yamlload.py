"""Safe YAML loading that remembers where every value came from.

PyYAML's safe loaders build plain Python values and forget positions; we compose the node
graph first, record each node's line and column by its key path (("faq", 0, "a")), reject
duplicate keys (PyYAML silently keeps the last one), then construct values with the safe
constructor. The C loader is used when PyYAML was built with libyaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Pos:
    """A node's 0-based line and column inside the YAML text, and how it was written."""

    line: int
    col: int
    raw: str = ""  # a scalar's source text, for "quote it" hints
    style: str = ""  # "", "'", '"', "|" or ">"


@dataclass(frozen=True, slots=True)
class YamlProblem:
    code: str  # "yaml-syntax" or "duplicate-key"
    message: str
    line: int  # 0-based, inside the YAML text
    col: int
    hint: str = ""  # "{line}" in it stands for ref_line, counted in the caller's file
    ref_line: int = -1  # 0-based line the hint refers to


@dataclass(frozen=True, slots=True)
class YamlDocument:
    value: Any
    values: dict[KeyPath, Pos] = field(default_factory=dict)
    keys: dict[KeyPath, Pos] = field(default_factory=dict)
    problems: tuple[YamlProblem, ...] = ()

    def pos(self, path: KeyPath) -> Pos | None:
        """Where the value at `path` starts (falling back to its key, then its parent)."""
        while True:
            found = self.values.get(path) or self.keys.get(path)
            if found is not None or not path:
                return found
            path = path[:-1]


def load_yaml(text: str) -> YamlDocument:
    """Parse one YAML document safely. Problems are returned, never raised."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(None)
        values: dict[KeyPath, Pos] = {}
        keys: dict[KeyPath, Pos] = {}
        problems: list[YamlProblem] = []
        _walk(node, (), values, keys, problems, set())
        if problems:
            return YamlDocument(None, values, keys, tuple(problems))
        value = loader.construct_document(node)
        return YamlDocument(value, values, keys)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line, mark.column) if mark is not None else (0, 0)
        message = (exc.problem or exc.context or "invalid YAML").strip()
        hint, ref = "", -1
        if exc.context and exc.problem and exc.context_mark is not None:
            hint, ref = f"{exc.context.strip()} that starts on line {{line}}", exc.context_mark.line
        problem = YamlProblem("yaml-syntax", message, line, col, hint, ref)
        return YamlDocument(None, problems=(problem,))
    except yaml.YAMLError as exc:  # errors without a mark, e.g. from the reader
        return YamlDocument(None, problems=(YamlProblem("yaml-syntax", str(exc), 0, 0),))
    finally:
        loader.dispose()


def _walk(
    node: yaml.Node,
    path: KeyPath,
    values: dict[KeyPath, Pos],
    keys: dict[KeyPath, Pos],
    problems: list[YamlProblem],
    seen: set[int],
) -> None:
    mark = node.start_mark
    if isinstance(node, yaml.CollectionNode):
        # An alias makes the composer reuse a node. Walking reused nodes is how "billion
        # laughs" documents explode (and `&a [*a]` never ends): refuse them outright.
        if id(node) in seen:
            if any(p.message.startswith("anchors and aliases") for p in problems):
                return  # one report is enough
            problems.append(
                YamlProblem(
                    "yaml-syntax",
                    "anchors and aliases (&name, *name) are not allowed here",
                    mark.line,
                    mark.column,
                    "write the value out in full",
                )
            )
            return
        seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        values[path] = Pos(mark.line, mark.column, str(node.value), node.style or "")
    else:
        values[path] = Pos(mark.line, mark.column)
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), values, keys, problems, seen)
    elif isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            kmark = key_node.start_mark
            if key in first and key != "<<":
                problems.append(
                    YamlProblem(
                        "duplicate-key",
                        f"key '{key}' appears twice",
                        kmark.line,
                        kmark.column,
                        "first on line {line}; YAML would keep only the last one: remove one",
                        ref_line=first[key],
                    )
                )
                continue
            first[key] = kmark.line
            keys[(*path, key)] = Pos(kmark.line, kmark.column)
            _walk(value_node, (*path, key), values, keys, problems, seen)
