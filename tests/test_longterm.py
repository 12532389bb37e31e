"""FOLL_LONGTERM: which mappings may be pinned long-term, and migration out of
ZONE_MOVABLE and CMA before the pin."""

from __future__ import annotations

import errno

import pytest

import pinapi
from pinapi import lowlevel
from helpers import state
from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED,
    MM, PAGE_SIZE, PMD_SIZE, PROT_READ, File, Folio, KernelError, VaddrPin, get_user_pages_remote,
    put_page, unpin_user_pages, vaddr_pin_pages,
)  # fmt: skip
from pinapi.lowlevel import F_LAYOUT, Ext4, FsDax, Hugetlbfs, Inode, Zone, migrate_folio

LT = FOLL_LONGTERM | FOLL_WRITE


def folio_at(mm: MM, addr: int) -> Folio:
    page = mm.lookup(addr)
    assert page is not None
    return page.folio


def file_on(fs: lowlevel.FileSystem, size: int = 2 * PAGE_SIZE) -> File:
    return File(Inode(fs, size), fs.name)


# -- which mappings ----------------------------------------------------------


def test_fsdax_is_refused_eopnotsupp(mm: MM, owner: VaddrPin) -> None:
    f = file_on(FsDax())
    a = mm.mmap(2 * PAGE_SIZE, flags=MAP_SHARED, file=f)
    mm.write(a, b"x")
    before = state(mm)
    for flags in (FOLL_LONGTERM, LT):
        with pytest.raises(KernelError, match="fsdax") as e:
            vaddr_pin_pages(a, 2, flags, owner)
        assert e.value.errno == errno.EOPNOTSUPP
    assert state(mm) == before
    unpin_user_pages(vaddr_pin_pages(a, 2, FOLL_WRITE, owner))  # a short-term pin is fine


def test_fsdax_with_a_layout_lease_is_allowed(mm: MM) -> None:
    f = file_on(FsDax())
    f.setlease(F_LAYOUT)
    a = mm.mmap(2 * PAGE_SIZE, flags=MAP_SHARED, file=f)
    pins = vaddr_pin_pages(a, 2, LT, VaddrPin(mm=mm, file=f))
    assert folio_at(mm, a) is f.inode.mapping.find_folio(0)  # the device page itself
    unpin_user_pages(pins)
    f.setlease(lowlevel.F_UNLCK)
    with pytest.raises(KernelError) as e:
        vaddr_pin_pages(a, 2, LT, VaddrPin(mm=mm, file=f))
    assert e.value.errno == errno.EOPNOTSUPP


def test_writable_longterm_pin_of_shared_ext4_is_efault(mm: MM, owner: VaddrPin) -> None:
    f = file_on(Ext4())
    a = mm.mmap(2 * PAGE_SIZE, flags=MAP_SHARED, file=f)
    mm.write(a, b"x")
    before = state(mm)
    with pytest.raises(KernelError, match="tracks dirty pages") as e:
        vaddr_pin_pages(a, 2, LT, owner)
    assert e.value.errno == errno.EFAULT and state(mm) == before
    unpin_user_pages(vaddr_pin_pages(a, 2, FOLL_LONGTERM, owner))  # read-only: allowed
    unpin_user_pages(vaddr_pin_pages(a, 2, FOLL_WRITE, owner))  # short-term: allowed


