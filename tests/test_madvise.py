"""madvise(): MADV_DONTFORK / MADV_DOFORK, MADV_DONTNEED, and MADV_PAGEOUT
with the swap device behind it."""

from __future__ import annotations

import errno

import pytest

from helpers import expect, fill, pattern, state
from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_HUGEPAGE, MADV_PAGEOUT,
    MAP_ANONYMOUS, MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED, MM, PAGE_SIZE, PMD_SIZE, KernelError, VaddrPin,
    get_user_pages_remote, release_pages, shmem_file, unpin_user_pages, vaddr_pin_pages,
)  # fmt: skip
from pinapi.lowlevel import VM, page_anon_exclusive, swap_info, vmstat

NR = PMD_SIZE // PAGE_SIZE


def swapped(mm: MM, addr: int, pages: int) -> bool:
    return all(mm.pgtable.swap_entry(addr + i * PAGE_SIZE) is not None for i in range(pages))


# -- MADV_DONTFORK / MADV_DOFORK ------------------------------------------------


def test_dontfork_leaves_the_range_out_of_the_child(mm: MM, owner: VaddrPin) -> None:
    """The RDMA stack's fork protection: a pinned buffer marked VM_DONTCOPY
    is absent in a child, so fork neither copies nor shares it."""
    a = mm.mmap(4 * PAGE_SIZE)
    fill(mm, a, 4)
    pins = vaddr_pin_pages(a + PAGE_SIZE, 2, FOLL_WRITE | FOLL_LONGTERM, owner)
    mm.madvise(a + PAGE_SIZE, 2 * PAGE_SIZE, MADV_DONTFORK)
    assert [bool(v.vm_flags & VM.DONTCOPY) for v in mm.vmas] == [False, True, False]
    allocated = vmstat.nr_folios_allocated
    child = mm.fork()
    assert vmstat.nr_folios_allocated == allocated  # nothing to copy: it is not there
    assert [(v.vm_start - a, v.vm_end - a) for v in child.vmas] == [(0, PAGE_SIZE), (3 * PAGE_SIZE, 4 * PAGE_SIZE)]
    with pytest.raises(KernelError) as e:
        child.read(a + PAGE_SIZE, 1)
    assert e.value.errno == errno.EFAULT and expect(child, a, [0, 3]) == []
    mm.madvise(a, 4 * PAGE_SIZE, MADV_DOFORK)
    second = mm.fork()
    assert expect(second, a, 4) == []
    unpin_user_pages(pins)
    child.exit()
    second.exit()


def test_dofork_of_vm_io_is_einval(mm: MM) -> None:
    a = mm.mmap(PAGE_SIZE, vm_flags=VM.IO)
    before = state(mm)
    with pytest.raises(KernelError) as e:
        mm.madvise(a, PAGE_SIZE, MADV_DOFORK)
    assert e.value.errno == errno.EINVAL and state(mm) == before


# -- MADV_DONTNEED --------------------------------------------------------------


def test_dontneed_zaps_and_the_next_touch_faults_in_afresh(mm: MM) -> None:
    f = shmem_file(2 * PAGE_SIZE)
    f.inode.write(0, pattern(0) + pattern(1))
    private = mm.mmap(2 * PAGE_SIZE, flags=MAP_PRIVATE, file=f)
    anon = mm.mmap(PMD_SIZE)
    mm.madvise(anon, PMD_SIZE, MADV_HUGEPAGE)
    fill(mm, anon, NR)
    mm.write(private, b"private copy")
    mm.madvise(private, 2 * PAGE_SIZE, MADV_DONTNEED)
    mm.madvise(anon + PAGE_SIZE, PMD_SIZE - PAGE_SIZE, MADV_DONTNEED)
    assert mm.lookup(private) is None and mm.read(private, 2 * PAGE_SIZE) == pattern(0) + pattern(1)
    assert mm.lookup(anon).folio.mapcount() == 1  # type: ignore[union-attr]  # a single PTE of the THP
    assert expect(mm, anon, 1) == [] and mm.read(anon + PAGE_SIZE, PAGE_SIZE) == bytes(PAGE_SIZE)
    assert len(mm.vmas) == 2


# -- MADV_PAGEOUT and swap --------------------------------------------------------


@pytest.mark.parametrize("kind", ["base pages", "THP", "PTE-mapped THP"])
def test_pageout_swaps_and_a_touch_swaps_back_in(mm: MM, kind: str) -> None:
    pages = 4 if kind == "base pages" else NR
    a = mm.mmap(pages * PAGE_SIZE)
    if kind != "base pages":
        mm.madvise(a, pages * PAGE_SIZE, MADV_HUGEPAGE)
    fill(mm, a, pages)
    if kind == "PTE-mapped THP":
        mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, 1)
        mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, 3)
    folios = {id(p.folio): p.folio for _, p in mm.mapped_pages()}.values()
    inuse, out = swap_info.inuse_pages, vmstat.pswpout
    mm.madvise(a, pages * PAGE_SIZE, MADV_PAGEOUT)
    assert swapped(mm, a, pages) and all(f.refcount() == 0 for f in folios)
    assert swap_info.inuse_pages == inuse + pages and vmstat.pswpout == out + pages
    assert expect(mm, a, pages) == []  # faulted back in, page by page
    assert swap_info.inuse_pages == inuse and all(mm.lookup(a + i * PAGE_SIZE).folio.order == 0  # type: ignore[union-attr]
                                                  for i in range(pages))  # fmt: skip
    assert all(page_anon_exclusive(p) for _, p in mm.mapped_pages())


