"""Reclaim of page-cache folios, aware of pins: ``reclaim(inode)`` frees what
it can of a file's clean cache (``shrink_folio_list()``: unmap through rmap,
release buffers, remove the folio if nobody else holds it). A pinned folio is
left alone: not unmapped, buffers kept, not freed, so its buffers are never
stripped under a device. A ``get_user_pages()`` reference is invisible here:
such a folio is unmapped and stripped, and stays cached only because of it.
"""

from __future__ import annotations

from .fs import Inode
from .memory import zap_page_range
from .page_alloc import PG, kernel_lock
from .pin_tracking import tracking
from .rmap import folio_expected_refs, rmap_walk
from .validate import entry_point

__all__ = ["reclaim"]


@entry_point
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
                zap_page_range(mm, addr, addr + folio.size)
            folio.flags &= ~PG.private  # try_to_free_buffers(): clean buffers go
            if folio.refcount() == folio_expected_refs(folio):  # only the cache's: __remove_mapping()
                inode.mapping.delete_folio(folio)
                freed += 1
        return freed
