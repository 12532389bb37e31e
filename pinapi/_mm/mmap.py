"""The system calls of an address space: ``mmap``, ``munmap``, ``mremap``,
``mprotect``, ``madvise``, ``fork``, ``exit`` and the process's own loads and
stores, on ``MM``, the ``struct mm_struct`` a process owns.
"""

from __future__ import annotations

import bisect
import errno
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Final

from .errors import err
from .fs import MAX_LFS_FILESIZE, File, Hugetlbfs, Inode, Shmem
from .memory import access_vm, copy_page_range, zap_page_range
from .mm_types import TASK_SIZE, VM, VMA, MMStruct
from .vmscan import pageout
from .page_alloc import (
    HPAGE_PMD_ORDER, HPAGE_PUD_ORDER, PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, Folio, Page, kernel_lock, page_read,
    page_write,
)  # fmt: skip
from .validate import entry_point

__all__ = [
    "PROT_NONE", "PROT_READ", "PROT_WRITE", "PROT_EXEC",
    "MAP_SHARED", "MAP_PRIVATE", "MAP_FIXED", "MAP_ANONYMOUS", "MAP_HUGETLB",
    "MAP_HUGE_2MB", "MAP_HUGE_1GB", "MADV_DONTNEED", "MADV_DONTFORK", "MADV_DOFORK", "MADV_HUGEPAGE",
    "MADV_NOHUGEPAGE", "MADV_PAGEOUT", "MREMAP_MAYMOVE", "MREMAP_FIXED", "MM", "cgroup",
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
MADV_DONTNEED: Final = 4
MADV_DONTFORK: Final = 10
MADV_DOFORK: Final = 11
MADV_HUGEPAGE: Final = 14
MADV_NOHUGEPAGE: Final = 15
MADV_PAGEOUT: Final = 21
MREMAP_MAYMOVE: Final = 1
MREMAP_FIXED: Final = 2
#: The advices that set (and clear) VMA flags, splitting VMAs to the range.
_MADV_VM_FLAGS: Final = {
    MADV_DONTFORK: (VM.DONTCOPY, 0),
    MADV_DOFORK: (0, VM.DONTCOPY),
    MADV_HUGEPAGE: (VM.HUGEPAGE, VM.NOHUGEPAGE),
    MADV_NOHUGEPAGE: (VM.NOHUGEPAGE, VM.HUGEPAGE),
}
_MAP_FLAGS: Final = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_HUGETLB | 0x3F << MAP_HUGE_SHIFT

_MMAP_BASE: Final = 0x7F00_0000_0000


def _prot_to_vm(prot: int) -> int:
    if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC):
        raise err(errno.EINVAL, f"unknown prot bits {prot:#x}")
    return (
        (VM.READ if prot & PROT_READ else 0)
        | (VM.WRITE if prot & PROT_WRITE else 0)
        | (VM.EXEC if prot & PROT_EXEC else 0)
    )


#: The member lists of the open cgroups; a new MM joins every one.
_cgroups: Final[list[list[MM]]] = []


@contextmanager
def cgroup() -> Generator[list[MM]]:
    """A cgroup: every MM created meanwhile, on any thread, forked ones too,
    joins the list it yields, so whoever opened it can end them all (as
    ``cgroup.kill`` does)."""
    members: list[MM] = []
    with kernel_lock:
        _cgroups.append(members)
    try:
        yield members
    finally:
        with kernel_lock:
            _cgroups[:] = [g for g in _cgroups if g is not members]


