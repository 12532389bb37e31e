"""Writeback and reclaim of page-cache folios, aware of pins.

``writeback(inode)`` writes every dirty folio of a file to its filesystem's
backing store (``filemap_write_and_wait()``); ``sync_filesystem(fs)`` does it
for every file; ``reclaim(inode)`` frees what it can of a file's clean cache
(``shrink_folio_list()``: unmap through rmap, release buffers, remove the folio
if nobody else holds it).

Pinned folios (``folio_maybe_dma_pinned()``), the special handling of step 4:

- writeback writes a stable copy (a bounce buffer) of a pinned folio and
  leaves the folio dirty, buffers attached: the device may still be writing
  it, so the copy on disk is not the folio's final state;
- reclaim leaves a pinned folio alone: not unmapped, buffers kept, not freed.

So a pinned page is never clean while pinned, and its buffers are never
stripped under it; writeback after the unpin writes the device's last bytes.
Legacy ``get_user_pages()`` references are invisible to both (that is the
race of LWN 774411): such a page is cleaned, unmapped and stripped, and the
``set_page_dirty_lock()`` on release dirties a page without buffers.
"""

from __future__ import annotations

from ._fs import FileSystem, Inode
from ._migrate import folio_expected_refs, rmap_walk
from ._page import PG, Folio, kernel_lock
from ._track import tracking

__all__ = ["folio_writeback", "writeback", "sync_filesystem", "reclaim"]


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


def sync_filesystem(fs: FileSystem) -> int:
    """``sync_filesystem()``: write back every file of *fs*."""
    with kernel_lock:
        return sum(writeback(inode) for inode in fs.inodes)


def reclaim(inode: Inode) -> int:
    """Reclaim *inode*'s clean page cache; returns how many folios were
    freed. Dirty, under-writeback and pinned folios are kept whole. Others are
    unmapped from every process and their buffers released; one still
    referenced (a ``get_user_pages()`` reference) stays cached, unmapped and
    without buffers. Only a filesystem with a backing store can drop pages
    (there is no swap in the model)."""
    with kernel_lock:
        if not inode.fs.dirty_tracking:
            return 0
        freed = 0
        for _, folio in sorted(inode.mapping.pages.items()):
            if folio.flags & (PG.dirty | PG.writeback) or tracking.strategy.maybe_dma_pinned(folio):
                continue
            for mm, addr in list(rmap_walk(folio)):
                mm._zap_range(addr, addr + folio.size)
            folio.flags &= ~PG.private  # try_to_free_buffers(): clean buffers go
            if folio.refcount() == folio_expected_refs(folio):  # only the cache's: __remove_mapping()
                inode.mapping.delete_folio(folio)
                freed += 1
        return freed
