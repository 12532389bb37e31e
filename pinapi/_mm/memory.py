"""Faults, copy-on-write, zapping and user access: what mm/memory.c does.

``handle_mm_fault`` makes an address present (anonymous pages, the zero page,
page-cache pages, THP and hugetlb), writable and, for a pin of a shared
anonymous page, exclusive (unshare); ``zap_page_range`` and
``unmap_mapping_range`` remove mappings; ``copy_page_range`` is fork's copy
of a VMA's page tables; ``access_vm`` is the process's own loads and stores.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .errors import KernelBug, err
from .mm_types import TASK_SIZE, VM, VMA, MMStruct
from .page_alloc import (
    HPAGE_PMD_ORDER, PAGE_SHIFT, PAGE_SIZE, PG, ZERO_FOLIO, Folio, Page, alloc_folio, folio_get,
    page_anon_exclusive, page_flags, page_read, page_write, set_page_anon_exclusive, vmstat,
)  # fmt: skip
from .pgtable import pmd_end, pte_index
from .pin_tracking import tracking
from .swapfile import SwapEntry, swap_duplicate

if TYPE_CHECKING:  # struct address_space is declared here, defined with the page cache above
    from .filemap import AddressSpace

__all__ = [
    "handle_mm_fault", "zap_page_range", "unmap_mapping_range", "copy_page_range", "access_vm",
]  # fmt: skip


def zap_page_range(mm: MMStruct, start: int, end: int) -> None:
    """``zap_page_range_single()``: unmap ``[start, end)``, dropping each
    entry's reference; a huge mapping only partly inside is split first."""
    pt = mm.pgtable
    addr = start
    while addr < end:
        entry = pt.pmd(addr)
        next_pmd = pmd_end(addr)
        if type(entry) is Folio:
            base = addr & ~(entry.size - 1)
            if base >= start and base + entry.size <= end:
                pt.clear_huge(addr, entry)
                addr = base + entry.size
                continue
            pt.split_huge_pmd(addr, entry)
        pt.zap_pte_range(addr, min(end, next_pmd))
        addr = next_pmd


def unmap_mapping_range(mapping: AddressSpace, first: int, last: int, even_cows: bool) -> None:
    """Zap every page-table entry mapping file pages ``[first, last)``;
    private copies too if *even_cows* (truncate), swapped out or not, but
    not for a hole punch."""
    for vma in list(mapping.i_mmap):
        step = 1 << vma.huge_order
        lo = max(first, vma.vm_pgoff)
        hi = min(last, vma.linear_index(vma.vm_end))
        mm = vma.vm_mm
        for index in range(lo, hi, step):
            addr = vma.vm_start + ((index - vma.vm_pgoff) << PAGE_SHIFT)
            page = mm.pgtable.lookup(addr)
            if (even_cows and mm.pgtable.swap_entry(addr) is not None
                    or page is not None and (even_cows or page.folio.mapping is mapping)):  # fmt: skip
                zap_page_range(mm, addr, addr + (PAGE_SIZE << vma.huge_order))


# -- fork ---------------------------------------------------------------------
def _needs_cow_for_dma(mm: MMStruct, folio: Folio) -> bool:
    """``folio_needs_cow_for_dma()``: the MM has pinned and the folio is
    maybe pinned."""
    return mm.has_pinned and tracking.strategy.maybe_dma_pinned(folio)


def copy_page_range(mm: MMStruct, child: MMStruct, vma: VMA) -> None:
    """``copy_page_range()``: map *vma*'s pages into *child*. An anonymous
    page the parent may have pinned (exclusive and maybe pinned) is copied
    for the child at once; other anonymous pages become shared, exclusive
    to neither. A maybe-pinned THP is split and copied page by page
    (``copy_huge_pmd()``); a hugetlb folio is copied whole."""
    pt, child_pt = mm.pgtable, child.pgtable
    addr = vma.vm_start
    while addr < vma.vm_end:
        entry = pt.pmd(addr)
        next_pmd = pmd_end(addr)
        if type(entry) is Folio:
            base = addr & ~(entry.size - 1)
            pinned = not vma.is_shared and entry.flags & PG.anon_exclusive and _needs_cow_for_dma(mm, entry)
            if not pinned or entry.flags & PG.hugetlb:
                if pinned:
                    entry = _cow_copy(child, vma, base, entry)
                else:
                    entry.flags &= ~PG.anon_exclusive
                    folio_get(entry)
                child_pt.set_huge(base, entry)
                addr = base + entry.size
                continue
            pt.split_huge_pmd(addr, entry)
            entry = pt.pmd(addr)
        if isinstance(entry, list):
            for a in range(addr, min(vma.vm_end, next_pmd), PAGE_SIZE):
                page = entry[pte_index(a)]
                if type(page) is SwapEntry:  # copy_nonpresent_pte()
                    child_pt.set_swap_pte(a, swap_duplicate(page))
                elif type(page) is Page:
                    child_pt.set_pte(a, _copy_present_pte(mm, child, vma, a, page))
        addr = next_pmd


