"""Reverse mapping: which page-table entries map a folio, and how many
references a folio nobody else holds has.

``rmap_walk`` visits anonymous folios through the MMs of their ``AnonVma``
at the address ``folio.index`` records, page-cache folios through the file's
``i_mmap``.
"""

from __future__ import annotations

from collections.abc import Iterator

from .filemap import AddressSpace
from .mm_types import AnonVma, MMStruct
from .page_alloc import PAGE_SHIFT, Folio

__all__ = ["rmap_walk", "folio_expected_refs"]


def rmap_walk(folio: Folio) -> Iterator[tuple[MMStruct, int]]:
    """Every (mm, address) whose page table maps *folio* (huge: its base)."""
    mapping = folio.mapping
    candidates: list[tuple[MMStruct, int]] = []
    if isinstance(mapping, AnonVma):
        candidates = [(mm, folio.index << PAGE_SHIFT) for mm in mapping.mms]
    elif isinstance(mapping, AddressSpace):
        for vma in mapping.i_mmap:
            addr = vma.vm_start + ((folio.index - vma.vm_pgoff) << PAGE_SHIFT)
            if vma.vm_start <= addr < vma.vm_end:
                candidates.append((vma.vm_mm, addr))
    for mm, addr in candidates:
        for a in range(addr, addr + folio.size, 1 << PAGE_SHIFT):
            page = mm.pgtable.lookup(a)
            if page is not None and page.folio is folio:
                yield mm, a
                if mm.pgtable.is_huge(a):
                    break


def folio_expected_refs(folio: Folio) -> int:
    """References a folio nobody else holds has: its mappings and the cache's."""
    return folio.mapcount() + (1 if isinstance(folio.mapping, AddressSpace) else 0)
