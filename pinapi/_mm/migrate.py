"""Reverse mapping and folio migration.

``rmap_walk`` finds every page-table entry mapping a folio: for anonymous
folios through the MMs of its ``AnonVma`` at the address ``folio.index``
records, for page-cache folios through the file's ``i_mmap``.
"""

from __future__ import annotations

import errno
from typing import Iterator

from ._errors import err
from ._fs import AddressSpace
from ._mm import MM, PMD_SHIFT, PTRS_PER_PTE, AnonVma
from ._page import PAGE_SHIFT, PG, Folio, Page, Zone, alloc_folio, folio_put, vmstat
from ._track import tracking

__all__ = ["rmap_walk", "migrate_folio", "folio_expected_refs"]


def rmap_walk(folio: Folio) -> Iterator[tuple[MM, int]]:
    """Every (mm, address) whose page table maps *folio* (huge: its base)."""
    mapping = folio.mapping
    candidates: list[tuple[MM, int]] = []
    if isinstance(mapping, AnonVma):
        candidates = [(mm, folio.index << PAGE_SHIFT) for mm in mapping.mms]
    elif isinstance(mapping, AddressSpace):
        for vma in mapping.i_mmap:
            addr = vma.vm_start + ((folio.index - vma.vm_pgoff) << PAGE_SHIFT)
            if vma.vm_start <= addr < vma.vm_end:
                candidates.append((vma.vm_mm, addr))
    for mm, addr in candidates:
        for a in range(addr, addr + folio.size, 1 << PAGE_SHIFT):
            page = mm.lookup(a)
            if page is not None and page.folio is folio:
                yield mm, a
                if type(mm.pgd.get(a >> PMD_SHIFT)) is Folio:
                    break


def folio_expected_refs(folio: Folio) -> int:
    """References a folio nobody else holds has: its mappings and the cache's."""
    return folio._mapcount + (1 if isinstance(folio.mapping, AddressSpace) else 0)


def migrate_folio(folio: Folio, zone: Zone) -> Folio:
    """Move *folio*'s data, mappings and cache slot to a new folio in *zone*;
    the old one is freed. EBUSY, with nothing changed, while anyone holds a
    reference beyond the mappings and the page cache (a pin, a GUP reference)."""
    if tracking.strategy.maybe_dma_pinned(folio) or folio._refcount != folio_expected_refs(folio):
        raise err(errno.EBUSY, f"cannot migrate {folio!r}: it holds extra references (pinned?)")
    new = alloc_folio(folio.order, zone)
    new.copy_data_from(folio)
    new.flags = folio.flags & ~PG.locked
    new.mapping = folio.mapping
    new.index = folio.index
    if isinstance(folio.mapping, AddressSpace):
        folio.mapping.pages[folio.index] = new
    for mm, addr in list(rmap_walk(folio)):
        idx = addr >> PMD_SHIFT
        entry = mm.pgd[idx]
        if type(entry) is Folio:
            for i in range(addr >> PMD_SHIFT, (addr + folio.size) >> PMD_SHIFT):
                mm.pgd[i] = new
        else:
            assert isinstance(entry, list)
            old = entry[(addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)]
            assert old is not None
            entry[(addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)] = Page(new, old.index)
    new._refcount = folio._refcount
    new._mapcount = folio._mapcount
    folio._mapcount = 0
    folio.mapping = None
    folio_put(folio, folio._refcount)
    vmstat.pgmigrate_success += 1
    return new
