"""``current``: the MM that calls without an explicit one act on."""

from __future__ import annotations

import contextlib
import contextvars
import errno
from collections.abc import Generator
from typing import Final

from .errors import err
from .mmap import MM
from .validate import entry_point

__all__ = ["current_mm", "kthread_use_mm"]

_current_mm: Final[contextvars.ContextVar[MM | None]] = contextvars.ContextVar("current_mm", default=None)


@entry_point
def current_mm() -> MM:
    """``current->mm``; ESRCH outside ``kthread_use_mm()``."""
    mm = _current_mm.get()
    if mm is None:
        raise err(errno.ESRCH, "no current mm: run inside kthread_use_mm(mm)")
    return mm


@entry_point
@contextlib.contextmanager
def kthread_use_mm(mm: MM) -> Generator[MM]:
    """Run the block as a task whose ``current->mm`` is *mm*."""
    token = _current_mm.set(mm)
    try:
        yield mm
    finally:
        _current_mm.reset(token)
