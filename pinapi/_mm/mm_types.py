"""``struct mm_struct`` and ``struct vm_area_struct``: an address space's
VMAs and page tables, and what its VMAs permit.

Permissions live in the VMA. Write access to a page is expressed by page state
rather than a PTE bit: a private mapping may write a page only while it is
anon-exclusive (else copy-on-write or reuse), a shared mapping of a
dirty-tracking filesystem only while the folio is dirty (else ``page_mkwrite``,
which is what write-protection after writeback amounts to).
"""

from __future__ import annotations

import bisect
import enum
import errno
from typing import TYPE_CHECKING, Final

from .errors import err
from .page_alloc import PAGE_SHIFT, PAGE_SIZE, PG, PMD_SIZE, int_bit_operators
from .pgtable import PageTable
from .validate import Unique, entry_point

if TYPE_CHECKING:  # struct file is declared here, defined by the filesystems above
    from .fs import File

__all__ = ["TASK_SIZE", "VM", "VMA", "AnonVma", "MMStruct"]

TASK_SIZE: Final = (1 << 47) - PAGE_SIZE


@int_bit_operators
class VM(enum.IntFlag):
    """``vm_flags`` bits."""

    READ = 0x1
    WRITE = 0x2
    EXEC = 0x4
    SHARED = 0x8
    PFNMAP = 0x400
    IO = 0x4000
    DONTCOPY = 0x20000
    HUGETLB = 0x400000
    HUGEPAGE = 0x20000000
    NOHUGEPAGE = 0x40000000


class AnonVma:
    """The MMs that may map a family of anonymous folios (a process and the
    children forked from it): what the anon rmap walk visits."""

    __slots__ = ("mms",)

    def __init__(self) -> None:
        self.mms: list[MMStruct] = []


class VMA(Unique):
    """``struct vm_area_struct``: ``[vm_start, vm_end)`` with one set of flags."""

    __slots__ = (
        "vm_mm", "vm_start", "vm_end", "vm_flags", "vm_file", "vm_pgoff", "huge_order",
    )  # fmt: skip

    def __init__(
        self,
        mm: MMStruct,
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

    def fault_condition(self, write: bool, unshare: bool, longterm: bool = False) -> tuple[int, int]:
        """``(mask, bad)``: a present page needs a fault first iff
        ``page_flags(page) & mask == bad`` (``bad == -1``: never). *unshare*
        is a pin without FOLL_WRITE, which must not hold a page the process
        may later copy away from (``gup_must_unshare()``): in a private
        mapping a shared anonymous page and, for a *longterm* pin, any page
        that is not anon-exclusive (the zero page, a page-cache page)."""
        if not self.is_shared:
            if write or unshare and longterm:
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


class MMStruct(Unique):
    """``struct mm_struct``: the VMAs (sorted by ``vm_start``, never
    overlapping), the page tables and the anon_vma family of a process."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.vmas: list[VMA] = []
        self.pgtable = PageTable()
        self.anon_vma = AnonVma()
        self.anon_vma.mms.append(self)
        self.has_pinned = False  # MMF_HAS_PINNED
        self.dead = False

    def __repr__(self) -> str:
        return f"<MM {self.name or hex(id(self))}>"

    @entry_point
    def find_vma(self, addr: int) -> VMA | None:
        """The VMA containing *addr*, or None."""
        i = bisect.bisect_right(self.vmas, addr, key=lambda v: v.vm_start) - 1
        if i >= 0 and addr < self.vmas[i].vm_end:
            return self.vmas[i]
        return None

    def vmas_in(self, start: int, end: int) -> list[VMA]:
        """The VMAs overlapping ``[start, end)``, in address order."""
        return [v for v in self.vmas if v.vm_start < end and v.vm_end > start]

    def check_live(self) -> None:
        """ESRCH once the process has exited."""
        if self.dead:
            raise err(errno.ESRCH, f"{self!r} has exited")