def _copy_present_pte(mm: MMStruct, child: MMStruct, vma: VMA, addr: int, page: Page) -> Page:
    """``copy_present_pte()``: what *child* maps at *addr* for *page*,
    holding the reference its entry needs."""
    folio = page.folio
    if folio is ZERO_FOLIO:
        return page
    if folio.flags & PG.anon:
        if page_anon_exclusive(page) and _needs_cow_for_dma(mm, folio):
            return _copy_page(child, vma, addr, page)  # copy_present_page()
        set_page_anon_exclusive(page, False)
    folio_get(folio)
    return page


# -- faults -------------------------------------------------------------------
def _new_anon_folio(mm: MMStruct, vma: VMA, addr: int, order: int) -> Folio:
    folio = alloc_folio(order)
    folio.flags |= PG.anon | PG.anon_exclusive
    folio.mapping = mm.anon_vma
    folio.index = vma.linear_index(addr & ~((PAGE_SIZE << order) - 1))
    return folio


def _copy_page(mm: MMStruct, vma: VMA, addr: int, page: Page) -> Page:
    """A new exclusive anonymous page holding *page*'s bytes (the zero
    page's: none)."""
    new = Page(_new_anon_folio(mm, vma, addr, 0), 0)
    if page.folio is not ZERO_FOLIO:
        page_write(new, 0, page_read(page))
    vmstat.cow_fault += 1
    return new


def _cow_copy(mm: MMStruct, vma: VMA, addr: int, src: Folio) -> Folio:
    """A new exclusive anonymous copy of the whole huge folio *src*."""
    new = _new_anon_folio(mm, vma, addr, src.order)
    new.copy_data_from(src)
    new.flags |= src.flags & PG.hugetlb
    vmstat.cow_fault += 1
    return new


def handle_mm_fault(mm: MMStruct, vma: VMA, addr: int, write: bool, unshare: bool = False) -> None:
    """Make *addr* present, writable if *write*, and anon-exclusive if
    *unshare* (FAULT_FLAG_UNSHARE, for a pin without FOLL_WRITE). Raises
    EFAULT (SIGBUS) past the end of a file."""
    vmstat.pgfault += 1
    if addr >= vma.file_end():
        raise err(errno.EFAULT, "SIGBUS: fault beyond end of file")
    pt = mm.pgtable
    entry = pt.pmd(addr)
    if vma.huge_order or type(entry) is Folio:
        if _huge_fault(mm, vma, addr, entry if type(entry) is Folio else None, write, unshare):
            return
    elif entry is None and write and vma.thp_allowed(addr):
        vmstat.thp_fault_alloc += 1
        pt.set_huge(addr, _new_anon_folio(mm, vma, addr, HPAGE_PMD_ORDER))
        return
    page = pt.lookup(addr)
    swapped = pt.swap_entry(addr) if page is None else None
    if swapped is not None:
        page = _do_swap_page(mm, vma, addr, swapped)
    elif page is None:
        if vma.vm_file is None:
            pt.set_pte(addr, Page(_new_anon_folio(mm, vma, addr, 0), 0) if write else Page(ZERO_FOLIO, 0))
            return
        cached = vma.vm_file.inode.mapping.get_folio(vma.linear_index(addr))
        if write and not vma.is_shared:
            pt.set_pte(addr, _copy_page(mm, vma, addr, Page(cached, 0)))  # do_cow_fault()
            return
        folio_get(cached)
        pt.set_pte(addr, Page(cached, 0))
        if write:
            vma.vm_file.inode.fs.page_mkwrite(vma.vm_file.inode, cached)
        return
    mask, bad = vma.fault_condition(write, unshare, True)  # FAULT_FLAG_UNSHARE: whatever is not exclusive
    if page_flags(page) & mask != bad:
        return
    if vma.is_shared:
        assert vma.vm_file is not None
        vma.vm_file.inode.fs.page_mkwrite(vma.vm_file.inode, page.folio)
        return
    _wp_page(mm, vma, addr, page)


