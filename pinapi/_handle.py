"""Opaque handles: classes only their factory may instantiate, and the
sequence protocol the pin batches share."""

from __future__ import annotations

import warnings
from abc import ABCMeta, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar, overload

from ._mm.validate import Unique

__all__ = ["NoPublicConstructor", "HandleSequence"]

_T = TypeVar("_T")
_H = TypeVar("_H", covariant=True)


def _refuse_new(cls: type, *args: object, **kwargs: object) -> Any:
    raise TypeError(f"{cls.__name__} has no public constructor: {cls._factory}")  # type: ignore[attr-defined]


def _refuse_class_assignment(self: object, value: object) -> None:
    raise TypeError(f"a {type(self).__name__} cannot change its class: a handle is what its factory made")


class NoPublicConstructor(ABCMeta):
    """Metaclass of the handles (pins, bvecs, kernel pages, sg tables):
    calling the class or its ``__new__`` is a TypeError that names the
    factory (the class's ``_factory``); the factory builds one with
    ``cls._create(...)``. No handle can be forged another way: a handle class
    takes no subclass and no virtual subclass (``register()``), and an
    instance's ``__class__`` cannot be assigned. Every handle is ``Unique``:
    copying or pickling one is a TypeError."""

    _factory: str

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kwargs: Any) -> NoPublicConstructor:
        if any(isinstance(base, NoPublicConstructor) for base in bases):
            raise TypeError(f"{name}: a handle class cannot be subclassed: handles come only from their factory")
        if not any(issubclass(b, Unique) for b in bases):
            bases = (*bases, Unique)
        ns["__new__"] = _refuse_new
        ns["__class__"] = property(type, _refuse_class_assignment)
        return super().__new__(mcls, name, bases, ns, **kwargs)

    def __call__(cls, *args: object, **kwargs: object) -> Any:
        raise TypeError(f"{cls.__name__} has no public constructor: {cls._factory}")

    def register(cls, subclass: type[_T]) -> type[_T]:
        raise TypeError(f"{cls.__name__} takes no virtual subclasses: isinstance() of a handle cannot be forged")

    def _create(cls: type[_T], *args: Any, **kwargs: Any) -> _T:
        self = object.__new__(cls)
        cls.__init__(self, *args, **kwargs)
        return self


class HandleSequence(Sequence[_H]):
    """A batch of pins (``PinnedPages``, ``PinnedBvec``): a read-only
    sequence of element handles made on demand, a context manager that
    releases what is still pinned on exit, and a ResourceWarning when it is
    collected still pinned."""

    __slots__ = ()

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def _handle(self, i: int) -> _H:
        """A new handle for element *i* (in range)."""

    @property
    @abstractmethod
    def _nr_held(self) -> int:
        """How many base pages of the batch are still pinned."""

    @abstractmethod
    def _release(self) -> None:
        """Release every pin still live, without dirtying."""

    @overload
    def __getitem__(self, i: int) -> _H: ...
    @overload
    def __getitem__(self, i: slice) -> list[_H]: ...
    def __getitem__(self, i: int | slice) -> _H | list[_H]:
        if isinstance(i, slice):
            return [self._handle(j) for j in range(len(self))[i]]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"{type(self).__name__} index out of range")
        return self._handle(i)

    def __iter__(self) -> Iterator[_H]:
        return (self._handle(i) for i in range(len(self)))

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._nr_held:
            self._release()

    def __del__(self) -> None:
        try:
            held = self._nr_held
        except AttributeError:  # never initialised: its factory failed
            return
        if held:
            warnings.warn(f"{self!r} collected with {held} pages still pinned: the pins leak",
                          ResourceWarning, source=self)  # fmt: skip
