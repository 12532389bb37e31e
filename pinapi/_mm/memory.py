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
    HPAGE_PMD_ORDER, PAGE_SHIFT, PAGE_SIZE, PG, ZERO_FOLIO, Folio, Page, alloc_folio, folio_get, vmstat,
)  # fmt: skip
from .pgtable import pmd_end, pte_index
from .pin_tracking import tracking

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
    private copies too if *even_cows* (truncate), not for a hole punch."""
    for vma in list(mapping.i_mmap):
        step = 1 << vma.huge_order
        lo = max(first, vma.vm_pgoff)
        hi = min(last, vma.linear_index(vma.vm_end))
        mm = vma.vm_mm
        for index in range(lo, hi, step):
            addr = vma.vm_start + ((index - vma.vm_pgoff) << PAGE_SHIFT)
            page = mm.pgtable.lookup(addr)
            if page is not None and (even_cows or page.folio.mapping is mapping):
                zap_page_range(mm, addr, addr + (PAGE_SIZE << vma.huge_order))


# -- fork ---------------------------------------------------------------------
def _needs_cow_for_dma(mm: MMStruct, vma: VMA, folio: Folio) -> bool:
    """``page_needs_cow_for_dma()``: a private anonymous folio of an MM that
    has pinned, and the folio maybe pinned."""
    return (
        not vma.is_shared
        and bool(folio.flags & PG.anon)
        and mm.has_pinned
        and tracking.strategy.maybe_dma_pinned(folio)
    )


def copy_page_range(mm: MMStruct, child: MMStruct, vma: VMA) -> None:
    """``copy_page_range()``: map *vma*'s pages into *child*."""
    pt, child_pt = mm.pgtable, child.pgtable
    addr = vma.vm_start
    while addr < vma.vm_end:
        entry = pt.pmd(addr)
        next_pmd = pmd_end(addr)
        if type(entry) is Folio:
            base = addr & ~(entry.size - 1)
            if base >= vma.vm_start:  # a THP straddling two VMAs is copied once
                child_pt.set_huge(base, _copy_present(mm, child, vma, base, Page(entry, 0), True).folio)
            addr = base + entry.size
            continue
        if isinstance(entry, list):
            for a in range(addr, min(vma.vm_end, next_pmd), PAGE_SIZE):
                page = entry[pte_index(a)]
                if page is not None:
                    child_pt.set_pte(a, _copy_present(mm, child, vma, a, page, False))
        addr = next_pmd


def _copy_present(mm: MMStruct, child: MMStruct, vma: VMA, addr: int, page: Page, huge: bool) -> Page:
    """``copy_present_pte()``: what *child* maps at *addr* for *page* (the
    whole folio if *huge*), holding the reference its entry needs."""
    folio = page.folio
    if folio is ZERO_FOLIO:
        return page
    if _needs_cow_for_dma(mm, vma, folio):
        if huge or not folio.order:
            return Page(_cow_copy(child, addr, folio), 0)
        copy = _new_anon_folio(child, addr, 0)  # one page of a PTE-mapped THP
        copy.write(0, folio.read(page.index << PAGE_SHIFT, PAGE_SIZE))
        return Page(copy, 0)
    if folio.flags & PG.anon and not vma.is_shared:
        folio.flags &= ~PG.anon_exclusive
    folio_get(folio)
    return page


# -- faults -------------------------------------------------------------------
def _new_anon_folio(mm: MMStruct, addr: int, order: int) -> Folio:
    folio = alloc_folio(order)
    folio.flags = PG.anon | PG.anon_exclusive
    folio.mapping = mm.anon_vma
    folio.index = (addr & ~((PAGE_SIZE << order) - 1)) >> PAGE_SHIFT
    return folio