def _do_swap_page(mm: MMStruct, vma: VMA, addr: int, entry: SwapEntry) -> Page:
    """``do_swap_page()``: read the slot into a new page and map it in its
    place, exclusive unless another PTE still holds the slot (a process
    forked while it was out); the fault goes on as for a present page."""
    page = Page(_new_anon_folio(mm, vma, addr, 0), 0)
    if entry.data is not None:
        page_write(page, 0, entry.data)
    set_page_anon_exclusive(page, entry.count == 1)
    mm.pgtable.zap_pte_range(addr, addr + PAGE_SIZE)  # swap_free()
    mm.pgtable.set_pte(addr, page)
    vmstat.pswpin += 1
    return page


def _wp_page(mm: MMStruct, vma: VMA, addr: int, page: Page) -> None:
    """``do_wp_page()``: reuse an anonymous page that is exclusive, or a
    small one only we hold; otherwise ``wp_page_copy()`` copies the faulting
    page and maps the copy in its place. A large folio is never reused."""
    folio = page.folio
    if folio.flags & PG.anon and (page_anon_exclusive(page) or not folio.order and folio.refcount() == 1):
        set_page_anon_exclusive(page, True)
        return
    new = _copy_page(mm, vma, addr, page)
    mm.pgtable.zap_pte_range(addr, addr + PAGE_SIZE)
    mm.pgtable.set_pte(addr, new)


def _huge_fault(mm: MMStruct, vma: VMA, addr: int, folio: Folio | None, write: bool, unshare: bool) -> bool:
    """The fault at a huge entry; False when the THP there was split for
    the PTE fault path to take over (``do_huge_pmd_wp_page()``'s
    fallback)."""
    pt = mm.pgtable
    order = vma.huge_order or HPAGE_PMD_ORDER
    if folio is None:
        if vma.vm_file is not None:
            index = vma.linear_index(addr & ~((PAGE_SIZE << order) - 1))
            cached = vma.vm_file.inode.mapping.get_folio(index)
            if cached.order != order:
                raise KernelBug(f"hugetlb file page of order {cached.order}")
            if write and not vma.is_shared:
                pt.set_huge(addr, _cow_copy(mm, vma, addr, cached))
                return True
            folio_get(cached)
            pt.set_huge(addr, cached)
            return True
        new = _new_anon_folio(mm, vma, addr, order)
        new.flags |= PG.hugetlb
        pt.set_huge(addr, new)
        return True
    mask, bad = vma.fault_condition(write, unshare, True)
    if folio.flags & mask != bad or vma.is_shared:
        return True
    if folio.flags & PG.hugetlb:  # hugetlb_wp(): the mapcount decides, not the references
        if folio.flags & PG.anon and folio.mapcount() == 1:
            folio.flags |= PG.anon_exclusive
            return True
        new = _cow_copy(mm, vma, addr, folio)
        pt.clear_huge(addr, folio)
        pt.set_huge(addr, new)
        return True
    if folio.refcount() == 1:  # do_huge_pmd_wp_page(): only the PMD's reference
        folio.flags |= PG.anon_exclusive
        return True
    pt.split_huge_pmd(addr, folio)
    return False


def _fault_in(mm: MMStruct, vma: VMA, addr: int, write: bool) -> Page:
    """The page at *addr*, after a fault if it is absent or not yet
    writable for *write*."""
    mask, bad = vma.fault_condition(write, False)
    page = mm.pgtable.lookup(addr)
    if page is None or page_flags(page) & mask == bad:
        handle_mm_fault(mm, vma, addr, write)
        page = mm.pgtable.lookup(addr)
        assert page is not None
    return page


# -- user access --------------------------------------------------------------
def access_vm(mm: MMStruct, addr: int, length: int, write: bool) -> Iterator[tuple[Page, int, int]]:
    """The process's loads (or stores, if *write*) of ``[addr, addr +
    length)``: check the whole range first, then fault page by page. Yields
    (page, offset in page, bytes)."""
    mm.check_live()
    if length < 0 or addr < 0 or addr + length > TASK_SIZE:
        raise err(errno.EFAULT, "user access outside the address space")
    need = VM.WRITE if write else VM.READ
    a = addr
    end = addr + length
    while a < end:
        vma = mm.find_vma(a)
        if vma is None or not vma.vm_flags & need or vma.vm_flags & (VM.IO | VM.PFNMAP):
            raise err(errno.EFAULT, f"SIGSEGV: no {'writable' if write else 'readable'} mapping at {a:#x}")
        if min(end, vma.vm_end) > vma.file_end():
            raise err(errno.EFAULT, f"SIGBUS: access beyond end of file at {max(a, vma.file_end()):#x}")
        a = vma.vm_end
    a = addr
    while a < end:
        vma = mm.find_vma(a)
        assert vma is not None
        page = _fault_in(mm, vma, a, write)
        off = a % PAGE_SIZE
        n = min(end - a, PAGE_SIZE - off)
        yield page, off, n
        a += n

