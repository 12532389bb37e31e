"""tools/testing/selftests/mm/cow.c as a test matrix, written from what the
selftest does (Linux 6.12), with position-dependent data instead of its
uniform memset(): every page written is distinguishable by index and
offset, so a copy of the wrong page or a wrong-subpage mapping shows.

Anonymous memory: 14 tests x 12 backings (base page, swapped-out base page,
THP, swapped-out THP, PTE-mapped THP, swapped-out PTE-mapped THP, a single
PTE of a THP, a single PTE of a swapped-out THP, a partially mremap()'ed
THP, a partially shared THP, hugetlb 2 MiB, hugetlb 1 GiB). The two
io_uring tests are a FOLL_WRITE | FOLL_LONGTERM pin (what registering a
fixed buffer takes) read back through the pin; vmsplice() is
get_user_pages_fast() without FOLL_WRITE (iov_iter_get_pages2()) and the
pipe reads the pages it holds. Where cow.c expects a failure (hugetlb with
vmsplice(): ``hugetlb_wp()`` reuses a folio mapped once whatever other
references it has), the model must leak as the kernel's code does.
Non-anonymous memory in private mappings: 3 tests x 6 backings (shared zero
page, memfd (tmpfs), tmpfile (here ext4), huge zero page, memfd hugetlb
2 MiB and 1 GiB).

Not expressible (``NOT_EXPRESSIBLE``), and why:
- the huge zero page: the model maps the small zero page only;
- the four "collapsing" anonymous THP tests: the model has no
  MADV_COLLAPSE (khugepaged);
- THP sizes other than PMD (mTHP): the model's THPs are PMD-sized.
A 1 GiB region is written and checked on a sample of pages (both ends,
around 2 MiB boundaries, the middle), every byte of each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import pytest

from helpers import pattern, sample
from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
    MADV_PAGEOUT, MAP_ANONYMOUS, MAP_HUGE_1GB, MAP_HUGE_2MB, MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED, MM,
    MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_SIZE, PMD_SIZE, PROT_NONE, PROT_READ, PROT_WRITE, PUD_SIZE, File,
    Page, PinnedPages, VaddrPin, get_user_pages_fast, kthread_use_mm, pin_user_pages_fast, release_pages,
    unpin_user_pages, vaddr_pin_pages,
)  # fmt: skip
from pinapi.lowlevel import Ext4, FileSystem, Hugetlbfs, Inode, Shmem

MODIFIED = 0xFF  # the tag of the data "memset(mem, 0xff, size)" writes


@dataclass
class Mem:
    """The region a test runs on (cow.c's *mem*, *size*, *is_hugetlb*) and
    what its pages hold for the process that wrote them last."""

    mm: MM
    addr: int
    size: int
    hugetlb: bool
    content: list[bytes] = field(default_factory=list)  # of the sample pages, as last written

    @property
    def pages(self) -> list[int]:
        return sample(self.size)

    def fill(self, mm: MM, tag: int) -> None:
        for i in self.pages:
            mm.write(self.addr + i * PAGE_SIZE, pattern(i, tag))
        self.content = [pattern(i, tag) for i in self.pages]

    def modify(self, mm: MM) -> list[bytes]:
        """cow.c's "memset(mem, 0xff, size)", on the first half of each page
        only: the other half must still read as that page did. Returns the
        content before."""
        old, half = self.content, PAGE_SIZE // 2
        for i in self.pages:
            mm.write(self.addr + i * PAGE_SIZE, pattern(i, MODIFIED)[:half])
        self.content = [pattern(i, MODIFIED)[:half] + page[half:] for i, page in zip(self.pages, old)]
        return old

    def read(self, mm: MM) -> list[bytes]:
        return [mm.read(self.addr + i * PAGE_SIZE, PAGE_SIZE) for i in self.pages]

    def through_pins(self, pins: PinnedPages) -> list[bytes]:
        return [pins[i].read() for i in self.pages]

    def through_pipe(self, pipe: list[Page]) -> list[bytes]:
        return [pipe[i].folio.read(pipe[i].index * PAGE_SIZE, PAGE_SIZE) for i in self.pages]


# -- the tests (cow.c's anon_test_cases) -------------------------------------------


@contextmanager
def vmsplice(mm: MM, mem: Mem) -> Iterator[list[Page]]:
    """vmsplice() of the region into a pipe: references without FOLL_WRITE,
    dropped when the pipe is read."""
    with kthread_use_mm(mm):
        pipe = get_user_pages_fast(mem.addr, mem.size // PAGE_SIZE, 0)
    try:
        assert len(pipe) == mem.size // PAGE_SIZE
        yield pipe
    finally:
        release_pages(pipe)


def mprotect_optimization(mem: Mem) -> None:
    mem.mm.mprotect(mem.addr, mem.size, PROT_READ)
    mem.mm.mprotect(mem.addr, mem.size, PROT_READ | PROT_WRITE)


def cow_in_parent(mem: Mem, mprotect: bool, vmsplice_in_child: bool) -> bool:
    """do_test_cow_in_parent(): the child keeps what it saw (through its
    mapping, or a pipe it vmspliced and then unmapped) while the parent
    writes. True: no leak from parent into child."""
    child = mem.mm.fork()
    assert mem.read(child) == mem.content
    with ExitStack() as stack:
        pipe = stack.enter_context(vmsplice(child, mem)) if vmsplice_in_child else None
        if pipe is not None:
            assert mem.through_pipe(pipe) == mem.content
            child.munmap(mem.addr, mem.size)
        if mprotect:
            mprotect_optimization(mem)
        old = mem.modify(mem.mm)
        assert mem.read(mem.mm) == mem.content
        return (mem.through_pipe(pipe) if pipe is not None else mem.read(child)) == old


def vmsplice_in_parent(mem: Mem, before_fork: bool) -> bool:
    """do_test_vmsplice_in_parent(): the parent's pipe keeps what it saw
    while the child writes after the parent unmapped. True: no leak from
    child into parent."""
    with ExitStack() as stack:
        pipe = stack.enter_context(vmsplice(mem.mm, mem)) if before_fork else None
        child = mem.mm.fork()
        if pipe is None:
            pipe = stack.enter_context(vmsplice(mem.mm, mem))
        assert mem.through_pipe(pipe) == mem.content
        mem.mm.munmap(mem.addr, mem.size)
        old = mem.modify(child)
        assert mem.read(child) == mem.content
        child.exit()
        return mem.through_pipe(pipe) == old


def iouring(mem: Mem, use_fork: bool) -> bool:
    """do_test_iouring(): a R/W long-term pin (a fixed buffer) must see the
    process's later writes, after mprotect() or with a forked child alive."""
    with vaddr_pin_pages(mem.addr, mem.size // PAGE_SIZE, FOLL_WRITE | FOLL_LONGTERM, VaddrPin(mm=mem.mm)) as pins:
        child = mem.mm.fork() if use_fork else None
        if child is None:
            mprotect_optimization(mem)
        else:
            assert mem.read(child) == mem.content
        mem.modify(mem.mm)
        return mem.through_pins(pins) == mem.read(mem.mm) == mem.content


def ro_pin(mem: Mem, fast: bool) -> bool:
    """do_test_ro_pin()'s pin, write and read back: a R/O long-term pin
    must see the process's later writes."""
    nr = mem.size // PAGE_SIZE
    with kthread_use_mm(mem.mm):
        pins = pin_user_pages_fast(mem.addr, nr, FOLL_LONGTERM) if fast else vaddr_pin_pages(
            mem.addr, nr, FOLL_LONGTERM, VaddrPin(mm=mem.mm))  # fmt: skip
    with pins:
        assert len(pins) == nr  # gup_test loops until all are pinned; here nothing stops short
        assert mem.through_pins(pins) == mem.read(mem.mm) == mem.content
        mem.modify(mem.mm)
        return mem.through_pins(pins) == mem.read(mem.mm) == mem.content


def ro_pin_on_shared(mem: Mem, fast: bool) -> bool:
    child = mem.mm.fork()
    assert ro_pin(mem, fast) and mem.read(child) == [pattern(i, 1) for i in mem.pages]
    return True


def ro_pin_on_previously_shared(mem: Mem, fast: bool) -> bool:
    mem.mm.fork().exit()
    return ro_pin(mem, fast)


def ro_pin_on_exclusive(mem: Mem, fast: bool) -> bool:
    mprotect_optimization(mem)
    return ro_pin(mem, fast)


#: cow.c's anon_test_cases: description, test, and whether cow.c expects
#: (xfail) a leak with hugetlb.
ANON_TESTS: list[tuple[str, Callable[[Mem], bool], bool]] = [
    ("Basic COW after fork()", lambda m: cow_in_parent(m, False, False), False),
    ("Basic COW after fork() with mprotect() optimization", lambda m: cow_in_parent(m, True, False), False),
    ("vmsplice() + unmap in child", lambda m: cow_in_parent(m, False, True), True),
    ("vmsplice() + unmap in child with mprotect() optimization", lambda m: cow_in_parent(m, True, True), True),
    ("vmsplice() before fork(), unmap in parent after fork()", lambda m: vmsplice_in_parent(m, True), True),
    ("vmsplice() + unmap in parent after fork()", lambda m: vmsplice_in_parent(m, False), True),
    ("R/O-mapping a page registered as iouring fixed buffer", lambda m: iouring(m, False), False),
    ("fork() with an iouring fixed buffer", lambda m: iouring(m, True), False),
    ("R/O GUP pin on R/O-mapped shared page", lambda m: ro_pin_on_shared(m, False), False),
    ("R/O GUP-fast pin on R/O-mapped shared page", lambda m: ro_pin_on_shared(m, True), False),
    ("R/O GUP pin on R/O-mapped previously-shared page", lambda m: ro_pin_on_previously_shared(m, False), False),
    ("R/O GUP-fast pin on R/O-mapped previously-shared page", lambda m: ro_pin_on_previously_shared(m, True),
     False),
    ("R/O GUP pin on R/O-mapped exclusive page", lambda m: ro_pin_on_exclusive(m, False), False),
    ("R/O GUP-fast pin on R/O-mapped exclusive page", lambda m: ro_pin_on_exclusive(m, True), False),
]  # fmt: skip


# -- the backings (cow.c's run_with_*) --------------------------------------------------


def paged_out(mm: MM, addr: int, size: int) -> None:
    mm.madvise(addr, size, MADV_PAGEOUT)
    assert all(mm.pgtable.swap_entry(addr + i) is not None for i in range(0, size, PAGE_SIZE))


def base_page(mm: MM, swapout: bool) -> Mem:
    a = mm.mmap(PAGE_SIZE)
    mm.madvise(a, PAGE_SIZE, MADV_NOHUGEPAGE)
    mem = Mem(mm, a, PAGE_SIZE, False)
    mem.fill(mm, 1)
    if swapout:
        paged_out(mm, a, PAGE_SIZE)
    return mem


def thp(mm: MM, run: str, swapout: bool = False) -> Mem:
    """do_run_with_thp(): a THP-aligned THP, populated, then made into the
    shape *run* names."""
    raw = mm.mmap(2 * PMD_SIZE)
    a = (raw + PMD_SIZE) & ~(PMD_SIZE - 1)
    mm.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    mem = Mem(mm, a, PMD_SIZE, False)
    mem.fill(mm, 1)
    assert mm.pgtable.is_huge(a)
    if run == "PTE":
        mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ)
        mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE)
    elif run == "single PTE":
        mm.madvise(a + PAGE_SIZE, PMD_SIZE - PAGE_SIZE, MADV_DONTNEED)
        mem.size, mem.content = PAGE_SIZE, mem.content[:1]
    elif run == "partial mremap":
        half = PMD_SIZE // 2
        dest = mm.mmap(half, prot=PROT_NONE)
        assert mm.mremap(a + half, half, half, MREMAP_MAYMOVE | MREMAP_FIXED, dest) == dest
        mem.size, mem.content = half, mem.content[: half // PAGE_SIZE]
    elif run == "partial shared":
        mm.madvise(a + PAGE_SIZE, PMD_SIZE - PAGE_SIZE, MADV_DONTFORK)
        mm.fork().exit()
        mm.madvise(a + PAGE_SIZE, PMD_SIZE - PAGE_SIZE, MADV_DOFORK)
    if swapout:
        paged_out(mm, a, mem.size)
    return mem


def hugetlb(mm: MM, flag: int) -> Mem:
    size = PMD_SIZE if flag == MAP_HUGE_2MB else PUD_SIZE
    a = mm.mmap(size, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | flag)
    mem = Mem(mm, a, size, True)
    mem.fill(mm, 1)
    return mem


ANON_BACKINGS: dict[str, Callable[[MM], Mem]] = {
    "base page": lambda mm: base_page(mm, False),
    "swapped-out base page": lambda mm: base_page(mm, True),
    "THP": lambda mm: thp(mm, "PMD"),
    "swapped-out THP": lambda mm: thp(mm, "PMD", swapout=True),
    "PTE-mapped THP": lambda mm: thp(mm, "PTE"),
    "swapped-out, PTE-mapped THP": lambda mm: thp(mm, "PTE", swapout=True),
    "single PTE of THP": lambda mm: thp(mm, "single PTE"),
    "single PTE of swapped-out THP": lambda mm: thp(mm, "single PTE", swapout=True),
    "partially mremap()'ed THP": lambda mm: thp(mm, "partial mremap"),
    "partially shared THP": lambda mm: thp(mm, "partial shared"),
    "hugetlb (2048 kB)": lambda mm: hugetlb(mm, MAP_HUGE_2MB),
    "hugetlb (1048576 kB)": lambda mm: hugetlb(mm, MAP_HUGE_1GB),
}

NOT_EXPRESSIBLE: dict[str, str] = {
    "huge zeropage": "the model has no huge zero page",
    "anon THP collapse": "the model has no MADV_COLLAPSE",
}

ANON_THP_COLLAPSE_TESTS = 4  # cow.c's anon_thp_test_cases, all MADV_COLLAPSE


def anon_cases() -> Iterator[object]:
    for desc, fn, hugetlb_xfail in ANON_TESTS:
        for backing, make in ANON_BACKINGS.items():
            if backing in NOT_EXPRESSIBLE:
                continue
            leak = hugetlb_xfail and backing.startswith("hugetlb")
            yield pytest.param(fn, make, leak, id=f"{desc} ... with {backing}")


@pytest.mark.parametrize(("fn", "make", "leak"), list(anon_cases()))
def test_anon(mm: MM, fn: Callable[[Mem], bool], make: Callable[[MM], Mem], leak: bool) -> None:
    """No leak between parent and child, and every pin reliable; with
    hugetlb and vmsplice() the leak cow.c expects (xfail)."""
    assert fn(make(mm)) is not leak


# -- non-anonymous memory in private mappings (cow.c's non_anon_test_cases) ------------


@contextmanager
def non_anon(mm: MM, backing: str) -> Iterator[tuple[Mem, int]]:
    """*mem*, a private writable mapping, and *smem*, a second read-only one
    (private of the zero page, shared of the file), both faulted in."""
    if backing == "shared zeropage":
        mem = Mem(mm, mm.mmap(PAGE_SIZE), PAGE_SIZE, False, [bytes(PAGE_SIZE)])
        smem = mm.mmap(PAGE_SIZE, prot=PROT_READ)
        mem.read(mm)
        Mem(mm, smem, PAGE_SIZE, False).read(mm)
        yield mem, smem
        return
    fs: FileSystem
    if backing.startswith("memfd hugetlb"):
        fs = Hugetlbfs(9 if "2048" in backing else 18)
    else:
        fs = Shmem() if backing == "memfd" else Ext4()
    size = PAGE_SIZE << fs.folio_order
    file = File(Inode(fs, size, nlink=0), backing)  # memfd_create()/tmpfile() + fallocate()
    writer = Mem(mm, mm.mmap(size, flags=MAP_SHARED, file=file), size, False)
    writer.fill(mm, 2)  # the file's data, position-dependent
    mm.munmap(writer.addr, size)
    mem = Mem(mm, mm.mmap(size, flags=MAP_PRIVATE, file=file), size, bool(fs.folio_order), writer.content)
    smem = mm.mmap(size, prot=PROT_READ, flags=MAP_SHARED, file=file)
    mem.read(mm)
    Mem(mm, smem, size, False).read(mm)
    file.close()
    yield mem, smem


def basic_cow(mem: Mem, smem: int) -> bool:
    """test_cow(): writing the private mapping leaves the other one alone."""
    other = Mem(mem.mm, smem, mem.size, mem.hugetlb)
    assert mem.read(mem.mm) == other.read(mem.mm) == mem.content
    old = mem.modify(mem.mm)
    return other.read(mem.mm) == old and mem.read(mem.mm) == mem.content


NON_ANON_TESTS: list[tuple[str, Callable[[Mem, int], bool]]] = [
    ("Basic COW", basic_cow),
    ("R/O longterm GUP pin", lambda m, s: ro_pin(m, False)),
    ("R/O longterm GUP-fast pin", lambda m, s: ro_pin(m, True)),
]
NON_ANON_BACKINGS = ["shared zeropage", "memfd", "tmpfile", "huge zeropage", "memfd hugetlb (2048 kB)",
                     "memfd hugetlb (1048576 kB)"]  # fmt: skip


@pytest.mark.parametrize("backing", [b for b in NON_ANON_BACKINGS if b not in NOT_EXPRESSIBLE])
@pytest.mark.parametrize(("desc", "fn"), NON_ANON_TESTS, ids=[t[0] for t in NON_ANON_TESTS])
def test_non_anon(mm: MM, desc: str, fn: Callable[[Mem, int], bool], backing: str) -> None:
    """No COW leaks into the other mapping; a R/O long-term pin of the zero
    page or of a page-cache page sees the process's later writes."""
    with non_anon(mm, backing) as (mem, smem):
        assert fn(mem, smem)


def test_the_matrix_is_cows() -> None:
    """14 x 12 anonymous cases and 4 collapse cases, 3 x 6 non-anonymous
    ones: what runs here plus what NOT_EXPRESSIBLE names."""
    run = len(list(anon_cases())) + len(NON_ANON_TESTS) * (len(NON_ANON_BACKINGS) - 1)
    skipped = ANON_THP_COLLAPSE_TESTS + len(NON_ANON_TESTS)
    assert (len(ANON_TESTS), len(ANON_BACKINGS), len(NON_ANON_BACKINGS)) == (14, 12, 6)
    assert run + skipped == 14 * 12 + 4 + 3 * 6 and run == 183
