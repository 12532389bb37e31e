"""put_page() (or release_pages()) on a bvec segment: a segment is not a page
reference, and a 2 MiB segment holds one pin for 512 pages.

A bvec is released only as a whole: put_user_bvec(bvec, make_dirty), also
when its segments went through a scatterlist.
"""

from pinapi import (
    FOLL_WRITE, MM, PAGE_SIZE, VaddrPin, for_each_sg, get_user_bvec, put_page, release_pages,
    sg_alloc_table_from_bvec, sg_page,
)  # fmt: skip


def put_page_on_a_segment(mm: MM, buf: int) -> None:
    with get_user_bvec(buf, 2 * PAGE_SIZE, FOLL_WRITE, VaddrPin(mm=mm)) as bvec:
        put_page(bvec[0])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def release_pages_on_a_bvec(mm: MM, buf: int) -> None:
    with get_user_bvec(buf, 2 * PAGE_SIZE, FOLL_WRITE, VaddrPin(mm=mm)) as bvec:
        release_pages(bvec)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def put_page_after_an_sg_round_trip(mm: MM, buf: int) -> None:
    with get_user_bvec(buf, 2 * PAGE_SIZE, FOLL_WRITE, VaddrPin(mm=mm)) as bvec:
        for sg in for_each_sg(sg_alloc_table_from_bvec(bvec)):
            put_page(sg_page(sg))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
