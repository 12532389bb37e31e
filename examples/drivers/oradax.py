"""Oracle DAX coprocessor: a submitted CCB's input and output buffers are read
and written by the coprocessor until its completion is dequeued.

drivers/sbus/char/oradax.c: dax_lock_page() takes each CCB buffer page with
``get_user_pages_fast(va, 1, FOLL_WRITE, p)``; dax_unlock_pages() does
``set_page_dirty()`` on the output page, then ``put_page()``.

Case 1: a pin without FOLL_LONGTERM, as in 6.12.117: dax_lock_page() calls
pin_user_pages_fast() with FOLL_WRITE and dax_unlock_pages()
``unpin_user_pages_dirty_lock(&p, 1, j == OUT)``.

Short result: one page per call; a failure unlocks the pages taken so far.
"""

import errno
from typing import Final

from pinapi import (
    FOLL_WRITE, KernelError, PinnedPage, VaddrPin, Write, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import expect_error, user_buffer

SUBSYSTEM: Final = "sbus/char"
KERNEL_FILES: Final = ("drivers/sbus/char/oradax.c",)
FUNCTIONS: Final = ("dax_lock_pages", "dax_lock_page", "dax_unlock_pages")
CASE: Final = 1
API: Final = "pin"
CONTAINER: Final = "single page"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = "a CCB's pages stay pinned across syscalls until its completion is dequeued, without FOLL_LONGTERM"
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"drivers/sbus/char/oradax.c": ("dax_lock_page", "dax_unlock_pages")}

IN: Final = 0
OUT: Final = 1


def dax_lock_pages(ccb_addrs: list[int], owner: VaddrPin) -> list[PinnedPage[Write]]:
    """Pin each buffer page of a CCB; on failure unpin those already taken."""
    locked: list[PinnedPage[Write]] = []
    try:
        for va in ccb_addrs:
            locked.append(vaddr_pin_pages(va, 1, FOLL_WRITE, owner)[0])
    except KernelError:
        dax_unlock_pages(locked)
        raise
    return locked


def dax_unlock_pages(pages: list[PinnedPage[Write]]) -> None:
    for j, page in enumerate(pages):
        unpin_user_pages_dirty_lock([page], make_dirty=j == OUT)


def scenario() -> None:
    with user_buffer("dax", 2, fill=b"raw column") as buf:
        ccb = dax_lock_pages([buf.page(IN), buf.page(OUT)], buf.owner)
        ccb[OUT].write(0, ccb[IN].read(0, 10).upper())
        dax_unlock_pages(ccb)
        buf.expect(OUT, b"RAW COLUMN")
        expect_error(errno.EFAULT, lambda: dax_lock_pages([buf.page(IN), buf.page(9)], buf.owner))
