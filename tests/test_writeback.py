"""Writeback, reclaim and pins: the race of LWN 774411 reproduced with
``get_user_pages()`` and prevented with pins."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import pinapi
from pinapi import lowlevel
from pinapi import (
    FOLL_WRITE, MAP_PRIVATE, MAP_SHARED, MM, PAGE_SIZE, File, KernelBug, VaddrPin,
    get_user_pages_remote, put_page, set_page_dirty_lock, unpin_user_pages_dirty_lock,
    vaddr_pin_pages,
)  # fmt: skip
from pinapi.lowlevel import PG, Ext4, FsWarning, Inode, reclaim, sync_filesystem, writeback

from pinapi._lab.race import NPAGES, OPS, Mode, Schedule, fails, on_disk, run_schedule


def ext4_mapping(mm: MM, fs: Ext4, npages: int = NPAGES) -> tuple[File, int]:
    f = File(Inode(fs, npages * PAGE_SIZE), "data")
    return f, mm.mmap(npages * PAGE_SIZE, flags=MAP_SHARED, file=f)


# -- the race, step by step ---------------------------------------------------


def test_legacy_gup_race_ends_in_the_ext4_bug(mm: MM) -> None:
    fs = Ext4()
    f, a = ext4_mapping(mm, fs, 1)
    (page,) = get_user_pages_remote(mm, a, 1, FOLL_WRITE)
    folio = page.folio
    assert folio.test(PG.private) and folio.test(PG.dirty)  # 1. page_mkwrite
    folio.write(0, b"DMA-1")  # the device writes through a plain reference
    assert writeback(f.inode) == 1  # 2. cleaned: nobody can tell it is in use
    assert not folio.test(PG.dirty) and on_disk(fs, f.inode, 1)[:5] == b"DMA-1"
    assert reclaim(f.inode) == 0  # unmapped, buffers stripped, kept by the GUP reference
    assert mm.lookup(a) is None and not folio.test(PG.private)
    assert f.inode.mapping.find_folio(0) is folio
    folio.write(0, b"DMA-2")
    set_page_dirty_lock(page)  # 3. dirty, no buffers
    put_page(page)
    assert folio.test(PG.dirty) and not folio.test(PG.private)
    with pytest.raises(KernelBug, match=r"BUG_ON\(!PagePrivate"):
        writeback(f.inode)  # 4.


def test_legacy_gup_race_loses_dma_data_on_todays_ext4(mm: MM) -> None:
    fs = Ext4(bug_on_no_buffers=False)
    f, a = ext4_mapping(mm, fs, 1)
    (page,) = get_user_pages_remote(mm, a, 1, FOLL_WRITE)
    page.folio.write(0, b"DMA-1")
    writeback(f.inode)
    reclaim(f.inode)
    page.folio.write(0, b"DMA-2")
    set_page_dirty_lock(page)
    put_page(page)
    with pytest.warns(FsWarning, match="does not have buffers"):
        writeback(f.inode)
    assert reclaim(f.inode) == 1  # clean, unreferenced: dropped
    assert f.inode.read(0, 5) == b"DMA-1"  # the device's last write is gone


def test_pins_prevent_the_race(mm: MM) -> None:
    fs = Ext4()
    f, a = ext4_mapping(mm, fs, 1)
    pins = vaddr_pin_pages(a, 1, FOLL_WRITE, VaddrPin(mm=mm))
    folio = mm.lookup(a).folio  # type: ignore[union-attr]
    pins[0].write(0, b"DMA-1")
    assert writeback(f.inode) == 1
    assert on_disk(fs, f.inode, 1)[:5] == b"DMA-1"  # a stable copy went to disk
    assert folio.test(PG.dirty) and folio.test(PG.private)  # ... and the page stays dirty
    assert reclaim(f.inode) == 0
    assert mm.lookup(a) is not None and folio.test(PG.private)  # reclaim left it whole
    pins[0].write(0, b"DMA-2")
    unpin_user_pages_dirty_lock(pins, make_dirty=True)
    assert writeback(f.inode) == 1 and not folio.test(PG.dirty)
    assert on_disk(fs, f.inode, 1)[:5] == b"DMA-2"
    mm.munmap(a, PAGE_SIZE)
    assert reclaim(f.inode) == 1 and folio.refcount() == 0
    assert f.inode.read(0, 5) == b"DMA-2"  # read back from the disk


# -- writeback and reclaim rules ----------------------------------------------


def test_writeback_cleans_and_the_next_store_faults_to_page_mkwrite(mm: MM) -> None:
    fs = Ext4()
    f, a = ext4_mapping(mm, fs)
    mm.write(a, b"one")
    folio = mm.lookup(a).folio  # type: ignore[union-attr]
    assert writeback(f.inode) == 1 and not folio.test(PG.dirty)
    assert writeback(f.inode) == 0  # nothing dirty left
    faults = lowlevel.vmstat.pgfault
    mm.write(a, b"two")
    assert lowlevel.vmstat.pgfault == faults + 1 and folio.test(PG.dirty)
    mm.write(a + 3, b"!")
    assert lowlevel.vmstat.pgfault == faults + 1  # dirty again: no fault
    writeback(f.inode)
    assert on_disk(fs, f.inode)[:4] == b"two!"


def test_sync_filesystem_writes_every_file(mm: MM) -> None:
    fs = Ext4()
    files = [File(Inode(fs, 0), str(i)) for i in range(3)]
    for i, f in enumerate(files):
        f.inode.write(i * PAGE_SIZE, b"file %d" % i)
    assert sync_filesystem(fs) == 3
    assert sync_filesystem(fs) == 0
    for i, f in enumerate(files):
        assert fs.disk[(f.inode.ino, i)][:6] == b"file %d" % i


def test_reclaim_frees_clean_unpinned_pages_and_rereads_them(mm: MM) -> None:
    fs = Ext4()
    f, a = ext4_mapping(mm, fs)
    mm.write(a, b"x" * (NPAGES * PAGE_SIZE))
    assert reclaim(f.inode) == 0  # all dirty
    writeback(f.inode)
    folios = [p.folio for _, p in mm.mapped_pages()]
    assert reclaim(f.inode) == NPAGES
    assert all(fo.refcount() == 0 for fo in folios) and not f.inode.mapping.pages
    assert mm.lookup(a) is None
    assert mm.read(a + PAGE_SIZE, 2) == b"xx"  # faulted in again from the disk
    assert not mm.lookup(a + PAGE_SIZE).folio.test(PG.private)  # type: ignore[union-attr]


def test_reclaim_keeps_a_clean_pinned_page_whole(mm: MM) -> None:
    fs = Ext4()
    f, a = ext4_mapping(mm, fs, 1)
    mm.write(a, b"data")
    writeback(f.inode)
    pins = vaddr_pin_pages(a, 1, 0, VaddrPin(mm=mm))  # a read pin: the page stays clean
    folio = mm.lookup(a).folio  # type: ignore[union-attr]
    assert not folio.test(PG.dirty) and folio.test(PG.private)
    ref = folio.refcount()
    assert reclaim(f.inode) == 0
    assert mm.lookup(a) is not None and folio.test(PG.private) and folio.refcount() == ref
    pinapi.unpin_user_pages(pins)
    assert reclaim(f.inode) == 1


def test_private_mapping_copies_are_not_file_data(mm: MM) -> None:
    fs = Ext4()
    f = File(Inode(fs, PAGE_SIZE), "data")
    f.inode.write(0, b"disk")
    writeback(f.inode)
    p = mm.mmap(PAGE_SIZE, flags=MAP_PRIVATE, file=f)
    assert mm.read(p, 4) == b"disk"
    mm.write(p, b"mine")
    assert writeback(f.inode) == 0 and fs.disk[(f.inode.ino, 0)][:4] == b"disk"
    assert reclaim(f.inode) == 1  # the cache page was only mapped read-only
    assert mm.read(p, 4) == b"mine"


def test_tmpfs_has_nothing_to_write_back_or_reclaim(mm: MM) -> None:
    f = pinapi.shmem_file(PAGE_SIZE)
    f.inode.write(0, b"mem")
    assert writeback(f.inode) == 0 and reclaim(f.inode) == 0
    assert f.inode.mapping.find_folio(0).test(PG.dirty)  # type: ignore[union-attr]


def test_writeback_of_a_page_without_buffers_from_a_plain_set_page_dirty(mm: MM) -> None:
    """Any dirtying that skips page_mkwrite reaches the BUG, not only DMA."""
    fs = Ext4()
    f = File(Inode(fs, PAGE_SIZE), "data")
    assert f.inode.read(0, 1) == b"\0"  # read in: clean, no buffers
    a = mm.mmap(PAGE_SIZE, flags=MAP_SHARED, file=f)
    (page,) = get_user_pages_remote(mm, a, 1, 0)
    set_page_dirty_lock(page)
    put_page(page)
    with pytest.raises(KernelBug):
        sync_filesystem(fs)


# -- random interleavings -----------------------------------------------------

schedules = st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, NPAGES - 1)), max_size=40)
counter = {"pinned": 0, "legacy": 0, "page-flag": 0}


def failing(kind: str, mode: Mode, fs_factory: Callable[[], Ext4]) -> Callable[[Schedule], bool]:
    """A predicate: does *schedule* end in a BUG or with bytes missing on disk?"""

    def check(schedule: Schedule) -> bool:
        counter[kind] += 1
        return fails(schedule, mode, fs_factory()) is not None

    return check


@pytest.mark.parametrize("strategy", [lowlevel.RefcountBias, lowlevel.ExactCounter, lowlevel.LookupTree])
def test_pinned_path_never_loses_a_byte(strategy: type[lowlevel.PinTracking]) -> None:
    before = counter["pinned"]

    @settings(max_examples=1000, deadline=None, database=None)
    @given(schedules)
    def check(schedule: Schedule) -> None:
        counter["pinned"] += 1
        expected, disk = run_schedule(schedule, "pin", Ext4())
        assert disk == expected

    with lowlevel.use_tracking(strategy()):
        check()
    assert counter["pinned"] - before >= 1000


@pytest.mark.parametrize("bug", [True, False], ids=["ext4-BUG", "ext4-warn-and-drop"])
def test_legacy_path_fails_on_some_interleaving(bug: bool) -> None:
    legacy = failing("legacy", "gup", lambda: Ext4(bug_on_no_buffers=bug))
    schedule = find(schedules, legacy, settings=settings(max_examples=2000, database=None, derandomize=True))
    ops = [op for op, _ in schedule]
    # Shrunk to the race itself: take the page, clean it, strip it, dirty it on release.
    assert "acquire" in ops and "writeback" in ops and "reclaim" in ops
    assert ops.index("acquire") < ops.index("writeback") < ops.index("reclaim")
    assert legacy(schedule)
    assert not failing("pinned", "pin", Ext4)(schedule)  # pins survive the same schedule
    assert not legacy([("acquire", 0), ("dma", 0), ("release", 0)])  # not every schedule fails


def test_a_one_bit_pin_flag_forgets_an_overlapping_pin_and_loses_the_race() -> None:
    """Pin tracking must count: with the page-flag strategy the first unpin
    clears the bit under a second live pin, and writeback treats the page as
    unpinned again."""
    page_flag = failing("page-flag", "pin", Ext4)
    with lowlevel.use_tracking(lowlevel.PageFlag()):
        schedule = find(schedules, page_flag, settings=settings(max_examples=2000, database=None, derandomize=True))
        assert [op for op, _ in schedule].count("acquire") == 2
        assert page_flag(schedule)
    assert not page_flag(schedule)  # counted pins survive the same schedule
