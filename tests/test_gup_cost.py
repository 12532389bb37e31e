"""The kernel cost counters (``count_gup_cost()``): exact counts for every
getter and release on small regions, GUP-fast and the slow path, faults,
refused calls, and counting off."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

import pytest

from helpers import fill
from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_HUGETLB, MAP_PRIVATE, MM, PAGE_SIZE, PMD_SIZE,
    KernelError, VaddrPin, follow_page, get_page, get_user_bvec, get_user_pages_fast, get_user_pages_fast_only,
    get_user_pages_remote, pin_user_pages_fast, put_page, put_user_bvec, release_pages, set_page_dirty_lock,
    unpin_user_pages, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip
from pinapi._mm import gup_cost
from pinapi.lowlevel import FOLL_PIN, GupCost, Zone, alloc_zone, count_gup_cost, vmstat

HUGE = PMD_SIZE // PAGE_SIZE  # base pages in a PMD-mapped folio


def cost(atomics: int = 0, entries: int = 0, bytes: int = 0, folios: int = 0, pages: int = 0, ptes: int = 0,
         locks: int = 0) -> dict[str, int]:  # fmt: skip
    return {"atomics": atomics, "entries": entries, "bytes": bytes, "folios": folios, "pages": pages,
            "ptes": ptes, "locks": locks}  # fmt: skip


def counted(fn: Callable[..., Any], *args: Any) -> tuple[Any, dict[str, int]]:
    """*fn(*args)* and what it cost."""
    with count_gup_cost() as c:
        result = fn(*args)
    return result, c.as_dict()


def region(mm: MM, kind: str, nr_pmds: int = 2) -> int:
    """*nr_pmds* PMDs of written memory: 4 KiB pages ("base"), THP ("thp") or
    2 MiB hugetlb pages ("hugetlb")."""
    size = nr_pmds * PMD_SIZE
    a = mm.mmap(size, flags=MAP_PRIVATE | MAP_ANONYMOUS | (MAP_HUGETLB if kind == "hugetlb" else 0))
    if kind == "thp":
        mm.madvise(a, size, MADV_HUGEPAGE)
    fill(mm, a, size // PAGE_SIZE)
    return a


# -- the pinning getters and their releases, region by region -------------------------------


@pytest.mark.parametrize("flags", [FOLL_WRITE, 0], ids=["write", "read"])
def test_pin_and_unpin_of_base_pages(mm: MM, owner: VaddrPin, flags: int) -> None:
    """One PTE read and locked per page, a count update and a pages[] entry
    per page, every struct page touched both ways."""
    a = region(mm, "base", 1)
    pins, got = counted(vaddr_pin_pages, a, 8, flags, owner)
    assert got == cost(atomics=8, entries=8, bytes=64, folios=8, pages=8, ptes=8, locks=1 + 8)
    _, put = counted(unpin_user_pages, pins)
    assert put == cost(atomics=8, entries=8, bytes=64, folios=8, pages=8)


@pytest.mark.parametrize("kind", ["thp", "hugetlb"])
@pytest.mark.parametrize("flags", [FOLL_WRITE, 0], ids=["write", "read"])
def test_pin_of_huge_folios_writes_every_entry_and_touches_heads(mm: MM, owner: VaddrPin, kind: str,
                                                                 flags: int) -> None:  # fmt: skip
    """A PMD per folio, read under pmd_lock(); one update per folio; the
    pages[] entries are nth_page() arithmetic (only heads are touched on the
    get) but unpin_user_pages() touches every page."""
    a = region(mm, kind)
    pins, got = counted(vaddr_pin_pages, a, 2 * HUGE, flags, owner)
    assert got == cost(atomics=2, entries=2 * HUGE, bytes=8 * 2 * HUGE, folios=2, pages=2, ptes=2, locks=1 + 2)
    _, put = counted(unpin_user_pages, pins)
    assert put == cost(atomics=2, entries=2 * HUGE, bytes=8 * 2 * HUGE, folios=2, pages=2 * HUGE)


@pytest.mark.parametrize("kind", ["base", "thp", "hugetlb"])
def test_a_bvec_writes_a_bio_vec_per_segment(mm: MM, owner: VaddrPin, kind: str) -> None:
    a = region(mm, kind)
    folios = 2 * HUGE if kind == "base" else 2
    bvec, got = counted(get_user_bvec, a, 2 * PMD_SIZE, FOLL_WRITE, owner)
    assert len(bvec) == folios
    leaves = 2 * HUGE if kind == "base" else 2
    assert got == cost(atomics=folios, entries=folios, bytes=16 * folios, folios=folios, pages=leaves,
                       ptes=leaves, locks=1 + leaves)  # fmt: skip
    _, put = counted(put_user_bvec, bvec, False)
    assert put == cost(atomics=folios, entries=folios, bytes=16 * folios, folios=folios, pages=folios)


def test_a_segment_touches_its_first_page(mm: MM, owner: VaddrPin) -> None:
    """A bvec that starts mid-THP: its first segment's bv_page is not the
    head, so the put touches it while the get touched the head."""
    a = region(mm, "thp")
    bvec, got = counted(get_user_bvec, a + 100 * PAGE_SIZE + 7, PMD_SIZE, 0, owner)
    assert len(bvec) == 2 and got == cost(atomics=2, entries=2, bytes=32, folios=2, pages=2, ptes=2, locks=3)
    with count_gup_cost() as c:
        put_user_bvec(bvec, False)
    assert c._pages == {bvec._runs.folios[0].pfn + 100, bvec._runs.folios[1].pfn}


def test_gup_and_put_page_pay_per_page_on_release(mm: MM) -> None:
    """get_user_pages_remote() grabs a THP once; put_page() per page makes
    an update per page and touches every page (gup_test's put loop reads
    the entries, not put_page())."""
    a = region(mm, "thp")
    pages, got = counted(get_user_pages_remote, mm, a, 2 * HUGE, 0)
    assert got == cost(atomics=2, entries=2 * HUGE, bytes=8 * 2 * HUGE, folios=2, pages=2, ptes=2, locks=3)
    with count_gup_cost() as c:
        for page in pages:
            put_page(page)
    assert c.as_dict() == cost(atomics=2 * HUGE, folios=2, pages=2 * HUGE)


def test_several_calls_cross_folios(mm: MM, owner: VaddrPin) -> None:
    """300 pages per call over two THPs: a call that spans both reads two
    PMDs and grabs two runs; the distinct folios and pages stay two."""
    a = region(mm, "thp")
    calls = [(a + i * PAGE_SIZE, min(300, 2 * HUGE - i)) for i in range(0, 2 * HUGE, 300)]
    with count_gup_cost() as got:
        batches = [vaddr_pin_pages(addr, nr, FOLL_WRITE, owner) for addr, nr in calls]
    assert got.as_dict() == cost(atomics=5, entries=2 * HUGE, bytes=8 * 2 * HUGE, folios=2, pages=2, ptes=5,
                                 locks=len(calls) + 5)  # fmt: skip
    with count_gup_cost() as put:
        for batch in batches:
            unpin_user_pages(batch)
    assert put.as_dict() == cost(atomics=5, entries=2 * HUGE, bytes=8 * 2 * HUGE, folios=2, pages=2 * HUGE)


def test_a_partial_unpin_reads_only_the_handles_it_is_given(mm: MM, owner: VaddrPin) -> None:
    a = region(mm, "thp")
    pins = vaddr_pin_pages(a, HUGE, 0, owner)
    _, first = counted(unpin_user_pages, list(pins)[:10])
    assert first == cost(atomics=1, entries=10, bytes=80, folios=1, pages=10)
    _, rest = counted(unpin_user_pages, list(pins)[10:])
    assert rest == cost(atomics=1, entries=HUGE - 10, bytes=8 * (HUGE - 10), folios=1, pages=HUGE - 10)


def test_dirtying_takes_the_folio_lock_of_each_clean_folio(mm: MM, owner: VaddrPin) -> None:
    a = region(mm, "thp")
    bvec = get_user_bvec(a, 2 * PMD_SIZE, FOLL_WRITE, owner)
    _, put = counted(put_user_bvec, bvec, True)
    assert put["locks"] == 2  # folio_lock() per folio not yet dirty
    pins = vaddr_pin_pages(a, 2 * HUGE, FOLL_WRITE, owner)
    _, again = counted(unpin_user_pages_dirty_lock, pins, True)
    assert again["locks"] == 0  # already dirty: not locked again
    b = region(mm, "base", 1)
    pins = vaddr_pin_pages(b, 4, FOLL_WRITE, owner)
    _, put = counted(unpin_user_pages_dirty_lock, pins, True)
    assert put == cost(atomics=4, entries=4, bytes=32, folios=4, pages=4, locks=4)


def test_the_struct_page_calls(mm: MM) -> None:
    a = region(mm, "base", 1)
    pages = get_user_pages_remote(mm, a, 4, 0)
    _, got = counted(get_page, pages[0])
    assert got == cost(atomics=1, folios=1, pages=1)
    _, put = counted(release_pages, [*pages, pages[0]])
    assert put == cost(atomics=5, entries=5, bytes=40, folios=4, pages=4)
    vma = mm.find_vma(a)
    assert vma is not None
    page, followed = counted(follow_page, vma, a, 0)
    assert followed == cost(atomics=1, folios=1, pages=1, ptes=1, locks=1)
    _, dirtied = counted(set_page_dirty_lock, page)
    assert dirtied == cost(locks=1)
    put_page(page)
    empty = mm.mmap(PMD_SIZE)
    vma = mm.find_vma(empty)
    assert vma is not None
    _, nothing = counted(follow_page, vma, empty, 0)
    assert nothing == cost(ptes=1)  # an empty PMD: read, nothing locked


# -- GUP-fast, the slow path, faults ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["base", "thp"])
def test_gup_fast_reads_the_same_leaves_and_takes_no_lock(mm: MM, kind: str) -> None:
    a = region(mm, kind)
    nr = 2 * HUGE
    folios = nr if kind == "base" else 2
    pins, fast = counted(pin_user_pages_fast, a, nr, FOLL_WRITE)
    assert fast == cost(atomics=folios, entries=nr, bytes=8 * nr, folios=folios, pages=folios,
                        ptes=folios, locks=0)  # fmt: skip
    unpin_user_pages(pins)
    pages, fast = counted(get_user_pages_fast, a, nr, 0)
    assert fast["locks"] == 0 and fast["ptes"] == folios and fast["entries"] == nr
    release_pages(pages)
    pages, fast_only = counted(get_user_pages_fast_only, a, nr, 0)
    assert fast_only == fast
    release_pages(pages)


def test_gup_fast_stops_where_a_fault_is_needed_and_the_slow_path_locks(mm: MM) -> None:
    """Pages 0 and 1 present, 2 and 3 not: GUP-fast reads three PTEs (the
    third stops it); the slow path takes mmap_lock once and reads each
    missing PTE twice, before and after its fault, under the PTE lock."""
    a = mm.mmap(4 * PAGE_SIZE)
    fill(mm, a, [0, 1])
    pins, got = counted(pin_user_pages_fast, a, 4, FOLL_WRITE)
    assert got == cost(atomics=4, entries=4, bytes=32, folios=4, pages=4, ptes=3 + 4, locks=1 + 4)
    unpin_user_pages(pins)


def test_faults_read_the_leaf_again(mm: MM, owner: VaddrPin) -> None:
    """Four untouched pages, read-pinned: the first lookup finds an empty
    PMD (read, not locked), then each page's PTE is read before its fault
    (the zero page is mapped) and again after, locked each time; the zero
    page is never grabbed. Write-pinning them then faults each one again
    (copy-on-write of the zero page)."""
    a = mm.mmap(4 * PAGE_SIZE)
    pins, read = counted(vaddr_pin_pages, a, 4, 0, owner)
    assert read == cost(atomics=0, entries=4, bytes=32, folios=0, pages=1, ptes=1 + 1 + 3 * 2, locks=1 + 7)
    unpin_user_pages(pins)
    pins, write = counted(vaddr_pin_pages, a, 4, FOLL_WRITE, owner)
    assert write == cost(atomics=4, entries=4, bytes=32, folios=4, pages=4, ptes=4 * 2, locks=1 + 8)
    unpin_user_pages(pins)


def test_each_longterm_retry_takes_mmap_lock_again(mm: MM, owner: VaddrPin) -> None:
    """Pages in ZONE_MOVABLE: FOLL_LONGTERM pins, releases and migrates them,
    then walks again: two walks, two mmap_locks, two sets of updates (the
    releases counted), old and new folios touched."""
    a = mm.mmap(4 * PAGE_SIZE)
    with alloc_zone(Zone.MOVABLE):
        fill(mm, a, 4)
    pins, got = counted(vaddr_pin_pages, a, 4, FOLL_WRITE | FOLL_LONGTERM, owner)
    assert got == cost(atomics=4 + 4 + 4, entries=4 + 4, bytes=64, folios=8, pages=8, ptes=8, locks=2 * (1 + 4))
    unpin_user_pages(pins)


# -- refused calls ----------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [FOLL_PIN, 0x8], ids=["FOLL_PIN", "unknown"])
def test_a_call_refused_before_the_walk_counts_nothing(mm: MM, owner: VaddrPin, flags: int) -> None:
    a = region(mm, "base", 1)
    with count_gup_cost() as c:
        with pytest.raises(KernelError) as e:
            vaddr_pin_pages(a, 4, flags, owner)
        with pytest.raises(KernelError):
            get_user_pages_remote(mm, a, 0, 0)  # nr_pages 0: EINVAL
    assert e.value.errno == errno.EINVAL and c.as_dict() == cost()


def test_an_efault_partway_counts_the_walk_and_its_unwind(mm: MM, owner: VaddrPin) -> None:
    """Four pages mapped, six asked for: vaddr_pin_pages() pins four, finds
    no VMA, and releases them (their updates counted, not backed out as
    vmstat's are); get_user_pages_remote() keeps its short result."""
    a = mm.mmap(4 * PAGE_SIZE)
    fill(mm, a, 4)
    ops = vmstat.nr_refcount_ops
    with count_gup_cost() as c:
        with pytest.raises(KernelError) as e:
            vaddr_pin_pages(a, 6, FOLL_WRITE, owner)
    assert e.value.errno == errno.EFAULT and vmstat.nr_refcount_ops == ops
    assert c.as_dict() == cost(atomics=4 + 4, entries=4, bytes=32, folios=4, pages=4, ptes=4, locks=1 + 4)
    pages, short = counted(get_user_pages_remote, mm, a, 6, 0)
    assert len(pages) == 4 and short == cost(atomics=4, entries=4, bytes=32, folios=4, pages=4, ptes=4, locks=5)
    release_pages(pages)
    pins, fast = counted(pin_user_pages_fast, a, 6, FOLL_WRITE)  # GUP-fast's four stay pinned
    assert len(pins) == 4 and fast == cost(atomics=4, entries=4, bytes=32, folios=4, pages=4, ptes=4, locks=1)
    unpin_user_pages(pins)


def test_a_refused_unpin_counts_nothing(mm: MM, owner: VaddrPin) -> None:
    a = region(mm, "base", 1)
    pins = vaddr_pin_pages(a, 2, 0, owner)
    with count_gup_cost() as c:
        with pytest.raises(KernelError, match="without FOLL_WRITE"):
            unpin_user_pages_dirty_lock(pins, True)  # type: ignore[arg-type]
    assert c.as_dict() == cost()
    unpin_user_pages(pins)


# -- counting on and off ----------------------------------------------------------------------


def test_counts_agree_with_vmstat(mm: MM, owner: VaddrPin) -> None:
    a = region(mm, "thp")
    ops = vmstat.nr_refcount_ops
    with count_gup_cost() as c:
        pins = vaddr_pin_pages(a, 2 * HUGE, FOLL_WRITE, owner)
        unpin_user_pages(pins)
        pages = get_user_pages_remote(mm, a, 2 * HUGE, 0)
        release_pages(pages)
    assert c.atomics == vmstat.nr_refcount_ops - ops == 2 + 2 + 2 + 2 * HUGE


def test_counting_is_off_by_default_and_after_a_block(mm: MM, owner: VaddrPin) -> None:
    assert gup_cost.counting.active is None
    a = region(mm, "base", 1)
    with count_gup_cost() as c:
        unpin_user_pages(vaddr_pin_pages(a, 2, 0, owner))
    totals = c.as_dict()
    assert gup_cost.counting.active is None
    unpin_user_pages(vaddr_pin_pages(a, 8, 0, owner))
    assert c.as_dict() == totals  # counts nothing once the block is over
    with pytest.raises(RuntimeError, match="boom"):
        with count_gup_cost():
            raise RuntimeError("boom")
    assert gup_cost.counting.active is None


def test_one_block_at_a_time(mm: MM, owner: VaddrPin) -> None:
    a = region(mm, "base", 1)
    with count_gup_cost() as outer:
        with pytest.raises(KernelError, match="already counting") as e:
            with count_gup_cost():
                pass  # pragma: no cover
        unpin_user_pages(vaddr_pin_pages(a, 1, 0, owner))
    assert e.value.errno == errno.EBUSY and outer.atomics == 2  # the outer block kept counting
    with count_gup_cost() as again:
        pass
    assert type(again) is GupCost and again.as_dict() == cost()


def test_counting_off_is_one_test_per_batch_never_per_page(mm: MM, owner: VaddrPin,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The call sites read ``counting.active`` a fixed number of times per
    call: as many for 512 pages as for 8, base pages or THP."""
    reads = [0]

    def active(self: object) -> None:
        reads[0] += 1

    base, thp = region(mm, "base", 1), region(mm, "thp", 1)
    monkeypatch.setattr(gup_cost._Counting, "active", property(active))
    seen = []
    for addr, nr in ((base, 8), (base, HUGE), (thp, 8), (thp, HUGE)):
        reads[0] = 0
        unpin_user_pages(vaddr_pin_pages(addr, nr, FOLL_WRITE, owner))
        put_user_bvec(get_user_bvec(addr, nr * PAGE_SIZE, FOLL_WRITE, owner), False)
        seen.append(reads[0])
    assert seen[0] == seen[1] and seen[2] == seen[3] and max(seen) <= 12
