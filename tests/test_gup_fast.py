"""GUP-fast: pin_user_pages_fast() / get_user_pages_fast() walk the page
tables without faulting and leave the rest to the slow path;
get_user_pages_fast_only() (FOLL_FAST_ONLY) returns what GUP-fast took."""

from __future__ import annotations

import errno

import pytest

import pinapi
from helpers import expect, fill, pattern, state
from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MADV_HUGEPAGE, MAP_SHARED, MM, PAGE_SIZE, PMD_SIZE, File, KernelError,
    get_user_pages_fast, get_user_pages_fast_only, pin_user_pages_fast, release_pages, unpin_user_pages,
)  # fmt: skip
from pinapi.lowlevel import FOLL_FAST_ONLY, ZERO_FOLIO, Ext4, Inode, Zone, alloc_zone, vmstat


def faults() -> int:
    return vmstat.pgfault


def test_present_pages_are_taken_without_a_fault(mm: MM) -> None:
    a = mm.mmap(PMD_SIZE + 4 * PAGE_SIZE)
    mm.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    fill(mm, a, PMD_SIZE // PAGE_SIZE + 4)
    before = faults()
    with pin_user_pages_fast(a, PMD_SIZE // PAGE_SIZE + 4, FOLL_WRITE | FOLL_LONGTERM) as pins:
        assert faults() == before and len(pins) == PMD_SIZE // PAGE_SIZE + 4
        assert pins[-1].read() == pattern(PMD_SIZE // PAGE_SIZE + 3) and pins.owner.mm is mm
    pages = get_user_pages_fast(a, 4, 0)
    assert faults() == before and len(pages) == 4
    release_pages(pages)


def test_what_needs_a_fault_goes_to_the_slow_path(mm: MM) -> None:
    a = mm.mmap(4 * PAGE_SIZE)
    fill(mm, a, [0, 1])
    before = faults()
    with pin_user_pages_fast(a, 4, FOLL_WRITE) as pins:
        assert len(pins) == 4 and faults() == before + 2
    assert mm.lookup(a + 3 * PAGE_SIZE) is not None


def test_fast_only_never_faults_and_stops_short(mm: MM) -> None:
    a = mm.mmap(4 * PAGE_SIZE)
    fill(mm, a, [0, 1, 3])
    before = faults()
    pages = get_user_pages_fast_only(a, 4, 0)
    assert len(pages) == 2 and faults() == before
    release_pages(pages)
    unchanged = state(mm)
    assert get_user_pages_fast_only(a + 2 * PAGE_SIZE, 2, 0) == [] and state(mm) == unchanged


def test_gup_fast_leaves_the_zero_page_to_the_slow_path(mm: MM) -> None:
    """The zero page's PTE is special (pte_special()): GUP-fast does not
    take it, so FOLL_FAST_ONLY stops there; the slow path takes it."""
    a = mm.mmap(3 * PAGE_SIZE)
    fill(mm, a, [0])
    mm.read(a + PAGE_SIZE, 2 * PAGE_SIZE)
    before = faults()
    pages = get_user_pages_fast_only(a, 3, 0)
    assert len(pages) == 1 and faults() == before
    release_pages(pages)
    pages = get_user_pages_fast(a, 3, 0)
    assert [p.folio is ZERO_FOLIO for p in pages] == [False, True, True] and faults() == before
    release_pages(pages)


def test_fast_only_does_not_break_cow(mm: MM) -> None:
    """A page shared with a child has no writable PTE: GUP-fast cannot take
    it for writing, and FOLL_FAST_ONLY may not fault."""
    a = mm.mmap(2 * PAGE_SIZE)
    fill(mm, a, 2)
    child = mm.fork()
    assert get_user_pages_fast_only(a, 2, FOLL_WRITE) == []
    pages = get_user_pages_fast_only(a, 2, 0)  # reading a shared page is fine
    assert len(pages) == 2
    release_pages(pages)
    child.exit()


def test_a_read_only_fast_pin_of_a_shared_page_unshares_it(mm: MM) -> None:
    """cow.c's "R/O GUP-fast pin on R/O-mapped shared page": GUP-fast must
    not pin a page the process may copy away from; the slow path unshares."""
    a = mm.mmap(2 * PAGE_SIZE)
    fill(mm, a, 2)
    child = mm.fork()
    pins = pin_user_pages_fast(a, 2, FOLL_LONGTERM)
    mm.write(a, pattern(0, tag=1))
    assert pins[0].read() == pattern(0, tag=1) and expect(child, a, 2) == []
    unpin_user_pages(pins)
    child.exit()


def test_a_longterm_fast_pin_leaves_movable_pages_to_the_slow_path(mm: MM) -> None:
    a = mm.mmap(2 * PAGE_SIZE)
    with alloc_zone(Zone.MOVABLE):
        fill(mm, a, 2)
    with pin_user_pages_fast(a, 2, FOLL_WRITE | FOLL_LONGTERM):
        assert all(p.folio.zone is Zone.NORMAL for _, p in mm.mapped_pages())
    assert expect(mm, a, 2) == []


@pytest.mark.parametrize(("fs", "ok"), [("tmpfs", True), ("ext4", False)])
def test_a_writable_longterm_fast_pin_of_a_shared_file(mm: MM, fs: str, ok: bool) -> None:
    """gup_fast_folio_allowed(): only shmem (and hugetlb) page cache;
    ext4 goes to the slow path, which refuses it (EFAULT)."""
    f = pinapi.shmem_file(PAGE_SIZE) if fs == "tmpfs" else File(Inode(Ext4(), PAGE_SIZE))
    a = mm.mmap(PAGE_SIZE, flags=MAP_SHARED, file=f)
    mm.write(a, b"x")
    if ok:
        unpin_user_pages(pin_user_pages_fast(a, 1, FOLL_WRITE | FOLL_LONGTERM))
        return
    before = state(mm)
    with pytest.raises(KernelError) as e:
        pin_user_pages_fast(a, 1, FOLL_WRITE | FOLL_LONGTERM)
    assert e.value.errno == errno.EFAULT and state(mm) == before


def test_a_short_result_is_the_callers(mm: MM) -> None:
    """What GUP-fast took stays taken when the slow path fails after it."""
    a = mm.mmap(4 * PAGE_SIZE)
    fill(mm, a, 4)
    mm.munmap(a + 2 * PAGE_SIZE, 2 * PAGE_SIZE)
    pins = pin_user_pages_fast(a, 4, FOLL_WRITE)
    assert len(pins) == 2 and pins.nr_pinned == 2
    unpin_user_pages(pins)
    pages = get_user_pages_fast(a, 4, 0)
    assert len(pages) == 2
    release_pages(pages)
    before = state(mm)
    with pytest.raises(KernelError) as e:
        pin_user_pages_fast(a + 2 * PAGE_SIZE, 1, 0)
    assert e.value.errno == errno.EFAULT and state(mm) == before


@pytest.mark.parametrize("flags", [FOLL_WRITE, FOLL_WRITE | FOLL_LONGTERM])
def test_a_short_result_keeps_what_the_slow_path_pinned(mm: MM, flags: int) -> None:
    """The slow path pins up to the page it must refuse, FOLL_LONGTERM
    included (``__gup_longterm_locked()`` returns a partial count when
    nothing needs migrating): GUP-fast takes the mapped page, the slow path
    faults and pins the next, and the hole stops it."""
    a = mm.mmap(3 * PAGE_SIZE)
    fill(mm, a, [0])
    mm.munmap(a + 2 * PAGE_SIZE, PAGE_SIZE)
    with pin_user_pages_fast(a, 3, flags) as pins:
        assert len(pins) == 2 and mm.lookup(a + PAGE_SIZE) is not None


def test_fast_only_is_internal(mm: MM) -> None:
    a = mm.mmap(PAGE_SIZE)
    with pytest.raises(KernelError) as e:
        get_user_pages_fast(a, 1, FOLL_FAST_ONLY)
    assert e.value.errno == errno.EINVAL


def test_without_a_current_mm() -> None:
    with pytest.raises(KernelError) as e:
        pin_user_pages_fast(0x1000, 1, 0)
    assert e.value.errno == errno.ESRCH
