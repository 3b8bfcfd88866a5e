"""Quicker pickling for this package's dataclasses (the build cache, parse results).

By default a slots dataclass is pickled with its state and rebuilt by a Python-level
`__setstate__`, one call per object: loading 10,000 cached pages took 1.6 s. Registered
here, an instance is pickled as a maker function and its field values: 0.6 s when the maker
was the class itself. A frozen dataclass's own __init__ sets each field through
object.__setattr__, a slow generic lookup; the maker made here sets each slot through its
descriptor directly, which makes rebuilding a frozen object about twice as fast. Only slots
dataclasses whose every field is an __init__ argument and that have no __post_init__
qualify (all of ours), so the maker rebuilds the same value the class would.

Packed variants (packed_variant) go further for what the build cache saves in bulk: a
page, its front matter, the resolved links and the graph keep their bulky fields pickled
until first read, and a page's packed groups can live in a side file (divert, Span),
mapped rather than read. SafeUnpickler loads all of it: it admits this package's data
types and makers only.
"""

from __future__ import annotations

import copyreg
import dataclasses
import enum
import importlib
import io
import operator
import pickle
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

T = TypeVar("T")

MAKERS: dict[str, Callable[..., Any]] = {}  # name in this module -> maker (see _maker)


def register(namespace: dict[str, Any]) -> None:
    """Register every dataclass defined in a module; call with the module's globals()."""
    for value in list(namespace.values()):
        if (
            isinstance(value, type)
            and issubclass(value, enum.Enum)
            and value.__module__ == namespace["__name__"]
        ):
            _enum_by_name(value)
        elif (
            isinstance(value, type)
            and "__dataclass_fields__" in value.__dict__  # not a subclass of one
            and value.__module__ == namespace["__name__"]
        ):
            fields = dataclasses.fields(value)
            if fields and all(f.init for f in fields):
                names = tuple(f.name for f in fields)
                make: Callable[..., Any] = value
                if "__slots__" in value.__dict__ and not hasattr(value, "__post_init__"):
                    make = _maker(value, names)
                copyreg.pickle(value, _reducer(make, names))


def _enum_by_name(cls: type[enum.Enum]) -> None:
    """An enum member is pickled as a global, its class's qualified name and its own
    ("PageKind.HUB"): the unpickler finds it once, then remembers it. Rebuilt by a call
    (the enum's own, or a maker's), each of 10,000 cached pages cost one."""
    copyreg.pickle(cls, lambda member: f"{cls.__qualname__}.{member.name}")


def _maker(cls: type, names: tuple[str, ...]) -> Callable[..., Any]:
    """A function that makes an instance of `cls` from its field values, setting each slot
    through its member descriptor (what a frozen class's __setattr__ forbids and its
    __init__ does slowly). Named in this module, where the unpickler finds it."""
    make = _slot_setter(cls, {name: cls.__dict__[name] for name in names})
    return add_maker(_label(cls.__module__, cls.__name__), make)


def _label(module: str, name: str) -> str:
    """The name a maker has in this module: "make__<module>__<what>" (see maker())."""
    return f"make__{module.rsplit('.', 1)[-1]}__{name}"


def _slot_setter(cls: type, slots: dict[str, Any], extra: str = "") -> Callable[..., Any]:
    """make(*values): a new `cls` with each of `slots` (name -> member descriptor) set to
    its argument in turn, then `extra` ("slot = expression" of the arguments)."""
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    names = list(slots)
    lines = [f"def make({', '.join(names)}):", "    self = _new(_cls)"]
    for n, name in enumerate(names):
        scope[f"_set{n}"] = slots[name].__set__
        lines.append(f"    _set{n}(self, {name})")
    if extra:
        slot, _, value = extra.partition(" = ")
        scope["_set_extra"] = cls.__dict__[slot].__set__
        lines.append(f"    _set_extra(self, {value})")
    lines.append("    return self")
    exec("\n".join(lines), scope)  # the source is built here from field names
    make: Callable[..., Any] = scope["make"]
    return make


def fast_maker(cls: type[T]) -> Callable[..., T]:
    """The maker register() made for a frozen slots dataclass (its fields in order, as
    positional arguments): about twice as quick as the class for many small objects."""
    return MAKERS.get(_label(cls.__module__, cls.__name__), cls)


