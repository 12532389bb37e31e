"""unpin_user_pages() / unpin_user_page() on a bvec: its segments are not
per-page pins, and one segment's pin may cover a whole huge page.

A bvec is released only by put_user_bvec(bvec, make_dirty).
"""

from pinapi import (
    FOLL_WRITE, MM, PAGE_SIZE, VaddrPin, get_user_bvec, unpin_user_page, unpin_user_pages,
    unpin_user_pages_dirty_lock,
)  # fmt: skip


def unpin_user_pages_on_a_bvec(mm: MM, buf: int) -> None:
    with get_user_bvec(buf, 2 * PAGE_SIZE, FOLL_WRITE, VaddrPin(mm=mm)) as bvec:
        unpin_user_pages(bvec)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def unpin_dirty_on_a_bvec(mm: MM, buf: int) -> None:
    with get_user_bvec(buf, 2 * PAGE_SIZE, FOLL_WRITE, VaddrPin(mm=mm)) as bvec:
        unpin_user_pages_dirty_lock(bvec, True)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]


def unpin_user_page_on_a_segment(mm: MM, buf: int) -> None:
    with get_user_bvec(buf, PAGE_SIZE, FOLL_WRITE, VaddrPin(mm=mm)) as bvec:
        unpin_user_page(bvec[0])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
