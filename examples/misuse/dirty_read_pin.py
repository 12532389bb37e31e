"""Releasing a read pin dirty: make_dirty=True on pins taken without FOLL_WRITE.

The page was never made writable for the pin, so no ``page_mkwrite`` ran: on a
shared ext4 mapping that was only read it has no buffers, and dirtying it is
the writeback BUG of the 2018 report (today's ext4 drops a later store
instead; docs/review.md). A read pin is released with make_dirty=False; pin
with FOLL_WRITE if the device writes.
"""

from pinapi import (
    FOLL_LONGTERM, MM, PAGE_SIZE, VaddrPin, get_user_bvec, put_user_bvec, unpin_user_pages_dirty_lock,
    vaddr_pin_pages, vaddr_unpin_pages_dirty_lock,
)  # fmt: skip


def unpin_dirty_a_read_pin(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 2, 0, VaddrPin(mm=mm)) as pins:
        unpin_user_pages_dirty_lock(pins, make_dirty=True)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]


def unpin_dirty_a_longterm_read_pin(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 1, FOLL_LONGTERM, VaddrPin(mm=mm)) as pins:
        unpin_user_pages_dirty_lock([pins[0]], make_dirty=True)  # type: ignore[list-item]  # pyright: ignore[reportArgumentType, reportCallIssue]


def vaddr_unpin_dirty_a_read_pin(mm: MM, buf: int) -> None:
    owner = VaddrPin(mm=mm)
    with vaddr_pin_pages(buf, 1, 0, owner) as pins:
        vaddr_unpin_pages_dirty_lock(pins, owner, make_dirty=True)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]


def put_user_bvec_dirty_on_a_read_bvec(mm: MM, buf: int) -> None:
    with get_user_bvec(buf, 2 * PAGE_SIZE, 0, VaddrPin(mm=mm)) as bvec:
        put_user_bvec(bvec, make_dirty=True)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]
