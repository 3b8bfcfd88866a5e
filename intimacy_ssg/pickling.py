"""Quicker pickling for this package's dataclasses (the build cache, parse results).

By default a slots dataclass is pickled with its state and rebuilt by a Python-level
`__setstate__`, one call per object: loading 10,000 cached pages took 1.6 s. Registered
here, an instance is pickled as a maker function and its field values: 0.6 s when the maker
was the class itself. A frozen dataclass's own __init__ sets each field through
object.__setattr__, a slow generic lookup; the maker made here sets each slot through its
descriptor directly, which makes rebuilding a frozen object about twice as fast. Only slots
dataclasses whose every field is an __init__ argument and that have no __post_init__
qualify (all of ours), so the maker rebuilds the same value the class would.
"""

from __future__ import annotations

import copyreg
import dataclasses
import importlib
import operator
from collections.abc import Callable
from typing import Any

MAKERS: dict[str, Callable[..., Any]] = {}  # name in this module -> maker (see _maker)


def register(namespace: dict[str, Any]) -> None:
    """Register every dataclass defined in a module; call with the module's globals()."""
    for value in list(namespace.values()):
        if (
            isinstance(value, type)
            and dataclasses.is_dataclass(value)
            and value.__module__ == namespace["__name__"]
        ):
            fields = dataclasses.fields(value)
            if fields and all(f.init for f in fields):
                names = tuple(f.name for f in fields)
                make: Callable[..., Any] = value
                if "__slots__" in value.__dict__ and not hasattr(value, "__post_init__"):
                    make = _maker(value, names)
                copyreg.pickle(value, _reducer(make, names))


def _maker(cls: type, names: tuple[str, ...]) -> Callable[..., Any]:
    """A function that makes an instance of `cls` from its field values, setting each slot
    through its member descriptor (what a frozen class's __setattr__ forbids and its
    __init__ does slowly). Named in this module, where the unpickler finds it."""
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def make({', '.join(names)}):", "    self = _new(_cls)"]
    for n, name in enumerate(names):
        scope[f"_set{n}"] = cls.__dict__[name].__set__
        lines.append(f"    _set{n}(self, {name})")
    lines.append("    return self")
    exec("\n".join(lines), scope)
    make: Callable[..., Any] = scope["make"]
    label = f"make__{cls.__module__.rsplit('.', 1)[-1]}__{cls.__name__}"  # see maker()
    make.__module__, make.__name__, make.__qualname__ = __name__, label, label
    MAKERS[label] = make
    globals()[label] = make
    return make


def maker(label: str) -> Callable[..., Any] | None:
    """The maker a cache file names, importing the module that defines (and registers) its
    class when that has not happened yet; None for any other name."""
    parts = label.split("__")
    if len(parts) != 3 or parts[0] != "make" or not parts[1].isidentifier():
        return None
    if label not in MAKERS:
        try:
            importlib.import_module(f"{__package__}.{parts[1]}")
        except ImportError:
            return None
    return MAKERS.get(label)


def _reducer(
    make: Callable[..., Any], names: tuple[str, ...]
) -> Callable[[Any], tuple[Callable[..., Any], tuple[Any, ...]]]:
    if len(names) == 1:
        name = names[0]
        return lambda obj: (make, (getattr(obj, name),))
    values = operator.attrgetter(*names)
    return lambda obj: (make, values(obj))
