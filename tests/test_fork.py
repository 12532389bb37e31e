"""fork(): pinned anonymous pages stay with the pinner (CVE-2020-29374),
the rest is copy-on-write; munmap and exit with live pins."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pinapi
from pinapi import lowlevel
from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED,
    MM, PAGE_SIZE, PMD_SIZE, Folio, KernelError, VaddrPin, unpin_user_pages,
    unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip
from pinapi.lowlevel import PG, ZERO_FOLIO, page_anon_exclusive


def folio_at(mm: MM, addr: int) -> Folio:
    page = mm.lookup(addr)
    assert page is not None
    return page.folio


def test_unpinned_anon_pages_become_cow_shared(mm: MM) -> None:
    a = mm.mmap(2 * PAGE_SIZE)
    mm.write(a, b"parent")
    folio = folio_at(mm, a)
    child = mm.fork("child")
    assert folio_at(child, a) is folio
    assert folio.refcount() == 2 and folio.mapcount() == 2
    assert not folio.test(PG.anon_exclusive)
    assert child.lookup(a + PAGE_SIZE) is None  # never touched: nothing to copy
    assert child.read(a, 6) == b"parent"
    child.write(a, b"child!")  # copy on write
    assert mm.read(a, 6) == b"parent" and child.read(a, 6) == b"child!"
    assert folio.refcount() == 1 and folio_at(child, a) is not folio
    mm.write(a, b"PARENT")  # sole owner again: reused in place
    assert folio_at(mm, a) is folio and folio.test(PG.anon_exclusive)
    child.exit()


def test_pinned_anon_page_stays_with_the_pinner(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(2 * PAGE_SIZE)
    mm.write(a, b"before" + bytes(PAGE_SIZE - 6) + b"other")
    pins = vaddr_pin_pages(a, 1, FOLL_WRITE | FOLL_LONGTERM, owner)
    pinned = folio_at(mm, a)
    unpinned = folio_at(mm, a + PAGE_SIZE)
    allocated = lowlevel.vmstat.nr_folios_allocated
    child = mm.fork("child")
    assert lowlevel.vmstat.nr_folios_allocated == allocated + 1  # one eager copy
    copy = folio_at(child, a)
    assert copy is not pinned and copy.test(PG.anon_exclusive) and pinned.test(PG.anon_exclusive)
    assert copy.refcount() == 1 and copy.mapcount() == 1 and pinned.mapcount() == 1
    assert folio_at(child, a + PAGE_SIZE) is unpinned  # unpinned: shared as usual
    assert child.read(a, 6) == b"before"
    pins[0].write(0, b"device")  # DMA after the fork
    assert mm.read(a, 6) == b"device" and child.read(a, 6) == b"before"
    child.write(a, b"child")  # the child's writes never reach the pinned page
    assert pins[0].read(0, 6) == b"device" and folio_at(mm, a) is pinned
    mm.write(a + 6, b"!")  # neither do the parent's go anywhere else
    assert pins[0].read(0, 7) == b"device!"
    unpin_user_pages_dirty_lock(pins, make_dirty=True)
    child.exit()
    assert copy.refcount() == 0 and pinned.refcount() == 1 and unpinned.refcount() == 1
    mm.exit()
    assert pinned.refcount() == 0 and unpinned.refcount() == 0


def test_an_mm_that_never_pinned_copies_nothing(mm: MM) -> None:
    """page_needs_cow_for_dma() asks the MM first: 1024 plain references
    look pinned, but only to an MM that has pinned."""
    a = mm.mmap(PAGE_SIZE)
    mm.write(a, b"x")
    folio = folio_at(mm, a)
    folio._refcount += lowlevel.GUP_PIN_COUNTING_BIAS  # a false positive of the bias
    assert pinapi.folio_maybe_dma_pinned(folio) and not mm.has_pinned
    child = mm.fork()
    assert folio_at(child, a) is folio
    folio._refcount -= lowlevel.GUP_PIN_COUNTING_BIAS
    child.exit()


@pytest.mark.parametrize("flags", [0, FOLL_WRITE], ids=["read pin unshares", "write pin breaks COW"])
def test_pin_after_fork_breaks_cow_first(mm: MM, owner: VaddrPin, flags: int) -> None:
    a = mm.mmap(PAGE_SIZE)
    mm.write(a, b"shared")
    child = mm.fork()
    shared = folio_at(mm, a)
    assert folio_at(child, a) is shared
    pins = vaddr_pin_pages(a, 1, flags, owner)
    mine = folio_at(mm, a)
    assert mine is not shared and mine.test(PG.anon_exclusive)
    assert folio_at(child, a) is shared and shared.refcount() == 1
    if flags & FOLL_WRITE:
        pins[0].write(0, b"device")  # the device writes: only the parent sees it
        assert child.read(a, 6) == b"shared" and mm.read(a, 6) == b"device"
    else:
        mm.write(a, b"parent")  # the device reads the parent's stores ...
        child.write(a, b"child!")  # ... and never the child's
        assert pins[0].read(0, 6) == b"parent" and child.read(a, 6) == b"child!"
    unpin_user_pages(pins)
    child.exit()


def test_fork_of_a_pinned_hugetlb_folio_copies_it_whole(mm: MM, owner: VaddrPin) -> None:
    """A THP is split and copied page by page instead (tests/test_cow.py)."""
    huge = mm.mmap(PMD_SIZE, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB)
    mm.write(huge, b"huge")
    pins = vaddr_pin_pages(huge, 1, FOLL_WRITE, owner)
    child = mm.fork()
    mine, theirs = folio_at(mm, huge), folio_at(child, huge)
    assert theirs is not mine and theirs.order == mine.order == 9
    assert theirs.test(PG.hugetlb) and mine.test(PG.hugetlb)
    assert child.read(huge, 4) == b"huge"
    pins[0].write(0, b"DMA!")
    assert child.read(huge, 4) == b"huge" and mm.read(huge, 4) == b"DMA!"
    unpin_user_pages(pins)
    child.exit()


def test_fork_of_a_pte_mapped_pinned_thp_copies_page_by_page(mm: MM, owner: VaddrPin) -> None:
    """The pin is counted per folio, so every page of it may be pinned: each
    mapped page is copied into a small folio of the child's own."""
    a = mm.mmap(PMD_SIZE)
    mm.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    mm.write(a, b"x" * 3 * PAGE_SIZE)
    mm.munmap(a + 511 * PAGE_SIZE, PAGE_SIZE)  # now mapped by 511 PTEs
    big = folio_at(mm, a)
    pins = vaddr_pin_pages(a + PAGE_SIZE, 1, FOLL_WRITE, owner)
    allocated = lowlevel.vmstat.nr_folios_allocated
    child = mm.fork()
    assert lowlevel.vmstat.nr_folios_allocated == allocated + 511
    copies = [folio_at(child, a + i * PAGE_SIZE) for i in range(3)]
    assert all(c is not big and c.order == 0 for c in copies)
    assert child.read(a, 3 * PAGE_SIZE) == b"x" * 3 * PAGE_SIZE
    assert big.mapcount() == 511 and all(page_anon_exclusive(p) for _, p in mm.mapped_pages())
    unpin_user_pages(pins)
    child.exit()


