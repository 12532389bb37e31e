"""Validate before mutate: the public boundary, as one mechanism.

Every public entry point of the model, the API and the instruments is
wrapped by ``entry_point``: the call runs under ``kernel_lock``, and each
argument is checked against the function's own annotation before the body
runs, so a wrong kind of argument is a TypeError that names the parameter,
what it must be and why, with nothing changed. An ``int`` is an int and never
a bool or a float; a ``bool`` is a bool; a class is an instance of it (or
``None`` where the annotation allows it); an ``Iterable[X]`` or
``Sequence[X]`` is consumed once, each element checked, and handed on as a
tuple. Ranges are the entry points' own rules (``-errno`` KernelErrors in
their prologues, ``span`` for byte ranges), checked before anything changes.

``Unique`` is the other refusal at the boundary: a kernel object or a handle
is never copied or pickled.
"""

from __future__ import annotations

import collections.abc
import errno
import functools
import inspect
import re
import threading
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, Final, TypeVar, cast

from .errors import err

__all__ = ["kernel_lock", "entry_point", "entry_point_body", "span", "Unique"]

#: Atomic operations and the mmap lock are modelled by one lock: every public
#: entry point holds it, so counts stay exact under threads.
kernel_lock: Final = threading.RLock()

_F = TypeVar("_F", bound=Callable[..., Any])


class _Mismatch(Exception):
    """An argument is not of the kind its annotation names; *where* is the
    parameter (and the element, ``[i]``) it was found in."""

    def __init__(self, want: str, value: object, where: str = "") -> None:
        self.want, self.value, self.where = want, value, where


#: A checker returns the value to pass on (a consumed iterable as a tuple) or
#: raises _Mismatch.
_Check = Callable[[object], object]

#: Why a float or a bool is refused where an int is due.
_NOT_AN_INT: Final = "the kernel's addresses, lengths, counts and flags are integers, never floats or bools"


def _describe(value: object, want: str) -> str:
    """A refused value for a message: its type, its repr when short, and why
    it does not do: a number that is not an int, or a handle's ``_kind`` (what
    it is and how it is released)."""
    kind = type(value)
    text = kind.__name__
    if value is None or kind in (int, float, bool, str, bytes):
        shown = repr(value)
        text = "None" if value is None else f"{text} {shown if len(shown) <= 40 else shown[:37] + '...'}"
    why = _NOT_AN_INT if kind in (float, bool) and "an int" in want else getattr(kind, "_kind", None)
    return f"{text}: {why}" if why else text


def _exact(kind: type, want: str) -> _Check:
    def check(v: object) -> object:
        if type(v) is not kind:
            raise _Mismatch(want, v)
        return v

    return check


def _int(v: object) -> object:
    if not isinstance(v, int) or isinstance(v, bool):
        raise _Mismatch("an int", v)
    return v


def _instance(kind: type, want: str) -> _Check:
    def check(v: object) -> object:
        if not isinstance(v, kind):
            raise _Mismatch(want, v)
        return v

    return check


def _elements(inner: _Check, want: str, sequence: bool) -> _Check:
    def check(v: object) -> object:
        abc = collections.abc.Sequence if sequence else collections.abc.Iterable
        if not isinstance(v, abc) or isinstance(v, (str, bytes)):
            raise _Mismatch(want, v)
        items: tuple[object, ...] = tuple(cast("Iterable[object]", v))
        for i, item in enumerate(items):
            try:
                inner(item)
            except _Mismatch as e:
                raise _Mismatch(e.want, e.value, f"[{i}]{e.where}") from None
        return items

    return check


def _any_of(checks: list[_Check], want: str) -> _Check:
    def check(v: object) -> object:
        inside: _Mismatch | None = None
        for c in checks:
            try:
                return c(v)
            except _Mismatch as e:
                inside = inside or (e if e.where else None)
        raise inside or _Mismatch(want, v)  # an iterable's bad element, else the whole

    return check


def _article(name: str) -> str:
    """"an Inode", "an MM" (said em-em), "a VMA"."""
    vowel_sound = "AEFHILMNORSX" if name.isupper() else "AEIOU"
    return f"an {name}" if name[0] in vowel_sound else f"a {name}"


def _join(wants: list[str]) -> str:
    return wants[0] if len(wants) == 1 else ", ".join(wants[:-1]) + " or " + wants[-1]


def _union(members: list[object]) -> tuple[_Check, str]:
    """One checker for a union: plain kinds (generic classes such as
    ``PinnedPages[Write]`` among them) are tried first, since an iterable
    alternative consumes the value."""
    iterables: tuple[object, ...] = (collections.abc.Iterable, collections.abc.Sequence)
    compiled = [_compile(m) for m in sorted(members, key=lambda h: typing.get_origin(h) in iterables)]
    want = _join([w for _, w in compiled])
    return _any_of([c for c, _ in compiled], want), want


