"""Copy-on-write, unshare and fork as mm/memory.c does them, checked with
position-dependent data (every page and offset distinguishable), so that a
copy of the wrong page or a mapping of the wrong subpage shows."""

from __future__ import annotations

import pytest

from helpers import expect, fill, pattern
from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED, MM, PAGE_SIZE,
    PMD_SIZE, PROT_READ, PROT_WRITE, File, Folio, VaddrPin, get_user_pages_remote, put_page, unpin_user_pages,
    vaddr_pin_pages,
)  # fmt: skip
from pinapi.lowlevel import PG, Ext4, FileSystem, Hugetlbfs, Inode, Shmem, Zone, alloc_zone, page_anon_exclusive

NR = PMD_SIZE // PAGE_SIZE


def folio_at(mm: MM, addr: int) -> Folio:
    page = mm.lookup(addr)
    assert page is not None
    return page.folio


def pte_mapped_thp(mm: MM) -> int:
    """A THP filled with position-dependent data, mapped by 511 PTEs (its
    last page unmapped)."""
    a = mm.mmap(PMD_SIZE)
    mm.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    fill(mm, a, NR)
    assert folio_at(mm, a).order == 9
    mm.munmap(a + (NR - 1) * PAGE_SIZE, PAGE_SIZE)
    return a


# -- finding 1: wp_page_copy() copies and maps the one faulting page ------------


def test_cow_of_a_pte_mapped_thp_copies_the_faulting_page(mm: MM) -> None:
    a = pte_mapped_thp(mm)
    big = folio_at(mm, a)
    child = mm.fork()
    child.write(a + 7 * PAGE_SIZE + 100, b"child")
    copy = folio_at(child, a + 7 * PAGE_SIZE)
    assert copy is not big and copy.order == 0 and folio_at(child, a + 8 * PAGE_SIZE) is big
    want = pattern(7)[:100] + b"child" + pattern(7)[105:]
    assert child.read(a + 7 * PAGE_SIZE, PAGE_SIZE) == want
    assert expect(child, a, NR - 1) == [7] and expect(mm, a, NR - 1) == []
    child.exit()


@pytest.mark.parametrize("flags", [0, FOLL_WRITE, FOLL_LONGTERM, FOLL_WRITE | FOLL_LONGTERM],
                         ids=["R/O pin", "write pin", "R/O long-term pin", "write long-term pin"])  # fmt: skip
def test_a_pin_after_fork_of_a_pte_mapped_thp_takes_its_own_page(mm: MM, owner: VaddrPin, flags: int) -> None:
    """The pin breaks COW (write) or unshares (read) the one page it pins:
    the pin and the process see that page's bytes, the child keeps its own."""
    a = pte_mapped_thp(mm)
    child = mm.fork()
    pins = vaddr_pin_pages(a + 5 * PAGE_SIZE, 3, flags, owner)
    assert [p.read() for p in pins] == [pattern(i) for i in (5, 6, 7)]
    assert all(folio_at(mm, a + i * PAGE_SIZE).order == 0 for i in (5, 6, 7))
    mm.write(a + 6 * PAGE_SIZE, pattern(6, tag=1))  # the process writes the pinned page in place
    assert pins[1].read() == pattern(6, tag=1) and expect(child, a, NR - 1) == []
    unpin_user_pages(pins)
    child.exit()


def test_fork_of_a_pinned_pte_mapped_thp_copies_each_page_to_its_place(mm: MM, owner: VaddrPin) -> None:
    a = pte_mapped_thp(mm)
    pins = vaddr_pin_pages(a + PAGE_SIZE, 1, FOLL_WRITE, owner)
    child = mm.fork()
    assert expect(child, a, NR - 1) == [] and expect(mm, a, NR - 1) == []
    pins[0].write(0, pattern(1, tag=2))  # DMA after the fork reaches the parent only
    assert mm.read(a + PAGE_SIZE, PAGE_SIZE) == pattern(1, tag=2) and expect(child, a, NR - 1) == []
    unpin_user_pages(pins)
    child.exit()