def test_a_maybe_pinned_folio_is_never_swapped(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(2 * PAGE_SIZE)
    fill(mm, a, 2)
    pins = vaddr_pin_pages(a, 1, FOLL_WRITE, owner)
    held = get_user_pages_remote(mm, a + PAGE_SIZE, 1, 0)  # a plain reference: no swap cache to keep it in
    before = state(mm)
    mm.madvise(a, 2 * PAGE_SIZE, MADV_PAGEOUT)
    assert state(mm) == before and not swapped(mm, a, 1)
    unpin_user_pages(pins)
    release_pages(held)
    mm.madvise(a, 2 * PAGE_SIZE, MADV_PAGEOUT)
    assert swapped(mm, a, 2)


def test_gup_faults_a_swapped_page_back_in(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(3 * PAGE_SIZE)
    fill(mm, a, 3)
    mm.madvise(a, 3 * PAGE_SIZE, MADV_PAGEOUT)
    with vaddr_pin_pages(a, 3, FOLL_WRITE | FOLL_LONGTERM, owner) as pins:
        assert [p.read() for p in pins] == [pattern(i) for i in range(3)]
        assert not swapped(mm, a, 1) and mm.lookup(a) is not None


def test_fork_shares_swap_slots_and_each_side_faults_in_its_own(mm: MM) -> None:
    """A slot two PTEs hold faults in shared (not exclusive); its last
    holder gets it exclusive and frees the slot."""
    inuse = swap_info.inuse_pages
    a = mm.mmap(2 * PAGE_SIZE)
    fill(mm, a, 2)
    mm.madvise(a, 2 * PAGE_SIZE, MADV_PAGEOUT)
    entry = mm.pgtable.swap_entry(a)
    child = mm.fork()
    assert entry is not None and child.pgtable.swap_entry(a) is entry and entry.count == 2
    mm.write(a, pattern(0, tag=1))  # faulted in shared, then reused: only we map it
    assert entry.count == 1 and page_anon_exclusive(mm.lookup(a))  # type: ignore[arg-type]
    assert expect(mm, a, [0], tag=1) == [] and expect(mm, a, [1]) == []
    assert not page_anon_exclusive(mm.lookup(a + PAGE_SIZE))  # type: ignore[arg-type]
    assert expect(child, a, 2) == [] and page_anon_exclusive(child.lookup(a))  # type: ignore[arg-type]
    assert swap_info.inuse_pages == inuse
    child.exit()


def test_exit_and_munmap_free_swap_slots(mm: MM) -> None:
    inuse = swap_info.inuse_pages
    a = mm.mmap(4 * PAGE_SIZE)
    fill(mm, a, 4)
    mm.madvise(a, 4 * PAGE_SIZE, MADV_PAGEOUT)
    mm.munmap(a, 2 * PAGE_SIZE)
    assert swap_info.inuse_pages == inuse + 2
    mm.exit()
    assert swap_info.inuse_pages == inuse


@pytest.mark.parametrize("flags", [MAP_SHARED | MAP_ANONYMOUS, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB])
def test_what_pageout_leaves(mm: MM, flags: int) -> None:
    """Shared memory is page cache, not anonymous: nothing goes to swap.
    hugetlb cannot be paged out: EINVAL."""
    a = mm.mmap(PMD_SIZE, flags=flags)
    fill(mm, a, 2)
    before = state(mm)
    if flags & MAP_HUGETLB:
        with pytest.raises(KernelError) as e:
            mm.madvise(a, PMD_SIZE, MADV_PAGEOUT)
        assert e.value.errno == errno.EINVAL
    else:
        mm.madvise(a, PMD_SIZE, MADV_PAGEOUT)
    assert state(mm) == before


def test_pageout_splits_a_large_folio_partly_in_range(mm: MM) -> None:
    """split_folio(): the pages inside go out as small folios; the rest
    stay, small folios too, each where it was; a maybe-pinned folio is not
    split."""
    a = mm.mmap(PMD_SIZE)
    mm.madvise(a, PMD_SIZE, MADV_HUGEPAGE)
    fill(mm, a, NR)
    big = mm.lookup(a).folio  # type: ignore[union-attr]
    mm.madvise(a + 4 * PAGE_SIZE, 4 * PAGE_SIZE, MADV_PAGEOUT)
    assert big.refcount() == 0 and swapped(mm, a + 4 * PAGE_SIZE, 4) and not swapped(mm, a, 1)
    rest = [mm.lookup(a + i * PAGE_SIZE) for i in (*range(4), *range(8, NR))]
    assert all(p is not None and p.folio.order == 0 and p.folio.pfn == big.pfn + p.folio.index - big.index
               and page_anon_exclusive(p) for p in rest)  # fmt: skip
    assert expect(mm, a, NR) == []
    b = mm.mmap(PMD_SIZE)
    mm.madvise(b, PMD_SIZE, MADV_HUGEPAGE)
    fill(mm, b, NR)
    with vaddr_pin_pages(b, 1, 0, VaddrPin(mm=mm)):
        before = state(mm)
        mm.madvise(b + PAGE_SIZE, PAGE_SIZE, MADV_PAGEOUT)
        assert state(mm) == before and mm.pgtable.is_huge(b)
