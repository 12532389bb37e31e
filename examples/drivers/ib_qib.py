"""qib expected receive TIDs: the chip DMAs received data into pinned user
pages until the TID is freed.

drivers/infiniband/hw/qib/qib_user_pages.c: qib_get_user_pages() loops
``get_user_pages(..., FOLL_LONGTERM | FOLL_WRITE | FOLL_FORCE)`` until the
array is full; qib_release_user_pages() calls
``put_user_pages_dirty_lock(p, n, dirty)`` (patch 01's ``make_dirty``).

Case 2: pin with FOLL_LONGTERM. In 6.12.117 qib_get_user_pages() loops
pin_user_pages() with FOLL_LONGTERM | FOLL_WRITE (no FOLL_FORCE) and
__qib_release_user_pages() is unpin_user_pages_dirty_lock(). qib_tid_update()
(qib_file_ops.c) pins all the pages of one update with a single
qib_get_user_pages() call, and qib_tid_free() releases them one TID (one
page) at a time, dirtied, since the chip wrote. So here: one pin per update,
without FOLL_FORCE, released page by page.

Short result: the kernel loop re-asks for the rest and on error releases what
it got, undirtied; one all-or-nothing pin per update needs neither.
"""

from typing import Final

from pinapi import FOLL_LONGTERM, FOLL_WRITE, PinnedPages, VaddrPin, Write, unpin_user_pages_dirty_lock, vaddr_pin_pages

from ._user import dma_write, user_buffer

SUBSYSTEM: Final = "infiniband/hw/qib"
KERNEL_FILES: Final = ("drivers/infiniband/hw/qib/qib_user_pages.c",)
FUNCTIONS: Final = ("qib_get_user_pages", "qib_release_user_pages")
CASE: Final = 2
API: Final = "pin+FOLL_LONGTERM"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {
    "drivers/infiniband/hw/qib/qib_user_pages.c": ("qib_get_user_pages", "__qib_release_user_pages"),
    "drivers/infiniband/hw/qib/qib_file_ops.c": ("qib_tid_update", "qib_tid_free"),
}


def qib_tid_update(vaddr: int, tidcnt: int, owner: VaddrPin) -> PinnedPages[Write]:
    """Pin the pages of one expected-receive update, one page per TID."""
    return vaddr_pin_pages(vaddr, tidcnt, FOLL_LONGTERM | FOLL_WRITE, owner)


def qib_tid_free(tids: PinnedPages[Write], tid: int) -> None:
    """Free one TID: release its page, dirtied (qib_release_user_pages(&p, 1))."""
    unpin_user_pages_dirty_lock([tids[tid]], make_dirty=True)


def scenario() -> None:
    with user_buffer("qib", 4) as buf:
        tids = qib_tid_update(buf.addr, 4, buf.owner)
        dma_write(tids, b"tid")
        for tid in range(len(tids)):
            qib_tid_free(tids, tid)
        buf.expect_stamped(b"tid", range(4))