def add_maker(label: str, make: Callable[..., Any]) -> Callable[..., Any]:
    """Name `make` in this module as `label` ("make__<module>__<what>", see maker()), where
    pickle refers to it and SafeUnpickler admits it."""
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


# -- packed variants -----------------------------------------------------------------------


def packed_variant(
    base: type[T], *groups: tuple[str, ...], by_key: tuple[str, ...] = (), raw: str = ""
) -> type[T]:
    """A subclass of the slots dataclass `base` for objects loaded from the build cache:
    equal to the object it was saved from, but each group of fields stays one pickled blob
    until one of its fields is first read (then the whole group is unpickled, once), and
    each dict field named in `by_key` is read as a PackedMap (one blob per key).
    `raw` names a bytes field that is a group of its own, saved as its bytes, not pickled:
    read back without an unpickler (the mention search reads one of every page's).
    The build cache saves any object of `base` as this variant (see pack()), so loading
    it makes only the other fields' objects; a rebuild after an edit reads the packed
    groups (or entries) of the few objects it needs."""
    keyed = len(groups)  # groups[keyed:] are the by_key fields, one each
    groups = (*groups, *((name,) for name in by_key))
    packed = tuple(name for group in groups for name in group)
    head = tuple(f.name for f in dataclasses.fields(base) if f.name not in packed)  # type: ignore[arg-type]
    label = _label(base.__module__, f"Packed{base.__name__}")
    bare = groups.index((raw,)) if raw else -1  # the group saved as its bytes, if any

    def unpack(self: Any, n: int) -> tuple[Any, ...]:
        values: tuple[Any, ...] | None = self._unpacked[n]
        if values is None:
            what = f"a cached {base.__name__}'s {', '.join(groups[n])}"
            try:
                packed = self._packed
                blob = packed[n] if type(packed) is tuple else span_blob(packed, n)
                if n == bare:
                    values = (blob,) if type(blob) is bytes else None
                else:
                    values = (PackedMap(blob),) if n >= keyed else safe_loads(blob)
            except Exception as exc:  # anything at all: a cache is advice, never trusted
                raise CacheDamaged(f"{what} could not be read ({type(exc).__name__})") from exc
            if not isinstance(values, tuple) or len(values) != len(groups[n]):
                raise CacheDamaged(f"{what} has an unexpected shape")
            self._unpacked[n] = values
        return values

    def field(n: int, i: int) -> property:
        def read(self: Any) -> Any:  # read often (a page's cards): one call once unpacked
            values = self._unpacked[n]
            return (values if values is not None else unpack(self, n))[i]

        return property(read)

    def equal(self: Any, other: object) -> Any:
        if not isinstance(other, base):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in (*head, *packed))

    namespace: dict[str, Any] = {
        "__slots__": ("_packed", "_unpacked"),
        "__eq__": equal,
        "__hash__": base.__hash__,
        "__doc__": f"A {base.__name__} from the build cache (see pickling.packed_variant).",
    }
    for n, group in enumerate(groups):
        for i, name in enumerate(group):
            namespace[name] = field(n, i)
    variant = type(f"Packed{base.__name__}", (base,), namespace)
    variant.__module__ = base.__module__

    slots = {name: base.__dict__[name] for name in head}
    slots["_packed"] = variant.__dict__["_packed"]
    make = _slot_setter(variant, slots, f"_unpacked = [None] * {len(groups)}")
    add_maker(label, make)
    copyreg.pickle(
        variant, lambda obj: (make, (*(getattr(obj, name) for name in head), obj._packed))
    )
    REBUILD[variant] = lambda obj, packed: make(*(getattr(obj, n) for n in head), packed)

    def pack_one(obj: Any) -> Any:
        blobs = tuple(
            bytes(getattr(obj, raw))
            if n == bare
            else pickle.dumps(tuple(getattr(obj, name) for name in group), protocol=5)
            if n < keyed
            else _blobs_of(getattr(obj, group[0]))
            for n, group in enumerate(groups)
        )
        return make(*(pack(getattr(obj, name)) for name in head), blobs)  # nested ones too

    PACKERS[base] = pack_one
    VARIANTS[base] = variant
    return variant


def _blobs_of(mapping: Mapping[str, Any]) -> dict[str, bytes]:
    """Each value of a mapping pickled; a PackedMap's as they are packed already."""
    if isinstance(mapping, PackedMap):
        return mapping.blobs()
    return {k: pickle.dumps(v, protocol=5) for k, v in mapping.items()}