@pytest.mark.parametrize(
    "kind", ["anonymous", "private ext4", "shared tmpfs", "shared anonymous", "hugetlbfs", "hugetlb"]
)
def test_longterm_writable_pin_allowed(mm: MM, owner: VaddrPin, kind: str) -> None:
    size = 2 * PAGE_SIZE
    if kind == "anonymous":
        a = mm.mmap(size)
    elif kind == "private ext4":
        a = mm.mmap(size, flags=MAP_PRIVATE, file=file_on(Ext4()))
    elif kind == "shared tmpfs":
        a = mm.mmap(size, flags=MAP_SHARED, file=pinapi.shmem_file(size))
    elif kind == "shared anonymous":
        a = mm.mmap(size, flags=MAP_SHARED | MAP_ANONYMOUS)
    elif kind == "hugetlbfs":
        size = PMD_SIZE
        a = mm.mmap(size, flags=MAP_SHARED, file=file_on(Hugetlbfs(), size))
    else:
        size = PMD_SIZE
        a = mm.mmap(size, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB)
    pins = vaddr_pin_pages(a, size // PAGE_SIZE, LT, owner)
    pins[1].write(0, b"device")
    assert mm.read(a + PAGE_SIZE, 6) == b"device"
    unpin_user_pages(pins)


# -- migration out of MOVABLE and CMA ----------------------------------------


@pytest.mark.parametrize("zone", [Zone.MOVABLE, Zone.CMA])
def test_movable_pages_are_migrated_then_pinned(mm: MM, owner: VaddrPin, zone: Zone) -> None:
    a = mm.mmap(3 * PAGE_SIZE)
    with lowlevel.alloc_zone(zone):
        mm.write(a, b"a" * PAGE_SIZE + b"b" * PAGE_SIZE)
    mm.write(a + 2 * PAGE_SIZE, b"c")  # this one is in ZONE_NORMAL already
    old = [folio_at(mm, a + i * PAGE_SIZE) for i in range(3)]
    migrated = lowlevel.vmstat.pgmigrate_success
    pins = vaddr_pin_pages(a, 3, LT, owner)
    new = [folio_at(mm, a + i * PAGE_SIZE) for i in range(3)]
    assert lowlevel.vmstat.pgmigrate_success == migrated + 2
    assert [f.zone for f in new] == [Zone.NORMAL] * 3
    assert new[2] is old[2] and new[0] is not old[0] and new[1] is not old[1]
    assert old[0].refcount() == 0 and old[1].refcount() == 0  # freed
    assert all(pinapi.folio_maybe_dma_pinned(f) for f in new)  # pinned again
    assert [p.read(0, 1) for p in pins] == [b"a", b"b", b"c"]  # data preserved
    assert mm.read(a, 1) == b"a" and mm.read(a + PAGE_SIZE, 1) == b"b"
    assert new[0].mapcount() == 1 and new[0].test(lowlevel.PG.anon_exclusive)
    unpin_user_pages(pins)
    assert [f.refcount() for f in new] == [1, 1, 1]


def test_migration_of_a_thp_and_a_shared_file_page(mm: MM, owner: VaddrPin) -> None:
    f = pinapi.shmem_file(PAGE_SIZE)
    a = mm.mmap(PMD_SIZE)
    mm.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    with lowlevel.alloc_zone(Zone.CMA):
        mm.write(a + PMD_SIZE - 1, b"T")
        f.inode.write(0, b"shm")
    other = MM("other")
    s1 = mm.mmap(PAGE_SIZE, flags=MAP_SHARED, file=f)
    s2 = other.mmap(PAGE_SIZE, flags=MAP_SHARED, file=f)
    assert other.read(s2, 3) == b"shm"
    thp, cached = folio_at(mm, a), f.inode.mapping.find_folio(0)
    assert thp.order == 9 and cached is not None and cached.zone is Zone.CMA
    pins = vaddr_pin_pages(a, 512, LT, owner)
    spin = vaddr_pin_pages(s1, 1, LT, owner)
    new_thp, new_cached = folio_at(mm, a), f.inode.mapping.find_folio(0)
    assert new_thp.order == 9 and new_thp.zone is Zone.NORMAL and new_thp.pincount() == 512
    assert pins[511].read(PAGE_SIZE - 1, 1) == b"T"
    assert new_cached is not None and new_cached.zone is Zone.NORMAL
    assert folio_at(other, s2) is new_cached  # every mapping moved with it
    assert thp.refcount() == 0 and cached.refcount() == 0
    spin[0].write(0, b"SHM")
    assert other.read(s2, 3) == b"SHM" and f.inode.read(0, 3) == b"SHM"
    unpin_user_pages(pins)
    unpin_user_pages(spin)
    other.exit()


def test_migration_failure_leaves_nothing_pinned(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(2 * PAGE_SIZE)
    with lowlevel.alloc_zone(Zone.MOVABLE):
        mm.write(a, b"x" * 2 * PAGE_SIZE)
    (held,) = get_user_pages_remote(mm, a + PAGE_SIZE, 1, 0)  # an extra reference: EBUSY
    acquired = lowlevel.vmstat.nr_foll_pin_acquired
    with pytest.raises(KernelError) as e:
        vaddr_pin_pages(a, 2, LT, owner)
    assert e.value.errno == errno.EBUSY
    assert lowlevel.pin_ledger() == []
    stat = lowlevel.vmstat.snapshot()
    assert stat["nr_foll_pin_acquired"] == stat["nr_foll_pin_released"] > acquired
    for i in range(2):
        assert not pinapi.folio_maybe_dma_pinned(folio_at(mm, a + i * PAGE_SIZE))
    assert mm.read(a, 1) == b"x" and mm.read(a + PAGE_SIZE, 1) == b"x"
    assert held.folio.refcount() == 2 and held.folio.zone is Zone.MOVABLE
    put_page(held)
    unpin_user_pages(vaddr_pin_pages(a, 2, LT, owner))  # now it migrates


def test_a_short_term_pin_blocks_migration(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(PAGE_SIZE)
    with lowlevel.alloc_zone(Zone.CMA):
        mm.write(a, b"x")
    short = vaddr_pin_pages(a, 1, FOLL_WRITE, owner)
    folio = folio_at(mm, a)
    before = state(mm)
    with pytest.raises(KernelError) as e:
        migrate_folio(folio, Zone.NORMAL)
    assert e.value.errno == errno.EBUSY and state(mm) == before
    with pytest.raises(KernelError) as e:
        vaddr_pin_pages(a, 1, LT, owner)
    assert e.value.errno == errno.EBUSY
    assert folio_at(mm, a) is folio and short[0].read(0, 1) == b"x"
    unpin_user_pages(short)


def test_longterm_error_in_the_range_unpins_everything(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(3 * PAGE_SIZE)
    mm.write(a, b"x" * 3 * PAGE_SIZE)
    mm.mprotect(a + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ)
    before = state(mm)
    with pytest.raises(KernelError) as e:
        vaddr_pin_pages(a, 3, LT, owner)
    assert e.value.errno == errno.EFAULT and state(mm) == before


def test_pages_faulted_in_by_the_pin_itself_are_migrated(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(4 * PAGE_SIZE)
    with lowlevel.alloc_zone(Zone.MOVABLE):
        migrated = lowlevel.vmstat.pgmigrate_success
        pins = vaddr_pin_pages(a, 4, LT, owner)  # the first pass faults them into MOVABLE
        assert [folio_at(mm, a + i * PAGE_SIZE).zone for i in range(4)] == [Zone.NORMAL] * 4
        assert lowlevel.vmstat.pgmigrate_success == migrated + 4
        unpin_user_pages(pins)


def test_a_1gb_hugetlb_page_in_cma_is_migrated_whole(mm: MM, owner: VaddrPin) -> None:
    with lowlevel.alloc_zone(Zone.CMA):
        h = mm.mmap(pinapi.PUD_SIZE, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | pinapi.MAP_HUGE_1GB)
        mm.write(h + pinapi.PUD_SIZE - 1, b"g")
    old = folio_at(mm, h)
    pins = vaddr_pin_pages(h, 4, LT, owner)
    new = folio_at(mm, h)
    assert old.refcount() == 0 and new.zone is Zone.NORMAL and new.size == pinapi.PUD_SIZE
    assert new.pincount() == 4 and new.test(lowlevel.PG.hugetlb)
    assert folio_at(mm, h + pinapi.PUD_SIZE - PAGE_SIZE) is new
    assert mm.read(h + pinapi.PUD_SIZE - 1, 1) == b"g"
    unpin_user_pages(pins)
