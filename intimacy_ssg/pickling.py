"""Quicker pickling for this package's dataclasses (the build cache, parse results).

By default a slots dataclass is pickled with its state and rebuilt by a Python-level
`__setstate__`, one call per object: loading 10,000 cached pages took 1.6 s. Registered
here, an instance is pickled as its class and its field values, and rebuilt by calling the
class: 0.6 s. Only dataclasses whose every field is an __init__ argument qualify (all of
ours), so calling the class rebuilds the same value.
"""

from __future__ import annotations

import copyreg
import dataclasses
import operator
from collections.abc import Callable
from typing import Any


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
                copyreg.pickle(value, _reducer(value, tuple(f.name for f in fields)))


def _reducer(cls: type, names: tuple[str, ...]) -> Callable[[Any], tuple[type, tuple[Any, ...]]]:
    if len(names) == 1:
        name = names[0]
        return lambda obj: (cls, (getattr(obj, name),))
    values = operator.attrgetter(*names)
    return lambda obj: (cls, values(obj))