PACKERS: dict[type, Callable[[Any], Any]] = {}
VARIANTS: dict[type, type] = {}  # a packed base -> its packed variant
# variant -> (obj, its packed groups: a tuple of them, or a Span) -> a new one
REBUILD: dict[type, Callable[[Any, tuple[Any, ...] | Span], Any]] = {}


class CacheDamaged(Exception):
    """A packed field of an object loaded from the build cache could not be read back
    (the build then starts again without the cache: see build.build)."""


# -- side files: packed blobs kept out of the pickle that names them -------------------------


# Where an object's packed groups are in a side file of the build cache (see divert): the
# file's token (16 bytes), the offset of the first group (8), then each group's length and
# CRC-32 (4 and 4), little-endian; the groups lie end to end. One bytes object for all of
# an object's groups: 10,000 of them load with a page cache, and a tuple of numbers for
# each group was four objects more to make (a tenth of the load).
Span = bytes
_SPAN = struct.Struct("<16sQ")

SIDE_FILES: dict[bytes, Any] = {}  # token -> a side file's bytes (mapped): cache._open_side


def span_of(token: bytes, offset: int, blobs: tuple[bytes, ...]) -> Span:
    """The Span of `blobs` written end to end at `offset` in the side file `token` names."""
    sizes = (x for blob in blobs for x in (len(blob), zlib.crc32(blob)))
    return _SPAN.pack(token, offset) + struct.pack(f"<{2 * len(blobs)}I", *sizes)


def _span_parts(span: object) -> tuple[bytes, int, tuple[int, ...]]:
    """A Span's token, offset and each group's length and CRC-32, in turn."""
    if type(span) is not bytes or len(span) < _SPAN.size or (len(span) - _SPAN.size) % 8:
        raise TypeError("not a span of packed blobs")
    token, offset = _SPAN.unpack_from(span)
    sizes = struct.unpack_from(f"<{(len(span) - _SPAN.size) // 4}I", span, _SPAN.size)
    return token, offset, sizes


def span_blob(span: object, n: int) -> bytes:
    """The `n`th packed group a Span names, read from its side file and checked (the
    others are not read: the mention search reads one group of every page)."""
    token, offset, sizes = _span_parts(span)
    length, crc = sizes[2 * n], sizes[2 * n + 1]  # an IndexError if there is no such group
    start = offset + sum(sizes[0 : 2 * n : 2])
    side = SIDE_FILES.get(token)
    if side is None:
        raise LookupError("its side file is not open")
    blob = bytes(side[start : start + length])
    if len(blob) != length or zlib.crc32(blob) != crc:
        raise ValueError("checksum mismatch")
    return blob