def test_shared_mappings_stay_shared(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(PAGE_SIZE, flags=MAP_SHARED | MAP_ANONYMOUS)
    mm.write(a, b"shm")
    pins = vaddr_pin_pages(a, 1, FOLL_WRITE, owner)
    child = mm.fork()
    folio = folio_at(mm, a)
    assert folio_at(child, a) is folio and folio.mapcount() == 2
    pins[0].write(0, b"DMA")
    assert child.read(a, 3) == b"DMA"
    child.write(a, b"kid")
    assert mm.read(a, 3) == b"kid"
    unpin_user_pages(pins)
    child.exit()
    assert folio.mapcount() == 1


def test_fork_keeps_the_zero_page_uncounted_and_joins_the_anon_vma(mm: MM) -> None:
    a = mm.mmap(PAGE_SIZE)
    assert mm.read(a, 1) == b"\0"
    child = mm.fork()
    assert folio_at(child, a) is ZERO_FOLIO and ZERO_FOLIO.refcount() == 1
    assert child.anon_vma is mm.anon_vma and child in mm.anon_vma.mms
    assert [(v.vm_start, v.vm_end, v.vm_flags) for v in child.vmas] == [
        (v.vm_start, v.vm_end, v.vm_flags) for v in mm.vmas
    ]
    assert not child.has_pinned
    child.exit()
    assert child not in mm.anon_vma.mms


def test_fork_of_a_dead_mm_is_esrch(mm: MM) -> None:
    dead = MM("dead")
    dead.exit()
    with pytest.raises(KernelError) as e:
        dead.fork()
    assert e.value.errno == errno.ESRCH


# -- munmap and exit with live pins ------------------------------------------


def test_munmap_of_a_pinned_range_keeps_the_pages_until_unpinned(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(2 * PAGE_SIZE)
    mm.write(a, b"y" * 2 * PAGE_SIZE)
    pins = vaddr_pin_pages(a, 2, FOLL_WRITE, owner)
    folios = [folio_at(mm, a + i * PAGE_SIZE) for i in range(2)]
    mm.munmap(a, 2 * PAGE_SIZE)
    assert mm.lookup(a) is None
    assert all(f.refcount() == lowlevel.GUP_PIN_COUNTING_BIAS and f.mapcount() == 0 for f in folios)
    pins[1].write(0, b"late DMA")
    assert pins[1].read(0, 8) == b"late DMA"
    unpin_user_pages(pins)
    assert all(f.refcount() == 0 for f in folios)


def test_exit_orphans_a_device_pin_until_released() -> None:
    proc = MM("proc")
    a = proc.mmap(PAGE_SIZE)
    proc.write(a, b"z")
    pins = vaddr_pin_pages(a, 1, FOLL_WRITE, VaddrPin(mm=proc))
    folio = folio_at(proc, a)
    proc.exit()
    (record,) = lowlevel.pin_ledger()
    assert record.orphaned and record.owner.mm is proc and "orphaned" in repr(record)
    assert folio.refcount() == lowlevel.GUP_PIN_COUNTING_BIAS and folio.mapcount() == 0
    assert pins[0].read(0, 1) == b"z"
    unpin_user_pages(pins)
    assert lowlevel.pin_ledger() == [] and folio.refcount() == 0


# -- random fork histories ----------------------------------------------------

NPAGES = 4
fork_ops = st.lists(
    st.tuples(st.sampled_from(["write", "pin", "dma", "unpin", "fork", "exit"]),
              st.integers(0, 3), st.integers(0, NPAGES - 1)),
    max_size=30,
)  # fmt: skip


def test_random_fork_histories_keep_every_process_memory_its_own() -> None:
    runs = []

    @settings(max_examples=500, deadline=None, database=None)
    @given(fork_ops, st.booleans())
    def check(ops: list[tuple[str, int, int]], thp: bool) -> None:
        runs.append(1)
        fork_history(ops, thp)

    check()
    assert len(runs) >= 500


def fork_history(ops: list[tuple[str, int, int]], thp: bool) -> None:
    """Processes write, fork and exit while the first one pins pages and a
    device writes through the pins: every process always reads exactly what
    it (or its ancestors before the fork) and, for the pinner, the device
    wrote; every folio is freed once all have exited and all pins are gone."""
    root = MM("p0")
    a = root.mmap(PMD_SIZE)
    if thp:
        root.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    procs: list[MM | None] = [root]
    memory = [bytearray(NPAGES * PAGE_SIZE)]
    pins: dict[int, pinapi.PinnedPages] = {}
    seen: set[Folio] = set()
    try:
        for step, (op, who, page) in enumerate(ops):
            live = [i for i, p in enumerate(procs) if p is not None]
            proc_i = live[who % len(live)]
            proc = procs[proc_i]
            assert proc is not None
            stamp, off = b"%06d" % step, page * PAGE_SIZE + step * 8 % (PAGE_SIZE - 8)
            if op == "write":
                proc.write(a + off, stamp)
                memory[proc_i][off : off + 6] = stamp
            elif op == "pin" and page not in pins:
                pins[page] = vaddr_pin_pages(a + page * PAGE_SIZE, 1, FOLL_WRITE, VaddrPin(mm=root))
            elif op == "dma" and page in pins:
                pins[page][0].write(off - page * PAGE_SIZE, stamp)
                memory[0][off : off + 6] = stamp
            elif op == "unpin" and page in pins:
                unpin_user_pages_dirty_lock(pins.pop(page), make_dirty=True)
            elif op == "fork" and len(procs) < 6:
                procs.append(proc.fork(f"p{len(procs)}"))
                memory.append(bytearray(memory[proc_i]))
            elif op == "exit" and proc_i:
                proc.exit()
                procs[proc_i] = None
            for i, p in enumerate(procs):
                if p is not None:
                    assert p.read(a, NPAGES * PAGE_SIZE) == memory[i], f"p{i} after {op}"
                    seen |= {pg.folio for _, pg in p.mapped_pages() if pg.folio is not ZERO_FOLIO}
    finally:
        for h in pins.values():
            unpin_user_pages(h)
        for p in procs:
            if p is not None:
                p.exit()
    assert all(f.refcount() == 0 for f in seen)



def test_shared_anonymous_hugetlb_memory_stays_shared_with_the_child() -> None:
    """MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB is an unlinked hugetlbfs
    file, as shared anonymous memory is a shmem one: a page first touched
    after fork is the same page in parent and child (the model gave each its
    own; found by the random walk of test_fuzz.py)."""
    parent = MM("parent")
    a = parent.mmap(2 * PMD_SIZE, flags=MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB)
    parent.write(a, b"before")
    child = parent.fork()
    parent.write(a + PMD_SIZE, b"parent")
    child.write(a + 8, b"child")
    assert child.read(a + PMD_SIZE, 6) == b"parent" and parent.read(a, 13) == b"before\0\0child"
    child.exit()
    parent.exit()
