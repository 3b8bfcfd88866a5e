"""Safe YAML loading that remembers where every value came from.

PyYAML's safe loaders build plain Python values and forget positions; we compose the node
graph first, then walk it once: each node's line and column are recorded by its key path
(("faq", 0, "a")), duplicate keys are rejected (PyYAML silently keeps the last one), and
the values are made. Plain maps, lists and strings are made by the walk; any other
scalar (a number, a date, a boolean) by the safe constructor, node by node. A document with
anything else (an explicit collection tag, a merge key, a key that is not a scalar, a
value the constructor refuses) is made by the safe constructor whole, as before, so the
value, or the error, is PyYAML's. The C loader is used when PyYAML was built with libyaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from . import pickling

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
        walk = _Walk(loader)
        value = walk.node(node, ())
        if walk.problems:
            return YamlDocument(None, walk.values, walk.keys, tuple(walk.problems))
        if not walk.whole:  # made by the safe constructor, afresh (see the module's doc)
            loader.constructed_objects, loader.recursive_objects = {}, {}
            value = loader.construct_document(node)
        return YamlDocument(value, walk.values, walk.keys)
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


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
# the scalar keys the safe constructor makes as they are made here: not "<<" (a merge)
_PLAIN_KEYS = frozenset(
    f"tag:yaml.org,2002:{kind}" for kind in ("str", "bool", "int", "float", "null", "timestamp")
)


class _Walk:
    """One pass over a composed document: positions, duplicate keys and aliased
    collections found, and the value made where it is plain (see the module's doc):
    `whole` says whether all of it was."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.values: dict[KeyPath, Pos] = {}
        self.keys: dict[KeyPath, Pos] = {}
        self.problems: list[YamlProblem] = []
        self.seen: set[int] = set()
        self.whole = True

    def node(self, node: yaml.Node, path: KeyPath) -> Any:
        mark = node.start_mark
        kind = type(node)
        if kind is yaml.ScalarNode:
            text = node.value
            style = node.style or ""  # type: ignore[attr-defined]
            self.values[path] = _pos(mark.line, mark.column, str(text), style)
            return text if node.tag == _STR else self.scalar(node)
        # An alias makes the composer reuse a node. Walking reused nodes is how "billion
        # laughs" documents explode (and `&a [*a]` never ends): refuse them outright.
        if id(node) in self.seen:
            if not any(p.message.startswith("anchors and aliases") for p in self.problems):
                self.problems.append(  # one report is enough
                    YamlProblem(
                        "yaml-syntax",
                        "anchors and aliases (&name, *name) are not allowed here",
                        mark.line,
                        mark.column,
                        "write the value out in full",
                    )
                )
            return None
        self.seen.add(id(node))
        self.values[path] = _pos(mark.line, mark.column, "", "")
        if kind is yaml.SequenceNode:
            if node.tag != _SEQ:
                self.whole = False
            return [self.node(item, (*path, index)) for index, item in enumerate(node.value)]
        if node.tag != _MAP:
            self.whole = False
        made: dict[Any, Any] = {}
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            scalar = type(key_node) is yaml.ScalarNode
            key = str(key_node.value) if scalar else "?"
            kmark = key_node.start_mark
            if key in first and key != "<<":
                self.problems.append(
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
            self.keys[(*path, key)] = _pos(kmark.line, kmark.column, "", "")
            value = self.node(value_node, (*path, key))
            if not scalar or key_node.tag not in _PLAIN_KEYS:
                self.whole = False  # a merge key, a list or map as a key, a tagged key
            else:  # made even when the document is not: an impossible date is caught here
                made[key_node.value if key_node.tag == _STR else self.scalar(key_node)] = value
        return made

    def scalar(self, node: yaml.Node) -> Any:
        """A scalar that is not a string, made by the safe constructor as it would be in
        the whole document; if it refuses it, the document is made by it (and fails) whole.
        A date or time that does not exist (2026-13-40) is a problem here: PyYAML's
        constructor raises ValueError for it, which no caller would expect."""
        try:
            return self.loader.construct_object(node, deep=True)
        except ValueError as exc:
            mark = node.start_mark
            self.problems.append(
                YamlProblem(
                    "yaml-syntax",
                    f"'{node.value}' is not a date or time that exists ({exc})",
                    mark.line,
                    mark.column,
                    "write it like 2026-01-31, or quote it to keep it as text",
                )
            )
            return None
        except Exception:  # its own error, met again when the whole document is made
            self.whole = False
            return None


pickling.register(globals())
# Pos made by its maker (every field given, in order): a page's front matter makes about
# 45, and the frozen class's own __init__ took 0.6 us each
_pos = pickling.fast_maker(Pos)
