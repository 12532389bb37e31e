"""mremap(): moving a range takes its page-table entries along, so pins,
swap slots and reverse mappings stay with the folios."""

from __future__ import annotations

import errno

import pytest

from helpers import expect, fill, pattern, state
from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MADV_HUGEPAGE, MADV_PAGEOUT, MAP_ANONYMOUS, MAP_FIXED, MAP_HUGETLB, MAP_PRIVATE,
    MAP_SHARED, MM, MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_SIZE, PMD_SIZE, KernelError, VaddrPin,
    shmem_file, unpin_user_pages, vaddr_pin_pages,
)  # fmt: skip
from pinapi.lowlevel import Zone, alloc_zone, migrate_folio

NR = PMD_SIZE // PAGE_SIZE
MOVE = MREMAP_MAYMOVE | MREMAP_FIXED


def test_moving_a_pinned_range_keeps_the_pins_with_the_folios(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(4 * PAGE_SIZE)
    fill(mm, a, 4)
    pins = vaddr_pin_pages(a, 4, FOLL_WRITE | FOLL_LONGTERM, owner)
    folios = [mm.lookup(a + i * PAGE_SIZE).folio for i in range(4)]  # type: ignore[union-attr]
    dest = mm.mmap(4 * PAGE_SIZE)
    assert mm.mremap(a, 4 * PAGE_SIZE, 4 * PAGE_SIZE, MOVE, dest) == dest
    assert [mm.lookup(dest + i * PAGE_SIZE).folio for i in range(4)] == folios  # type: ignore[union-attr]
    assert expect(mm, dest, 4) == [] and mm.find_vma(a) is None
    pins[2].write(0, pattern(2, tag=1))  # DMA lands where the process now reads it
    assert expect(mm, dest, [2], tag=1) == []
    mm.write(dest + 3 * PAGE_SIZE, pattern(3, tag=2))
    assert pins[3].read() == pattern(3, tag=2)
    unpin_user_pages(pins)


def test_a_moved_folio_is_still_found_by_rmap(mm: MM) -> None:
    """Anonymous folios are found by linear index: the moved VMA keeps the
    old vm_pgoff, so migration rewrites the moved PTE."""
    a = mm.mmap(2 * PAGE_SIZE)
    with alloc_zone(Zone.MOVABLE):
        fill(mm, a, 2)
    new = mm.mremap(a, 2 * PAGE_SIZE, 4 * PAGE_SIZE, MREMAP_MAYMOVE)
    old = mm.lookup(new + PAGE_SIZE).folio  # type: ignore[union-attr]
    moved = migrate_folio(old, Zone.NORMAL)
    assert mm.lookup(new + PAGE_SIZE).folio is moved and old.refcount() == 0  # type: ignore[union-attr]
    assert expect(mm, new, 2) == [] and mm.read(new + 2 * PAGE_SIZE, 4) == bytes(4)


def test_a_partial_mremap_of_a_thp_maps_one_folio_in_two_places(mm: MM) -> None:
    a = mm.mmap(PMD_SIZE)
    mm.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    fill(mm, a, NR)
    big = mm.lookup(a).folio  # type: ignore[union-attr]
    dest = mm.mmap(PMD_SIZE // 2)
    mm.mremap(a + PMD_SIZE // 2, PMD_SIZE // 2, PMD_SIZE // 2, MOVE, dest)
    assert mm.lookup(dest).folio is big and big.mapcount() == NR  # type: ignore[union-attr]
    assert expect(mm, a, NR // 2) == []
    assert [i for i in range(NR // 2) if mm.read(dest + i * PAGE_SIZE, PAGE_SIZE) != pattern(NR // 2 + i)] == []
    child = mm.fork()
    child.write(dest + 5 * PAGE_SIZE, b"child")
    assert mm.read(dest + 5 * PAGE_SIZE, PAGE_SIZE) == pattern(NR // 2 + 5)
    child.exit()


def test_shrink_grow_in_place_and_move(mm: MM) -> None:
    a = mm.mmap(4 * PAGE_SIZE)
    fill(mm, a, 4)
    assert mm.mremap(a, 4 * PAGE_SIZE, 2 * PAGE_SIZE) == a and mm.find_vma(a + 2 * PAGE_SIZE) is None
    assert mm.mremap(a, 2 * PAGE_SIZE, 3 * PAGE_SIZE) == a  # the space after it is free
    assert expect(mm, a, 2) == [] and mm.read(a + 2 * PAGE_SIZE, 4) == bytes(4)
    mm.mmap(PAGE_SIZE, addr=a + 3 * PAGE_SIZE, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    before = state(mm)
    with pytest.raises(KernelError) as e:
        mm.mremap(a, 3 * PAGE_SIZE, 5 * PAGE_SIZE)
    assert e.value.errno == errno.ENOMEM and state(mm) == before
    b = mm.mremap(a, 3 * PAGE_SIZE, 5 * PAGE_SIZE, MREMAP_MAYMOVE)
    assert b != a and expect(mm, b, 2) == [] and mm.find_vma(a) is None


def test_a_moved_shared_file_mapping_keeps_the_file(mm: MM) -> None:
    f = shmem_file(2 * PAGE_SIZE)
    f.inode.write(0, pattern(0) + pattern(1))
    a = mm.mmap(2 * PAGE_SIZE, flags=MAP_SHARED, file=f)
    f.close()
    b = mm.mremap(a, 2 * PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE)
    assert expect(mm, b, 2) == [] and f.inode.mapping.pages  # the unlinked file lives on in the new VMA


def test_swapped_pages_move_with_their_slots(mm: MM) -> None:
    a = mm.mmap(2 * PAGE_SIZE)
    fill(mm, a, 2)
    mm.madvise(a, 2 * PAGE_SIZE, MADV_PAGEOUT)
    dest = mm.mmap(2 * PAGE_SIZE)
    mm.mremap(a, 2 * PAGE_SIZE, 2 * PAGE_SIZE, MOVE, dest)
    assert mm.pgtable.swap_entry(dest) is not None and expect(mm, dest, 2) == []


BAD = [
    ("unknown flag", lambda a, h: (a, PAGE_SIZE, PAGE_SIZE, 8, 0), errno.EINVAL),
    ("FIXED without MAYMOVE", lambda a, h: (a, PAGE_SIZE, PAGE_SIZE, MREMAP_FIXED, a + PMD_SIZE), errno.EINVAL),
    ("unaligned", lambda a, h: (a + 1, PAGE_SIZE, PAGE_SIZE, 0, 0), errno.EINVAL),
    ("zero size", lambda a, h: (a, PAGE_SIZE, 0, 0, 0), errno.EINVAL),
    ("overlap", lambda a, h: (a, 2 * PAGE_SIZE, 2 * PAGE_SIZE, MOVE, a + PAGE_SIZE), errno.EINVAL),
    ("beyond the VMA", lambda a, h: (a, 8 * PAGE_SIZE, 8 * PAGE_SIZE, MREMAP_MAYMOVE, 0), errno.EFAULT),
    ("no VMA", lambda a, h: (a - PMD_SIZE, PAGE_SIZE, PAGE_SIZE, 0, 0), errno.EFAULT),
    ("hugetlb grows", lambda a, h: (h, PMD_SIZE, 2 * PMD_SIZE, MREMAP_MAYMOVE, 0), errno.EINVAL),
    ("hugetlb unaligned", lambda a, h: (h, PMD_SIZE, PMD_SIZE, MOVE, h + 2 * PMD_SIZE + PAGE_SIZE),
     errno.EINVAL),
]


@pytest.mark.parametrize(("rule", "args", "code"), BAD, ids=[b[0] for b in BAD])
def test_a_refused_mremap_changes_nothing(mm: MM, rule: str, args: object, code: int) -> None:
    a = mm.mmap(4 * PAGE_SIZE)
    fill(mm, a, 4)
    h = mm.mmap(PMD_SIZE, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB)
    mm.write(h, b"huge")
    before = state(mm)
    with pytest.raises(KernelError) as e:
        mm.mremap(*args(a, h))  # type: ignore[operator]
    assert e.value.errno == code and state(mm) == before
