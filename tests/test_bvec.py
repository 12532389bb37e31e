"""get_user_bvec() / put_user_bvec(): segments, one count update per folio, the pin rules."""

from __future__ import annotations

import errno
import gc
from collections.abc import Callable

import pytest

import pinapi
from pinapi import lowlevel
from helpers import fill, pattern, state
from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_HUGE_1GB, MAP_HUGE_2MB,
    MAP_HUGETLB, MAP_PRIVATE, MM, PAGE_SIZE, PMD_SIZE, PROT_READ, PUD_SIZE, TASK_SIZE, BvecSegment,
    Folio, KernelError, PinnedBvec, PinnedPagePutWarning, VaddrPin, get_user_bvec, put_user_bvec,
    vaddr_pin_pages,
)  # fmt: skip
from pinapi.lowlevel import FOLL_GET, FOLL_PIN, PG, ZERO_FOLIO, Zone
from pinapi._mm.page_alloc import REFCOUNT_MAX


def folio_at(mm: MM, addr: int) -> Folio:
    page = mm.lookup(addr)
    assert page is not None
    return page.folio


def delta(before: dict[str, int], key: str) -> int:
    return lowlevel.vmstat.snapshot()[key] - before[key]


@pytest.fixture
def mixed(mm: MM) -> int:
    """Four PMDs, touched: base pages, two THPs, base pages."""
    a = mm.mmap(4 * PMD_SIZE)
    mm.madvise(a + PMD_SIZE, 2 * PMD_SIZE, MADV_HUGEPAGE)
    for i in range(4):
        mm.write(a + i * PMD_SIZE, bytes([i + 1]) * PMD_SIZE)
    return a


def test_handles_have_no_public_constructor() -> None:
    with pytest.raises(TypeError, match="get_user_bvec"):
        PinnedBvec()
    with pytest.raises(TypeError, match="get_user_bvec"):
        BvecSegment()


def test_segments_follow_folios_across_base_and_huge_pages(mm: MM, owner: VaddrPin, mixed: int) -> None:
    start = mixed + PMD_SIZE - 3 * PAGE_SIZE + 10
    end = mixed + 3 * PMD_SIZE + 2 * PAGE_SIZE + 5
    thps = [folio_at(mm, mixed + PMD_SIZE), folio_at(mm, mixed + 2 * PMD_SIZE)]
    before = lowlevel.vmstat.snapshot()
    bvec = get_user_bvec(start, end - start, FOLL_WRITE, owner)
    assert [(s.offset, s.length) for s in bvec] == [
        (10, PAGE_SIZE - 10), (0, PAGE_SIZE), (0, PAGE_SIZE),
        (0, PMD_SIZE), (0, PMD_SIZE),
        (0, PAGE_SIZE), (0, PAGE_SIZE), (0, 5),
    ]  # fmt: skip
    assert bvec.length == end - start == sum(s.length for s in bvec)
    assert bvec.nr_pages == 3 + 1024 + 3
    assert [s.pfn for s in bvec[3:5]] == [f.pfn for f in thps]
    assert delta(before, "nr_refcount_ops") == 8  # one per folio
    assert delta(before, "nr_foll_pin_acquired") == 1030  # base pages
    assert [(f.refcount(), f.pincount()) for f in thps] == [(1 + 512, 512)] * 2
    small = folio_at(mm, start)
    assert small.refcount() == 1 + lowlevel.GUP_PIN_COUNTING_BIAS
    mid = lowlevel.vmstat.snapshot()
    put_user_bvec(bvec, make_dirty=False)
    assert delta(mid, "nr_refcount_ops") == 8
    assert delta(mid, "nr_foll_pin_released") == 1030
    assert [(f.refcount(), f.pincount()) for f in thps] == [(1, 0)] * 2 and small.refcount() == 1


