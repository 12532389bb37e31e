"""Errors and warnings: the model's -errno returns, BUG()s and WARN()s."""

from __future__ import annotations

import errno as _errno

__all__ = [
    "KernelError",
    "KernelBug",
    "PinWarning",
    "PinnedPagePutWarning",
    "err",
]


class KernelError(OSError):
    """A call the kernel would fail with -errno; ``.errno`` is that errno and the
    message names the rule that was broken. No pin, reference, ledger record,
    mapping or byte was changed (docs/design.md, "The refused-call contract")."""


class KernelBug(AssertionError):
    """A state the kernel would BUG() on (a count below zero, a freed folio used)."""


class PinWarning(RuntimeWarning):
    """A WARN() from the pin machinery."""


class PinnedPagePutWarning(PinWarning):
    """Debug mode: ``put_page()`` dropped a reference that a live pin owns."""


def err(code: int, rule: str) -> KernelError:
    """Build the exception for ``-code`` with a message naming *rule*."""
    return KernelError(code, f"{_errno.errorcode[code]}: {rule}")
