"""Address spaces: ``MM``, VMAs, page tables, page faults and reverse mapping.

Page tables are two levels, keyed like the kernel's: ``pgd[addr >> PMD_SHIFT]``
holds either a PTE table (512 slots of ``Page | None``) or a huge ``Folio``
mapped by the PMD (a 1 GiB hugetlb folio fills 512 consecutive PMD slots).
Every page-table entry holds one folio reference and one ``_mapcount``; the
zero page is mapped without either.

Permissions live in the VMA. Write access to a page is expressed by folio state
rather than a PTE bit: a private mapping may write a folio only while it is
anon-exclusive (else copy-on-write or reuse), a shared mapping of a
dirty-tracking filesystem only while the folio is dirty (else ``page_mkwrite``,
which is what write-protection after writeback amounts to).
"""

from __future__ import annotations

import bisect
import enum
import errno
from typing import Final, Iterator

from ._errors import KernelBug, err
from ._fs import File, shmem_file
from ._track import tracking
from ._page import (
    HPAGE_PMD_ORDER,
    HPAGE_PUD_ORDER,
    PAGE_SHIFT,
    PAGE_SIZE,
    PG,
    PMD_SIZE,
    ZERO_FOLIO,
    Folio,
    INT_BIT_OPERATORS,
    Page,
    alloc_folio,
    folio_get,
    folio_put,
    kernel_lock,
    vmstat,
)

__all__ = [
    "PROT_NONE", "PROT_READ", "PROT_WRITE", "PROT_EXEC",
    "MAP_SHARED", "MAP_PRIVATE", "MAP_FIXED", "MAP_ANONYMOUS", "MAP_HUGETLB",
    "MAP_HUGE_2MB", "MAP_HUGE_1GB", "MADV_HUGEPAGE", "MADV_NOHUGEPAGE",
    "TASK_SIZE", "PMD_SHIFT", "VM", "VMA", "AnonVma", "MM",
]  # fmt: skip

PROT_NONE: Final = 0
PROT_READ: Final = 1
PROT_WRITE: Final = 2
PROT_EXEC: Final = 4
MAP_SHARED: Final = 0x01
MAP_PRIVATE: Final = 0x02
MAP_FIXED: Final = 0x10
MAP_ANONYMOUS: Final = 0x20
MAP_HUGETLB: Final = 0x40000
MAP_HUGE_SHIFT: Final = 26
MAP_HUGE_2MB: Final = 21 << MAP_HUGE_SHIFT
MAP_HUGE_1GB: Final = 30 << MAP_HUGE_SHIFT
MADV_HUGEPAGE: Final = 14
MADV_NOHUGEPAGE: Final = 15

PMD_SHIFT: Final = PAGE_SHIFT + HPAGE_PMD_ORDER
PTRS_PER_PTE: Final = 1 << HPAGE_PMD_ORDER
TASK_SIZE: Final = (1 << 47) - PAGE_SIZE
_MMAP_BASE: Final = 0x7F00_0000_0000


class VM(enum.IntFlag):
    """``vm_flags`` bits."""

    READ = 0x1
    WRITE = 0x2
    EXEC = 0x4
    SHARED = 0x8
    PFNMAP = 0x400
    IO = 0x4000
    HUGETLB = 0x400000
    HUGEPAGE = 0x20000000
    NOHUGEPAGE = 0x40000000

    __and__, __rand__, __or__, __ror__, __xor__, __rxor__, __invert__ = INT_BIT_OPERATORS  # type: ignore[assignment]


def _prot_to_vm(prot: int) -> int:
    if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC):
        raise err(errno.EINVAL, f"unknown prot bits {prot:#x}")
    return (
        (VM.READ if prot & PROT_READ else 0)
        | (VM.WRITE if prot & PROT_WRITE else 0)
        | (VM.EXEC if prot & PROT_EXEC else 0)
    )


class AnonVma:
    """The MMs that may map a family of anonymous folios (a process and the
    children forked from it): what the anon rmap walk visits."""

    __slots__ = ("mms",)

    def __init__(self) -> None:
        self.mms: list[MM] = []


