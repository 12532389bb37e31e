"""Opaque handles: classes only their factory may instantiate."""

from __future__ import annotations

from abc import ABCMeta
from typing import Any, TypeVar

__all__ = ["NoPublicConstructor"]

_T = TypeVar("_T")


class NoPublicConstructor(ABCMeta):
    """Metaclass of the handles (pins, bvecs, kernel pages, sg tables):
    calling the class is a TypeError that names the factory (the class's
    ``_factory``); the factory builds one with ``cls._create(...)``."""

    _factory: str

    def __call__(cls, *args: object, **kwargs: object) -> Any:
        raise TypeError(f"{cls.__name__} has no public constructor: {cls._factory}")

    def _create(cls: type[_T], *args: Any, **kwargs: Any) -> _T:
        return super().__call__(*args, **kwargs)  # type: ignore[misc, no-any-return]
