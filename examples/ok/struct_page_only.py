"""Cases 3 and 4: code that touches only struct page takes plain references,
keeps them in their own sg table, and drops them with put_page()."""

from typing_extensions import assert_type

from pinapi import (
    MM, PAGE_SIZE, Page, SgTable, follow_page, for_each_sg, get_user_pages_remote,
    page_maybe_dma_pinned, put_page, release_pages, set_page_dirty_lock, sg_alloc_table,
    sg_free_table, sg_page, sg_set_page,
)  # fmt: skip


def munlock_range(mm: MM, start: int, nr_pages: int) -> int:
    """Seed 004's munlock: walk the pages, look at struct page, drop the refs."""
    pages = get_user_pages_remote(mm, start, nr_pages, 0)
    assert_type(pages, list[Page])
    pinned = sum(page_maybe_dma_pinned(p) for p in pages)
    release_pages(pages)
    return pinned


def dirty_one(mm: MM, addr: int) -> None:
    vma = mm.find_vma(addr)
    assert vma is not None
    page = follow_page(vma, addr)
    assert_type(page, Page | None)
    if page is not None:
        set_page_dirty_lock(page)
        put_page(page)


def plain_sg_table(mm: MM, start: int) -> None:
    pages = get_user_pages_remote(mm, start, 2, 0)
    sgt = sg_alloc_table(2, Page)
    assert_type(sgt, SgTable[Page])
    for sg, page in zip(for_each_sg(sgt), pages):
        sg_set_page(sg, page, PAGE_SIZE, 0)
    for sg in for_each_sg(sgt):
        put_page(sg_page(sg))
    sg_free_table(sgt)


def scenario() -> None:
    mm = MM("munlock")
    buf = mm.mmap(4 * PAGE_SIZE)
    mm.write(buf, b"x" * (4 * PAGE_SIZE))
    assert munlock_range(mm, buf, 4) == 0
    dirty_one(mm, buf)
    plain_sg_table(mm, buf)
    mm.exit()
