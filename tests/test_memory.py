"""Folios, pages, the zero page, zones and faults."""

from __future__ import annotations

import errno

import pytest

import pinapi
from pinapi import lowlevel
from pinapi import (
    MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_FIXED, MAP_HUGE_1GB, MAP_HUGE_2MB, MAP_HUGETLB, MAP_PRIVATE,
    MAP_SHARED, MM, MREMAP_MAYMOVE, PAGE_SIZE, PMD_SIZE, PROT_READ, PUD_SIZE, KernelError,
)  # fmt: skip
from pinapi.lowlevel import PG, VM, ZERO_FOLIO, Zone


def test_untouched_anon_reads_zero_page(mm: MM) -> None:
    a = mm.mmap(4 * PAGE_SIZE)
    assert mm.read(a, 8) == bytes(8)
    page = mm.lookup(a)
    assert page is not None and page.folio is ZERO_FOLIO
    assert ZERO_FOLIO.refcount() == 1 and ZERO_FOLIO.mapcount() == 0


def test_write_fault_replaces_zero_page(mm: MM) -> None:
    a = mm.mmap(PAGE_SIZE)
    mm.read(a, 1)
    mm.write(a + 10, b"xyz")
    page = mm.lookup(a)
    assert page is not None and page.folio is not ZERO_FOLIO
    assert page.folio.refcount() == 1 and page.folio.mapcount() == 1
    assert page.folio.test(PG.anon | PG.anon_exclusive)
    assert mm.read(a + 9, 5) == b"\0xyz\0"


def test_data_is_lazy(mm: MM) -> None:
    a = mm.mmap(PMD_SIZE)
    mm.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    mm.write(a + 5 * PAGE_SIZE, b"x")
    folio = mm.lookup(a).folio  # type: ignore[union-attr]
    assert folio.order == 9
    assert isinstance(folio._data, dict) and list(folio._data) == [5]


def test_thp_needs_madvise_and_an_aligned_block(mm: MM) -> None:
    plain = mm.mmap(PMD_SIZE)
    mm.write(plain, b"x")
    assert mm.lookup(plain).folio.order == 0  # type: ignore[union-attr]
    huge = mm.mmap(PMD_SIZE + PAGE_SIZE)
    mm.madvise(huge, PMD_SIZE + PAGE_SIZE, MADV_HUGEPAGE)
    mm.write(huge, b"x")
    mm.write(huge + PMD_SIZE, b"y")
    assert mm.lookup(huge).folio.order == 9  # type: ignore[union-attr]
    assert mm.lookup(huge + PMD_SIZE).folio.order == 0  # type: ignore[union-attr]
    assert lowlevel.vmstat.thp_fault_alloc >= 1


@pytest.mark.parametrize(("flag", "size"), [(MAP_HUGE_2MB, PMD_SIZE), (MAP_HUGE_1GB, PUD_SIZE)])
def test_hugetlb(mm: MM, flag: int, size: int) -> None:
    a = mm.mmap(size, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | flag)
    assert a % size == 0
    mm.write(a + size - 1, b"z")
    folio = mm.lookup(a).folio  # type: ignore[union-attr]
    assert folio.size == size and folio.test(PG.hugetlb)
    assert mm.lookup(a + size - PAGE_SIZE).folio is folio  # type: ignore[union-attr]
    assert folio.refcount() == 1 and folio.mapcount() == 1
    with pytest.raises(KernelError) as e:
        mm.munmap(a, PAGE_SIZE)
    assert e.value.errno == errno.EINVAL
    mm.munmap(a, size)
    assert folio.refcount() == 0


def test_munmap_frees_and_splits(mm: MM) -> None:
    a = mm.mmap(3 * PAGE_SIZE)
    mm.write(a, b"a" * 3 * PAGE_SIZE)
    folios = [mm.lookup(a + i * PAGE_SIZE).folio for i in range(3)]  # type: ignore[union-attr]
    mm.munmap(a + PAGE_SIZE, PAGE_SIZE)
    assert [f.refcount() for f in folios] == [1, 0, 1]
    assert [(v.vm_start - a, v.vm_end - a) for v in mm.vmas] == [(0, PAGE_SIZE), (2 * PAGE_SIZE, 3 * PAGE_SIZE)]
    with pytest.raises(KernelError) as e:
        mm.read(a + PAGE_SIZE, 1)
    assert e.value.errno == errno.EFAULT


