"""The swap device (mm/swapfile.c): where reclaim writes anonymous pages.

A ``SwapEntry`` (``swp_entry_t``) is one slot holding one page's bytes and
its swap count, how many PTEs hold it: fork duplicates it, a zap or a
swap-in drops it, and the slot is freed with its last holder. The model has
no swap cache: every PTE that faults a slot in gets a folio of its own.
"""

from __future__ import annotations

from typing import Final, final

from .errors import KernelBug
from .page_alloc import vmstat

__all__ = ["SwapEntry", "SwapInfo", "swap_info", "alloc_swap_slot", "swap_duplicate", "swap_free"]


@final
class SwapEntry:
    """``swp_entry_t``: a slot, its page's bytes (None: zeroes) and its swap count."""

    __slots__ = ("data", "count")

    data: bytes | None
    count: int

    def __init__(self, data: bytes | None) -> None:
        self.data = data
        self.count = 1

    def __repr__(self) -> str:
        return f"<SwapEntry count={self.count}>"


class SwapInfo:
    """``struct swap_info_struct``: the one swap device, its slots in use."""

    inuse_pages = 0


swap_info: Final = SwapInfo()


def alloc_swap_slot(data: bytes | None) -> SwapEntry:
    """A new slot holding *data* for one PTE: ``folio_alloc_swap()`` and
    ``swap_writepage()`` of one page."""
    swap_info.inuse_pages += 1
    vmstat.pswpout += 1
    return SwapEntry(data)


def swap_duplicate(entry: SwapEntry) -> SwapEntry:
    """One more PTE holds *entry* (fork)."""
    entry.count += 1
    return entry


def swap_free(entry: SwapEntry) -> None:
    """A PTE no longer holds *entry*; its last frees the slot."""
    if entry.count <= 0:
        raise KernelBug(f"swap count underflow on {entry!r}")
    entry.count -= 1
    if not entry.count:
        entry.data = None
        swap_info.inuse_pages -= 1