class VMA:
    """``struct vm_area_struct``: ``[vm_start, vm_end)`` with one set of flags."""

    __slots__ = (
        "vm_mm", "vm_start", "vm_end", "vm_flags", "vm_file", "vm_pgoff", "huge_order",
    )  # fmt: skip

    def __init__(
        self,
        mm: MM,
        start: int,
        end: int,
        flags: int,
        file: File | None,
        pgoff: int,
        huge_order: int,
    ) -> None:
        self.vm_mm = mm
        self.vm_start = start
        self.vm_end = end
        self.vm_flags = flags
        self.vm_file = file
        self.vm_pgoff = pgoff
        self.huge_order = huge_order  # hugetlb folio order, 0 otherwise

    def __repr__(self) -> str:
        return (
            f"<VMA {self.vm_start:#x}-{self.vm_end:#x} {VM(self.vm_flags)!r}"
            f"{' ' + repr(self.vm_file) if self.vm_file else ''}>"
        )

    @property
    def is_anonymous(self) -> bool:
        return self.vm_file is None

    @property
    def is_shared(self) -> bool:
        return bool(self.vm_flags & VM.SHARED)

    def linear_index(self, addr: int) -> int:
        """The file page index mapped at *addr*."""
        return self.vm_pgoff + ((addr - self.vm_start) >> PAGE_SHIFT)

    def file_end(self) -> int:
        """Where the file's last page ends in this VMA (``vm_end`` for
        anonymous and hugetlb mappings): touching past it is SIGBUS."""
        if self.vm_file is None or self.huge_order:
            return self.vm_end
        pages = (self.vm_file.inode.size + PAGE_SIZE - 1) >> PAGE_SHIFT
        return max(self.vm_start, min(self.vm_end, self.vm_start + ((pages - self.vm_pgoff) << PAGE_SHIFT)))

    def fault_condition(self, write: bool, unshare: bool) -> tuple[int, int]:
        """``(mask, bad)``: a present page needs a fault first iff
        ``folio.flags & mask == bad`` (``bad == -1``: never)."""
        if not self.is_shared:
            if write:
                return PG.anon_exclusive, 0
            if unshare:
                return PG.anon | PG.anon_exclusive, PG.anon
            return 0, -1
        if write and self.vm_file is not None and self.vm_file.inode.fs.dirty_tracking:
            return PG.dirty, 0
        return 0, -1

    def thp_allowed(self, addr: int) -> bool:
        """THP may back the 2 MiB block at *addr*: anonymous, private,
        ``MADV_HUGEPAGE`` and the aligned block wholly inside the VMA."""
        base = addr & ~(PMD_SIZE - 1)
        return (
            self.vm_file is None
            and not self.is_shared
            and not self.huge_order
            and self.vm_flags & (VM.HUGEPAGE | VM.NOHUGEPAGE) == VM.HUGEPAGE
            and base >= self.vm_start
            and base + PMD_SIZE <= self.vm_end
        )


