"""Filesystems: tmpfs, hugetlbfs, ext4, fsdax; truncate and hole punch;
file-owner pins and layout leases."""

from __future__ import annotations

import errno
from typing import Any

import pytest

import pinapi
from pinapi import lowlevel
from helpers import state
from pinapi._mm.page_alloc import HPAGE_PUD_ORDER
from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MAP_PRIVATE, MAP_SHARED, MM, PAGE_SIZE, PMD_SIZE, File, Folio,
    KernelError, VaddrPin, unpin_user_pages, vaddr_pin_pages,
)  # fmt: skip
from pinapi.lowlevel import (
    F_LAYOUT, F_UNLCK, PG, Ext4, FileSystem, FsDax, Hugetlbfs, Inode, reclaim, writeback,
)  # fmt: skip


def folio_at(mm: MM, addr: int) -> Folio:
    page = mm.lookup(addr)
    assert page is not None
    return page.folio


def new_file(fs: FileSystem, size: int = 0, name: str = "f") -> File:
    return File(Inode(fs, size), name)


def file_state(f: File) -> dict[str, Any]:
    inode = f.inode
    return {
        "size": inode.size,
        "cache": {i: (fo.pfn, fo.refcount(), fo.flags, fo.read(0, fo.size)) for i, fo in inode.mapping.pages.items()},
        "disk": dict(inode.fs.disk) if isinstance(inode.fs, Ext4) else None,
    }


@pytest.mark.parametrize("fs", [lowlevel.Shmem, Ext4, FsDax])
def test_read_write_and_size(fs: type[FileSystem]) -> None:
    f = new_file(fs())
    f.inode.write(PAGE_SIZE - 2, b"across")
    assert f.inode.size == PAGE_SIZE + 4
    assert f.inode.read(PAGE_SIZE - 2, 100) == b"across"  # stops at end of file
    assert f.inode.read(0, 2) == bytes(2)
    assert f.inode.read(f.inode.size, 10) == b""


@pytest.mark.parametrize(
    ("call", "args"),
    [("read", (-1, 1)), ("read", (0, -1)), ("write", (-1, b"x")), ("truncate", (-1,)),
     ("punch_hole", (-1, 1)), ("punch_hole", (0, 0))],
)  # fmt: skip
def test_bad_file_calls_are_einval_and_change_nothing(mm: MM, call: str, args: tuple[Any, ...]) -> None:
    f = new_file(Ext4(), 0)
    f.inode.write(0, b"data")
    a = mm.mmap(PAGE_SIZE, flags=MAP_SHARED, file=f)
    mm.read(a, 1)
    before, fbefore = state(mm), file_state(f)
    with pytest.raises(KernelError) as e:
        getattr(f.inode, call)(*args)
    assert e.value.errno == errno.EINVAL
    assert state(mm) == before and file_state(f) == fbefore


# -- truncate and hole punch --------------------------------------------------


def test_truncate_unmaps_frees_and_zeroes_the_tail(mm: MM) -> None:
    f = pinapi.shmem_file(3 * PAGE_SIZE)
    shared = mm.mmap(3 * PAGE_SIZE, flags=MAP_SHARED, file=f)
    private = mm.mmap(3 * PAGE_SIZE, flags=MAP_PRIVATE, file=f)
    mm.write(shared, b"s" * 3 * PAGE_SIZE)
    mm.write(private + 2 * PAGE_SIZE, b"cow")  # a private copy of page 2
    page2 = folio_at(mm, shared + 2 * PAGE_SIZE)
    f.inode.truncate(PAGE_SIZE + 10)
    assert page2.refcount() == 0 and mm.lookup(shared + 2 * PAGE_SIZE) is None
    assert mm.lookup(private + 2 * PAGE_SIZE) is None  # even private copies go
    assert mm.read(shared + PAGE_SIZE, 12) == b"s" * 10 + bytes(2)  # tail zeroed
    with pytest.raises(KernelError, match="SIGBUS"):
        mm.read(shared + 2 * PAGE_SIZE, 1)
    f.inode.truncate(3 * PAGE_SIZE)  # grow: a hole
    assert f.inode.read(PAGE_SIZE, PAGE_SIZE) == b"s" * 10 + bytes(PAGE_SIZE - 10)
    assert mm.read(private + 2 * PAGE_SIZE, 3) == bytes(3)