def span_blobs(span: object) -> tuple[bytes, ...]:
    """Every packed group a Span names (see span_blob)."""
    return tuple(span_blob(span, n) for n in range(len(_span_parts(span)[2]) // 2))


def divert(obj: Any, put: Callable[[tuple[bytes, ...]], Span]) -> Any:
    """`obj` (a packed variant) with its packed groups handed to `put` (which writes them
    to a side file, end to end) and replaced by the Span of where they went. Anything
    else, and a variant with a group packed by key (a dict), is returned as it is."""
    rebuild = REBUILD.get(type(obj))
    if rebuild is None:
        return obj
    packed = obj._packed
    if type(packed) is tuple:
        if any(isinstance(raw, dict) for raw in packed):
            return obj
        return rebuild(obj, put(packed))
    return rebuild(obj, put(span_blobs(packed)))


class PackedMap(Mapping[str, Any]):
    """A read-only mapping whose values stay pickled until each is first read."""

    __slots__ = ("_blobs", "_values")

    def __init__(self, blobs: object) -> None:
        if not isinstance(blobs, dict) or not all(isinstance(b, bytes) for b in blobs.values()):
            raise ValueError("a cached mapping's packed entries are damaged")
        self._blobs: dict[str, bytes] = blobs
        self._values: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            blob = self._blobs[key]  # a KeyError here is the mapping's own answer
        try:
            value = self._values[key] = safe_loads(blob)
        except Exception as exc:  # anything at all: a cache is advice, never trusted
            raise CacheDamaged(f"a cached entry could not be read ({type(exc).__name__})") from exc
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._blobs)

    def __len__(self) -> int:
        return len(self._blobs)

    def __contains__(self, key: object) -> bool:
        return key in self._blobs

    def __repr__(self) -> str:
        return f"PackedMap({dict(self)!r})"

    def blobs(self) -> dict[str, bytes]:
        """The packed values (a copy of the dict): values read already are not repacked."""
        return dict(self._blobs)

    def updated(self, changes: Mapping[str, Any], keys: list[str] | None = None) -> PackedMap:
        """A new mapping: this one with `changes` set (pickled now), holding `keys` in that
        order (default: its own, then the new ones); the values read already and not
        changed are shared, the others stay packed."""
        blobs = dict(self._blobs)
        blobs.update((k, pickle.dumps(v, protocol=5)) for k, v in changes.items())
        if keys is not None:
            blobs = {k: blobs[k] for k in keys}
        made = PackedMap(blobs)
        made._values = {k: v for k, v in self._values.items() if k not in changes and k in blobs}
        made._values.update((k, v) for k, v in changes.items() if k in blobs)
        return made


class Later(bytes):
    """A field of a cache file whose bytes are made only when the file is written: a watcher
    saves its cache after reporting the build, so the pickling is not in the time a save
    waits for its report. Until then the object stands for its bytes by its identity
    (see mentions._unpack), and `value` is what they are made from. Never pickled itself:
    a file is written with made()."""

    value: Any
    _make: Callable[[Any], bytes]
    _made: bytes | None

    def __new__(cls, value: Any, make: Callable[[Any], bytes]) -> Later:
        self = super().__new__(cls, b"\0later")  # not empty: "no table" is b""
        self.value, self._make, self._made = value, make, None
        return self

    def made(self) -> bytes:
        made = self._made
        if made is None:
            made = self._made = self._make(self.value)
        return made


def made(data: bytes) -> bytes:
    """The bytes a field stands for: a Later's, made now if not yet, or the bytes given."""
    return data.made() if isinstance(data, Later) else data


def pack(obj: T) -> T:
    """`obj` as its packed variant, for saving (itself if it has none, or is one)."""
    packer = PACKERS.get(type(obj))
    return packer(obj) if packer is not None else obj


def packed_blobs(obj: Any) -> tuple[Any, ...]:
    """What pack(obj) packs its groups into, alone (worked out apart: see repack)."""
    return pack(obj)._packed  # type: ignore[no-any-return]


def repack(obj: T, blobs: tuple[Any, ...]) -> T:
    """pack(obj), given its packed_blobs(obj): the rest of it taken as it is."""
    return REBUILD[VARIANTS[type(obj)]](obj, blobs)  # type: ignore[no-any-return]


class SafeUnpickler(pickle.Unpickler):
    """Admits only this package's data types and their makers, dates and plain builtins:
    a planted cache file cannot name a function to run."""

    ALLOWED_BUILTINS = frozenset({"frozenset", "set", "bytes", "bytearray", "complex"})
    ALLOWED_DATETIME = frozenset({"date", "datetime", "time", "timedelta", "timezone"})

    # What find_class() admitted, for the next unpickler: after an edit that resolves every
    # link again, 30,000 small blobs are unpickled, each naming a few makers.
    _admitted: ClassVar[dict[tuple[str, str], Any]] = {}

    def find_class(self, module: str, name: str) -> Any:
        hit = self._admitted.get((module, name))
        if hit is None:
            hit = self._admitted[(module, name)] = self._admit(module, name)
        return hit

    def _admit(self, module: str, name: str) -> Any:
        if module == "builtins" and name in self.ALLOWED_BUILTINS:
            return super().find_class(module, name)
        if module == "datetime" and name in self.ALLOWED_DATETIME:
            return super().find_class(module, name)
        if module == __name__:
            made = maker(name)  # rebuilds one of the dataclasses below
            if made is not None:
                return made
        if module.startswith(f"{__package__}.") and not name.startswith("_"):
            found = super().find_class(module, name)
            if isinstance(found, type) and (
                dataclasses.is_dataclass(found) or issubclass(found, enum.Enum)
            ):
                return found
            if isinstance(found, enum.Enum):  # a member, by name: see _enum_by_name
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a build cache")


def safe_loads(data: bytes) -> Any:
    return SafeUnpickler(io.BytesIO(data)).load()


register(globals())