def test_pte_mapped_thp_is_one_segment(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(PMD_SIZE)
    mm.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    mm.write(a, b"t" * PMD_SIZE)
    folio = folio_at(mm, a)
    mm.munmap(a, PAGE_SIZE)  # the rest of the THP is now mapped by 511 PTEs
    before = lowlevel.vmstat.snapshot()
    with get_user_bvec(a + PAGE_SIZE, PMD_SIZE - PAGE_SIZE, 0, owner) as bvec:
        assert len(bvec) == 1 and bvec[0].length == PMD_SIZE - PAGE_SIZE
        assert folio.pincount() == 511 and delta(before, "nr_refcount_ops") == 1


@pytest.mark.parametrize(("flag", "size"), [(MAP_HUGE_2MB, PMD_SIZE), (MAP_HUGE_1GB, PUD_SIZE)])
def test_hugetlb_page_is_one_segment_and_one_update(mm: MM, owner: VaddrPin, flag: int, size: int) -> None:
    a = mm.mmap(2 * size, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | flag)
    before = lowlevel.vmstat.snapshot()
    bvec = get_user_bvec(a + 7, 2 * size - 14, FOLL_WRITE, owner)
    assert [(s.offset, s.length) for s in bvec] == [(7, size - 7), (0, size - 7)]
    assert delta(before, "nr_refcount_ops") == 2
    assert [folio_at(mm, a + i * size).pincount() for i in range(2)] == [size // PAGE_SIZE] * 2
    put_user_bvec(bvec, make_dirty=False)
    assert delta(before, "nr_refcount_ops") == 4
    assert folio_at(mm, a).pincount() == 0


def test_data_goes_both_ways(mm: MM, owner: VaddrPin, mixed: int) -> None:
    start = mixed + PMD_SIZE - 2 * PAGE_SIZE + 100
    bvec = get_user_bvec(start, 3 * PAGE_SIZE, FOLL_WRITE, owner)
    assert [len(s.read()) for s in bvec] == [s.length for s in bvec] == [2 * PAGE_SIZE - 100 - PAGE_SIZE, PAGE_SIZE, PAGE_SIZE + 100]
    assert b"".join(s.read() for s in bvec) == mm.read(start, 3 * PAGE_SIZE)
    huge = bvec[-1]
    assert huge.read(PAGE_SIZE - 2, 4) == b"\2\2\2\2"
    huge.write(PAGE_SIZE - 2, b"DMA!")  # across a page boundary inside the THP
    bvec[0].write(0, b"head")
    with pytest.raises(KernelError, match="outside the segment") as e:
        huge.read(huge.length - 1, 2)
    assert e.value.errno == errno.EINVAL
    put_user_bvec(bvec, make_dirty=True)
    assert mm.read(start, 4) == b"head"
    assert mm.read(mixed + PMD_SIZE + PAGE_SIZE - 2, 4) == b"DMA!"


def test_make_dirty_dirties_each_folio_once(mm: MM, owner: VaddrPin, mixed: int) -> None:
    thp = folio_at(mm, mixed + PMD_SIZE)
    for make_dirty in (False, True):
        bvec = get_user_bvec(mixed + PMD_SIZE, PMD_SIZE, FOLL_WRITE, owner)
        assert not thp.test(PG.dirty)
        put_user_bvec(bvec, make_dirty)
        assert thp.test(PG.dirty) is make_dirty and not thp.test(PG.locked)


def test_release_exactly_once_and_no_use_after(mm: MM, owner: VaddrPin, mixed: int) -> None:
    bvec = get_user_bvec(mixed, 2 * PAGE_SIZE, 0, owner)
    seg = bvec[1]
    put_user_bvec(bvec, make_dirty=False)
    before = state(mm)
    assert not bvec.pinned and not seg.pinned
    with pytest.raises(KernelError, match="exactly once") as e:
        put_user_bvec(bvec, make_dirty=False)
    assert e.value.errno == errno.EINVAL
    for use in (seg.read, lambda: seg.write(0, b"x"), lambda: seg.length, lambda: seg.pfn):
        with pytest.raises(KernelError, match="after put_user_bvec") as e:
            use()
        assert e.value.errno == errno.EINVAL
    assert state(mm) == before


def test_context_manager_releases(mm: MM, owner: VaddrPin, mixed: int) -> None:
    with get_user_bvec(mixed, PAGE_SIZE, 0, owner) as bvec:
        assert len(lowlevel.pin_ledger()) == 1
    assert not bvec.pinned and lowlevel.pin_ledger() == []


def test_segments_are_not_pages(mm: MM, owner: VaddrPin, mixed: int) -> None:
    with get_user_bvec(mixed, PAGE_SIZE, 0, owner) as bvec, vaddr_pin_pages(mixed, 1, 0, owner) as pins:
        before = state(mm)
        with pytest.raises(TypeError):
            pinapi.put_page(bvec[0])  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            pinapi.unpin_user_pages(bvec)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="unpin_user_pages"):
            put_user_bvec(pins, make_dirty=False)  # type: ignore[arg-type]
        assert state(mm) == before


def test_ledger_names_owner_range_flags_and_site(mm: MM, owner: VaddrPin, mixed: int) -> None:
    with get_user_bvec(mixed + 5, PMD_SIZE, FOLL_WRITE, owner) as bvec:
        (record,) = lowlevel.pin_ledger()
        assert record.owner is owner and bvec.owner is owner
        assert (record.start, record.nr_pages, record.live) == (mixed, 513, 513)
        assert record.flags == FOLL_WRITE | FOLL_PIN
        assert "test_bvec.py" in record.site and "test_ledger_names" in record.site


def test_debug_counter_sees_bvec_pins(mm: MM, owner: VaddrPin, mixed: int) -> None:
    with get_user_bvec(mixed, PAGE_SIZE, 0, owner):  # the pin site
        (plain,) = pinapi.get_user_pages_remote(mm, mixed, 1, 0)
        pinapi.put_page(plain)
        with pytest.raises(PinnedPagePutWarning, match=r"test_bvec.py:\d+ \(test_debug_counter"):
            pinapi.put_page(plain)


def test_collecting_a_live_bvec_warns(mm: MM, owner: VaddrPin, mixed: int) -> None:
    bvec = get_user_bvec(mixed, PAGE_SIZE, 0, owner)
    record = bvec._record
    with pytest.warns(ResourceWarning, match="still pinned"):
        del bvec
        gc.collect()
    assert lowlevel.pin_ledger() == [record] and record.live == 1
    # The leak is real. Clean up behind the test.
    pinapi._mm.gup.put_folios(record.runs.folios, record.runs.nr, record.flags)
    pinapi._mm.debug.debug.account_folios(record.runs.folios, record.runs.nr, -1)
    pinapi._pin.ledger.released(record, record.live)


def test_read_of_untouched_memory_pretends_on_the_zero_page(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(3 * PAGE_SIZE)
    before = lowlevel.vmstat.snapshot()
    with get_user_bvec(a, 3 * PAGE_SIZE, 0, owner) as bvec:
        assert len(bvec) == 3  # the zero page at three addresses: not contiguous
        assert folio_at(mm, a) is ZERO_FOLIO and ZERO_FOLIO.refcount() == 1
        with pytest.raises(KernelError, match="without FOLL_WRITE") as e:
            bvec[1].write(0, b"into the zero page")
        assert e.value.errno == errno.EPERM
        assert b"".join(s.read() for s in bvec) == bytes(3 * PAGE_SIZE)
    assert delta(before, "nr_refcount_ops") == 0 and delta(before, "nr_foll_pin_acquired") == 0


def test_longterm_migrates_out_of_movable(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(4 * PAGE_SIZE)
    with lowlevel.alloc_zone(Zone.MOVABLE):
        mm.write(a, b"movable" * 1000)
    with get_user_bvec(a, 4 * PAGE_SIZE, FOLL_WRITE | FOLL_LONGTERM, owner) as bvec:
        assert all(folio_at(mm, a + i * PAGE_SIZE).zone is Zone.NORMAL for i in range(4))
        assert [s.pfn for s in bvec] == [folio_at(mm, a + i * PAGE_SIZE).pfn for i in range(4)]
        assert b"".join(s.read() for s in bvec)[:7000] == b"movable" * 1000


# -- bad input: vaddr_pin_pages()'s errors, nothing left behind ------------------------

BAD: list[tuple[str, Callable[[int], tuple[int, int, int]], Callable[[int], tuple[int, int, int]]]] = [
    # rule, bvec (addr, length, flags), the same range for vaddr_pin_pages (addr, nr_pages, flags)
    ("zero length", lambda a: (a, 0, 0), lambda a: (a, 0, 0)),
    ("negative length", lambda a: (a, -PAGE_SIZE, 0), lambda a: (a, -1, 0)),
    ("negative addr", lambda a: (-PAGE_SIZE + 1, 1, 0), lambda a: (-PAGE_SIZE, 1, 0)),
    ("beyond TASK_SIZE", lambda a: (TASK_SIZE + 3, 1, 0), lambda a: (TASK_SIZE, 1, 0)),
    ("wraps the address space", lambda a: (a + 3, 1 << 64, 0), lambda a: (a, 1 << 52, 0)),
    ("hole after mapped pages", lambda a: (a + 1, 8 * PAGE_SIZE, 0), lambda a: (a, 9, 0)),
    ("write to read-only", lambda a: (a + 6 * PAGE_SIZE, 2 * PAGE_SIZE, FOLL_WRITE), lambda a: (a + 6 * PAGE_SIZE, 2, FOLL_WRITE)),
    ("FOLL_PIN from a caller", lambda a: (a, 1, FOLL_PIN), lambda a: (a, 1, FOLL_PIN)),
    ("FOLL_GET from a caller", lambda a: (a, 1, FOLL_GET), lambda a: (a, 1, FOLL_GET)),
    ("unknown flag", lambda a: (a, 1, 0x8000), lambda a: (a, 1, 0x8000)),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "bvec_args", "pin_args"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_vaddr_pin_pages_error_and_changes_nothing(
    mm: MM, rule: str, bvec_args: Callable[[int], tuple[int, int, int]], pin_args: Callable[[int], tuple[int, int, int]]
) -> None:
    a = mm.mmap(8 * PAGE_SIZE)
    mm.write(a, b"\1" * 8 * PAGE_SIZE)
    mm.mprotect(a + 7 * PAGE_SIZE, PAGE_SIZE, PROT_READ)
    before = state(mm)
    with pytest.raises(KernelError) as pinned:
        vaddr_pin_pages(*pin_args(a), VaddrPin(mm=mm))
    with pytest.raises(KernelError) as e:
        get_user_bvec(*bvec_args(a), VaddrPin(mm=mm))
    assert e.value.errno == pinned.value.errno
    assert state(mm) == before


def test_no_owner_is_einval(mm: MM) -> None:
    a = mm.mmap(PAGE_SIZE)
    before = state(mm)
    with pytest.raises(KernelError, match="names no owner") as e:
        get_user_bvec(a, 1, 0, VaddrPin())
    assert e.value.errno == errno.EINVAL and state(mm) == before


def test_refused_folio_unwinds_the_ones_before(mm: MM, owner: VaddrPin, mixed: int) -> None:
    last = folio_at(mm, mixed + 3 * PMD_SIZE)
    last._refcount = REFCOUNT_MAX + 1  # reads as -2^31
    try:
        before = state(mm)
        with pytest.raises(KernelError, match="overflow") as e:
            get_user_bvec(mixed + PMD_SIZE, 2 * PMD_SIZE + 1, 0, owner)
        assert e.value.errno == errno.ENOMEM and state(mm) == before
    finally:
        last._refcount = 1


def test_segments_match_a_page_by_page_lookup(mm: MM, owner: VaddrPin) -> None:
    """PTE-mapped THP, base pages, zero pages and a PMD-mapped THP in one
    range: segments are exactly the maximal runs a page-by-page lookup finds."""
    a = mm.mmap(3 * PMD_SIZE)
    mm.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    mm.madvise(a + 2 * PMD_SIZE, PMD_SIZE, MADV_HUGEPAGE)
    mm.write(a, b"h" * PMD_SIZE)
    mm.write(a + PMD_SIZE, b"b" * (PMD_SIZE // 2))  # the rest stays on the zero page
    mm.write(a + 2 * PMD_SIZE, b"H")
    mm.munmap(a, PAGE_SIZE)  # the first THP is now mapped by 511 PTEs
    start, end = a + PAGE_SIZE + 100, a + 3 * PMD_SIZE - 50
    before = lowlevel.vmstat.snapshot()
    with get_user_bvec(start, end - start, 0, owner) as bvec:
        expected: list[list[int]] = []  # [pfn, nr_pages] of each maximal contiguous run in a folio
        prev: Folio | None = None
        for addr in range(start & -PAGE_SIZE, end, PAGE_SIZE):
            page = mm.lookup(addr)
            assert page is not None
            if page.folio is prev and page.pfn == expected[-1][0] + expected[-1][1]:
                expected[-1][1] += 1
            else:
                expected.append([page.pfn, 1])
            prev = page.folio
        assert [[s.pfn, (s.offset + s.length + PAGE_SIZE - 1) // PAGE_SIZE] for s in bvec] == expected
        assert len(bvec) == 1 + 256 + 256 + 1  # PTE-mapped THP, base pages, zero pages, THP
        assert delta(before, "nr_refcount_ops") == len(bvec) - 256  # the zero page is never grabbed
        assert b"".join(s.read() for s in bvec) == mm.read(start, end - start)


def test_range_across_a_hugetlb_vma_and_a_base_page_vma(mm: MM, owner: VaddrPin) -> None:
    huge = mm.mmap(PMD_SIZE, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB)
    base = mm.mmap(2 * PAGE_SIZE)
    assert base == huge + PMD_SIZE  # adjacent VMAs
    mm.write(huge + PMD_SIZE - 3, b"end")
    mm.write(base, b"base")
    before = lowlevel.vmstat.snapshot()
    with get_user_bvec(huge + PMD_SIZE - 3, 3 + PAGE_SIZE + 1, FOLL_WRITE, owner) as bvec:
        assert [(s.offset, s.length) for s in bvec] == [(PAGE_SIZE - 3, 3), (0, PAGE_SIZE), (0, 1)]
        assert [s.read() for s in bvec][:2] == [b"end", b"base" + bytes(PAGE_SIZE - 4)]
        assert delta(before, "nr_refcount_ops") == 3
        assert folio_at(mm, huge).pincount() == 1  # the one page of the hugetlb folio in range


@pytest.mark.parametrize("breaker", ["untouched", "base pages", "pte-mapped"])
def test_a_run_of_pmd_mapped_thps_stops_where_one_is_not(mm: MM, owner: VaddrPin, breaker: str) -> None:
    """Six PMDs of THP, the third unlike the others: the walk takes the PMD
    folios before it in one step, faults or walks PTEs there, and goes on;
    the segments are the maximal runs a page-by-page lookup finds."""
    a = mm.mmap(6 * PMD_SIZE)
    mm.madvise(a, 6 * PMD_SIZE, MADV_HUGEPAGE)
    if breaker == "base pages":
        mm.madvise(a + 2 * PMD_SIZE, PMD_SIZE, pinapi.MADV_NOHUGEPAGE)
    per_pmd = PMD_SIZE // PAGE_SIZE
    written = [i for i in range(6 * per_pmd) if i // per_pmd != 2 or breaker != "untouched"]
    fill(mm, a, written)
    if breaker == "pte-mapped":
        mm.mprotect(a + 2 * PMD_SIZE, PAGE_SIZE, PROT_READ)  # splits the PMD; the THP stays whole
        mm.mprotect(a + 2 * PMD_SIZE, PAGE_SIZE, PROT_READ | pinapi.PROT_WRITE)
    with get_user_bvec(a, 6 * PMD_SIZE, FOLL_WRITE, owner) as bvec:
        runs: list[list[int]] = []
        for addr in range(a, a + 6 * PMD_SIZE, PAGE_SIZE):
            page = mm.lookup(addr)
            assert page is not None
            if runs and page.pfn == runs[-1][0] + runs[-1][1] and folio_at(mm, addr) is folio_at(mm, addr - PAGE_SIZE):
                runs[-1][1] += 1
            else:
                runs.append([page.pfn, 1])
        assert [[s.pfn, s.length // PAGE_SIZE] for s in bvec] == runs
        assert len(bvec) == (5 + 512 if breaker == "base pages" else 6)
        data = b"".join(s.read(0, s.length) for s in bvec)
        assert [i for i in written if data[i * PAGE_SIZE : (i + 1) * PAGE_SIZE] != pattern(i)] == []
        untouched = sorted(set(range(6 * per_pmd)) - set(written))  # faulted in by the pin: zeroes
        assert [i for i in untouched if data[i * PAGE_SIZE : (i + 1) * PAGE_SIZE] != bytes(PAGE_SIZE)] == []
