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


class NoPublicConstructor(ABCMeta):
    """Metaclass of the handles (pins, bvecs, kernel pages, sg tables):
    calling the class is a TypeError that names the factory (the class's
    ``_factory``); the factory builds one with ``cls._create(...)``. Every
    handle is ``Unique``: copying or pickling one is a TypeError."""

    _factory: str

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> Any:
        if not any(issubclass(b, Unique) for b in bases):
            bases = (*bases, Unique)
        return super().__new__(mcls, name, bases, namespace, **kwargs)

    def __call__(cls, *args: object, **kwargs: object) -> Any:
        raise TypeError(f"{cls.__name__} has no public constructor: {cls._factory}")

    def _create(cls: type[_T], *args: Any, **kwargs: Any) -> _T:
        return super().__call__(*args, **kwargs)  # type: ignore[misc, no-any-return]


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