def test_punch_hole_drops_whole_pages_zeroes_partial_ones_and_keeps_private_copies(mm: MM) -> None:
    f = pinapi.shmem_file(4 * PAGE_SIZE)
    shared = mm.mmap(4 * PAGE_SIZE, flags=MAP_SHARED, file=f)
    private = mm.mmap(4 * PAGE_SIZE, flags=MAP_PRIVATE, file=f)
    mm.write(shared, b"h" * 4 * PAGE_SIZE)
    mm.write(private + PAGE_SIZE, b"mine")
    assert mm.read(private + 2 * PAGE_SIZE, 1) == b"h"  # maps the cache page
    p1 = folio_at(mm, shared + PAGE_SIZE)
    f.inode.punch_hole(PAGE_SIZE - 1, 2 * PAGE_SIZE + 2)  # [4095, 12289)
    assert f.inode.size == 4 * PAGE_SIZE
    assert f.inode.read(PAGE_SIZE - 2, 2 * PAGE_SIZE + 4) == b"h" + bytes(2 * PAGE_SIZE + 2) + b"h"
    assert p1.refcount() == 0 and mm.lookup(shared + PAGE_SIZE) is None
    assert mm.lookup(private + 2 * PAGE_SIZE) is None  # the cache page it mapped went
    assert mm.read(private + PAGE_SIZE, 4) == b"mine"  # the private copy stayed
    assert mm.read(shared + 3 * PAGE_SIZE, 2) == bytes(1) + b"h"


def test_truncating_a_pinned_page_cache_page_leaves_the_pin_an_orphan_page(mm: MM, owner: VaddrPin) -> None:
    f = pinapi.shmem_file(2 * PAGE_SIZE)
    a = mm.mmap(2 * PAGE_SIZE, flags=MAP_SHARED, file=f)
    pins = vaddr_pin_pages(a + PAGE_SIZE, 1, FOLL_WRITE, owner)
    folio = folio_at(mm, a + PAGE_SIZE)
    f.inode.truncate(PAGE_SIZE)
    assert folio.mapping is None and folio.refcount() == lowlevel.GUP_PIN_COUNTING_BIAS
    pins[0].write(0, b"lost")  # the device writes into a page no file owns
    f.inode.truncate(2 * PAGE_SIZE)
    assert f.inode.read(PAGE_SIZE, 4) == bytes(4)
    unpin_user_pages(pins)
    assert folio.refcount() == 0


