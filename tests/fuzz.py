"""A seeded random walk over the public API, checked after every step
against an independent shadow.

The shadow knows nothing of folios or page tables. A process is its VMAs
and, for its private mappings, the pages it has its own copy of; a file is
its pages; a pin is the pages it holds. Each step is one public call chosen
at random (mmap, MAP_FIXED, munmap, mprotect, madvise, process loads and
stores, fork, exit, get_user_pages and put_page, pins and bvecs and device
DMA through them, migration, writeback, reclaim, write(2), kernel pages,
scatterlists, and calls that must be refused); the shadow applies what the
call means, and then the step is checked:

- every folio's ``_refcount``, ``_pincount`` and ``_mapcount`` are exactly
  what its holders account for: the page-table entries mapping it, the
  page cache, the walk's own plain references, pins and kernel pages (a
  folio nobody holds is free);
- ``nr_foll_pin_acquired - nr_foll_pin_released`` and the ledger are the
  walk's live pins; the VMAs are the shadow's;
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

import random
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field

import pinapi
from pinapi import (
    FOLL_FORCE, FOLL_LONGTERM, FOLL_WRITE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MAP_ANONYMOUS, MAP_FIXED,
    MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED, MM, PAGE_SIZE, PMD_SIZE, PROT_NONE, PROT_READ, PROT_WRITE, File,
    Folio, KernelError, KernelPage, Page, PinnedBvec, PinnedPages, VaddrPin,
)  # fmt: skip
from pinapi import lowlevel
from pinapi._mm.filemap import AddressSpace
from pinapi.lowlevel import GUP_PIN_COUNTING_BIAS, ZERO_FOLIO, Ext4, Inode, Zone

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
    pgoff: int
    huge: bool  # hugetlb
    thp: int = 0  # MADV_HUGEPAGE, MADV_NOHUGEPAGE or 0

    def index(self, addr: int) -> int:
        return self.pgoff + (addr - self.start) // PAGE_SIZE

    def split(self, addr: int) -> SVma:
        """Cut at *addr*; returns the upper part."""
        upper = SVma(addr, self.end, self.prot, self.shared, self.sfile, self.index(addr), self.huge, self.thp)
        self.end = addr
        return upper


class SProc:
    """A process: its model MM, its VMAs, and the pages it has its own copy of."""

    def __init__(self, mm: MM) -> None:
        self.mm = mm
        self.vmas: list[SVma] = []
        self.private: dict[int, Cell] = {}

    def vma(self, addr: int) -> SVma | None:
        return next((v for v in self.vmas if v.start <= addr < v.end), None)

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

    def page_addr(self, i: int) -> int:
        return (self.addr & ~(PAGE_SIZE - 1)) + i * PAGE_SIZE


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
        self.fs = Ext4()
        self.ops: list[tuple[int, Callable[[], str]]] = [  # (weight, operation)
            (6, self.op_mmap), (2, self.op_mmap_fixed), (3, self.op_munmap), (2, self.op_mprotect),
            (1, self.op_madvise), (14, self.op_write), (2, self.op_fill), (4, self.op_read),
            (3, self.op_fork), (1, self.op_exit), (5, self.op_gup), (4, self.op_put), (9, self.op_pin),
            (6, self.op_unpin), (8, self.op_dma), (3, self.op_bvec), (3, self.op_put_bvec),
            (3, self.op_migrate), (2, self.op_writeback), (2, self.op_reclaim), (2, self.op_file_write),
            (1, self.op_kernel_page), (1, self.op_sg), (2, self.op_refused),
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
        p.vmas.append(SVma(addr, addr + pages * PAGE_SIZE, prot, shared, f, off, huge))
        p.vmas.sort(key=lambda v: v.start)

    def op_mmap(self) -> str:
        p = self.proc()
        if len(p.vmas) >= MAX_VMAS:
            return self.op_munmap()
        pages, flags, shared, f, off, huge = self.mapping()
        prot = self.rng.choice([PROT_READ | PROT_WRITE] * 4 + [PROT_READ])
        addr = p.mm.mmap(pages * PAGE_SIZE, prot, flags, f.file if f else None, off * PAGE_SIZE)
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
            self.faulted_in(p, start, n)
            return f"gup {start:#x}+{n}p: refused {e.errno}"
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
        user = s.addr + pos  # where the byte sits in the process
        data = pattern(user, length, self.tag(device=True))
        if isinstance(s.handle, PinnedPages):
            i, off = divmod(pos, PAGE_SIZE)
            pin = s.handle[i]
            if not pin.pinned:
                return "dma: page already unpinned"
            length = min(length, PAGE_SIZE - off)
            data = data[:length]
            (pin.write if self.rng.random() < 0.5 else lambda o, d: pinapi.memcpy_to_page(pin, o, d))(off, data)
        else:
            seg_start = 0
            for seg in s.handle:
                if pos < seg_start + seg.length:
                    length = min(length, seg_start + seg.length - pos)
                    data = data[:length]
                    seg.write(pos - seg_start, data)
                    break
                seg_start += seg.length
        head = s.addr & (PAGE_SIZE - 1) if isinstance(s.handle, PinnedBvec) else 0
        at = head + pos
        while data:
            i, off = divmod(at, PAGE_SIZE)
            n = min(len(data), PAGE_SIZE - off)
            s.cells[i].data[off : off + n] = data[:n]
            data, at = data[n:], at + n
        self.check_pin(s)
        return f"dma write {user:#x}+{length}"

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
            alive = [h.pinned for h in s.handle] if isinstance(s.handle, PinnedPages) else [True] * len(s.pages)
            for page, on in zip(s.pages, alive):
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
