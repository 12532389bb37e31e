"""Writeback of page-cache folios, aware of pins.

``writeback(inode)`` writes every dirty folio of a file to its filesystem's
backing store (``filemap_write_and_wait()``); ``sync_filesystem(fs)`` does it
for every file. A pinned folio (``folio_maybe_dma_pinned()``), the special
handling of step 4, gets a stable copy (a bounce buffer) written and stays
dirty, buffers attached: the device may still be writing it, so the copy on
disk is not the folio's final state. Writeback after the unpin writes the
device's last bytes. Legacy ``get_user_pages()`` references are invisible to
it (the race of LWN 774411): such a page is cleaned, and reclaim (``vmscan``)
may strip its buffers, so the ``set_page_dirty_lock()`` on release dirties a
page without buffers.
"""

from __future__ import annotations

from .fs import FileSystem, Inode
from .page_alloc import PG, Folio, kernel_lock
from .pin_tracking import tracking
from .validate import entry_point

__all__ = ["folio_writeback", "writeback", "sync_filesystem"]


def folio_writeback(inode: Inode, folio: Folio) -> None:
    """Write one dirty folio. Unpinned: ``folio_clear_dirty_for_io()`` (the
    next write through a mapping faults to ``page_mkwrite`` again), then write
    it. Pinned: write a bounce copy and keep it dirty."""
    pinned = tracking.strategy.maybe_dma_pinned(folio)
    folio.flags |= PG.writeback
    if not pinned:
        folio.flags &= ~PG.dirty
    try:
        inode.fs.writepage(inode, folio, folio.read(0, folio.size))
    finally:
        folio.flags &= ~PG.writeback


@entry_point
def writeback(inode: Inode) -> int:
    """``filemap_write_and_wait()``: write every dirty folio of *inode*, in
    index order; returns how many were written. A filesystem without a
    backing store (tmpfs, hugetlbfs, fsdax) has nothing to write."""
    with kernel_lock:
        if not inode.fs.dirty_tracking:
            return 0
        dirty = [f for _, f in sorted(inode.mapping.pages.items()) if f.flags & PG.dirty]
        for folio in dirty:
            folio_writeback(inode, folio)
        return len(dirty)


@entry_point
def sync_filesystem(fs: FileSystem) -> int:
    """``sync_filesystem()``: write back every file of *fs*."""
    with kernel_lock:
        return sum(writeback(inode) for inode in fs.inodes)
