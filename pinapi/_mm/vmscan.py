"""Reclaim, aware of pins: ``reclaim(inode)`` frees what it can of a file's
clean cache (``shrink_folio_list()``: unmap through rmap, release buffers,
remove the folio if nobody else holds it). A pinned folio is left alone: not
unmapped, buffers kept, not freed, so its buffers are never stripped under a
device. A ``get_user_pages()`` reference is invisible here: such a folio is
unmapped and stripped, and stays cached only because of it. ``pageout``
(MADV_PAGEOUT) writes anonymous folios to the swap device.
"""

from __future__ import annotations

from .fs import Inode
from .huge_memory import split_folio
from .memory import zap_page_range
from .mm_types import MMStruct
from .page_alloc import PAGE_SIZE, PG, Folio, Page, kernel_lock, page_read
from .pgtable import pmd_end
from .pin_tracking import tracking
from .rmap import folio_expected_refs, rmap_walk
from .swapfile import alloc_swap_slot
from .validate import entry_point

__all__ = ["reclaim", "pageout"]


@entry_point
def reclaim(inode: Inode) -> int:
    """Reclaim *inode*'s clean page cache; returns how many folios were
    freed. Dirty, under-writeback and pinned folios are kept whole. Others are
    unmapped from every process and their buffers released; one still
    referenced (a ``get_user_pages()`` reference) stays cached, unmapped and
    without buffers. Only a filesystem with a backing store can drop pages
    (anonymous memory goes to swap through ``pageout``)."""
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


def _may_swap(folio: Folio, mappings: int) -> bool:
    """An anonymous folio mapped *mappings* times, all here, that nobody
    else holds and that is not maybe pinned (``shrink_folio_list()`` keeps a
    maybe-pinned folio)."""
    return (
        folio.flags & (PG.anon | PG.hugetlb) == PG.anon
        and folio.mapcount() == mappings == folio.refcount()
        and not tracking.strategy.maybe_dma_pinned(folio)
    )


def pageout(mm: MMStruct, start: int, end: int) -> int:
    """MADV_PAGEOUT of ``[start, end)`` (``madvise_cold_or_pageout_pte_range()``
    and ``shrink_folio_list()``): every anonymous folio mapped only in *mm*
    and only there goes to the swap device, a slot per page; its PTEs hold
    the slots and the folio is freed. A PMD-mapped THP is mapped by PTEs
    first; a large folio partly outside the range is split first
    (``split_folio()``) and its pages inside go out. Stays: a maybe-pinned
    folio, and one something else holds a reference to (the kernel keeps it
    in its swap cache, which the model has not). Returns the pages
    written."""
    pt = mm.pgtable
    out = 0
    unsplit: set[Folio] = set()
    addr = start
    while addr < end:
        entry = pt.pmd(addr)
        if type(entry) is Folio:
            base = addr & ~(entry.size - 1)
            whole = base >= start and base + entry.size <= end
            if not _may_swap(entry, 1):
                addr = base + entry.size
                continue
            pt.split_huge_pmd(addr, entry)
            if not whole:
                split_folio(entry)
        if entry is None:
            addr = pmd_end(addr)
            continue
        page = pt.lookup(addr)
        if page is None:
            addr += PAGE_SIZE
            continue
        folio = page.folio
        span = [addr + (i - page.index) * PAGE_SIZE for i in range(folio.nr_pages)]
        if folio.order and not (span[0] >= start and span[-1] < end and all(
                pt.lookup(a) == Page(folio, i) for i, a in enumerate(span))):  # fmt: skip
            if folio not in unsplit and all(m is mm for m, _ in rmap_walk(folio)) and split_folio(folio):
                continue  # the small folio now at addr goes out on its own
            unsplit.add(folio)
            addr += PAGE_SIZE
            continue
        if _may_swap(folio, folio.nr_pages):
            data = [page_read(Page(folio, i)) for i in range(folio.nr_pages)]
            for a, d in zip(span, data):
                pt.set_swap_pte(a, alloc_swap_slot(d if d.strip(b"\0") else None))
            out += folio.nr_pages
        addr = span[-1] + PAGE_SIZE if addr == span[0] else addr + PAGE_SIZE
    return out