def test_partial_munmap_of_thp_maps_the_rest_by_ptes(mm: MM) -> None:
    a = mm.mmap(PMD_SIZE)
    mm.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    mm.write(a, b"x" * PMD_SIZE)
    folio = mm.lookup(a).folio  # type: ignore[union-attr]
    mm.munmap(a, PAGE_SIZE)
    assert folio.mapcount() == 511 and folio.refcount() == 511
    assert mm.read(a + PAGE_SIZE, 2) == b"xx"
    mm.munmap(a, PMD_SIZE)
    assert folio.refcount() == 0


def test_mprotect_read_only_refuses_user_writes(mm: MM) -> None:
    a = mm.mmap(2 * PAGE_SIZE)
    mm.mprotect(a, PAGE_SIZE, PROT_READ)
    with pytest.raises(KernelError) as e:
        mm.write(a, b"x")
    assert e.value.errno == errno.EFAULT
    mm.write(a + PAGE_SIZE, b"x")
    assert len(mm.vmas) == 2 and not mm.vmas[0].vm_flags & VM.WRITE


def test_a_failed_user_write_writes_nothing(mm: MM) -> None:
    a = mm.mmap(2 * PAGE_SIZE)
    mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ)
    with pytest.raises(KernelError):
        mm.write(a + PAGE_SIZE - 2, b"abcd")
    assert mm.read(a + PAGE_SIZE - 2, 4) == bytes(4)


def test_shared_and_private_file_mappings(mm: MM) -> None:
    f = pinapi.shmem_file(2 * PAGE_SIZE)
    f.inode.write(0, b"file")
    shared = mm.mmap(2 * PAGE_SIZE, flags=MAP_SHARED, file=f)
    private = mm.mmap(2 * PAGE_SIZE, flags=MAP_PRIVATE, file=f)
    assert mm.read(private, 4) == b"file"
    mm.write(shared, b"FI")
    assert f.inode.read(0, 4) == b"FIle"
    assert mm.read(private, 4) == b"FIle"  # not yet copied: sees the cache
    mm.write(private, b"pr")
    assert f.inode.read(0, 4) == b"FIle" and mm.read(private, 4) == b"prle"
    assert mm.lookup(private).folio.test(PG.anon)  # type: ignore[union-attr]
    with pytest.raises(KernelError) as e:
        mm.read(shared + 2 * PAGE_SIZE, 1)
    assert e.value.errno == errno.EFAULT


def test_file_mapping_past_eof_is_sigbus(mm: MM) -> None:
    f = pinapi.shmem_file(PAGE_SIZE)
    a = mm.mmap(2 * PAGE_SIZE, flags=MAP_SHARED, file=f)
    with pytest.raises(KernelError, match="SIGBUS"):
        mm.read(a + PAGE_SIZE, 1)


def test_map_fixed_replaces(mm: MM) -> None:
    a = mm.mmap(2 * PAGE_SIZE)
    mm.write(a, b"old")
    b = mm.mmap(PAGE_SIZE, addr=a, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    assert b == a and mm.read(a, 3) == bytes(3)


def test_a_new_mapping_never_lands_on_one_map_fixed_put_ahead(mm: MM) -> None:
    """get_unmapped_area() finds free space: a mapping MAP_FIXED put where
    the next placement would go is skipped over, by mmap() and by a
    mremap() that moves."""
    fixed = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
    a = mm.mmap(PAGE_SIZE)
    mm.mmap(PAGE_SIZE, addr=a + PAGE_SIZE, flags=fixed)  # a cannot grow in place
    ahead = mm.mmap(PMD_SIZE, addr=a + PMD_SIZE, flags=fixed)
    mm.write(ahead, b"kept")
    moved = mm.mremap(a, PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE)
    b = mm.mmap(PAGE_SIZE)
    spans = sorted((v.vm_start, v.vm_end) for v in mm.vmas)
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:])), spans
    assert {moved, b}.isdisjoint({a, ahead}) and mm.read(ahead, 4) == b"kept"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"length": 0}, errno.EINVAL),
        ({"length": 100}, errno.EINVAL),
        ({"length": PAGE_SIZE, "prot": 8}, errno.EINVAL),
        ({"length": PAGE_SIZE, "flags": MAP_ANONYMOUS}, errno.EINVAL),
        ({"length": PAGE_SIZE, "flags": MAP_PRIVATE}, errno.EBADF),
        ({"length": PAGE_SIZE, "flags": MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB}, errno.EINVAL),
        ({"length": PAGE_SIZE, "vm_flags": VM.SHARED}, errno.EINVAL),
    ],
)
def test_bad_mmap(mm: MM, kwargs: dict[str, int], code: int) -> None:
    with pytest.raises(KernelError) as e:
        mm.mmap(**kwargs)  # type: ignore[arg-type]
    assert e.value.errno == code and mm.vmas == []


