"""hfi1 expected receive: the HFI writes received data into pinned user
buffers, which stay pinned until their TIDs are freed.

drivers/infiniband/hw/hfi1/user_pages.c: hfi1_acquire_user_pages() pins a page
array (``get_user_pages_fast()`` with FOLL_LONGTERM, FOLL_WRITE when
writable); hfi1_release_user_pages() releases it with
``put_user_pages_dirty_lock(p, npages, dirty)`` (in the series for patch 01's
``make_dirty`` argument only).

Case 2: long-lived DMA, pin with FOLL_LONGTERM, as in 6.12.117:
hfi1_acquire_user_pages() calls pin_user_pages_fast() with FOLL_LONGTERM and
hfi1_release_user_pages() unpin_user_pages_dirty_lock().

Short result: the helper returns a partial count and its callers treat
``pinned != npages`` as an error, unpinning the partial pages; an
all-or-nothing ``vaddr_pin_pages()`` has that rule built in.
"""

import errno
from typing import Final

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MaybeWrite, PinnedPages, VaddrPin, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import dma_write, expect_error, user_buffer

SUBSYSTEM: Final = "infiniband/hw/hfi1"
KERNEL_FILES: Final = ("drivers/infiniband/hw/hfi1/user_pages.c",)
FUNCTIONS: Final = ("hfi1_acquire_user_pages", "hfi1_release_user_pages")
CASE: Final = 2
API: Final = "pin+FOLL_LONGTERM"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"drivers/infiniband/hw/hfi1/user_pages.c": ("hfi1_acquire_user_pages", "hfi1_release_user_pages")}


def hfi1_acquire_user_pages(vaddr: int, npages: int, writable: bool, owner: VaddrPin) -> PinnedPages[MaybeWrite]:
    return vaddr_pin_pages(vaddr, npages, FOLL_LONGTERM | FOLL_WRITE if writable else FOLL_LONGTERM, owner)


def hfi1_release_user_pages(pages: PinnedPages[MaybeWrite], dirty: bool) -> None:
    unpin_user_pages_dirty_lock(pages, make_dirty=dirty)


def scenario() -> None:
    with user_buffer("hfi1", 3) as buf:
        tid_pages = hfi1_acquire_user_pages(buf.addr, 3, writable=True, owner=buf.owner)
        dma_write(tid_pages.for_write(), b"eager rcv")
        hfi1_release_user_pages(tid_pages, dirty=True)
        buf.expect_stamped(b"eager rcv", range(3))
        expect_error(errno.EFAULT, lambda: hfi1_acquire_user_pages(buf.page(2), 2, True, buf.owner))
