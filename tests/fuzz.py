"""A seeded random walk over the public API, checked after every step
against an independent shadow.

The shadow knows nothing of folios or page tables. A process is its VMAs
and, for its private mappings, the pages it has its own copy of; a file is
its pages; a pin is the pages it holds. Each step is one public call chosen
at random (mmap, MAP_FIXED, munmap, mprotect, madvise, mremap, process
loads and stores, fork, exit, get_user_pages and put_page, pins and bvecs
and device DMA through them, GUP-fast on the current MM, migration,
writeback, reclaim, MADV_PAGEOUT to swap, write(2), kernel pages,
scatterlists, and calls that must be refused); the shadow applies what the
call means, and then the step is checked:

- every folio's ``_refcount``, ``_pincount`` and ``_mapcount`` are exactly
  what its holders account for: the page-table entries mapping it, the
  page cache, the walk's own plain references, pins and kernel pages (a
  folio nobody holds is free);
- ``nr_foll_pin_acquired - nr_foll_pin_released`` and the ledger are the
  walk's live pins; the VMAs are the shadow's; every swap slot in use is
  held by as many PTEs as its count says;
- a GUP call that stops short (or refuses) stops at a page the shadow
  finds it must refuse (GUP-fast alone: one it cannot take as mapped);
- the bytes: what the process reads where the step acted, and at a few
  random pages, and what a few random pins read, against the shadow; every
  ``SWEEP`` steps, everything. Every byte ever written is position
  dependent (each 8-byte word holds its user address and the step), so a
  page of the right folio mapped at the wrong address shows.

A refused call (a KernelError, or a TypeError at the boundary) is applied
to nothing: the checks then show that it left no pin, reference or byte
behind. Each epoch starts a fresh world from its own seed and ends in a
teardown that must free every folio. A divergence ends its epoch and is
reported with the steps that led to it; one the walk can shadow as the model
behaves (a read-only FOLL_LONGTERM pin left holding the zero page) is noted
and the walk goes on.
"""

from __future__ import annotations

import errno
import random
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field

import pinapi
from pinapi import (
    FOLL_FORCE, FOLL_LONGTERM, FOLL_WRITE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_PAGEOUT, MAP_ANONYMOUS,
    MAP_FIXED, MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED, MM, MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_SIZE, PMD_SIZE,
    PROT_NONE, PROT_READ, PROT_WRITE, TASK_SIZE, File, Folio, KernelError, KernelPage, Page, PinnedBvec,
    PinnedPages, VaddrPin,
)  # fmt: skip
from pinapi import lowlevel
from pinapi._mm.filemap import AddressSpace
from pinapi._mm.swapfile import SwapEntry
from pinapi.lowlevel import FOLL_FAST_ONLY, GUP_PIN_COUNTING_BIAS, ZERO_FOLIO, Ext4, Inode, Zone, swap_info

EPOCH_STEPS = 250  # then a teardown and a fresh world
SWEEP = 50  # every so many steps, read everything
MAX_PROCS = 3
MAX_VMAS = 6
TRAIL = 30  # steps kept for a report
_ADDR_MASK = (1 << 48) - 1


def pattern(addr: int, length: int, tag: int) -> bytes:
    """The bytes written at user address *addr*: each aligned 8-byte word is
    ``tag << 48 | its address``."""
    start = addr & ~7
    end = (addr + length + 7) & ~7
    words = array("Q", range(tag << 48 | start, tag << 48 | end, 8)).tobytes()
    return words[addr - start : addr - start + length]


def written_for(data: bytes, offset: int) -> int | None:
    """The user address the aligned word at *offset* of *data* was written
    for (None if zero)."""
    word = int.from_bytes(data[offset : offset + 8], "little")
    return word & _ADDR_MASK if word else None


class Cell:
    """One page of bytes the shadow expects."""

    __slots__ = ("data",)

    def __init__(self, data: bytes | bytearray = bytes(PAGE_SIZE)) -> None:
        self.data = bytearray(data)


ZERO_CELL = Cell()  # the shared zero page: never written


class SFile:
    """A file, as its pages."""

    def __init__(self, file: File, inode: Inode, name: str) -> None:
        self.file, self.inode, self.name = file, inode, name
        self.pages: dict[int, Cell] = {}

    def cell(self, index: int) -> Cell:
        return self.pages.setdefault(index, Cell())


@dataclass
class SVma:
    start: int
    end: int
    prot: int
    shared: bool
    sfile: SFile | None  # None: private anonymous
    pgoff: int  # anonymous: the page number it was mapped at (the rmap's index), kept by a move
    huge: bool  # hugetlb
    thp: int = 0  # MADV_HUGEPAGE, MADV_NOHUGEPAGE or 0

    def index(self, addr: int) -> int:
        return self.pgoff + (addr - self.start) // PAGE_SIZE

    def split(self, addr: int) -> SVma:
        """Cut at *addr*; returns the upper part."""
        upper = self.moved(addr, self.end, addr)
        self.end = addr
        return upper

    def moved(self, start: int, end: int, old: int) -> SVma:
        """This VMA's pages from *old* on, mapped at ``[start, end)``."""
        return SVma(start, end, self.prot, self.shared, self.sfile, self.index(old), self.huge, self.thp)

    def continued_by(self, other: SVma) -> bool:
        """*other* starts where this ends and maps what would follow: the
        model may have merged the two (the shadow never merges)."""
        return (self.end == other.start and (self.prot, self.shared, self.sfile, self.huge, self.thp)
                == (other.prot, other.shared, other.sfile, other.huge, other.thp) and self.index(self.end) == other.pgoff)  # fmt: skip


class SProc:
    """A process: its model MM, its VMAs, and the pages it has its own copy of."""

    def __init__(self, mm: MM) -> None:
        self.mm = mm
        self.vmas: list[SVma] = []
        self.private: dict[int, Cell] = {}

    def vma(self, addr: int) -> SVma | None:
        return next((v for v in self.vmas if v.start <= addr < v.end), None)

    def free(self, start: int, end: int) -> bool:
        """No VMA overlaps ``[start, end)``."""
        return not any(v.start < end and start < v.end for v in self.vmas)

    def cell(self, addr: int) -> Cell:
        """What the process reads at page *addr*."""
        v = self.vma(addr)
        assert v is not None
        if v.shared:
            assert v.sfile is not None
            return v.sfile.cell(v.index(addr))
        own = self.private.get(addr)
        if own is not None:
            return own
        return v.sfile.cell(v.index(addr)) if v.sfile is not None else ZERO_CELL

    def own(self, addr: int) -> Cell:
        """The page at *addr* after a write fault: a private mapping's own copy."""
        v = self.vma(addr)
        assert v is not None
        if v.shared:
            return self.cell(addr)
        if addr not in self.private:
            self.private[addr] = Cell(self.cell(addr).data)
        return self.private[addr]

    def carve(self, start: int, end: int) -> list[SVma]:
        """Split VMAs at *start* and *end*; returns those inside."""
        out: list[SVma] = []
        for v in list(self.vmas):
            if v.start < start < v.end:
                self.vmas.append(v.split(start))
        for v in list(self.vmas):
            if v.start < end < v.end:
                self.vmas.append(v.split(end))
        self.vmas.sort(key=lambda v: v.start)
        return [v for v in self.vmas if start <= v.start and v.end <= end]

    def unmap(self, start: int, end: int) -> None:
        for v in self.carve(start, end):
            self.vmas.remove(v)
        for addr in [a for a in self.private if start <= a < end]:
            del self.private[addr]

    def layout(self) -> list[tuple[int, int, tuple[int, bool, int]]]:
        return _runs((v.start, v.end, (v.prot, v.shared, id(v.sfile.inode) if v.sfile else 0)) for v in self.vmas)


def _runs(vmas: Iterable[tuple[int, int, tuple[int, bool, int]]]) -> list[tuple[int, int, tuple[int, bool, int]]]:
    """Maximal runs of like pages, (start, end, (prot, shared, inode)):
    the model and the shadow may split VMAs differently."""
    out: list[tuple[int, int, tuple[int, bool, int]]] = []
    for start, end, key in sorted(vmas):
        if out and out[-1][1] == start and out[-1][2] == key:
            out[-1] = (out[-1][0], end, key)
        else:
            out.append((start, end, key))
    return out


@dataclass
class SPin:
    """A live pin batch (``PinnedPages``) or bvec, and the pages it holds."""

    handle: PinnedPages | PinnedBvec
    proc: SProc
    addr: int  # first byte
    length: int  # bytes (a batch: whole pages)
    cells: list[Cell]  # one per page touched
    flags: int
    pages: list[Page]  # as pinned
    at: list[int] = field(init=False)  # where each page sits in the process: mremap moves it

    def __post_init__(self) -> None:
        self.at = [(self.addr & ~(PAGE_SIZE - 1)) + i * PAGE_SIZE for i in range(len(self.cells))]

    def page_addr(self, i: int) -> int:
        return self.at[i]