def handle_mm_fault(mm: MMStruct, vma: VMA, addr: int, write: bool, unshare: bool = False) -> None:
    """Make *addr* present, writable if *write*, and anon-exclusive if
    *unshare* (a pin of a shared anonymous page). Raises EFAULT (SIGBUS)
    past the end of a file."""
    vmstat.pgfault += 1
    if addr >= vma.file_end():
        raise err(errno.EFAULT, "SIGBUS: fault beyond end of file")
    pt = mm.pgtable
    entry = pt.pmd(addr)
    if vma.huge_order or type(entry) is Folio:
        _huge_fault(mm, vma, addr, entry if type(entry) is Folio else None, write, unshare)
        return
    if entry is None and write and vma.thp_allowed(addr):
        vmstat.thp_fault_alloc += 1
        pt.set_huge(addr, _new_anon_folio(mm, addr, HPAGE_PMD_ORDER))
        return
    page = pt.lookup(addr)
    if page is None:
        if vma.vm_file is None:
            pt.set_pte(addr, Page(_new_anon_folio(mm, addr, 0), 0) if write else Page(ZERO_FOLIO, 0))
            return
        cached = vma.vm_file.inode.mapping.get_folio(vma.linear_index(addr))
        if write and not vma.is_shared:
            pt.set_pte(addr, Page(_cow_copy(mm, addr, cached), 0))
            return
        folio_get(cached)
        pt.set_pte(addr, Page(cached, 0))
        if write:
            vma.vm_file.inode.fs.page_mkwrite(vma.vm_file.inode, cached)
        return
    mask, bad = vma.fault_condition(write, unshare)
    if page.folio.flags & mask != bad:
        return
    if vma.is_shared:
        assert vma.vm_file is not None
        vma.vm_file.inode.fs.page_mkwrite(vma.vm_file.inode, page.folio)
        return
    _wp_page(mm, addr, page.folio)


def _cow_copy(mm: MMStruct, addr: int, src: Folio) -> Folio:
    new = _new_anon_folio(mm, addr, src.order)
    if src is not ZERO_FOLIO:
        new.copy_data_from(src)
    new.flags |= src.flags & PG.hugetlb
    vmstat.cow_fault += 1
    return new


def _wp_page(mm: MMStruct, addr: int, folio: Folio) -> None:
    """``do_wp_page()``: reuse an anonymous folio only we hold, else copy."""
    if folio.flags & PG.anon and folio.refcount() == 1 and folio.mapcount() == 1:
        folio.flags |= PG.anon_exclusive
        return
    new = _cow_copy(mm, addr, folio)
    mm.pgtable.zap_pte_range(addr, addr + PAGE_SIZE)
    mm.pgtable.set_pte(addr, Page(new, 0))


def _huge_fault(mm: MMStruct, vma: VMA, addr: int, folio: Folio | None, write: bool, unshare: bool) -> None:
    pt = mm.pgtable
    order = vma.huge_order or HPAGE_PMD_ORDER
    if folio is None:
        if vma.vm_file is not None:
            index = vma.linear_index(addr & ~((PAGE_SIZE << order) - 1))
            cached = vma.vm_file.inode.mapping.get_folio(index)
            if cached.order != order:
                raise KernelBug(f"hugetlb file page of order {cached.order}")
            if write and not vma.is_shared:
                pt.set_huge(addr, _cow_copy(mm, addr, cached))
                return
            folio_get(cached)
            pt.set_huge(addr, cached)
            return
        new = _new_anon_folio(mm, addr, order)
        new.flags |= PG.hugetlb
        pt.set_huge(addr, new)
        return
    mask, bad = vma.fault_condition(write, unshare)
    if folio.flags & mask != bad or vma.is_shared:
        return
    if folio.flags & PG.anon and folio.refcount() == 1 and folio.mapcount() == 1:
        folio.flags |= PG.anon_exclusive
        return
    new = _cow_copy(mm, addr, folio)
    pt.clear_huge(addr, folio)
    pt.set_huge(addr, new)


def _fault_in(mm: MMStruct, vma: VMA, addr: int, write: bool) -> Page:
    """The page at *addr*, after a fault if it is absent or not yet
    writable for *write*."""
    mask, bad = vma.fault_condition(write, False)
    page = mm.pgtable.lookup(addr)
    if page is None or page.folio.flags & mask == bad:
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