def test_cow_of_a_pmd_mapped_thp_splits_the_pmd_and_copies_one_page(mm: MM) -> None:
    """do_huge_pmd_wp_page(): a shared THP is not reused; the PMD is split
    and wp_page_copy() copies the faulting page."""
    a = mm.mmap(PMD_SIZE)
    mm.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    fill(mm, a, NR)
    big = folio_at(mm, a)
    child = mm.fork()
    mm.write(a + 3 * PAGE_SIZE, pattern(3, tag=1))
    assert not mm.pgtable.is_huge(a) and child.pgtable.is_huge(a)
    assert folio_at(mm, a + 3 * PAGE_SIZE).order == 0 and folio_at(mm, a + 4 * PAGE_SIZE) is big
    assert expect(mm, a, [3], tag=1) == [] and expect(mm, a, [0, 1, 2, 4, NR - 1]) == []
    assert expect(child, a, NR) == []
    child.exit()
    mm.write(a + 4 * PAGE_SIZE, b"!")  # PTE-mapped and now only ours: large folios are never reused
    assert folio_at(mm, a + 4 * PAGE_SIZE) is not big


def test_fork_of_a_pinned_pmd_mapped_thp_splits_it_and_copies_page_by_page(mm: MM, owner: VaddrPin) -> None:
    """copy_huge_pmd(): a maybe-pinned exclusive THP is split in the parent
    and its pages are copied for the child one by one."""
    a = mm.mmap(PMD_SIZE)
    mm.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    fill(mm, a, NR)
    pins = vaddr_pin_pages(a, 1, FOLL_WRITE, owner)
    big = folio_at(mm, a)
    child = mm.fork()
    assert not mm.pgtable.is_huge(a) and folio_at(mm, a + 9 * PAGE_SIZE) is big
    assert big.mapcount() == NR and all(mm.lookup(a + i * PAGE_SIZE) is not None for i in range(NR))
    assert folio_at(child, a + 9 * PAGE_SIZE).order == 0
    assert expect(child, a, NR) == [] and expect(mm, a, NR) == []
    unpin_user_pages(pins)
    child.exit()


def test_hugetlb_reuse_asks_the_mapcount(mm: MM) -> None:
    """hugetlb_wp() reuses an anonymous hugetlb folio mapped once, whatever
    other references it has (the kernel's own comment: FOLL_GET users can
    still see later writes)."""
    a = mm.mmap(PMD_SIZE, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB)
    fill(mm, a, [0, 1])
    child = mm.fork()
    (page,) = get_user_pages_remote(child, a + PAGE_SIZE, 1, 0)
    child.exit()
    folio = page.folio
    mm.write(a + PAGE_SIZE, pattern(1, tag=1))
    assert folio_at(mm, a) is folio and folio.test(PG.anon_exclusive)
    assert folio.read(PAGE_SIZE, PAGE_SIZE) == pattern(1, tag=1)
    put_page(page)


def test_mprotect_of_part_of_a_thp_maps_it_by_ptes(mm: MM) -> None:
    """A VMA boundary inside a THP splits its PMD (vma_adjust_trans_huge()):
    the folio stays whole and every page stays where it was."""
    a = mm.mmap(PMD_SIZE)
    mm.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    fill(mm, a, NR)
    big = folio_at(mm, a)
    mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ)
    assert not mm.pgtable.is_huge(a) and big.mapcount() == NR and big.refcount() == NR
    assert all(folio_at(mm, a + i * PAGE_SIZE) is big for i in range(NR)) and expect(mm, a, NR) == []
    mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE)
    mm.write(a + PAGE_SIZE, pattern(1, tag=1))  # still exclusive: written in place
    assert folio_at(mm, a + PAGE_SIZE) is big and expect(mm, a, [1], tag=1) == []


