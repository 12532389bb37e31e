"""A pin put with put_page() after a round trip through a scatterlist.

The 2019 objection: pages go into an sg list and come back through sg_page(),
so a type cannot follow them. SgTable[PinnedPage] keeps the type: what
sg_page() returns is still a PinnedPage. Use unpin_user_page().
"""

from pinapi import (
    FOLL_WRITE, MM, PAGE_SIZE, VaddrPin, for_each_sg, put_page, release_pages,
    sg_alloc_table_from_pages, sg_free_table, sg_page, vaddr_pin_pages,
)  # fmt: skip


def put_page_after_sg_page(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 4, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        sgt = sg_alloc_table_from_pages(pins, 0, 4 * PAGE_SIZE)
        for sg in for_each_sg(sgt):
            put_page(sg_page(sg))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        sg_free_table(sgt)


def release_pages_from_an_sg_table(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 4, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        sgt = sg_alloc_table_from_pages(pins, 0, 4 * PAGE_SIZE)
        release_pages([sg_page(sg) for sg in for_each_sg(sgt)])  # type: ignore[misc]  # pyright: ignore[reportArgumentType]
        sg_free_table(sgt)