class MM:
    """``struct mm_struct``: a process address space."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.vmas: list[VMA] = []  # sorted by vm_start, non-overlapping
        self.pgd: dict[int, Folio | list[Page | None]] = {}
        self.anon_vma = AnonVma()
        self.anon_vma.mms.append(self)
        self.has_pinned = False  # MMF_HAS_PINNED
        self.dead = False
        self._next_addr = _MMAP_BASE

    def __repr__(self) -> str:
        return f"<MM {self.name or hex(id(self))}>"

    # -- VMAs ---------------------------------------------------------------
    def find_vma(self, addr: int) -> VMA | None:
        """The VMA containing *addr*, or None."""
        i = bisect.bisect_right(self.vmas, addr, key=lambda v: v.vm_start) - 1
        if i >= 0 and addr < self.vmas[i].vm_end:
            return self.vmas[i]
        return None

    def _vmas_in(self, start: int, end: int) -> list[VMA]:
        return [v for v in self.vmas if v.vm_start < end and v.vm_end > start]

    def _check_live(self) -> None:
        if self.dead:
            raise err(errno.ESRCH, f"{self!r} has exited")

    def mmap(
        self,
        length: int,
        prot: int = PROT_READ | PROT_WRITE,
        flags: int = MAP_PRIVATE | MAP_ANONYMOUS,
        file: File | None = None,
        offset: int = 0,
        addr: int = 0,
        vm_flags: int = 0,
    ) -> int:
        """``mmap(2)``; *vm_flags* adds VM_IO/VM_PFNMAP as a driver's mmap would.
        Returns the start address."""
        with kernel_lock:
            self._check_live()
            vm = _prot_to_vm(prot)
            if vm_flags & ~(VM.IO | VM.PFNMAP):
                raise err(errno.EINVAL, "vm_flags may only add VM_IO and VM_PFNMAP")
            kind = flags & (MAP_SHARED | MAP_PRIVATE)
            if kind not in (MAP_SHARED, MAP_PRIVATE):
                raise err(errno.EINVAL, "exactly one of MAP_SHARED and MAP_PRIVATE")
            huge_order = 0
            if flags & MAP_HUGETLB:
                huge = flags >> MAP_HUGE_SHIFT & 0x3F
                if huge not in (0, 21, 30):
                    raise err(errno.EINVAL, f"no hugetlb page size 2^{huge}")
                huge_order = HPAGE_PUD_ORDER if huge == 30 else HPAGE_PMD_ORDER
            if file is not None and file.inode.fs.folio_order:
                huge_order = file.inode.fs.folio_order  # a hugetlbfs file's page size
            align = PAGE_SIZE << huge_order
            if length <= 0 or length % PAGE_SIZE:
                raise err(errno.EINVAL, "length must be a positive multiple of PAGE_SIZE")
            if huge_order and length % align:
                raise err(errno.EINVAL, "hugetlb length must be a multiple of the huge page size")
            if offset < 0 or offset % align:
                raise err(errno.EINVAL, "offset must be aligned to the page size")
            anon_shared: File | None = None
            if flags & MAP_ANONYMOUS:
                if file is not None:
                    raise err(errno.EINVAL, "MAP_ANONYMOUS with a file")
                if kind == MAP_SHARED and not huge_order:
                    file = shmem_file(length, "dev/zero")  # shared anon is shmem
                    anon_shared = file
            elif file is None:
                raise err(errno.EBADF, "a file mapping needs a file")
            if kind == MAP_SHARED:
                vm |= VM.SHARED
            if flags & MAP_FIXED:
                if addr % align or addr <= 0 or addr + length > TASK_SIZE:
                    raise err(errno.EINVAL, "MAP_FIXED address unaligned or out of range")
                self._unmap(addr, addr + length)
            else:
                addr = self._get_unmapped_area(length, max(align, PMD_SIZE))
            vma = VMA(self, addr, addr + length, vm | vm_flags, file,
                      offset >> PAGE_SHIFT, huge_order)  # fmt: skip
            if huge_order:
                vma.vm_flags |= VM.HUGETLB
            self._insert_vma(vma)
            if anon_shared is not None:
                anon_shared.close()  # only the mapping holds it now
            return addr

    def _get_unmapped_area(self, length: int, align: int) -> int:
        addr = (self._next_addr + align - 1) & ~(align - 1)
        if addr + length > TASK_SIZE:
            raise err(errno.ENOMEM, "address space exhausted")
        self._next_addr = addr + length
        return addr

    def _insert_vma(self, vma: VMA) -> None:
        bisect.insort(self.vmas, vma, key=lambda v: v.vm_start)
        if vma.vm_file is not None:
            vma.vm_file.inode.mapping.i_mmap.add(vma)

    def _remove_vma(self, vma: VMA) -> None:
        self.vmas.remove(vma)
        if vma.vm_file is not None:
            vma.vm_file.inode.mapping.i_mmap.discard(vma)
            vma.vm_file.inode.iput()

    def _split_vma(self, vma: VMA, addr: int) -> None:
        """Split *vma* at *addr* (strictly inside it)."""
        tail = VMA(self, addr, vma.vm_end, vma.vm_flags, vma.vm_file,
                   vma.linear_index(addr), vma.huge_order)  # fmt: skip
        vma.vm_end = addr  # its place in the sorted list stays right
        self._insert_vma(tail)

    def _check_range(self, addr: int, length: int) -> int:
        if addr % PAGE_SIZE or length <= 0:
            raise err(errno.EINVAL, "range must start page-aligned and be non-empty")
        end = addr + ((length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
        if end > TASK_SIZE:
            raise err(errno.EINVAL, "range beyond TASK_SIZE")
        for vma in self._vmas_in(addr, end):
            align = PAGE_SIZE << vma.huge_order
            if vma.huge_order and (max(addr, vma.vm_start) % align or min(end, vma.vm_end) % align):
                raise err(errno.EINVAL, "hugetlb ranges must be huge-page aligned")
        return end

    def _vmas_split_to(self, addr: int, end: int) -> list[VMA]:
        for vma in self._vmas_in(addr, end):
            if vma.vm_start < addr:
                self._split_vma(vma, addr)
        for vma in self._vmas_in(addr, end):
            if vma.vm_end > end:
                self._split_vma(vma, end)
        return self._vmas_in(addr, end)

    def munmap(self, addr: int, length: int) -> None:
        """``munmap(2)``: pinned pages stay alive until unpinned."""
        with kernel_lock:
            self._check_live()
            end = self._check_range(addr, length)
            self._unmap(addr, end)

    def _unmap(self, addr: int, end: int) -> None:
        for vma in self._vmas_split_to(addr, end):
            self._zap_range(vma.vm_start, vma.vm_end)
            self._remove_vma(vma)

    def mprotect(self, addr: int, length: int, prot: int) -> None:
        """``mprotect(2)``; every page of the range must be mapped."""
        with kernel_lock:
            self._check_live()
            end = self._check_range(addr, length)
            vm = _prot_to_vm(prot)
            covered = sum(min(end, v.vm_end) - max(addr, v.vm_start) for v in self._vmas_in(addr, end))
            if covered != end - addr:
                raise err(errno.ENOMEM, "mprotect range is not fully mapped")
            for vma in self._vmas_split_to(addr, end):
                vma.vm_flags = vma.vm_flags & ~(VM.READ | VM.WRITE | VM.EXEC) | vm

    def madvise(self, addr: int, length: int, advice: int) -> None:
        """``madvise(2)``: MADV_HUGEPAGE / MADV_NOHUGEPAGE."""
        with kernel_lock:
            self._check_live()
            end = self._check_range(addr, length)
            if advice not in (MADV_HUGEPAGE, MADV_NOHUGEPAGE):
                raise err(errno.EINVAL, f"unsupported madvise advice {advice}")
            for vma in self._vmas_split_to(addr, end):
                vma.vm_flags &= ~(VM.HUGEPAGE | VM.NOHUGEPAGE)
                vma.vm_flags |= VM.HUGEPAGE if advice == MADV_HUGEPAGE else VM.NOHUGEPAGE

    def exit(self) -> None:
        """``exit_mmap()``: drop every mapping. A device's pins are not the
        MM's to drop: pinned pages stay until their holder unpins them."""
        with kernel_lock:
            if self.dead:
                return
            for vma in list(self.vmas):
                self._zap_range(vma.vm_start, vma.vm_end)
                self._remove_vma(vma)
            self.anon_vma.mms.remove(self)
            self.dead = True

    def fork(self, name: str = "") -> MM:
        """``fork()``: a child with a copy of every VMA, in the parent's
        ``AnonVma``. Shared mappings and page-cache pages are shared; an
        anonymous page the parent may have pinned (``page_needs_cow_for_dma``)
        is copied for the child at once; other anonymous pages become
        copy-on-write shared (no longer anon-exclusive on either side)."""
        with kernel_lock:
            self._check_live()
            child = MM(name or f"{self.name}-child")
            child.anon_vma = self.anon_vma
            self.anon_vma.mms.append(child)
            child._next_addr = self._next_addr
            for vma in self.vmas:
                child._insert_vma(VMA(child, vma.vm_start, vma.vm_end, vma.vm_flags, vma.vm_file,
                                      vma.vm_pgoff, vma.huge_order))  # fmt: skip
                self._copy_page_range(child, vma)
            return child

    def _needs_cow_for_dma(self, vma: VMA, folio: Folio) -> bool:
        """``page_needs_cow_for_dma()``: a private anonymous folio of an MM
        that has pinned, and the folio maybe pinned."""
        return (
            not vma.is_shared
            and bool(folio.flags & PG.anon)
            and self.has_pinned
            and tracking.strategy.maybe_dma_pinned(folio)
        )

    def _copy_page_range(self, child: MM, vma: VMA) -> None:
        """``copy_page_range()``: map *vma*'s pages into *child*."""
        addr = vma.vm_start
        while addr < vma.vm_end:
            entry = self.pgd.get(addr >> PMD_SHIFT)
            next_pmd = (addr | (PMD_SIZE - 1)) + 1
            if type(entry) is Folio:
                base = addr & ~(entry.size - 1)
                if base >= vma.vm_start:  # a THP straddling two VMAs is copied once
                    child._set_huge(base, self._copy_present(child, vma, base, Page(entry, 0), True).folio)
                addr = base + entry.size
                continue
            if isinstance(entry, list):
                for a in range(addr, min(vma.vm_end, next_pmd), PAGE_SIZE):
                    page = entry[(a >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)]
                    if page is not None:
                        child._set_pte(a, self._copy_present(child, vma, a, page, False))
            addr = next_pmd

    def _copy_present(self, child: MM, vma: VMA, addr: int, page: Page, huge: bool) -> Page:
        """``copy_present_pte()``: what *child* maps at *addr* for *page* (the
        whole folio if *huge*), holding the reference its entry needs."""
        folio = page.folio
        if folio is ZERO_FOLIO:
            return page
        if self._needs_cow_for_dma(vma, folio):
            if huge or not folio.order:
                return Page(child._cow_copy(addr, folio), 0)
            copy = child._new_anon_folio(addr, 0)  # one page of a PTE-mapped THP
            copy.write(0, folio.read(page.index << PAGE_SHIFT, PAGE_SIZE))
            return Page(copy, 0)
        if folio.flags & PG.anon and not vma.is_shared:
            folio.flags &= ~PG.anon_exclusive
        folio_get(folio)
        return page

    # -- page tables --------------------------------------------------------
    def lookup(self, addr: int) -> Page | None:
        """The page mapped at *addr* (no fault, no reference), or None."""
        entry = self.pgd.get(addr >> PMD_SHIFT)
        if entry is None:
            return None
        if type(entry) is Folio:
            return Page(entry, (addr - (addr & ~(entry.size - 1))) >> PAGE_SHIFT)
        assert isinstance(entry, list)
        return entry[(addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)]

    def _pte_table(self, addr: int) -> list[Page | None]:
        idx = addr >> PMD_SHIFT
        table = self.pgd.get(idx)
        if table is None:
            table = self.pgd[idx] = [None] * PTRS_PER_PTE
        assert isinstance(table, list)
        return table

    def _set_pte(self, addr: int, page: Page) -> None:
        """Map *page*; the caller hands one folio reference to the mapping."""
        self._pte_table(addr)[(addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)] = page
        if page.folio is not ZERO_FOLIO:
            page.folio._mapcount += 1

    def _set_huge(self, addr: int, folio: Folio) -> None:
        """Map a huge folio at its aligned base; the caller hands one reference."""
        base = addr & ~(folio.size - 1)
        for idx in range(base >> PMD_SHIFT, (base + folio.size) >> PMD_SHIFT):
            assert self.pgd.get(idx) is None
            self.pgd[idx] = folio
        folio._mapcount += 1

    def _clear_huge(self, addr: int, folio: Folio) -> None:
        base = addr & ~(folio.size - 1)
        for idx in range(base >> PMD_SHIFT, (base + folio.size) >> PMD_SHIFT):
            del self.pgd[idx]
        folio._mapcount -= 1
        folio_put(folio)

    def _split_huge_pmd(self, addr: int, folio: Folio) -> None:
        """Map a PMD-mapped THP by 512 PTEs instead (the folio stays large)."""
        base = addr & ~(PMD_SIZE - 1)
        del self.pgd[base >> PMD_SHIFT]
        self.pgd[base >> PMD_SHIFT] = [Page(folio, i) for i in range(PTRS_PER_PTE)]
        folio._mapcount += PTRS_PER_PTE - 1
        folio_get(folio, PTRS_PER_PTE - 1)

    def _zap_range(self, start: int, end: int) -> None:
        addr = start
        while addr < end:
            entry = self.pgd.get(addr >> PMD_SHIFT)
            next_pmd = (addr | (PMD_SIZE - 1)) + 1
            if type(entry) is Folio:
                base = addr & ~(entry.size - 1)
                if base >= start and base + entry.size <= end:
                    self._clear_huge(addr, entry)
                    addr = base + entry.size
                    continue
                self._split_huge_pmd(addr, entry)
                entry = self.pgd[addr >> PMD_SHIFT]
            if isinstance(entry, list):
                stop = min(end, next_pmd)
                for a in range(addr, stop, PAGE_SIZE):
                    self._zap_pte(entry, a)
                if not any(entry):
                    del self.pgd[addr >> PMD_SHIFT]
            addr = next_pmd

    def _zap_pte(self, table: list[Page | None], addr: int) -> None:
        i = (addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)
        page = table[i]
        if page is None:
            return
        table[i] = None
        folio = page.folio
        if folio is not ZERO_FOLIO:
            folio._mapcount -= 1
            folio_put(folio)

    def mapped_pages(self) -> Iterator[tuple[int, Page]]:
        """Every (address, page) mapped, in address order."""
        for idx in sorted(self.pgd):
            entry = self.pgd[idx]
            if type(entry) is Folio:
                base = (idx << PMD_SHIFT) & ~(entry.size - 1)
                for a in range(idx << PMD_SHIFT, (idx + 1) << PMD_SHIFT, PAGE_SIZE):
                    yield a, Page(entry, (a - base) >> PAGE_SHIFT)
            else:
                assert isinstance(entry, list)
                for i, page in enumerate(entry):
                    if page is not None:
                        yield (idx << PMD_SHIFT) + (i << PAGE_SHIFT), page

    # -- faults -------------------------------------------------------------
    def _new_anon_folio(self, addr: int, order: int) -> Folio:
        folio = alloc_folio(order)
        folio.flags = PG.anon | PG.anon_exclusive
        folio.mapping = self.anon_vma
        folio.index = (addr & ~((PAGE_SIZE << order) - 1)) >> PAGE_SHIFT
        return folio

    def handle_mm_fault(self, vma: VMA, addr: int, write: bool, unshare: bool = False) -> None:
        """Make *addr* present, writable if *write*, and anon-exclusive if
        *unshare* (a pin of a shared anonymous page). Raises EFAULT (SIGBUS)
        past the end of a file."""
        vmstat.pgfault += 1
        if addr >= vma.file_end():
            raise err(errno.EFAULT, "SIGBUS: fault beyond end of file")
        entry = self.pgd.get(addr >> PMD_SHIFT)
        if vma.huge_order or type(entry) is Folio:
            self._huge_fault(vma, addr, entry if type(entry) is Folio else None, write, unshare)
            return
        if entry is None and write and vma.thp_allowed(addr):
            folio = self._new_anon_folio(addr, HPAGE_PMD_ORDER)
            vmstat.thp_fault_alloc += 1
            self._set_huge(addr, folio)
            return
        table = self._pte_table(addr)
        i = (addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)
        page = table[i]
        if page is None:
            if vma.vm_file is None:
                if write:
                    self._set_pte(addr, Page(self._new_anon_folio(addr, 0), 0))
                else:
                    self._set_pte(addr, Page(ZERO_FOLIO, 0))
                return
            cached = vma.vm_file.inode.mapping.get_folio(vma.linear_index(addr))
            if write and not vma.is_shared:
                self._set_pte(addr, Page(self._cow_copy(addr, cached), 0))
                return
            folio_get(cached)
            self._set_pte(addr, Page(cached, 0))
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
        self._wp_page(addr, table, i, page.folio)

    def _cow_copy(self, addr: int, src: Folio) -> Folio:
        new = self._new_anon_folio(addr, src.order)
        if src is not ZERO_FOLIO:
            new.copy_data_from(src)
        new.flags |= src.flags & PG.hugetlb
        vmstat.cow_fault += 1
        return new

    def _wp_page(self, addr: int, table: list[Page | None], i: int, folio: Folio) -> None:
        """``do_wp_page()``: reuse an anonymous folio only we hold, else copy."""
        if folio.flags & PG.anon and folio._refcount == 1 and folio._mapcount == 1:
            folio.flags |= PG.anon_exclusive
            return
        new = self._cow_copy(addr, folio)
        self._zap_pte(table, addr)
        self._set_pte(addr, Page(new, 0))

    def _huge_fault(
        self, vma: VMA, addr: int, folio: Folio | None, write: bool, unshare: bool
    ) -> None:
        order = vma.huge_order or HPAGE_PMD_ORDER
        if folio is None:
            if vma.vm_file is not None:
                index = vma.linear_index(addr & ~((PAGE_SIZE << order) - 1))
                cached = vma.vm_file.inode.mapping.get_folio(index)
                if cached.order != order:
                    raise KernelBug(f"hugetlb file page of order {cached.order}")
                if write and not vma.is_shared:
                    self._set_huge(addr, self._cow_copy(addr, cached))
                    return
                folio_get(cached)
                self._set_huge(addr, cached)
                return
            new = self._new_anon_folio(addr, order)
            new.flags |= PG.hugetlb
            self._set_huge(addr, new)
            return
        mask, bad = vma.fault_condition(write, unshare)
        if folio.flags & mask != bad or vma.is_shared:
            return
        if folio.flags & PG.anon and folio._refcount == 1 and folio._mapcount == 1:
            folio.flags |= PG.anon_exclusive
            return
        new = self._cow_copy(addr, folio)
        self._clear_huge(addr, folio)
        self._set_huge(addr, new)

    # -- user access --------------------------------------------------------
    def _access(self, addr: int, length: int, write: bool) -> Iterator[tuple[Page, int, int]]:
        """Check the whole range first, then fault page by page: yields
        (page, offset in page, bytes)."""
        self._check_live()
        if length < 0 or addr < 0 or addr + length > TASK_SIZE:
            raise err(errno.EFAULT, "user access outside the address space")
        need = VM.WRITE if write else VM.READ
        a = addr
        end = addr + length
        while a < end:
            vma = self.find_vma(a)
            if vma is None or not vma.vm_flags & need or vma.vm_flags & (VM.IO | VM.PFNMAP):
                raise err(errno.EFAULT, f"SIGSEGV: no {'writable' if write else 'readable'} mapping at {a:#x}")
            if min(end, vma.vm_end) > vma.file_end():
                raise err(errno.EFAULT, f"SIGBUS: access beyond end of file at {max(a, vma.file_end()):#x}")
            a = vma.vm_end
        a = addr
        while a < end:
            vma = self.find_vma(a)
            assert vma is not None
            mask, bad = vma.fault_condition(write, False)
            page = self.lookup(a)
            if page is None or page.folio.flags & mask == bad:
                self.handle_mm_fault(vma, a, write)
                page = self.lookup(a)
                assert page is not None
            off = a % PAGE_SIZE
            n = min(end - a, PAGE_SIZE - off)
            yield page, off, n
            a += n

    def read(self, addr: int, length: int) -> bytes:
        """What the process reads at *addr* (faults pages in)."""
        with kernel_lock:
            return b"".join(page._read(off, n) for page, off, n in self._access(addr, length, False))

    def write(self, addr: int, data: bytes) -> None:
        """The process writes *data* at *addr* (faults, copy-on-write)."""
        with kernel_lock:
            pos = 0
            for page, off, n in self._access(addr, len(data), True):
                page._write(off, data[pos : pos + n])
                pos += n
