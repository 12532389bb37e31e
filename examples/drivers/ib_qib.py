"""qib expected receive TIDs: the chip DMAs received data into pinned user
pages until the TID is freed.

drivers/infiniband/hw/qib/qib_user_pages.c: qib_get_user_pages() loops
``get_user_pages(..., FOLL_LONGTERM | FOLL_WRITE | FOLL_FORCE)`` until the
array is full; qib_release_user_pages() calls
``put_user_pages_dirty_lock(p, n, dirty)`` (patch 01's ``make_dirty``).

Case 2: pin with FOLL_LONGTERM (pin_user_pages() since 5.6). Each TID update
pins one page here, as qib_tid_update() does per TID entry; the release dirties
them, since the chip wrote.

Short result: the kernel loop re-asks for the rest and on error releases what
it got; one all-or-nothing pin per TID needs neither.
"""

from typing import Final

from pinapi import (
    FOLL_FORCE, FOLL_LONGTERM, FOLL_WRITE, PAGE_SIZE, PinnedPage, VaddrPin, Write,
    unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import dma_write, user_buffer

SUBSYSTEM: Final = "infiniband/hw/qib"
KERNEL_FILES: Final = ("drivers/infiniband/hw/qib/qib_user_pages.c",)
FUNCTIONS: Final = ("qib_get_user_pages", "qib_release_user_pages")
CASE: Final = 2
API: Final = "pin+FOLL_LONGTERM"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = ""


def qib_tid_update(vaddr: int, tidcnt: int, owner: VaddrPin) -> list[PinnedPage[Write]]:
    """Pin one page per expected-receive TID."""
    flags = FOLL_LONGTERM | FOLL_WRITE | FOLL_FORCE
    return [vaddr_pin_pages(vaddr + i * PAGE_SIZE, 1, flags, owner)[0] for i in range(tidcnt)]


def qib_release_user_pages(pages: list[PinnedPage[Write]]) -> None:
    unpin_user_pages_dirty_lock(pages, make_dirty=True)


def scenario() -> None:
    with user_buffer("qib", 4) as buf:
        tids = qib_tid_update(buf.addr, 4, buf.owner)
        dma_write(tids, b"tid")
        qib_release_user_pages(tids)
        buf.expect_stamped(b"tid", range(4))