# -- finding 2: a R/O long-term pin unshares what the process does not own ------


def _private_file(kind: str, size: int) -> File:
    fs: FileSystem = {"tmpfs": Shmem, "ext4": Ext4}[kind]() if kind in ("tmpfs", "ext4") else Hugetlbfs()
    return File(Inode(fs, size), kind)


@pytest.mark.parametrize("kind", ["zero page", "tmpfs", "ext4", "hugetlbfs"])
def test_a_read_only_longterm_pin_unshares_a_non_anonymous_page(mm: MM, owner: VaddrPin, kind: str) -> None:
    """gup_must_unshare(): a pin without FOLL_WRITE but with FOLL_LONGTERM
    of a page the process does not own exclusively in a private mapping (the
    zero page, a page-cache page) copies it first: the pin and the process
    then see one page, the process's later stores included."""
    size = PMD_SIZE if kind == "hugetlbfs" else 2 * PAGE_SIZE
    if kind == "zero page":
        a = mm.mmap(size)
    else:
        f = _private_file(kind, size)
        if kind != "hugetlbfs":
            f.inode.write(0, pattern(0) + pattern(1))
        a = mm.mmap(size, flags=MAP_PRIVATE, file=f)
    mm.read(a, 1)
    before = mm.read(a, 2 * PAGE_SIZE)
    shared = folio_at(mm, a)
    pins = vaddr_pin_pages(a, 2, FOLL_LONGTERM, owner)
    mine = folio_at(mm, a)
    assert mine is not shared and mine.test(PG.anon) and pins[0].read() == before[:PAGE_SIZE]
    mm.write(a + 10, b"process")
    assert pins[0].read(0, 17) == before[:10] + b"process"
    assert folio_at(mm, a) is mine
    unpin_user_pages(pins)


def test_a_short_term_read_pin_keeps_the_page_cache_page(mm: MM, owner: VaddrPin) -> None:
    """Without FOLL_LONGTERM nothing is unshared but shared anonymous pages:
    a short-term pin has no promise to see later stores."""
    f = _private_file("tmpfs", PAGE_SIZE)
    a = mm.mmap(PAGE_SIZE, flags=MAP_PRIVATE, file=f)
    mm.read(a, 1)
    cached = folio_at(mm, a)
    with vaddr_pin_pages(a, 1, 0, owner):
        assert folio_at(mm, a) is cached
    assert len(mm.vmas) == 1  # and the VMAs merged back (vma_modify())


def test_a_pinned_shared_hugetlb_page_stays_shared_across_fork(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(PMD_SIZE, flags=MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB)
    fill(mm, a, [0, 1])
    with vaddr_pin_pages(a, 1, FOLL_WRITE, owner) as pins:
        child = mm.fork()
        assert folio_at(child, a) is folio_at(mm, a)
        pins[0].write(0, pattern(0, tag=1))
        assert expect(child, a, [0], tag=1) == []
        child.exit()


def test_migration_keeps_each_pages_exclusivity(mm: MM, owner: VaddrPin) -> None:
    """A PTE-mapped THP in ZONE_MOVABLE pinned long-term is migrated first;
    its pages must stay anon-exclusive, or the process's next store would
    copy away from the pinned page."""
    a = mm.mmap(PMD_SIZE)
    mm.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    with alloc_zone(Zone.MOVABLE):
        fill(mm, a, NR)
    mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ)
    mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE)
    with vaddr_pin_pages(a, NR, FOLL_WRITE | FOLL_LONGTERM, owner) as pins:
        moved = folio_at(mm, a)
        assert moved.zone is Zone.NORMAL and moved.order == 9
        assert all(page_anon_exclusive(p) for _, p in mm.mapped_pages())
        mm.write(a + 3 * PAGE_SIZE, pattern(3, tag=1))
        assert pins[3].read() == pattern(3, tag=1) and folio_at(mm, a + 3 * PAGE_SIZE) is moved
