"""Splitting a large folio into small ones (mm/huge_memory.c)."""

from __future__ import annotations

from .page_alloc import PG, Folio, Page, folio_put, split_off
from .pin_tracking import tracking
from .rmap import rmap_walk

__all__ = ["split_folio"]


def split_folio(folio: Folio) -> bool:
    """``split_folio()`` of an anonymous large folio mapped by PTEs that
    nothing holds but its mappings (``can_split_folio()``: a pin or a GUP
    reference is one more): each mapped page becomes a small folio of its
    own (``split_off``), mapped where it was; the rest is freed. False, and
    nothing changed, when it cannot be split."""
    if (folio.flags & (PG.anon | PG.hugetlb) != PG.anon or not folio.order
            or folio.refcount() != folio.mapcount() or tracking.strategy.maybe_dma_pinned(folio)):  # fmt: skip
        return False
    mappings = list(rmap_walk(folio))
    if len(mappings) != folio.mapcount() or any(mm.pgtable.is_huge(addr) for mm, addr in mappings):
        return False
    small: dict[int, Folio] = {}
    for mm, addr in mappings:
        page = mm.pgtable.lookup(addr)
        assert page is not None
        new = small.get(page.index)
        if new is None:
            new = small[page.index] = split_off(folio, page.index)
        mm.pgtable.remap_pte(addr, Page(new, 0))
        folio.move_mapping_to(new)
        folio_put(folio)
    return True