class MM(MMStruct):
    """A process address space: ``struct mm_struct`` and its system calls."""

    @entry_point
    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self._next_addr = _MMAP_BASE
        with kernel_lock:
            for members in _cgroups:
                members.append(self)

    @entry_point
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
            self.check_live()
            vm = _prot_to_vm(prot)
            if vm_flags & ~(VM.IO | VM.PFNMAP):
                raise err(errno.EINVAL, "vm_flags may only add VM_IO and VM_PFNMAP")
            kind = flags & (MAP_SHARED | MAP_PRIVATE)
            if kind not in (MAP_SHARED, MAP_PRIVATE):
                raise err(errno.EINVAL, "exactly one of MAP_SHARED and MAP_PRIVATE")
            if flags & MAP_HUGETLB and file is not None and not file.inode.fs.folio_order:
                raise err(errno.EINVAL, f"MAP_HUGETLB of a {file.inode.fs.name} file: only hugetlbfs files "
                                        "and anonymous memory have huge pages")  # fmt: skip
            if flags & ~_MAP_FLAGS:
                raise err(errno.EINVAL, f"unknown mmap flags {flags & ~_MAP_FLAGS:#x}")
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
            if flags & MAP_ANONYMOUS:
                if file is not None:
                    raise err(errno.EINVAL, "MAP_ANONYMOUS with a file")
            elif file is None:
                raise err(errno.EBADF, "a file mapping needs a file")
            elif file.closed:
                raise err(errno.EBADF, f"{file!r} is closed: there is no descriptor to map")
            elif offset + length > MAX_LFS_FILESIZE:
                raise err(errno.EOVERFLOW, "offset + length is past the largest file size")
            if kind == MAP_SHARED:
                vm |= VM.SHARED
            if flags & MAP_FIXED:
                if addr % align or addr <= 0 or addr + length > TASK_SIZE:
                    raise err(errno.EINVAL, "MAP_FIXED address unaligned or out of range")
                self._unmap(addr, self._check_range(addr, length))  # every argument checked: nothing below refuses
            else:
                addr = self._get_unmapped_area(length, max(align, PMD_SIZE))
            anon_shared: File | None = None
            if flags & MAP_ANONYMOUS and kind == MAP_SHARED:  # an unlinked file, shared with children
                fs = Hugetlbfs(huge_order) if huge_order else Shmem()
                file = anon_shared = File(Inode(fs, length, nlink=0), "anon_hugepage" if huge_order else "dev/zero")
            pgoff = offset >> PAGE_SHIFT if file is not None else addr >> PAGE_SHIFT  # anon: for the rmap
            vma = VMA(self, addr, addr + length, vm | vm_flags, file, pgoff, huge_order)
            if huge_order:
                vma.vm_flags |= VM.HUGETLB
            self._insert_vma(vma)
            if anon_shared is not None:
                anon_shared.close()  # only the mapping holds it now
            return addr

    def _get_unmapped_area(self, length: int, align: int) -> int:
        """The first free *align*-aligned range of *length* from the last
        placement on: past any mapping MAP_FIXED or MREMAP_FIXED put there."""
        addr = (self._next_addr + align - 1) & ~(align - 1)
        while hit := self.vmas_in(addr, addr + length):
            addr = (hit[-1].vm_end + align - 1) & ~(align - 1)
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
        """Split *vma* at *addr* (strictly inside it). A THP the new boundary
        cuts through is mapped by PTEs first (``vma_adjust_trans_huge()``)."""
        entry = self.pgtable.pmd(addr)
        if type(entry) is Folio and addr % PMD_SIZE:
            self.pgtable.split_huge_pmd(addr, entry)
        tail = VMA(self, addr, vma.vm_end, vma.vm_flags, vma.vm_file,
                   vma.linear_index(addr), vma.huge_order)  # fmt: skip
        vma.vm_end = addr  # its place in the sorted list stays right
        self._insert_vma(tail)

    def _merge_vmas(self, addr: int, end: int) -> None:
        """``vma_modify()``'s merge: after a change of flags in ``[addr,
        end)``, join each VMA there with a neighbour it now continues (same
        flags and file, contiguous offset; never VM_IO or VM_PFNMAP)."""
        i = max(0, bisect.bisect_right(self.vmas, addr, key=lambda v: v.vm_start) - 2)
        while i + 1 < len(self.vmas) and self.vmas[i].vm_start <= end:
            prev, nxt = self.vmas[i], self.vmas[i + 1]
            if (prev.vm_end == nxt.vm_start and prev.vm_flags == nxt.vm_flags
                    and not prev.vm_flags & (VM.IO | VM.PFNMAP) and prev.vm_file is nxt.vm_file
                    and prev.huge_order == nxt.huge_order and prev.linear_index(prev.vm_end) == nxt.vm_pgoff):  # fmt: skip
                prev.vm_end = nxt.vm_end
                self.vmas.pop(i + 1)
                if nxt.vm_file is not None:
                    nxt.vm_file.inode.mapping.i_mmap.discard(nxt)
                continue
            i += 1

    def _check_range(self, addr: int, length: int) -> int:
        if addr < 0 or addr % PAGE_SIZE or length <= 0:
            raise err(errno.EINVAL, "range must start at a page-aligned user address and be non-empty")
        end = addr + ((length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
        if end > TASK_SIZE:
            raise err(errno.EINVAL, "range beyond TASK_SIZE")
        for vma in self.vmas_in(addr, end):
            align = PAGE_SIZE << vma.huge_order
            if vma.huge_order and (max(addr, vma.vm_start) % align or min(end, vma.vm_end) % align):
                raise err(errno.EINVAL, "a hugetlb mapping splits only at its huge page size")
        return end

    def _check_mapped(self, addr: int, end: int, call: str) -> None:
        """ENOMEM unless VMAs cover every page of ``[addr, end)``: refused
        before anything changes (the kernel applies what it can, then fails)."""
        covered = sum(min(end, v.vm_end) - max(addr, v.vm_start) for v in self.vmas_in(addr, end))
        if covered != end - addr:
            raise err(errno.ENOMEM, f"{call} range is not fully mapped")

    def _vmas_split_to(self, addr: int, end: int) -> list[VMA]:
        for vma in self.vmas_in(addr, end):
            if vma.vm_start < addr:
                self._split_vma(vma, addr)
        for vma in self.vmas_in(addr, end):
            if vma.vm_end > end:
                self._split_vma(vma, end)
        return self.vmas_in(addr, end)

    @entry_point
    def munmap(self, addr: int, length: int) -> None:
        """``munmap(2)``: pinned pages stay alive until unpinned."""
        with kernel_lock:
            self.check_live()
            end = self._check_range(addr, length)
            self._unmap(addr, end)

    def _unmap(self, addr: int, end: int) -> None:
        for vma in self._vmas_split_to(addr, end):
            zap_page_range(self, vma.vm_start, vma.vm_end)
            self._remove_vma(vma)

    @entry_point
    def mremap(self, old_addr: int, old_size: int, new_size: int, flags: int = 0, new_addr: int = 0) -> int:
        """``mremap(2)`` of a range inside one VMA: shrink it in place, grow
        it in place if the space after it is free, else (MREMAP_MAYMOVE) move
        it, to *new_addr* with MREMAP_FIXED. A move takes the page-table
        entries along: folios, their pins and swap slots stay as they are.
        Returns the new address. Errors change nothing: EINVAL for bad
        flags, an unaligned address, a zero size, overlapping ranges, or a
        hugetlb range not aligned to its page size or growing; EFAULT if no
        one VMA holds the old range or a VM_PFNMAP one would grow; ENOMEM if
        it cannot grow in place and may not move."""
        with kernel_lock:
            self.check_live()
            if flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED) or flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE:
                raise err(errno.EINVAL, "mremap flags: MREMAP_MAYMOVE, and MREMAP_FIXED only with it")
            if old_addr % PAGE_SIZE or old_size <= 0 or new_size <= 0:
                raise err(errno.EINVAL, "mremap needs a page-aligned address and sizes above zero")
            vma = self.find_vma(old_addr)
            if vma is None:
                raise err(errno.EFAULT, f"no VMA maps {old_addr:#x}")
            align = PAGE_SIZE << vma.huge_order
            old_len, new_len = (-(-n // align) * align for n in (old_size, new_size))
            if vma.huge_order and (old_addr % align or new_addr % align or new_len > old_len):
                raise err(errno.EINVAL, "a hugetlb mapping moves at its huge page size and never grows")
            if old_addr + old_len > vma.vm_end:
                raise err(errno.EFAULT, "mremap's old range must lie in one VMA")
            if flags & MREMAP_FIXED:
                if new_addr % PAGE_SIZE or new_addr <= 0 or new_addr + new_len > TASK_SIZE:
                    raise err(errno.EINVAL, "MREMAP_FIXED address unaligned or out of range")
                if old_addr < new_addr + new_len and new_addr < old_addr + old_len:
                    raise err(errno.EINVAL, "mremap's old and new ranges overlap")
                self._check_range(new_addr, new_len)
                if old_len > new_len:
                    self._unmap(old_addr + new_len, self._check_range(old_addr + new_len, old_len - new_len))
                self._unmap(new_addr, new_addr + new_len)
                vma = self.find_vma(old_addr)
                assert vma is not None
                return self._move(vma, old_addr, min(old_len, new_len), new_addr, new_len)
            if new_len <= old_len:
                if new_len < old_len:
                    self._unmap(old_addr + new_len, self._check_range(old_addr + new_len, old_len - new_len))
                return old_addr
            if vma.vm_flags & VM.PFNMAP:
                raise err(errno.EFAULT, "a VM_PFNMAP mapping cannot grow")
            end = old_addr + new_len
            if old_addr + old_len == vma.vm_end and end <= TASK_SIZE and not self.vmas_in(vma.vm_end, end):
                vma.vm_end = end
                return old_addr
            if not flags & MREMAP_MAYMOVE:
                raise err(errno.ENOMEM, "mremap cannot grow the mapping in place and may not move it")
            return self._move(vma, old_addr, old_len, self._get_unmapped_area(new_len, max(align, PMD_SIZE)), new_len)

    def _move(self, vma: VMA, old_addr: int, length: int, new_addr: int, new_len: int) -> int:
        """``move_vma()``: a VMA of *new_len* at *new_addr* continuing *vma*
        from *old_addr* takes its first *length* bytes of entries; the old
        range is unmapped."""
        self._insert_vma(VMA(self, new_addr, new_addr + new_len, vma.vm_flags, vma.vm_file,
                             vma.linear_index(old_addr), vma.huge_order))  # fmt: skip
        self._vmas_split_to(old_addr, old_addr + length)  # a THP cut at either end is split here
        self.pgtable.move_range(old_addr, new_addr, length)
        self._unmap(old_addr, old_addr + length)
        return new_addr

    @entry_point
    def mprotect(self, addr: int, length: int, prot: int) -> None:
        """``mprotect(2)``; every page of the range must be mapped."""
        with kernel_lock:
            self.check_live()
            end = self._check_range(addr, length)
            vm = _prot_to_vm(prot)
            self._check_mapped(addr, end, "mprotect")
            for vma in self._vmas_split_to(addr, end):
                vma.vm_flags = vma.vm_flags & ~(VM.READ | VM.WRITE | VM.EXEC) | vm
            self._merge_vmas(addr, end)

    @entry_point
    def madvise(self, addr: int, length: int, advice: int) -> None:
        """``madvise(2)``: MADV_HUGEPAGE / MADV_NOHUGEPAGE; MADV_DONTFORK /
        MADV_DOFORK (VM_DONTCOPY: a child has nothing there); MADV_DONTNEED
        (zap: the next touch faults zeroes or the file's data in);
        MADV_PAGEOUT (``vmscan.pageout``: unpinned anonymous folios go to
        swap). EINVAL, nothing changed, for MADV_DOFORK of VM_IO, MADV_DONTNEED
        of VM_PFNMAP, MADV_PAGEOUT of VM_PFNMAP or hugetlb."""
        with kernel_lock:
            self.check_live()
            end = self._check_range(addr, length)
            if advice not in (*_MADV_VM_FLAGS, MADV_DONTNEED, MADV_PAGEOUT):
                raise err(errno.EINVAL, f"unsupported madvise advice {advice}")
            self._check_mapped(addr, end, "madvise")
            refused = {MADV_DOFORK: VM.IO, MADV_DONTNEED: VM.PFNMAP, MADV_PAGEOUT: VM.PFNMAP | VM.HUGETLB}
            for vma in self.vmas_in(addr, end):
                if vma.vm_flags & refused.get(advice, 0):
                    raise err(errno.EINVAL, f"madvise advice {advice} does not apply to {vma!r}")
            if advice in _MADV_VM_FLAGS:
                add, remove = _MADV_VM_FLAGS[advice]
                for vma in self._vmas_split_to(addr, end):
                    vma.vm_flags = vma.vm_flags & ~remove | add
                self._merge_vmas(addr, end)
                return
            for vma in self.vmas_in(addr, end):
                lo, hi = max(addr, vma.vm_start), min(end, vma.vm_end)
                if advice == MADV_DONTNEED:
                    zap_page_range(self, lo, hi)
                else:
                    pageout(self, lo, hi)

    @entry_point
    def exit(self) -> None:
        """``exit_mmap()``: drop every mapping. A device's pins are not the
        MM's to drop: pinned pages stay until their holder unpins them."""
        with kernel_lock:
            if self.dead:
                return
            for vma in list(self.vmas):
                zap_page_range(self, vma.vm_start, vma.vm_end)
                self._remove_vma(vma)
            self.anon_vma.mms.remove(self)
            self.dead = True

    @entry_point
    def fork(self, name: str = "") -> MM:
        """``fork()``: a child with a copy of every VMA but VM_DONTCOPY ones,
        in the parent's ``AnonVma``. Shared mappings and page-cache pages are
        shared; an exclusive anonymous page the parent may have pinned
        (``folio_needs_cow_for_dma()``) is copied for the child at once; other
        anonymous pages become copy-on-write shared (no longer anon-exclusive
        on either side)."""
        with kernel_lock:
            self.check_live()
            child = MM(name or f"{self.name}-child")
            child.anon_vma = self.anon_vma
            self.anon_vma.mms.append(child)
            child._next_addr = self._next_addr
            for vma in self.vmas:
                if vma.vm_flags & VM.DONTCOPY:  # MADV_DONTFORK: not in the child at all
                    continue
                child._insert_vma(VMA(child, vma.vm_start, vma.vm_end, vma.vm_flags, vma.vm_file,
                                      vma.vm_pgoff, vma.huge_order))  # fmt: skip
                copy_page_range(self, child, vma)
            return child

    @entry_point
    def lookup(self, addr: int) -> Page | None:
        """The page mapped at *addr* (no fault, no reference), or None."""
        with kernel_lock:
            return self.pgtable.lookup(addr)

    @entry_point
    def mapped_pages(self) -> Iterator[tuple[int, Page]]:
        """Every (address, page) mapped, in address order."""
        with kernel_lock:
            return iter(list(self.pgtable.mapped()))

    @entry_point
    def read(self, addr: int, length: int) -> bytes:
        """What the process reads at *addr* (faults pages in)."""
        with kernel_lock:
            return b"".join(page_read(page, off, n) for page, off, n in access_vm(self, addr, length, False))

    @entry_point
    def write(self, addr: int, data: bytes) -> None:
        """The process writes *data* at *addr* (faults, copy-on-write)."""
        with kernel_lock:
            pos = 0
            for page, off, n in access_vm(self, addr, len(data), True):
                page_write(page, off, data[pos : pos + n])
                pos += n