def test_alloc_zone_places_user_pages(mm: MM) -> None:
    a = mm.mmap(PAGE_SIZE)
    with lowlevel.alloc_zone(Zone.CMA):
        mm.write(a, b"x")
    assert mm.lookup(a).folio.zone is Zone.CMA  # type: ignore[union-attr]


def test_exit_frees_everything(mm: MM) -> None:
    a = mm.mmap(4 * PAGE_SIZE)
    mm.write(a, b"x" * 4 * PAGE_SIZE)
    folios = [p.folio for _, p in mm.mapped_pages()]
    mm.exit()
    assert all(f.refcount() == 0 for f in folios)
    with pytest.raises(KernelError) as e:
        mm.read(a, 1)
    assert e.value.errno == errno.ESRCH


def test_shared_anonymous_memory_is_freed_with_its_last_mapping(mm: MM) -> None:
    a = mm.mmap(4 * PAGE_SIZE, flags=MAP_SHARED | MAP_ANONYMOUS)
    mm.write(a, b"s" * 4 * PAGE_SIZE)
    folios = [p.folio for _, p in mm.mapped_pages()]
    assert [f.refcount() for f in folios] == [2] * 4  # the mapping's and the cache's
    mm.munmap(a + PAGE_SIZE, PAGE_SIZE)  # a split keeps the object alive
    assert mm.read(a + 2 * PAGE_SIZE, 1) == b"s"
    mm.munmap(a, 4 * PAGE_SIZE)
    assert [f.refcount() for f in folios] == [0] * 4


def test_shared_anonymous_memory_survives_in_a_child(mm: MM) -> None:
    a = mm.mmap(PAGE_SIZE, flags=MAP_SHARED | MAP_ANONYMOUS)
    mm.write(a, b"p")
    child = mm.fork()
    mm.exit()
    child.write(a, b"c")
    assert child.read(a, 1) == b"c"
    folio = child.lookup(a).folio  # type: ignore[union-attr]
    child.exit()
    assert folio.refcount() == 0


def test_an_unlinked_file_lives_while_open_or_mapped(mm: MM) -> None:
    f = pinapi.shmem_file(PAGE_SIZE)
    f.inode.write(0, b"memfd")
    a = mm.mmap(PAGE_SIZE, flags=MAP_SHARED, file=f)
    mm.read(a, 1)
    page = mm.lookup(a)
    assert page is not None
    folio = page.folio
    f.close()
    assert mm.read(a, 5) == b"memfd"
    mm.munmap(a, PAGE_SIZE)
    assert folio.refcount() == 0 and f.inode.mapping.pages == {}


def test_a_pinned_page_outlives_its_evicted_file(mm: MM, owner: pinapi.VaddrPin) -> None:
    a = mm.mmap(PAGE_SIZE, flags=MAP_SHARED | MAP_ANONYMOUS)
    pins = pinapi.vaddr_pin_pages(a, 1, pinapi.FOLL_WRITE, owner)
    mm.munmap(a, PAGE_SIZE)
    pins[0].write(0, b"late DMA")  # the device still owns the page
    folio = pins._pages[0].folio
    assert folio.refcount() == lowlevel.GUP_PIN_COUNTING_BIAS and folio.mapping is None
    pinapi.unpin_user_pages(pins)
    assert folio.refcount() == 0
