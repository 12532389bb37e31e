"""Page tables: the only code that reads or writes them.

Two levels, keyed as the kernel keys them: the PMD table maps
``addr >> PMD_SHIFT`` to either a PTE table (``PTRS_PER_PTE`` slots of
``Page | SwapEntry | None``) or a huge ``Folio`` mapped by the PMD (a 1 GiB
hugetlb folio fills ``PTRS_PER_PTE`` consecutive PMD slots). Every present
entry holds one folio reference and one ``_mapcount``; the zero page is
mapped without either. Callers hand in (``set_*``) or get back (``clear_*``)
that reference. A swap entry (not present) holds one swap count.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

from .page_alloc import (
    HPAGE_PMD_ORDER, PAGE_SHIFT, PAGE_SIZE, PG, PMD_SIZE, ZERO_FOLIO, Folio, Page, folio_get, folio_put,
    set_page_anon_exclusive,
)  # fmt: skip
from .swapfile import SwapEntry, swap_free

__all__ = ["PMD_SHIFT", "PTRS_PER_PTE", "PteTable", "PmdEntry", "PageTable", "pte_index", "pmd_end"]

PMD_SHIFT: Final = PAGE_SHIFT + HPAGE_PMD_ORDER
PTRS_PER_PTE: Final = 1 << HPAGE_PMD_ORDER

PteTable = list[Page | SwapEntry | None]
PmdEntry = Folio | PteTable | None


def pte_index(addr: int) -> int:
    """``pte_index()``: the slot of *addr* in its PTE table."""
    return (addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)


def pmd_end(addr: int) -> int:
    """``pmd_addr_end()`` without the clamp: where *addr*'s PMD ends."""
    return (addr | (PMD_SIZE - 1)) + 1


def _empty_pte_table() -> PteTable:
    return [None] * PTRS_PER_PTE