def _compile(hint: object) -> tuple[_Check, str]:
    """The checker for an annotation, and what it asks for in words."""
    if hint is int:
        return _int, "an int"
    if hint is bool:
        return _exact(bool, "a bool"), "a bool"
    if hint is str or hint is bytes:
        assert isinstance(hint, type)
        want = "a str" if hint is str else "bytes"
        return _instance(hint, want), want
    if hint is type(None):
        return _exact(type(None), "None"), "None"
    if isinstance(hint, TypeVar):
        return _union(list(hint.__constraints__) or [hint.__bound__ or object])
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return _union(list(typing.get_args(hint)))
    if origin is collections.abc.Iterable or origin is collections.abc.Sequence:
        sequence = origin is collections.abc.Sequence
        inner, inner_want = _compile(typing.get_args(hint)[0])
        elements = re.sub(r"\ban? ", "", inner_want)
        want = f"{'a sequence' if sequence else 'an iterable'} of {elements}"
        return _elements(inner, want, sequence), want
    if origin is type:  # type[X]: a class, or a generic one with its arguments (PinnedPage[Write])
        return _class, "a class"
    if isinstance(origin, type):  # a generic class: SgTable[P]
        return _compile(origin)
    if hint is object or hint is Any:
        return _anything, "anything"
    if isinstance(hint, type):
        want = _article(hint.__name__)
        return _instance(hint, want), want
    raise TypeError(f"entry_point cannot check the annotation {hint!r}")


def _anything(v: object) -> object:
    return v


def _class(v: object) -> object:
    if not isinstance(v, type) and not isinstance(typing.get_origin(v), type):
        raise _Mismatch("a class", v)
    return v


_ENTRY_POINTS: Final[dict[object, Callable[..., object]]] = {}  # wrapper -> body


class _Signature:
    """What an entry point checks: a checker per parameter in order
    (``_anything`` for an unannotated one, and for one whose checker hands on
    a value of its own, a consumed iterable: those are in ``converters``)."""

    __slots__ = ("names", "checks", "by_name", "converters")

    def __init__(self, fn: Callable[..., object]) -> None:
        hints = typing.get_type_hints(fn)
        self.names = [p.name for p in inspect.signature(fn).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]  # fmt: skip
        compiled = {n: _compile(hints[n])[0] for n in self.names if n in hints}
        converting = {n for n in compiled if _converts(hints[n])}
        self.converters = [(i, n, compiled[n]) for i, n in enumerate(self.names) if n in converting]
        self.by_name = {n: c for n, c in compiled.items() if n not in converting}
        self.checks = tuple(self.by_name.get(n, _anything) for n in self.names)

    def check(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The arguments as the body gets them, every one checked (raises
        _Mismatch naming the parameter)."""
        name = ""
        try:
            for name, check, value in zip(self.names, self.checks, args):
                check(value)
            for name, value in kwargs.items():
                self.by_name.get(name, _anything)(value)
            if self.converters:
                out = list(args)
                for i, name, convert in self.converters:
                    if i < len(out):
                        out[i] = convert(out[i])
                    elif name in kwargs:
                        kwargs[name] = convert(kwargs[name])
                args = tuple(out)
        except _Mismatch as e:
            e.where = name + e.where
            raise
        return args, kwargs


def _converts(hint: object) -> bool:
    """Does the checker for *hint* hand on a value of its own (an iterable's tuple)?"""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(_converts(h) for h in typing.get_args(hint))
    return origin is collections.abc.Iterable or origin is collections.abc.Sequence


_signatures: Final[dict[object, _Signature]] = {}


def _signature(fn: Callable[..., object]) -> _Signature:
    """*fn*'s checks, compiled on first use (annotations may name classes
    defined after it)."""
    sig = _signatures.get(fn)
    if sig is None:
        sig = _signatures[fn] = _Signature(fn)
    return sig


def entry_point(fn: _F) -> _F:
    """Make *fn* a public entry point: it runs under ``kernel_lock``, each
    argument checked against *fn*'s annotations first (a TypeError naming
    the parameter, what it must be and why, with nothing changed)."""
    where = f"{fn.__qualname__}()"

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        sig = _signatures.get(fn) or _signature(fn)
        with kernel_lock:
            try:
                args, kwargs = sig.check(args, kwargs)
            except _Mismatch as e:
                raise TypeError(f"{where}: {e.where} must be {e.want}, got {_describe(e.value, e.want)}") from None
            return fn(*args, **kwargs)

    _ENTRY_POINTS[wrapper] = fn
    return cast(_F, wrapper)


def entry_point_body(fn: object) -> Callable[..., object] | None:
    """The function that entry point *fn* (or a wrapper of one) runs, its
    checks compiled, so that an annotation no checker understands fails here
    rather than at a first call; None if *fn* is not an entry point."""
    while fn is not None and fn not in _ENTRY_POINTS:
        fn = getattr(fn, "__wrapped__", None)
    if fn is None:
        return None
    body = _ENTRY_POINTS[fn]
    _signature(body)
    return body


def span(offset: int, length: int, size: int, what: str) -> None:
    """EINVAL unless bytes ``[offset, offset + length)`` lie inside *what*, of
    *size* bytes."""
    if offset < 0 or length < 0 or offset + length > size:
        raise err(errno.EINVAL, f"bytes [{offset}, {offset + length}) are outside {what} ({size} bytes)")


class Unique:
    """Base of the kernel objects (folios, MMs, VMAs, files, inodes) and,
    through ``NoPublicConstructor``, of every handle: there is one of each,
    so ``copy.copy``, ``copy.deepcopy`` and pickling are a TypeError. A copy
    would count, map or release what it stands for a second time (a copied
    pin batch unpins another holder's pins)."""

    __slots__ = ()

    def __reduce_ex__(self, protocol: object) -> Any:
        raise TypeError(f"{type(self).__name__} cannot be copied or pickled: it stands for one kernel "
                        "object or one holding of it, and a copy would count, map or release it twice")  # fmt: skip

    def __copy__(self) -> Any:
        return self.__reduce_ex__(None)

    def __deepcopy__(self, memo: object) -> Any:
        return self.__reduce_ex__(None)