@dataclass
class Divergence(Exception):
    """The model and the shadow disagree (or a call failed in a way no call may)."""

    kind: str
    message: str
    seed: int = 0
    step: int = 0
    trail: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        steps = "\n  ".join(self.trail)
        return f"{self.kind} at step {self.step} of epoch seed {self.seed}: {self.message}\n  {steps}"


class Walk:
    """One epoch: a world, a seeded random walk over it, and the checks."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.step = 0
        self.trail: list[str] = []
        self.procs: list[SProc] = []
        self.files: list[SFile] = []
        self.pins: list[SPin] = []
        self.gups: list[Page] = []  # plain references the walk holds, one entry each
        self.kpages: list[tuple[KernelPage, Cell]] = []
        self.known: dict[int, Folio] = {}
        self.noted: list[Divergence] = []  # known divergences the walk went on past
        self.acquired: list[PinnedPages | PinnedBvec] = []  # every handle taken: abandon() releases them
        self.base = lowlevel.vmstat.snapshot()
        self.base_ledger = sum(r.live for r in lowlevel.pin_ledger())  # an abandoned epoch's leftovers
        self.base_swap = swap_info.inuse_pages
        self.fs = Ext4()
        self.ops: list[tuple[int, Callable[[], str]]] = [  # (weight, operation)
            (6, self.op_mmap), (2, self.op_mmap_fixed), (3, self.op_munmap), (2, self.op_mprotect),
            (1, self.op_madvise), (14, self.op_write), (2, self.op_fill), (4, self.op_read),
            (3, self.op_fork), (1, self.op_exit), (5, self.op_gup), (4, self.op_put), (9, self.op_pin),
            (6, self.op_unpin), (8, self.op_dma), (3, self.op_bvec), (3, self.op_put_bvec),
            (3, self.op_migrate), (2, self.op_writeback), (2, self.op_reclaim), (2, self.op_file_write),
            (1, self.op_kernel_page), (1, self.op_sg), (2, self.op_refused), (6, self.op_fast),
            (4, self.op_mremap), (3, self.op_pageout),
        ]  # fmt: skip
        self.weights = [w for w, _ in self.ops]
        self.procs.append(SProc(MM(f"fuzz{seed}")))

    # -- choosing ---------------------------------------------------------------------------
    def proc(self) -> SProc:
        return self.rng.choice(self.procs)

    def tag(self, device: bool = False) -> int:
        return (self.step & 0x7FFF) | (0x8000 if device else 0)

    def pick_range(self, p: SProc, max_pages: int) -> tuple[int, int]:
        """(start page address, pages): mostly inside one VMA, sometimes
        running off its ends."""
        if not p.vmas:
            return 0x7E00_0000_0000, 1
        v = self.rng.choice(p.vmas)
        pages = (v.end - v.start) // PAGE_SIZE
        first = self.rng.randint(-1 if self.rng.random() < 0.05 else 0, pages - 1)
        if v.thp and pages > 512 and self.rng.random() < 0.5:
            first = self.rng.randrange(pages)  # anywhere in a THP
        n = self.rng.randint(1, max(1, min(max_pages, pages - max(first, 0) + (self.rng.random() < 0.05))))
        return v.start + first * PAGE_SIZE, n

    def written_range(self, p: SProc, max_pages: int) -> tuple[int, int]:
        """``pick_range``, but more often from a page the process wrote."""
        start, n = self.pick_range(p, max_pages)
        if p.private and self.rng.random() < 0.5:
            start = self.rng.choice(list(p.private))
            v = p.vma(start)
            assert v is not None
            n = max(1, min(n, (v.end - start) // PAGE_SIZE + (self.rng.random() < 0.05)))
        return start, n

    # -- operations: each returns what it did --------------------------------------------------
    def new_file(self, pages: int, ext4: bool) -> SFile:
        if ext4:
            inode = Inode(self.fs, pages * PAGE_SIZE)
            f = SFile(File(inode, f"ext4-{inode.ino}"), inode, "ext4")
        else:
            sh = pinapi.shmem_file(pages * PAGE_SIZE, "shm")
            f = SFile(sh, sh.inode, "shmem")
        self.files.append(f)
        return f

    def mapping(self) -> tuple[int, int, bool, SFile | None, int, bool]:
        """(pages, flags, shared, file, file page offset, hugetlb) of a new mapping."""
        r = self.rng.random()
        if r < 0.12:
            return 512 * self.rng.choice([1, 2]), MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, False, None, 0, True
        if r < 0.17:
            return 512, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, True, None, 0, True
        if r < 0.27:
            return self.rng.choice([1, 4, 16]), MAP_SHARED | MAP_ANONYMOUS, True, None, 0, False
        if r < 0.45:
            shared = self.rng.random() < 0.6
            usable = [f for f in self.files if not f.file.closed]
            f = self.rng.choice(usable) if usable and self.rng.random() < 0.6 else self.new_file(16, self.rng.random() < 0.5)
            size = f.inode.size // PAGE_SIZE
            off = self.rng.randrange(size)
            n = self.rng.randint(1, size - off)
            return n, MAP_SHARED if shared else MAP_PRIVATE, shared, f, off, False
        return self.rng.choice([1, 3, 8, 512, 600, 1024]), MAP_PRIVATE | MAP_ANONYMOUS, False, None, 0, False

    def add_vma(self, p: SProc, addr: int, pages: int, flags: int, shared: bool, f: SFile | None, off: int,
                huge: bool, prot: int) -> None:  # fmt: skip
        if flags & MAP_ANONYMOUS and shared:  # the model's unlinked file: shadowed as one of ours
            vma = p.mm.find_vma(addr)
            assert vma is not None and vma.vm_file is not None
            f = SFile(vma.vm_file, vma.vm_file.inode, "anon")
        p.vmas.append(SVma(addr, addr + pages * PAGE_SIZE, prot, shared, f, off if f else addr // PAGE_SIZE, huge))
        p.vmas.sort(key=lambda v: v.start)

    def op_mmap(self) -> str:
        p = self.proc()
        if len(p.vmas) >= MAX_VMAS:
            return self.op_munmap()
        pages, flags, shared, f, off, huge = self.mapping()
        prot = self.rng.choice([PROT_READ | PROT_WRITE] * 4 + [PROT_READ])
        addr = p.mm.mmap(pages * PAGE_SIZE, prot, flags, f.file if f else None, off * PAGE_SIZE)
        if not p.free(addr, addr + pages * PAGE_SIZE):
            raise Divergence("vmas", f"mmap placed {pages}p at {addr:#x}, over what {p.mm.name} maps: {p.vmas}")
        self.add_vma(p, addr, pages, flags, shared, f, off, huge, prot)
        if not huge and f is None and not shared and pages >= 512 and self.rng.random() < 0.8:
            p.mm.madvise(addr, pages * PAGE_SIZE, MADV_HUGEPAGE)
            for v in p.carve(addr, addr + pages * PAGE_SIZE):
                v.thp = MADV_HUGEPAGE
        return f"mmap {pages}p {'hugetlb ' if huge else ''}{'shared' if shared else 'private'} " \
               f"{f.name + '+' + str(off) if f else 'anon'} at {addr:#x}"  # fmt: skip

    def op_mmap_fixed(self) -> str:
        p = self.proc()
        if not p.vmas:
            return self.op_mmap()
        start, n = self.pick_range(p, 8)
        pages, flags, shared, f, off, huge = self.mapping()
        if huge or any(v.huge for v in p.vmas if v.start < start + n * PAGE_SIZE and v.end > start):
            return self.op_mmap()  # hugetlb alignment is finding 3's business
        n = min(n, pages)
        if f is not None:
            n = min(n, f.inode.size // PAGE_SIZE - off)
        if start < PAGE_SIZE:
            return "mmap MAP_FIXED: no room"
        try:
            p.mm.mmap(n * PAGE_SIZE, PROT_READ | PROT_WRITE, flags | MAP_FIXED, f.file if f else None,
                      off * PAGE_SIZE, start)  # fmt: skip
        except KernelError as e:
            return f"mmap MAP_FIXED {n}p at {start:#x}: refused {e.errno}"
        p.unmap(start, start + n * PAGE_SIZE)
        self.add_vma(p, start, n, flags, shared, f, off, False, PROT_READ | PROT_WRITE)
        return f"mmap MAP_FIXED {n}p {'shared' if shared else 'private'} {f.name if f else 'anon'} at {start:#x}"

    def op_munmap(self) -> str:
        p = self.proc()
        start, n = self.pick_range(p, 16 if self.rng.random() < 0.8 else 700)
        try:
            p.mm.munmap(start, n * PAGE_SIZE)
        except KernelError as e:
            return f"munmap {start:#x}+{n}p: refused {e.errno}"
        p.unmap(start, start + n * PAGE_SIZE)
        return f"munmap {start:#x}+{n}p"

    def op_mprotect(self) -> str:
        p = self.proc()
        start, n = self.pick_range(p, 8)
        prot = self.rng.choice([PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_NONE])
        try:
            p.mm.mprotect(start, n * PAGE_SIZE, prot)
        except KernelError as e:
            return f"mprotect {start:#x}+{n}p: refused {e.errno}"
        for v in p.carve(start, start + n * PAGE_SIZE):
            v.prot = prot
        return f"mprotect {start:#x}+{n}p {prot}"

    def op_madvise(self) -> str:
        p = self.proc()
        start, n = self.pick_range(p, 600)
        advice = self.rng.choice([MADV_HUGEPAGE, MADV_NOHUGEPAGE])
        try:
            p.mm.madvise(start, n * PAGE_SIZE, advice)
        except KernelError as e:
            return f"madvise {start:#x}+{n}p: refused {e.errno}"
        for v in p.carve(start, start + n * PAGE_SIZE):
            v.thp = advice
        return f"madvise {start:#x}+{n}p {advice}"

    def byte_range(self, p: SProc, max_pages: int) -> tuple[int, int]:
        start, n = self.pick_range(p, max_pages)
        head = self.rng.randrange(PAGE_SIZE) if self.rng.random() < 0.7 else 0
        length = max(1, n * PAGE_SIZE - head - (self.rng.randrange(PAGE_SIZE) if self.rng.random() < 0.7 else 0))
        return start + head, length

    def op_write(self) -> str:
        p = self.proc()
        addr, length = self.byte_range(p, 3)
        data = pattern(addr, length, self.tag())
        movable = self.rng.random() < 0.1
        try:
            with lowlevel.alloc_zone(Zone.MOVABLE) if movable else nullcontext():
                p.mm.write(addr, data)
        except KernelError as e:
            return f"write {addr:#x}+{length}: refused {e.errno}"
        self.store(p, addr, data)
        self.check_read(p, addr & ~(PAGE_SIZE - 1), -(-(addr + length) // PAGE_SIZE) * PAGE_SIZE - (addr & ~(PAGE_SIZE - 1)))
        return f"write {addr:#x}+{length}{' movable' if movable else ''}"

    def op_fill(self) -> str:
        """The process fills a whole 2 MiB block of a mapping (or all of a
        smaller one): a THP with every page distinguishable."""
        p = self.proc()
        if not p.vmas:
            return self.op_mmap()
        v = self.rng.choice(p.vmas)
        block = max(v.start, self.rng.randrange(v.start, v.end, PAGE_SIZE) & ~(PMD_SIZE - 1))
        end = min(v.end, block + PMD_SIZE)
        data = pattern(block, end - block, self.tag())
        try:
            p.mm.write(block, data)
        except KernelError as e:
            return f"fill {block:#x}+{end - block}: refused {e.errno}"
        self.store(p, block, data)
        self.check_read(p, block, end - block)
        return f"fill {block:#x}+{(end - block) // PAGE_SIZE}p"

    def store(self, p: SProc, addr: int, data: bytes) -> None:
        """The process stored *data* at *addr*: into its own pages."""
        pos = 0
        while pos < len(data):
            page = (addr + pos) & ~(PAGE_SIZE - 1)
            off = (addr + pos) - page
            n = min(len(data) - pos, PAGE_SIZE - off)
            p.own(page).data[off : off + n] = data[pos : pos + n]
            pos += n

    def op_read(self) -> str:
        p = self.proc()
        addr, length = self.byte_range(p, 8)
        self.check_read(p, addr, length)
        return f"read {addr:#x}+{length}"

    def op_fork(self) -> str:
        if len(self.procs) >= MAX_PROCS:
            return self.op_exit()
        p = self.proc()
        child = SProc(p.mm.fork())
        child.vmas = [SVma(v.start, v.end, v.prot, v.shared, v.sfile, v.pgoff, v.huge, v.thp) for v in p.vmas]
        child.private = {a: Cell(c.data) for a, c in p.private.items()}
        self.procs.append(child)
        return f"fork {p.mm.name} -> {child.mm.name}"

    def op_exit(self) -> str:
        p = self.proc()
        p.mm.exit()
        self.procs.remove(p)
        if not self.procs:
            self.procs.append(SProc(MM(f"fuzz{self.seed}-{self.step}")))
        return f"exit {p.mm.name}"

    def gup_flags(self) -> int:
        return self.rng.choice([0, FOLL_WRITE, FOLL_WRITE, FOLL_FORCE, FOLL_WRITE | FOLL_FORCE])

    def op_gup(self) -> str:
        p = self.proc()
        start, n = self.pick_range(p, 4)
        vma = p.mm.find_vma(start)
        if vma is not None and self.rng.random() < 0.2:
            page = pinapi.follow_page(vma, start)
            if page is not None:
                self.gups.append(page)
            return f"follow_page {start:#x}: {'a page' if page else 'nothing mapped'}"
        flags = self.gup_flags()
        try:
            pages = pinapi.get_user_pages_remote(p.mm, start, n, flags)
        except KernelError as e:
            self.explain("gup", p, start, n, flags, 0, False)
            self.faulted_in(p, start, n)
            return f"gup {start:#x}+{n}p: refused {e.errno}"
        self.explain("gup", p, start, n, flags, len(pages), False)
        self.faulted_in(p, start + len(pages) * PAGE_SIZE, n - len(pages))
        for i, page in enumerate(pages):
            if flags & FOLL_WRITE:
                p.own(start + i * PAGE_SIZE)  # the write fault broke COW
            self.gups.append(page)
        if pages and self.rng.random() < 0.3:
            page = self.rng.choice(pages)
            v = p.vma(start)
            if v is not None and (v.sfile is None or v.sfile.name != "ext4"):
                pinapi.set_page_dirty_lock(page)  # on ext4, dirty without buffers: the 2018 BUG
        return f"gup {start:#x}+{n}p flags={flags:#x}: {len(pages)} pages"

    def op_put(self) -> str:
        if not self.gups:
            return self.op_gup()
        r = self.rng.random()
        if r < 0.15:
            page = self.rng.choice(self.gups)
            pinapi.get_page(page)
            self.gups.append(page)
            return "get_page"
        if r < 0.6:
            page = self.gups.pop(self.rng.randrange(len(self.gups)))
            pinapi.put_page(page)
            return "put_page"
        k = self.rng.randint(1, len(self.gups))
        batch, self.gups = self.gups[:k], self.gups[k:]
        pinapi.release_pages(batch)
        return f"release_pages {k}"

    def faulted_in(self, p: SProc, start: int, n: int) -> None:
        """A refused GUP call may leave the usable part of its range faulted
        in (docs/design.md, the refused-call contract), copy-on-write copies
        included: a page of a private mapping that now has its own
        anonymous page no longer follows its file. The bytes are the same."""
        for addr in range(start, start + n * PAGE_SIZE, PAGE_SIZE):
            v, page = p.vma(addr), p.mm.lookup(addr)
            if v and not v.shared and page and page.folio.test(lowlevel.PG.anon) and addr not in p.private:
                p.own(addr)

    def pin_flags(self) -> int:
        return self.rng.choice([0, FOLL_WRITE, FOLL_WRITE, FOLL_LONGTERM, FOLL_WRITE | FOLL_LONGTERM,
                                FOLL_WRITE | FOLL_FORCE, FOLL_FORCE])  # fmt: skip

    def pinned_cell(self, p: SProc, addr: int, flags: int, folio: Folio) -> Cell:
        """The page a pin of *addr* holds: the process's own page, except that
        a short-term read pin of a private mapping's page the process has no
        copy of may hold the zero page or the page-cache page (the kernel's
        choice: a THP already backs such a page with the process's own)."""
        v = p.vma(addr)
        assert v is not None
        if v.shared or addr in p.private or flags & (FOLL_WRITE | FOLL_LONGTERM) or folio.test(lowlevel.PG.anon):
            return p.own(addr)
        return p.cell(addr)

    def op_pin(self) -> str:
        p = self.proc()
        start, n = self.pick_range(p, 6)
        flags = self.pin_flags()
        owner = VaddrPin(mm=p.mm)
        try:
            handle = pinapi.vaddr_pin_pages(start, n, flags, owner)
        except KernelError as e:
            self.explain("pin", p, start, n, flags, 0, True)
            self.faulted_in(p, start, n)
            return f"pin {start:#x}+{n}p flags={flags:#x}: refused {e.errno}"
        self.acquired.append(handle)
        pages = list(handle._pages)
        flags = self.unshared(p, start, pages, flags)
        cells = [self.pinned_cell(p, start + i * PAGE_SIZE, flags, pages[i].folio) for i in range(n)]
        self.pins.append(SPin(handle, p, start, n * PAGE_SIZE, cells, flags, pages))
        self.check_pin(self.pins[-1])
        return f"pin {start:#x}+{n}p flags={flags:#x}"

    def unshared(self, p: SProc, start: int, pages: list[Page], flags: int) -> int:
        """A read-only FOLL_LONGTERM pin of a private mapping must hold the
        process's own anonymous page (``gup_must_unshare()``). Where it does
        not, note the divergence and go on as the model does, as if the pin
        were short-term: the flags to shadow the pin with."""
        if not flags & FOLL_LONGTERM or flags & FOLL_WRITE:
            return flags
        for i, folio in enumerate(page.folio for page in pages):
            v = p.vma(start + i * PAGE_SIZE)
            if v is not None and not v.shared and not folio.test(lowlevel.PG.anon):
                held = "the zero page" if folio is ZERO_FOLIO else "a page-cache page"
                self.noted.append(Divergence("pin", f"the read-only FOLL_LONGTERM pin of {start + i * PAGE_SIZE:#x} "
                                                    f"holds {held}, not an unshared copy: ro-longterm-pin-not-unshared",
                                             self.seed, self.step, list(self.trail)))  # fmt: skip
                return flags & ~FOLL_LONGTERM
        return flags

    def op_bvec(self) -> str:
        p = self.proc()
        addr, length = self.byte_range(p, 4)
        flags = self.pin_flags()
        try:
            bvec = pinapi.get_user_bvec(addr, length, flags, VaddrPin(mm=p.mm))
        except KernelError as e:
            self.faulted_in(p, addr & ~(PAGE_SIZE - 1), -(-(addr % PAGE_SIZE + length) // PAGE_SIZE))
            return f"bvec {addr:#x}+{length} flags={flags:#x}: refused {e.errno}"
        self.acquired.append(bvec)
        first = addr & ~(PAGE_SIZE - 1)
        runs = bvec._runs
        pages = [Page(f, i) for f, first_i, nr in zip(runs.folios, runs.first, runs.nr) for i in range(first_i, first_i + nr)]
        flags = self.unshared(p, first, pages, flags)
        cells = [self.pinned_cell(p, first + i * PAGE_SIZE, flags, pages[i].folio) for i in range(bvec.nr_pages)]
        self.pins.append(SPin(bvec, p, addr, length, cells, flags, pages))
        self.check_pin(self.pins[-1])
        return f"bvec {addr:#x}+{length} flags={flags:#x}: {len(bvec)} segments"

    def op_unpin(self) -> str:
        batches = [s for s in self.pins if isinstance(s.handle, PinnedPages)]
        if not batches:
            return self.op_pin()
        s = self.rng.choice(batches)
        assert isinstance(s.handle, PinnedPages)
        live = [h for h in s.handle if h.pinned]
        how = self.rng.choice(["one", "some", "all", "dirty", "owner"])
        if how == "one":
            pinapi.unpin_user_page(self.rng.choice(live))
        elif how == "some":
            pinapi.unpin_user_pages(self.rng.sample(live, self.rng.randint(1, len(live))))
        elif how == "all":
            pinapi.unpin_user_pages(s.handle if len(live) == len(s.handle) else live)
        elif how == "dirty":  # only a device that wrote dirties (a read pin's page may be clean cache)
            pinapi.unpin_user_pages_dirty_lock(live, make_dirty=bool(s.flags & FOLL_WRITE))
        else:
            pinapi.vaddr_unpin_pages_dirty_lock(live, s.handle.owner, make_dirty=bool(s.flags & FOLL_WRITE))
        if not s.handle.nr_pinned:
            self.pins.remove(s)
        return f"unpin {how} of {s.addr:#x}"

    def op_put_bvec(self) -> str:
        bvecs = [s for s in self.pins if isinstance(s.handle, PinnedBvec)]
        if not bvecs:
            return self.op_bvec()
        s = self.rng.choice(bvecs)
        assert isinstance(s.handle, PinnedBvec)
        pinapi.put_user_bvec(s.handle, make_dirty=bool(s.flags & FOLL_WRITE) and self.rng.random() < 0.7)
        self.pins.remove(s)
        return f"put_user_bvec {s.addr:#x}"

    def refusal(self, p: SProc, addr: int, flags: int) -> str | None:
        """Why GUP must refuse the page at *addr* (``check_vma_flags()``, a
        fault past the end of the file, ``writable_file_mapping_allowed()``),
        or None."""
        v = p.vma(addr)
        if v is None:
            return "no VMA"
        if flags & FOLL_WRITE and not v.prot & PROT_WRITE and not (flags & FOLL_FORCE and not v.shared):
            return "not writable"
        if not flags & FOLL_WRITE and not v.prot & PROT_READ and not flags & FOLL_FORCE:
            return "not readable"
        if v.sfile is not None and not v.huge and v.index(addr) >= v.sfile.inode.size // PAGE_SIZE:
            return "past the end of the file"
        if not flags & FOLL_LONGTERM:
            return None
        if flags & FOLL_WRITE and v.shared and v.sfile is not None and v.sfile.name == "ext4":
            return "a writable FOLL_LONGTERM pin of a shared ext4 mapping"
        return None

    def movable(self, p: SProc, addr: int) -> bool:
        """The page at *addr* (mapped, or in the page cache) is outside
        ZONE_NORMAL: a FOLL_LONGTERM pin must migrate it, which may fail."""
        v, page = p.vma(addr), p.mm.lookup(addr)
        cached = v.sfile.inode.mapping.pages.get(v.index(addr)) if v is not None and v.sfile is not None else None
        return any(f is not None and f.zone is not Zone.NORMAL for f in (page and page.folio, cached))

    def explain(self, what: str, p: SProc, start: int, n: int, flags: int, taken: int, all_or_nothing: bool) -> None:
        """A call that took *taken* of *n* pages from *start* stopped at a
        page GUP must refuse: the first it did not take, or for an all or
        nothing call any page of the range. A FOLL_LONGTERM pin may also stop
        anywhere a page is to migrate: the migration may fail, and one that
        goes with an error unpins all the slow path took (the kernel
        migrates and retries)."""
        if taken == n:
            return
        first = start + taken * PAGE_SIZE
        rest = range(first, start + n * PAGE_SIZE, PAGE_SIZE)
        if flags & FOLL_LONGTERM and any(self.movable(p, a) for a in rest):
            return
        if not any(self.refusal(p, a, flags) for a in (rest if all_or_nothing else [first])):
            raise Divergence("short", f"{what} {start:#x}+{n}p flags={flags:#x} took {taken} pages; the shadow "
                                      f"finds nothing it must refuse from {first:#x}")  # fmt: skip

    def fast_refusal(self, p: SProc, addr: int, flags: int) -> str | None:
        """Why GUP-fast alone (``gup_fast_pte_range()``: no VMA, no fault)
        leaves *addr* to the slow path, or None. A page's PTE write bit is
        not the shadow's to know: a write may stop anywhere."""
        v = p.vma(addr)
        if v is None or not v.prot & PROT_READ:
            return "no VMA, or PROT_NONE (pte_protnone())"
        page = p.mm.lookup(addr)
        if page is None:
            return "nothing mapped"
        if page.folio is ZERO_FOLIO:
            return "the zero page (pte_special())"
        return "maybe not writable in its PTE" if flags & FOLL_WRITE else None

    def op_fast(self) -> str:
        """GUP-fast on the current MM: ``pin_user_pages_fast()``,
        ``get_user_pages_fast()`` (a short result stops at a page the slow
        path refuses, and is the caller's) or ``get_user_pages_fast_only()``
        (never faults: it stops at the first page GUP-fast cannot take as
        mapped, and never takes the zero page, whose PTE is special). Every
        page taken is the one mapped there."""
        p = self.proc()
        start, n = self.pick_range(p, 6)
        n += self.rng.randint(1, 4) if self.rng.random() < 0.2 else 0  # a short result, maybe
        kind = self.rng.choice(["pin", "pin", "get", "only", "only"])
        flags = self.pin_flags() if kind == "pin" else self.gup_flags()
        what = {"pin": "pin_user_pages_fast", "get": "get_user_pages_fast", "only": "get_user_pages_fast_only"}[kind]
        faults = lowlevel.vmstat.pgfault
        with pinapi.kthread_use_mm(p.mm):
            try:
                if kind == "pin":
                    got: PinnedPages | list[Page] = pinapi.pin_user_pages_fast(start, n, flags)
                elif kind == "get":
                    got = pinapi.get_user_pages_fast(start, n, flags)
                else:
                    got = pinapi.get_user_pages_fast_only(start, n, flags)
            except KernelError as e:
                self.explain(what, p, start, n, flags, 0, False)
                self.faulted_in(p, start, n)
                return f"{what} {start:#x}+{n}p flags={flags:#x}: refused {e.errno}"
        pages = list(got._pages) if isinstance(got, PinnedPages) else got
        if isinstance(got, PinnedPages):
            self.acquired.append(got)
        else:
            self.gups += pages
        if kind == "only":
            if lowlevel.vmstat.pgfault != faults:
                raise Divergence("fast", f"{what} {start:#x}+{n}p faulted")
            stop = start + len(pages) * PAGE_SIZE
            if len(pages) < n and self.fast_refusal(p, stop, flags) is None:
                raise Divergence("short", f"{what} {start:#x}+{n}p flags={flags:#x} took {len(pages)} pages; "
                                          f"GUP-fast can take {stop:#x} as mapped")  # fmt: skip
        else:
            self.explain(what, p, start, n, flags, len(pages), False)
            self.faulted_in(p, start + len(pages) * PAGE_SIZE, n - len(pages))
        for i, page in enumerate(pages):
            addr = start + i * PAGE_SIZE
            if page != p.mm.lookup(addr) or kind == "only" and page.folio is ZERO_FOLIO:
                raise Divergence("fast", f"{what} {start:#x}+{n}p flags={flags:#x} took {page!r} for {addr:#x}, "
                                         f"which maps {p.mm.lookup(addr)!r}")  # fmt: skip
        if isinstance(got, PinnedPages):
            flags = self.unshared(p, start, pages, flags)
            cells = [self.pinned_cell(p, start + i * PAGE_SIZE, flags, page.folio) for i, page in enumerate(pages)]
            self.pins.append(SPin(got, p, start, len(pages) * PAGE_SIZE, cells, flags, pages))
            self.check_pin(self.pins[-1])
        elif flags & FOLL_WRITE:
            for i in range(len(pages)):
                p.own(start + i * PAGE_SIZE)  # a page GUP took for writing is the process's own
        return f"{what} {start:#x}+{n}p flags={flags:#x}: {len(pages)} pages"

    def op_mremap(self) -> str:
        """``mremap(2)``: shrink in place, grow in place into free space after
        the VMA, or move (MREMAP_MAYMOVE; MREMAP_FIXED to a given address,
        unmapping what is there) with the pages: pins keep them, the
        process sees its bytes at the new address. Refused, changing
        nothing: an old range in no VMA or in more than one (EFAULT), a
        hugetlb range unaligned or growing, overlapping ranges, a new range
        cutting a hugetlb VMA (EINVAL), no room to grow in place and no
        leave to move (ENOMEM)."""
        p = self.proc()
        start, n = self.written_range(p, 8 if self.rng.random() < 0.8 else 600)
        v = p.vma(start)
        align = PMD_SIZE if v is not None and v.huge else PAGE_SIZE
        if align == PMD_SIZE and self.rng.random() < 0.8:  # hugetlb moves in whole huge pages
            start, n = start & ~(PMD_SIZE - 1), 512
        old_size = n * PAGE_SIZE - (self.rng.randrange(PAGE_SIZE) if self.rng.random() < 0.2 else 0)
        r = self.rng.random()
        new_size = old_size if r < 0.3 else self.rng.randint(1, old_size) if r < 0.55 else old_size + self.rng.randint(1, 520 * PAGE_SIZE)
        flags = self.rng.choice([0, MREMAP_MAYMOVE, MREMAP_MAYMOVE | MREMAP_FIXED, MREMAP_MAYMOVE | MREMAP_FIXED] * 4
                                + [MREMAP_FIXED, 0x8])  # fmt: skip
        old_len, new_len = (-(-size // align) * align for size in (old_size, new_size))
        new_addr = self.new_place(p, start, old_len, new_len, align) if flags & MREMAP_FIXED else 0
        what = f"mremap {start:#x}+{old_size:#x} -> {new_size:#x} flags={flags:#x}{f' to {new_addr:#x}' if new_addr else ''}"
        pieces = [u for u in p.vmas if u.start < start + old_len and start < u.end]
        one = v is not None and v.end >= start + old_len
        joined = v is not None and pieces[0].start <= start and pieces[-1].end >= start + old_len and all(
            a.continued_by(b) for a, b in zip(pieces, pieces[1:]))  # fmt: skip
        want: int | None = None  # the errno the shadow expects
        if flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED) or flags == MREMAP_FIXED or start % PAGE_SIZE:
            want = errno.EINVAL
        elif v is None:
            want = errno.EFAULT
        elif v.huge and (start % PMD_SIZE or new_addr % PMD_SIZE or new_len > old_len):
            want = errno.EINVAL
        elif not joined:
            want = errno.EFAULT
        elif flags & MREMAP_FIXED and (start < new_addr + new_len and new_addr < start + old_len or any(
                u.huge and (max(new_addr, u.start) % PMD_SIZE or min(new_addr + new_len, u.end) % PMD_SIZE)
                for u in p.vmas if u.start < new_addr + new_len and new_addr < u.end)):  # fmt: skip
            want = errno.EINVAL
        grows = not flags & MREMAP_FIXED and new_len > old_len
        in_place = grows and joined and pieces[-1].end == start + old_len and start + new_len <= TASK_SIZE and p.free(
            start + old_len, start + new_len)  # fmt: skip
        if want is None and grows and not in_place and not flags & MREMAP_MAYMOVE:
            want = errno.ENOMEM
        try:
            got = p.mm.mremap(start, old_size, new_size, flags, new_addr)
        except KernelError as e:
            if e.errno != want and not (joined and not one and e.errno == errno.EFAULT):
                raise Divergence("mremap", f"{what} refused {e.errno}; the shadow expects {want}") from e
            return f"{what}: refused {e.errno}"
        if want is not None:
            raise Divergence("mremap", f"{what} went through to {got:#x}; the shadow expects errno {want}")
        if flags & MREMAP_FIXED:
            p.unmap(new_addr, new_addr + new_len)
            p.unmap(start + min(old_len, new_len), start + old_len)
            self.move(p, start, min(old_len, new_len), new_addr, new_len)
            expect = new_addr
        elif not grows:
            p.unmap(start + new_len, start + old_len)
            expect = start
        elif in_place:
            pieces[-1].end = start + new_len
            expect = start
        else:
            if not p.free(got, got + new_len):
                raise Divergence("mremap", f"{what} moved to {got:#x}, over what {p.mm.name} maps: {p.vmas}")
            self.move(p, start, old_len, got, new_len)
            expect = got
        if got != expect:
            raise Divergence("mremap", f"{what} returned {got:#x}, not {expect:#x}")
        self.check_read(p, expect, min(new_len, 16 * PAGE_SIZE))
        return f"{what}: at {got:#x}"

    def new_place(self, p: SProc, start: int, old_len: int, new_len: int, align: int) -> int:
        """Where MREMAP_FIXED moves to: free space past every mapping, over
        another mapping, or overlapping the old range."""
        r = self.rng.random()
        if r < 0.5 or not p.vmas:
            top = max((u.end for u in p.vmas), default=0x7F00_0000_0000)
            return ((top + PMD_SIZE - 1) & ~(PMD_SIZE - 1)) + self.rng.randrange(3) * PMD_SIZE
        if r < 0.85:
            return self.pick_range(p, 1)[0] & ~(align - 1)
        return max(align, start + self.rng.randrange(-old_len, old_len, align) if old_len > align else start + align)

    def move(self, p: SProc, old: int, length: int, new: int, new_len: int) -> None:
        """The first *length* bytes from *old* now sit at *new*, in a VMA of
        *new_len* continuing them; pins hold their pages where they went."""
        moved = [u.moved(u.start - old + new, u.end - old + new, u.start) for u in p.carve(old, old + length)]
        moved[-1].end = new + new_len
        own = {a - old + new: c for a, c in p.private.items() if old <= a < old + length}
        p.unmap(old, old + length)
        p.vmas = sorted(p.vmas + moved, key=lambda u: u.start)
        p.private.update(own)
        for s in self.pins:
            if s.proc is p:
                s.at = [a - old + new if old <= a < old + length else a for a in s.at]

    def op_pageout(self) -> str:
        """MADV_PAGEOUT with the swap device: a small anonymous page the
        process alone maps and nothing else holds goes to swap (its bytes
        come back on the next touch); a pinned page, one mapped elsewhere
        too, page cache and the zero page stay. A page a plain GUP reference
        holds stays mapped too: the kernel would unmap it and keep it in
        its swap cache, which the model has not (vmscan.pageout). Refused,
        nothing changed: a range not all mapped (ENOMEM, the model's rule:
        the kernel advises what is mapped, then fails) or with hugetlb in it
        (EINVAL; either for both, as the range cuts a huge page or not)."""
        p = self.proc()
        start, n = self.written_range(p, 16 if self.rng.random() < 0.8 else 600)
        end = start + n * PAGE_SIZE
        pieces = [v for v in p.vmas if v.start < end and start < v.end]
        covered = sum(min(end, v.end) - max(start, v.start) for v in pieces) == end - start
        huge = any(v.huge for v in pieces)
        want = {errno.EINVAL} if huge else set()
        want |= set() if covered else {errno.ENOMEM}
        before = {a: p.mm.lookup(a) for a in range(start, end, PAGE_SIZE)}
        held: Counter[int] = Counter(id(page.folio) for page in self.gups)
        held.update(id(k.folio) for k, _ in self.kpages)
        held.update(id(page.folio) for s in self.pins for page, on in zip(s.pages, self.alive(s)) if on)
        mapped: Counter[int] = Counter(id(e if isinstance(e, Folio) else e.folio) for q in self.procs for _, e in q.mm.pgtable.entries())
        try:
            p.mm.madvise(start, n * PAGE_SIZE, MADV_PAGEOUT)
        except KernelError as e:
            if e.errno not in want:
                raise Divergence("pageout", f"MADV_PAGEOUT of {start:#x}+{n}p refused {e.errno}; the shadow expects "
                                            f"{want or 'none'}") from e  # fmt: skip
            return f"pageout {start:#x}+{n}p: refused {e.errno}"
        if want:
            raise Divergence("pageout", f"MADV_PAGEOUT of {start:#x}+{n}p went through; the shadow expects {want}")
        out = 0
        for a, page in before.items():
            if page is None:
                continue
            v = p.vma(a)
            assert v is not None
            gone = p.mm.pgtable.swap_entry(a) is not None
            out += gone
            folio = page.folio
            cache = v.shared or v.sfile is not None and a not in p.private
            if folio is ZERO_FOLIO or cache or held[id(folio)] or mapped[id(folio)] > folio.nr_pages:
                if p.mm.lookup(a) != page:
                    raise Divergence("pageout", f"MADV_PAGEOUT took {a:#x} ({page!r}), which must stay")
            elif not folio.order and not gone:
                raise Divergence("pageout", f"MADV_PAGEOUT left {a:#x}, the process's own unshared page")
        if self.rng.random() < 0.3:
            self.check_read(p, start, n * PAGE_SIZE)  # swapped back in
        return f"pageout {start:#x}+{n}p: {out} to swap"

    def op_dma(self) -> str:
        """The device writes through a pin (a write pin) and reads back."""
        if not self.pins:
            return self.op_pin()
        s = self.rng.choice(self.pins)
        if not s.flags & FOLL_WRITE:
            self.check_pin(s)
            return f"dma read {s.addr:#x}"
        pos = self.rng.randrange(s.length)
        length = self.rng.randint(1, min(s.length - pos, PAGE_SIZE))
        head = s.addr & (PAGE_SIZE - 1) if isinstance(s.handle, PinnedBvec) else 0
        if isinstance(s.handle, PinnedPages):
            i, off = divmod(pos, PAGE_SIZE)
            pin = s.handle[i]
            if not pin.pinned:
                return "dma: page already unpinned"
            length = min(length, PAGE_SIZE - off)
            data = self.device_data(s, head + pos, length)
            (pin.write if self.rng.random() < 0.5 else lambda o, d: pinapi.memcpy_to_page(pin, o, d))(off, data)
        else:
            seg_start = 0
            for seg in s.handle:
                if pos < seg_start + seg.length:
                    length = min(length, seg_start + seg.length - pos)
                    data = self.device_data(s, head + pos, length)
                    seg.write(pos - seg_start, data)
                    break
                seg_start += seg.length
        user = s.page_addr((head + pos) // PAGE_SIZE) + (head + pos) % PAGE_SIZE  # where the byte sits in the process
        at = head + pos
        while data:
            i, off = divmod(at, PAGE_SIZE)
            n = min(len(data), PAGE_SIZE - off)
            s.cells[i].data[off : off + n] = data[:n]
            data, at = data[n:], at + n
        self.check_pin(s)
        return f"dma write {user:#x}+{length}"

    def device_data(self, s: SPin, at: int, length: int) -> bytes:
        """What the device writes at byte *at* of the pin's pages: each page's
        words hold the address that page sits at in the process."""
        out = b""
        while len(out) < length:
            i, off = divmod(at + len(out), PAGE_SIZE)
            out += pattern(s.page_addr(i) + off, min(length - len(out), PAGE_SIZE - off), self.tag(device=True))
        return out

    def op_migrate(self) -> str:
        p = self.proc()
        start, _ = self.pick_range(p, 1)
        page = p.mm.lookup(start)
        if page is None:
            return f"migrate {start:#x}: nothing mapped"
        zone = self.rng.choice([Zone.NORMAL, Zone.MOVABLE])
        try:
            new = lowlevel.migrate_folio(page.folio, zone)
        except KernelError as e:
            return f"migrate {start:#x}: refused {e.errno}"
        self.known[id(new)] = new
        return f"migrate {start:#x} to {zone.value}"

    def op_writeback(self) -> str:
        if self.rng.random() < 0.3:
            lowlevel.sync_filesystem(self.fs)
            return "sync_filesystem"
        files = [f for f in self.files if f.name == "ext4"]
        if not files:
            return "writeback: no file"
        f = self.rng.choice(files)
        return f"writeback {f.inode.ino}: {lowlevel.writeback(f.inode)}"

    def op_reclaim(self) -> str:
        files = [f for f in self.files if f.name == "ext4"]
        if not files:
            return "reclaim: no file"
        f = self.rng.choice(files)
        return f"reclaim {f.inode.ino}: {lowlevel.reclaim(f.inode)}"

    def op_file_write(self) -> str:
        """write(2) to a file, checked with read(2)."""
        files = [f for f in self.files if f.name in ("ext4", "shmem")]
        if not files:
            return "write(2): no file"
        f = self.rng.choice(files)
        size = f.inode.size
        pos = self.rng.randrange(size)
        length = self.rng.randint(1, min(size - pos, 2 * PAGE_SIZE))
        data = pattern(pos, length, self.tag())
        f.inode.write(pos, data)
        at = pos
        while at < pos + length:
            i, off = divmod(at, PAGE_SIZE)
            n = min(pos + length - at, PAGE_SIZE - off)
            f.cell(i).data[off : off + n] = data[at - pos : at - pos + n]
            at += n
        got = f.inode.read(pos, length)
        if got != data:
            raise Divergence("file", f"read(2) of {f.name} at {pos} gives what was not written")
        return f"write(2) {f.name} {pos}+{length}"

    def op_kernel_page(self) -> str:
        if self.kpages and self.rng.random() < 0.5:
            kpage, cell = self.kpages.pop(self.rng.randrange(len(self.kpages)))
            if pinapi.memcpy_from_page(kpage, 0, PAGE_SIZE) != cell.data:
                raise Divergence("bytes", "a kernel page reads what was not written to it")
            pinapi.put_page(kpage)
            return "put_page(kernel page)"
        kpage = pinapi.alloc_page()
        cell = Cell()
        off = self.rng.randrange(PAGE_SIZE)
        data = pattern(off, self.rng.randint(1, PAGE_SIZE - off), self.tag())
        pinapi.memcpy_to_page(kpage, off, data)
        cell.data[off : off + len(data)] = data
        self.kpages.append((kpage, cell))
        self.known[id(kpage.folio)] = kpage.folio
        return "alloc_page + memcpy_to_page"

    def op_sg(self) -> str:
        batches = [s for s in self.pins if isinstance(s.handle, PinnedPages) and s.handle.nr_pinned == len(s.handle)]
        if not batches:
            return self.op_pin()
        s = self.rng.choice(batches)
        assert isinstance(s.handle, PinnedPages)
        sgt = pinapi.sg_alloc_table_from_pages(list(s.handle), 0, len(s.handle) * PAGE_SIZE)
        if [pinapi.sg_page(sg) for sg in pinapi.for_each_sg(sgt)] != list(s.handle):
            raise Divergence("sg", "sg_page() does not give back the pins that went in")
        pinapi.sg_free_table(sgt)
        return "sg table of a pin batch"

    def op_refused(self) -> str:
        """A call that must be refused: then nothing may have changed (the checks see to it)."""
        p = self.proc()
        start, n = self.pick_range(p, 4)
        calls: list[tuple[str, Callable[[], object]]] = [
            ("pin of a hole", lambda: pinapi.vaddr_pin_pages(0x10_0000, n, FOLL_WRITE, VaddrPin(mm=p.mm))),
            ("pin for nobody", lambda: pinapi.vaddr_pin_pages(start, n, 0, VaddrPin())),
            ("FOLL_LONGTERM without FOLL_PIN", lambda: pinapi.get_user_pages_remote(p.mm, start, n, FOLL_LONGTERM)),
            ("a float length", lambda: p.mm.mmap(float(n * PAGE_SIZE))),  # type: ignore[arg-type]
            ("MAP_FIXED at a float offset", lambda: p.mm.mmap(n * PAGE_SIZE, flags=MAP_PRIVATE | MAP_FIXED,
                                                              file=self.files[0].file if self.files else None,
                                                              offset=0.0, addr=start)),  # type: ignore[arg-type]
            ("mprotect of unknown bits", lambda: p.mm.mprotect(start, n * PAGE_SIZE, 0x80)),
            ("a string where bytes are due", lambda: p.mm.write(start, "text")),  # type: ignore[arg-type]
            ("GUP-fast with no current mm", lambda: pinapi.pin_user_pages_fast(start, n, 0)),
            ("GUP-fast of no pages", lambda: self.current(p, lambda: pinapi.pin_user_pages_fast(start, 0, 0))),
            ("GUP-fast of a hole", lambda: self.current(p, lambda: pinapi.get_user_pages_fast(0x10_0000, n, 0))),
            ("FOLL_FAST_ONLY from a caller", lambda: self.current(
                p, lambda: pinapi.get_user_pages_fast_only(start, n, FOLL_FAST_ONLY))),
            ("FOLL_LONGTERM without FOLL_PIN, fast", lambda: self.current(
                p, lambda: pinapi.get_user_pages_fast(start, n, FOLL_LONGTERM))),
            ("mremap with an unknown flag", lambda: p.mm.mremap(start, PAGE_SIZE, PAGE_SIZE, 0x8)),
            ("mremap of an unaligned address", lambda: p.mm.mremap(start + 8, PAGE_SIZE, PAGE_SIZE, MREMAP_MAYMOVE)),
            ("mremap to no size", lambda: p.mm.mremap(start, PAGE_SIZE, 0, MREMAP_MAYMOVE)),
            ("MREMAP_FIXED to an unaligned address", lambda: p.mm.mremap(
                start, PAGE_SIZE, PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, start + 17 * PMD_SIZE + 8)),
            ("an unknown madvise advice", lambda: p.mm.madvise(start, PAGE_SIZE, 99)),
        ]  # fmt: skip
        if self.pins:
            s = self.rng.choice(self.pins)
            if isinstance(s.handle, PinnedPages):
                pins = s.handle
                calls += [("put_page on a pin", lambda: pinapi.put_page(pins[0])),  # type: ignore[arg-type]
                          ("unpin for another owner", lambda: pinapi.vaddr_unpin_pages_dirty_lock(
                              pins, VaddrPin(mm=MM("stranger")), True))]  # fmt: skip
        if self.gups:
            page = self.gups[0]
            calls.append(("unpin of a plain page", lambda: pinapi.unpin_user_page(page)))  # type: ignore[arg-type]
        what, fn = self.rng.choice(calls)
        try:
            fn()
        except (KernelError, TypeError) as e:
            return f"refused as it must be: {what} ({type(e).__name__})"
        raise Divergence("accepted", f"{what} was accepted")

    @staticmethod
    def current(p: SProc, call: Callable[[], object]) -> object:
        """*call* as a task whose ``current->mm`` is the process's."""
        with pinapi.kthread_use_mm(p.mm):
            return call()

    # -- the checks -------------------------------------------------------------------------------
    def expected(self, p: SProc, addr: int, length: int) -> bytes | None:
        """What the process reads at ``[addr, addr + length)``, or None if it
        cannot read it all."""
        out = bytearray()
        a = addr
        while a < addr + length:
            v = p.vma(a)
            if v is None or not v.prot & PROT_READ:
                return None
            page = a & ~(PAGE_SIZE - 1)
            off = a - page
            n = min(addr + length - a, PAGE_SIZE - off)
            if v.sfile is not None and v.index(page) >= v.sfile.inode.size // PAGE_SIZE and not v.huge:
                return None  # SIGBUS past the end of the file
            out += p.cell(page).data[off : off + n]
            a += n
        return bytes(out)

    def check_read(self, p: SProc, addr: int, length: int) -> None:
        want = self.expected(p, addr, length)
        if want is None:
            return
        got = p.mm.read(addr, length)
        if got != want:
            i = next(i for i in range(length) if got[i] != want[i])
            raise Divergence("bytes", f"{p.mm.name} reads {got[i:i + 8].hex()} at {addr + i:#x}, "
                                      f"not {want[i:i + 8].hex()}" + self.diagnose(p, addr + i, got, i))  # fmt: skip

    def diagnose(self, p: SProc, addr: int, got: bytes, i: int) -> str:
        """What a wrong byte says: whose address it was written for, and what maps *addr*."""
        word = i & ~7
        source = written_for(got, word) if word + 8 <= len(got) else None
        page = p.mm.lookup(addr)
        where = f"; the word there was written for {source:#x}" if source is not None else ""
        if page is not None:
            folio = page.folio
            where += f"; {addr:#x} maps page {page.index} of an order-{folio.order} folio"
            if folio.order and folio.test(lowlevel.PG.anon) and page.index != (addr >> 12) - folio.index:
                where += f" (its page for that address is {(addr >> 12) - folio.index}): cow-of-pte-mapped-thp"
        return where

    def check_pin(self, s: SPin) -> None:
        if isinstance(s.handle, PinnedPages):
            for i, pin in enumerate(s.handle):
                if pin.pinned and pin.read(0, PAGE_SIZE) != s.cells[i].data:
                    raise Divergence("pin bytes", f"the pin of {s.page_addr(i):#x} (flags {s.flags:#x}) reads "
                                                  f"what the shadow does not" + self.diagnose_pin(s, i))  # fmt: skip
        else:
            got = b"".join(seg.read() for seg in s.handle)
            head = s.addr & (PAGE_SIZE - 1)
            want = b"".join(c.data for c in s.cells)[head : head + s.length]
            if got != want:
                i = next(i for i in range(len(got)) if got[i] != want[i])
                raise Divergence("pin bytes", f"the bvec at {s.addr:#x} (flags {s.flags:#x}) reads "
                                              f"differently at byte {i}" + self.diagnose_pin(s, (head + i) // PAGE_SIZE))  # fmt: skip

    def diagnose_pin(self, s: SPin, i: int) -> str:
        """What the pin of page *i* holds, and whether it is the page for its address."""
        page = s.pages[i]
        folio = page.folio
        kind = "the zero page" if folio is ZERO_FOLIO else "anonymous" if folio.test(lowlevel.PG.anon) else "page cache"
        why = f"; it holds page {page.index} of an order-{folio.order} {kind} folio"
        if folio.order and kind == "anonymous" and page.index != (s.page_addr(i) >> 12) - folio.index:
            why += f" (its page for {s.page_addr(i):#x} is {(s.page_addr(i) >> 12) - folio.index}): cow-of-pte-mapped-thp"
        return why

    def check(self) -> None:
        """The counts of every folio, the pin balance and the ledger, the
        VMAs, and the bytes of a few random places."""
        holders: Counter[int] = Counter()  # id(folio) -> references its holders account for
        pins: Counter[int] = Counter()
        maps: Counter[int] = Counter()
        known = self.known
        for p in self.procs:
            for _, entry in p.mm.pgtable.entries():
                folio = entry if isinstance(entry, Folio) else entry.folio
                if folio is not ZERO_FOLIO:
                    known[id(folio)] = folio
                    maps[id(folio)] += 1
            if p.layout() != _runs((v.vm_start, v.vm_end, (int(v.vm_flags) & 7, v.is_shared,
                                    id(v.vm_file.inode) if v.vm_file else 0)) for v in p.mm.vmas):  # fmt: skip
                raise Divergence("vmas", f"{p.mm.name} maps {p.mm.vmas}, the shadow {p.vmas}")
        for f in self.files:
            known.update((id(folio), folio) for folio in f.inode.mapping.pages.values())
        for page in self.gups:
            if page.folio is not ZERO_FOLIO:
                holders[id(page.folio)] += 1
        for kpage, _ in self.kpages:
            holders[id(kpage.folio)] += 1
        live = 0
        for s in self.pins:
            for page, on in zip(s.pages, self.alive(s)):
                if on:
                    live += 1
                    if page.folio is not ZERO_FOLIO:
                        known[id(page.folio)] = page.folio
                        pins[id(page.folio)] += 1
        stat = lowlevel.vmstat.snapshot()
        balance = (stat["nr_foll_pin_acquired"] - self.base["nr_foll_pin_acquired"]
                   - stat["nr_foll_pin_released"] + self.base["nr_foll_pin_released"])  # fmt: skip
        if balance != sum(pins.values()):
            raise Divergence("counts", f"vmstat has {balance} live pins, the walk {sum(pins.values())}")
        ledger = sum(r.live for r in lowlevel.pin_ledger()) - self.base_ledger
        if ledger != live:
            raise Divergence("counts", f"the ledger has {ledger} live pins, the walk {live}")
        for key, folio in list(known.items()):
            cache = isinstance(folio.mapping, AddressSpace)
            n = pins[key]
            want = maps[key] + cache + holders[key] + (n if folio.order else n * GUP_PIN_COUNTING_BIAS)
            got = (folio.refcount(), folio.pincount(), folio.mapcount())
            if got != (want, n if folio.order else 0, maps[key]):
                raise Divergence("counts", f"{folio!r}: (refcount, pincount, mapcount) {got}, its holders account "
                                           f"for {(want, n if folio.order else 0, maps[key])}")  # fmt: skip
            if n and not pinapi.folio_maybe_dma_pinned(folio):
                raise Divergence("counts", f"{folio!r} is pinned and folio_maybe_dma_pinned() says no")
            if not want:
                del known[key]  # free, and never allocated again
        if self.step % SWEEP == 0 or swap_info.inuse_pages != self.base_swap:
            self.check_swap()
        if self.step % SWEEP == 0:
            self.sweep()
        else:
            for _ in range(2):
                p = self.proc()
                if p.vmas:
                    start, n = self.pick_range(p, 1)
                    self.check_read(p, start, PAGE_SIZE)
            if self.pins:
                self.check_pin(self.rng.choice(self.pins))

    @staticmethod
    def alive(s: SPin) -> list[bool]:
        """Which of the pin's pages are still pinned."""
        return [h.pinned for h in s.handle] if isinstance(s.handle, PinnedPages) else [True] * len(s.pages)

    def check_swap(self) -> None:
        """Every swap slot the page tables hold counts its holders, and
        every slot in use is held."""
        holders: Counter[int] = Counter()
        slots: dict[int, SwapEntry] = {}
        for p in self.procs:
            for table in p.mm.pgtable.pmds().values():
                if isinstance(table, list):
                    for e in table:
                        if type(e) is SwapEntry:
                            holders[id(e)] += 1
                            slots[id(e)] = e
        bad = [(e, holders[key]) for key, e in slots.items() if e.count != holders[key]]
        if bad or swap_info.inuse_pages - self.base_swap != len(slots):
            raise Divergence("swap", f"{swap_info.inuse_pages - self.base_swap} slots in use, the page tables hold "
                                     f"{len(slots)}; (slot, PTEs holding it) that disagree: {bad[:4]}")  # fmt: skip

    def sweep(self) -> None:
        for p in self.procs:
            for v in p.vmas:
                for a in range(v.start, v.end, PAGE_SIZE):
                    if a in p.private or v.sfile is not None:
                        self.check_read(p, a, PAGE_SIZE)
                if v.sfile is None and not v.shared and self.rng.random() < 0.2:
                    self.check_read(p, v.start, min(v.end - v.start, 64 * PAGE_SIZE))
        for s in self.pins:
            self.check_pin(s)
        for f in self.files:
            if f.name == "ext4" or f.name == "shmem":
                want = b"".join(f.pages.get(i, ZERO_CELL).data for i in range(f.inode.size // PAGE_SIZE))
                if f.inode.read(0, f.inode.size) != want:
                    raise Divergence("file", f"read(2) of {f.name} {f.inode.ino} differs from what was written")

    # -- running ---------------------------------------------------------------------------------
    def run(self, steps: int) -> None:
        """*steps* steps, then the teardown; raises Divergence."""
        try:
            for self.step in range(1, steps + 1):
                op = self.rng.choices(self.ops, self.weights)[0][1]
                try:
                    did = op()
                except Divergence:
                    raise
                except KernelError as e:  # refused: the checks show it left nothing behind
                    did = f"{op.__name__}: refused {e}"
                except Exception as e:
                    raise Divergence("crash", f"{op.__name__}: {type(e).__name__}: {e}") from e
                self.trail = [*self.trail[-TRAIL + 1 :], f"{self.step}: {did}"]
                self.check()
            self.teardown()
        except Divergence as d:
            d.seed, d.step, d.trail = self.seed, self.step, self.trail
            self.abandon()
            raise

    def teardown(self) -> None:
        """Release everything: every folio the walk saw is free, or only cached."""
        self.step += 1
        self.sweep()
        self.release()
        for folio in self.known.values():
            cache = isinstance(folio.mapping, AddressSpace)
            if (folio.refcount(), folio.mapcount(), folio.pincount()) != (int(cache), 0, 0):
                raise Divergence("teardown", f"{folio!r} is still held after everything was released")
        stat = lowlevel.vmstat.snapshot()
        live = stat["nr_foll_pin_acquired"] - stat["nr_foll_pin_released"]
        ledger = sum(r.live for r in lowlevel.pin_ledger())
        if live != self.base["nr_foll_pin_acquired"] - self.base["nr_foll_pin_released"] or ledger != self.base_ledger:
            raise Divergence("teardown", f"pins still live after every one was released: {lowlevel.pin_ledger()}")
        if swap_info.inuse_pages != self.base_swap:
            raise Divergence("teardown", f"{swap_info.inuse_pages - self.base_swap} swap slots in use after every "
                                         "process exited")  # fmt: skip
        self.close_files()

    def release(self) -> None:
        for s in self.pins:
            if isinstance(s.handle, PinnedPages):
                live = [h for h in s.handle if h.pinned]
                if live:
                    pinapi.unpin_user_pages(live)
            elif s.handle.pinned:
                pinapi.put_user_bvec(s.handle, False)
        self.pins.clear()
        pinapi.release_pages(self.gups)
        self.gups.clear()
        for kpage, _ in self.kpages:
            pinapi.put_page(kpage)
        self.kpages.clear()
        for p in self.procs:
            p.mm.exit()
        self.procs.clear()

    def close_files(self) -> None:
        for f in self.files:
            f.file.close()
            if f.name == "ext4":
                f.inode.truncate(0)  # its page cache goes

    def abandon(self) -> None:
        """After a divergence: give back what can be given back, so that the
        next epoch (and the test's own checks) start clean. The model is
        already wrong: what it refuses now stays."""
        undo: list[Callable[[], object]] = []
        for handle in self.acquired:
            if isinstance(handle, PinnedPages):
                undo.append(lambda h=handle: pinapi.unpin_user_pages([p for p in h if p.pinned]))
            else:
                undo.append(lambda h=handle: h.pinned and pinapi.put_user_bvec(h, False))
        undo += [lambda page=page: pinapi.put_page(page) for page in self.gups]
        undo += [lambda k=k: pinapi.put_page(k) for k, _ in self.kpages]
        undo += [p.mm.exit for p in self.procs] + [f.file.close for f in self.files]
        for step in undo:
            try:
                step()
            except Exception:
                pass
        self.pins, self.acquired, self.gups, self.kpages, self.procs = [], [], [], [], []


@dataclass
class Report:
    steps: int = 0
    epochs: int = 0
    seconds: float = 0.0
    divergences: list[Divergence] = field(default_factory=list)

    def kinds(self) -> Counter[str]:
        """Divergences by kind, a known defect's name when the diagnosis names one."""
        return Counter(classify(d) for d in self.divergences)


#: Diagnoses that name a known defect: (fragment of the message, name).
KNOWN: dict[str, str] = {
    "cow-of-pte-mapped-thp": "finding 1: COW of a PTE-mapped THP maps the wrong subpage",
    "ro-longterm-pin-not-unshared": "finding 2: a R/O FOLL_LONGTERM pin of a non-anonymous page in a private "
                                    "mapping is not unshared",
}  # fmt: skip


def classify(d: Divergence) -> str:
    return next((name for name in KNOWN if name in d.message), d.kind)


def fuzz(seed: int, steps: int, progress: Callable[[Report], None] | None = None) -> Report:
    """Walk *steps* steps from *seed*, in epochs of EPOCH_STEPS, each from
    its own seed (``seed * 1_000_003 + epoch``): a divergence ends its epoch,
    and the walk goes on with the next."""
    report = Report()
    started = time.perf_counter()
    epoch = 0
    while report.steps < steps:
        walk = Walk(seed * 1_000_003 + epoch)
        n = min(EPOCH_STEPS, steps - report.steps)
        fatal: list[Divergence] = []
        try:
            walk.run(n)
            report.steps += n
        except Divergence as d:
            report.steps += d.step
            fatal.append(d)
        report.divergences += sorted([*walk.noted, *fatal], key=lambda d: d.step)
        epoch += 1
        report.epochs = epoch
        report.seconds = time.perf_counter() - started
        if progress is not None:
            progress(report)
    return report


def replay(epoch_seed: int, steps: int = EPOCH_STEPS) -> list[Divergence]:
    """Run one epoch again (a report names its seed): its divergences."""
    walk = Walk(epoch_seed)
    try:
        walk.run(steps)
    except Divergence as d:
        return [*walk.noted, d]
    return walk.noted