class PageTable:
    """One MM's page tables."""

    __slots__ = ("_pmds",)

    def __init__(self) -> None:
        self._pmds: dict[int, Folio | PteTable] = {}

    def pmd(self, addr: int) -> PmdEntry:
        """``pmd_offset()``: the entry covering *addr*: a huge folio, a PTE
        table, or None."""
        return self._pmds.get(addr >> PMD_SHIFT)

    def pmds(self) -> Mapping[int, Folio | PteTable]:
        """The PMD slots by ``addr >> PMD_SHIFT``, read-only: for walkers that
        read every page of a range at the cost of one lookup a page."""
        return self._pmds

    def lookup(self, addr: int) -> Page | None:
        """The page mapped at *addr* (no fault, no reference), or None."""
        entry = self._pmds.get(addr >> PMD_SHIFT)
        if entry is None:
            return None
        if type(entry) is Folio:
            return Page(entry, (addr & (entry.size - 1)) >> PAGE_SHIFT)
        assert isinstance(entry, list)
        page = entry[pte_index(addr)]
        return page if type(page) is Page else None

    def swap_entry(self, addr: int) -> SwapEntry | None:
        """The swap entry the PTE at *addr* holds, or None."""
        table = self._pmds.get(addr >> PMD_SHIFT)
        entry = table[pte_index(addr)] if type(table) is list else None
        return entry if type(entry) is SwapEntry else None

    def set_swap_pte(self, addr: int, entry: SwapEntry) -> None:
        """Make the PTE at *addr* hold *entry*; the caller hands over one swap
        count. A page mapped there is unmapped and its reference dropped
        (``try_to_unmap_one()`` for swap)."""
        self.zap_pte_range(addr, addr + PAGE_SIZE)
        self.pte_table(addr)[pte_index(addr)] = entry

    def pte_table(self, addr: int) -> PteTable:
        """``pte_alloc()``: the PTE table covering *addr*, made if absent.
        Only this module writes its slots."""
        idx = addr >> PMD_SHIFT
        table = self._pmds.get(idx)
        if table is None:
            table = self._pmds[idx] = _empty_pte_table()
        assert isinstance(table, list)
        return table

    def set_pte(self, addr: int, page: Page) -> None:
        """``set_pte_at()``: map *page*; the caller hands over one reference."""
        self.pte_table(addr)[pte_index(addr)] = page
        if page.folio is not ZERO_FOLIO:
            page.folio.mapcount_add(1)

    def zap_pte_range(self, addr: int, end: int) -> None:
        """``zap_pte_range()``: clear the PTEs of ``[addr, end)``, within one
        PTE table, dropping each entry's reference; a table left empty is
        freed."""
        idx = addr >> PMD_SHIFT
        table = self._pmds.get(idx)
        if not isinstance(table, list):
            return
        for i in range(pte_index(addr), pte_index(addr) + ((end - addr) >> PAGE_SHIFT)):
            page = table[i]
            if page is None:
                continue
            table[i] = None
            if type(page) is SwapEntry:
                swap_free(page)
                continue
            assert type(page) is Page
            folio = page.folio
            if folio is not ZERO_FOLIO:
                folio.mapcount_add(-1)
                folio_put(folio)
        if not any(table):
            del self._pmds[idx]

    def set_huge(self, addr: int, folio: Folio) -> None:
        """``set_pmd_at()``: map a huge folio at its aligned base; the caller
        hands over one reference."""
        base = addr & ~(folio.size - 1)
        for idx in range(base >> PMD_SHIFT, (base + folio.size) >> PMD_SHIFT):
            assert idx not in self._pmds
            self._pmds[idx] = folio
        folio.mapcount_add(1)

    def clear_huge(self, addr: int, folio: Folio) -> None:
        """``pmdp_huge_clear()``: unmap the huge *folio* and drop its entry's
        reference."""
        base = addr & ~(folio.size - 1)
        for idx in range(base >> PMD_SHIFT, (base + folio.size) >> PMD_SHIFT):
            del self._pmds[idx]
        folio.mapcount_add(-1)
        folio_put(folio)

    def split_huge_pmd(self, addr: int, folio: Folio) -> None:
        """``split_huge_pmd()``: map a PMD-mapped THP by ``PTRS_PER_PTE`` PTEs
        instead; the folio stays large, each PTE holds a reference, and each
        page is PageAnonExclusive() if the head page was."""
        idx = addr >> PMD_SHIFT
        del self._pmds[idx]
        pages = [Page(folio, i) for i in range(PTRS_PER_PTE)]
        if folio.flags & PG.anon_exclusive:
            folio.flags &= ~PG.anon_exclusive
            for page in pages:
                set_page_anon_exclusive(page, True)
        self._pmds[idx] = list[Page | SwapEntry | None](pages)
        folio.mapcount_add(PTRS_PER_PTE - 1)
        folio_get(folio, PTRS_PER_PTE - 1)

    def replace(self, addr: int, old: Folio, new: Folio) -> None:
        """``remove_migration_pte()``: the entry mapping *old* at *addr* (its
        base if huge) maps the same page of *new*; counts move with the caller."""
        entry = self._pmds[addr >> PMD_SHIFT]
        if type(entry) is Folio:
            for idx in range(addr >> PMD_SHIFT, (addr + old.size) >> PMD_SHIFT):
                self._pmds[idx] = new
            return
        assert isinstance(entry, list)
        page = entry[pte_index(addr)]
        assert type(page) is Page and page.folio is old
        entry[pte_index(addr)] = Page(new, page.index)

    def move_range(self, old: int, new: int, length: int) -> None:
        """``move_page_tables()``: the entries of ``[old, old + length)`` move
        to *new*, their references, mapcounts and swap counts with them. A
        huge entry moves whole where it lies wholly inside and both
        addresses are aligned to it; a THP that does not is split first."""
        done = 0
        while done < length:
            src, dst = old + done, new + done
            entry = self._pmds.get(src >> PMD_SHIFT)
            if type(entry) is Folio:
                size = entry.size
                if not (src | dst) & (size - 1) and done + size <= length:
                    for i in range(0, size, PMD_SIZE):
                        assert (dst + i) >> PMD_SHIFT not in self._pmds
                        self._pmds[(dst + i) >> PMD_SHIFT] = self._pmds.pop((src + i) >> PMD_SHIFT)
                    done += size
                    continue
                self.split_huge_pmd(src, entry)
            table = self._pmds.get(src >> PMD_SHIFT)
            if isinstance(table, list) and table[pte_index(src)] is not None:
                self.pte_table(dst)[pte_index(dst)] = table[pte_index(src)]
                table[pte_index(src)] = None
                if not any(table):
                    del self._pmds[src >> PMD_SHIFT]
            done += PAGE_SIZE

    def remap_pte(self, addr: int, page: Page) -> None:
        """The PTE at *addr* maps *page* instead; the caller moves the
        reference and the mapcount."""
        table = self._pmds[addr >> PMD_SHIFT]
        assert isinstance(table, list) and type(table[pte_index(addr)]) is Page
        table[pte_index(addr)] = page

    def is_huge(self, addr: int) -> bool:
        """A PMD maps *addr*."""
        return type(self._pmds.get(addr >> PMD_SHIFT)) is Folio

    def mapped(self) -> Iterator[tuple[int, Page]]:
        """Every (address, page) mapped, in address order."""
        for idx in sorted(self._pmds):
            entry = self._pmds[idx]
            if type(entry) is Folio:
                base = (idx << PMD_SHIFT) & ~(entry.size - 1)
                for a in range(idx << PMD_SHIFT, (idx + 1) << PMD_SHIFT, PAGE_SIZE):
                    yield a, Page(entry, (a - base) >> PAGE_SHIFT)
            else:
                assert isinstance(entry, list)
                for i, page in enumerate(entry):
                    if type(page) is Page:
                        yield (idx << PMD_SHIFT) + (i << PAGE_SHIFT), page

    def entries(self) -> Iterator[tuple[int, Folio | Page]]:
        """Every entry once, in address order: (base, folio) for a huge
        mapping, (address, page) for a PTE."""
        seen: Folio | None = None
        for idx in sorted(self._pmds):
            entry = self._pmds[idx]
            if type(entry) is Folio:
                if entry is not seen:
                    seen = entry
                    yield (idx << PMD_SHIFT) & ~(entry.size - 1), entry
            else:
                assert isinstance(entry, list)
                for i, page in enumerate(entry):
                    if type(page) is Page:
                        yield (idx << PMD_SHIFT) + (i << PAGE_SHIFT), page
