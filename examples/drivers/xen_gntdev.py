"""Xen gntdev grant copy: the hypervisor copies between a foreign domain's
granted page and this process's buffer, one batch per ioctl.

drivers/xen/gntdev.c: gntdev_get_page() takes each segment's page with
``get_user_pages_fast(addr, 1, writeable ? FOLL_WRITE : 0, &page)`` into the
batch's page array; after GNTTABOP_copy, gntdev_put_pages() put_page()s
them, in 2019 without dirtying.

Case 1: a pin for the ioctl. The hypervisor writes the pages of a copy into
local memory, so the release dirties a writeable batch, as in 6.12.117:
gntdev_get_page() calls pin_user_pages_fast() and gntdev_put_pages()
``unpin_user_pages_dirty_lock(pages, n, batch->writeable)``.

Short result: one page per call; a failed segment ends the batch, whose pages
so far are released.
"""

from typing import Final

from pinapi import (
    FOLL_WRITE, MaybeWrite, PAGE_SIZE, PinnedPage, VaddrPin, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import dma_write, user_buffer

SUBSYSTEM: Final = "xen"
KERNEL_FILES: Final = ("drivers/xen/gntdev.c",)
FUNCTIONS: Final = ("gntdev_get_page", "gntdev_put_pages", "gntdev_grant_copy_seg")
CASE: Final = 1
API: Final = "pin"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"drivers/xen/gntdev.c": ("gntdev_get_page", "gntdev_put_pages")}


class GntdevCopyBatch:
    """``struct gntdev_copy_batch``: the pages of one GNTTABOP_copy."""

    def __init__(self, owner: VaddrPin, writeable: bool) -> None:
        self.owner = owner
        self.writeable = writeable
        self.pages: list[PinnedPage[MaybeWrite]] = []

    def gntdev_get_page(self, addr: int) -> PinnedPage[MaybeWrite]:
        page = vaddr_pin_pages(addr, 1, FOLL_WRITE if self.writeable else 0, self.owner)[0]
        self.pages.append(page)
        return page

    def gntdev_put_pages(self) -> None:
        unpin_user_pages_dirty_lock(self.pages, make_dirty=self.writeable)
        self.pages.clear()


def scenario() -> None:
    with user_buffer("gntdev", 3) as buf:
        batch = GntdevCopyBatch(buf.owner, writeable=True)
        for i in range(3):
            batch.gntdev_get_page(buf.addr + i * PAGE_SIZE)
        dma_write([p.for_write() for p in batch.pages], b"domU grant")  # GNTTABOP_copy, foreign -> local
        batch.gntdev_put_pages()
        buf.expect_stamped(b"domU grant", range(3))
