"""Reverse mapping: which page-table entries map a folio, and how many
references a folio nobody else holds has.

``rmap_walk`` finds a folio's mappings from ``folio.index``, its linear
page index (``linear_page_index()``), in the VMAs that may map it: an
anonymous folio's in the private VMAs of the MMs of its ``AnonVma``, a
page-cache folio's in the file's ``i_mmap``. An anonymous VMA's
``vm_pgoff`` is its start address in pages, kept when mremap moves it.
"""

from __future__ import annotations

from collections.abc import Iterator

from .filemap import AddressSpace
from .mm_types import VMA, AnonVma, MMStruct
from .page_alloc import PAGE_SHIFT, Folio

__all__ = ["rmap_walk", "folio_expected_refs"]


def rmap_walk(folio: Folio) -> Iterator[tuple[MMStruct, int]]:
    """Every (mm, address) whose page table maps a page of *folio*; a huge
    mapping once, at its base."""
    mapping = folio.mapping
    vmas: list[VMA] = []
    if isinstance(mapping, AnonVma):
        vmas = [vma for mm in mapping.mms for vma in mm.vmas if not vma.is_shared]
    elif isinstance(mapping, AddressSpace):
        vmas = list(mapping.i_mmap)
    for vma in vmas:
        pt = vma.vm_mm.pgtable
        first = max(folio.index, vma.vm_pgoff)
        last = min(folio.index + folio.nr_pages, vma.linear_index(vma.vm_end))
        for index in range(first, last):
            addr = vma.vm_start + ((index - vma.vm_pgoff) << PAGE_SHIFT)
            page = pt.lookup(addr)
            if page is not None and page.folio is folio:
                yield vma.vm_mm, addr
                if pt.is_huge(addr):
                    break


def folio_expected_refs(folio: Folio) -> int:
    """References a folio nobody else holds has: its mappings and the cache's."""
    return folio.mapcount() + (1 if isinstance(folio.mapping, AddressSpace) else 0)