def test_ext4_truncate_and_punch_free_blocks_and_zero_partial_ones(mm: MM) -> None:
    fs = Ext4()
    f = new_file(fs)
    f.inode.write(0, b"b" * 4 * PAGE_SIZE)
    writeback(f.inode)
    assert reclaim(f.inode) == 4
    f.inode.punch_hole(PAGE_SIZE + 1, 2 * PAGE_SIZE)  # page 2 whole, pages 1 and 3 partly
    assert (f.inode.ino, 2) not in fs.disk
    partial = f.inode.mapping.find_folio(1)
    assert partial is not None and partial.test(PG.dirty) and partial.test(PG.private)
    f.inode.truncate(PAGE_SIZE // 2)
    assert sorted(k[1] for k in fs.disk) == [0]
    writeback(f.inode)
    assert reclaim(f.inode) == 1
    assert f.inode.read(0, PAGE_SIZE) == b"b" * (PAGE_SIZE // 2)
    assert fs.disk[(f.inode.ino, 0)] == b"b" * (PAGE_SIZE // 2) + bytes(PAGE_SIZE // 2)


# -- hugetlbfs ---------------------------------------------------------------


def test_hugetlbfs_maps_huge_page_cache_folios(mm: MM) -> None:
    f = new_file(Hugetlbfs(), 2 * PMD_SIZE)
    a = mm.mmap(2 * PMD_SIZE, flags=MAP_SHARED, file=f)
    other = MM("other")
    b = other.mmap(PMD_SIZE, flags=MAP_SHARED, file=f, offset=PMD_SIZE)
    mm.write(a + PMD_SIZE + 5, b"huge")
    assert other.read(b + 5, 4) == b"huge" and f.inode.read(PMD_SIZE + 5, 4) == b"huge"
    folio = folio_at(mm, a + PMD_SIZE)
    assert folio.order == 9 and folio.test(PG.hugetlb) and folio is f.inode.mapping.find_folio(512)
    assert folio_at(other, b) is folio and folio.mapcount() == 2 and folio.refcount() == 3
    p = mm.mmap(PMD_SIZE, flags=MAP_PRIVATE, file=f, offset=PMD_SIZE)
    mm.write(p, b"private")
    copy = folio_at(mm, p)
    assert copy is not folio and copy.order == 9 and copy.test(PG.hugetlb | PG.anon)
    assert f.inode.read(PMD_SIZE, 4) == bytes(4)
    other.exit()


def test_hugetlbfs_refuses_write_unaligned_truncate_and_mmap(mm: MM) -> None:
    with pytest.raises(KernelError) as e:
        Hugetlbfs(order=3)
    assert e.value.errno == errno.EINVAL
    f = new_file(Hugetlbfs(), PMD_SIZE)
    a = mm.mmap(PMD_SIZE, flags=MAP_SHARED, file=f)
    mm.write(a, b"x")
    before, fbefore = state(mm), file_state(f)
    with pytest.raises(KernelError, match="huge page size") as e:
        mm.mmap(PAGE_SIZE, flags=MAP_SHARED, file=f)
    assert e.value.errno == errno.EINVAL
    with pytest.raises(KernelError, match="write through a mapping") as e:
        f.inode.write(0, b"y")
    assert e.value.errno == errno.EINVAL
    with pytest.raises(KernelError, match="huge page size") as e:
        f.inode.truncate(PAGE_SIZE)
    assert e.value.errno == errno.EINVAL
    assert state(mm) == before and file_state(f) == fbefore
    folio = folio_at(mm, a)
    f.inode.truncate(0)
    assert folio.refcount() == 0 and mm.lookup(a) is None


def test_hugetlbfs_punch_hole_zeroes_inside_a_huge_page(mm: MM) -> None:
    f = new_file(Hugetlbfs(), PMD_SIZE)
    a = mm.mmap(PMD_SIZE, flags=MAP_SHARED, file=f)
    mm.write(a, b"z" * 3 * PAGE_SIZE)
    folio = folio_at(mm, a)
    f.inode.punch_hole(PAGE_SIZE, PAGE_SIZE)
    assert folio_at(mm, a) is folio  # still mapped: only part of it was punched
    assert mm.read(a + PAGE_SIZE - 1, PAGE_SIZE + 2) == b"z" + bytes(PAGE_SIZE) + b"z"


# -- fsdax ---------------------------------------------------------------------


def test_fsdax_maps_the_device_page_and_has_nothing_to_write_back(mm: MM) -> None:
    f = new_file(FsDax(), PAGE_SIZE)
    a = mm.mmap(PAGE_SIZE, flags=MAP_SHARED, file=f)
    mm.write(a, b"pmem")
    assert folio_at(mm, a) is f.inode.mapping.find_folio(0)
    assert f.inode.read(0, 4) == b"pmem"
    assert writeback(f.inode) == 0 and reclaim(f.inode) == 0
    assert folio_at(mm, a) is f.inode.mapping.find_folio(0)


def dax_pinned(mm: MM) -> tuple[File, int, pinapi.PinnedPages]:
    f = new_file(FsDax(), 4 * PAGE_SIZE, "rdma-buffer")
    f.setlease(F_LAYOUT)
    a = mm.mmap(4 * PAGE_SIZE, flags=MAP_SHARED, file=f)
    mm.write(a, b"d" * 4 * PAGE_SIZE)
    pins = vaddr_pin_pages(a + PAGE_SIZE, 2, FOLL_WRITE | FOLL_LONGTERM, VaddrPin(mm=mm, file=f))
    return f, a, pins


@pytest.mark.parametrize(
    ("change", "pos", "after"),
    [(lambda i: i.truncate(0), 0, b""),
     (lambda i: i.truncate(2 * PAGE_SIZE + 1), 2 * PAGE_SIZE + 1, b""),
     (lambda i: i.punch_hole(2 * PAGE_SIZE, PAGE_SIZE), 2 * PAGE_SIZE - 1, b"d\0\0"),
     (lambda i: i.punch_hole(0, PAGE_SIZE + 1), PAGE_SIZE, b"\0d")],
    ids=["truncate all", "truncate into the pins", "punch a pinned page", "punch into a pinned page"],
)  # fmt: skip
def test_dax_layout_change_under_a_pin_is_etxtbsy(mm: MM, change: Any, pos: int, after: bytes) -> None:
    f, a, pins = dax_pinned(mm)
    before, fbefore = state(mm), file_state(f)
    with pytest.raises(KernelError, match="pinned") as e:
        change(f.inode)
    assert e.value.errno == errno.ETXTBSY
    assert state(mm) == before and file_state(f) == fbefore
    unpin_user_pages(pins)
    assert f.inode.read(pos, len(after) or 1) == b"d" * (len(after) or 1)
    change(f.inode)  # released: now it succeeds
    assert f.inode.read(pos, len(after) or 1) == after


def test_dax_change_outside_the_pinned_range_succeeds(mm: MM) -> None:
    f, a, pins = dax_pinned(mm)
    f.inode.punch_hole(3 * PAGE_SIZE, PAGE_SIZE)
    f.inode.truncate(3 * PAGE_SIZE)
    assert mm.read(a + PAGE_SIZE, 1) == b"d"
    unpin_user_pages(pins)


# -- file-owner pins and leases -----------------------------------------------


def test_the_ledger_names_a_file_owner_after_close_and_munmap(mm: MM) -> None:
    f, a, pins = dax_pinned(mm)
    f.close()
    mm.munmap(a, 4 * PAGE_SIZE)
    (record,) = lowlevel.pin_ledger()
    assert record.owner.file is f and record.owner.mm is mm
    assert (record.start, record.nr_pages, record.live) == (a + PAGE_SIZE, 2, 2)
    assert record.flags & FOLL_LONGTERM and record.flags & FOLL_WRITE
    assert "rdma-buffer" in repr(record) and "closed" in repr(record) and not record.orphaned
    pins[0].write(0, b"still")  # the device keeps its pages
    with pytest.raises(KernelError) as e:
        f.inode.truncate(0)
    assert e.value.errno == errno.ETXTBSY
    assert f.inode.read(PAGE_SIZE, 5) == b"still"
    pinapi.vaddr_unpin_pages_dirty_lock(pins, VaddrPin(mm=mm, file=f), make_dirty=True)
    assert lowlevel.pin_ledger() == []
    f.inode.truncate(0)


def test_a_file_only_owner_pins_through_the_current_mm(mm: MM) -> None:
    f = pinapi.shmem_file(PAGE_SIZE, "shm")
    a = mm.mmap(PAGE_SIZE, flags=MAP_SHARED, file=f)
    pins = vaddr_pin_pages(a, 1, FOLL_WRITE, VaddrPin(file=f))
    (record,) = lowlevel.pin_ledger()
    assert record.owner.file is f and record.owner.mm is None and record.mm is mm
    with pytest.raises(KernelError) as e:
        pinapi.vaddr_unpin_pages_dirty_lock(pins, VaddrPin(mm=mm), make_dirty=False)
    assert e.value.errno == errno.EINVAL
    pinapi.vaddr_unpin_pages_dirty_lock(pins, VaddrPin(file=f), make_dirty=False)


def test_setlease_rules() -> None:
    f = new_file(FsDax(), PAGE_SIZE)
    with pytest.raises(KernelError) as e:
        f.setlease(1)
    assert e.value.errno == errno.EINVAL and not f.layout_lease
    f.setlease(F_LAYOUT)
    assert f.layout_lease
    f.setlease(F_UNLCK)
    assert not f.layout_lease
    f.setlease(F_LAYOUT)
    f.close()
    assert not f.layout_lease
    with pytest.raises(KernelError) as e:
        f.setlease(F_LAYOUT)
    assert e.value.errno == errno.EBADF and not f.layout_lease


def test_hugetlbfs_1gb_pages(mm: MM) -> None:
    f = new_file(Hugetlbfs(HPAGE_PUD_ORDER), pinapi.PUD_SIZE)
    a = mm.mmap(pinapi.PUD_SIZE, flags=MAP_SHARED, file=f)
    assert a % pinapi.PUD_SIZE == 0
    mm.write(a + pinapi.PUD_SIZE - 1, b"G")
    folio = folio_at(mm, a)
    assert folio.size == pinapi.PUD_SIZE and folio_at(mm, a + PMD_SIZE) is folio
    assert f.inode.read(pinapi.PUD_SIZE - 1, 1) == b"G"
    f.inode.truncate(0)
    assert folio.refcount() == 0 and mm.lookup(a) is None
