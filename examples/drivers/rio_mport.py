"""RapidIO mport DMA: a user buffer is the source or target of a DMA engine
transfer, finished in the ioctl or waited for later.

drivers/rapidio/devices/rio_mport_cdev.c: rio_dma_transfer() fills a page list
with ``get_user_pages_fast(loc_addr & PAGE_MASK, nr_pages, dir ==
DMA_FROM_DEVICE ? FOLL_WRITE : 0)``, builds an sg table with
sg_alloc_table_from_pages() and submits it; dma_req_free() put_page()s each
page, never dirtying, even after DMA_FROM_DEVICE.

Case 1: a pin without FOLL_LONGTERM, as in 6.12.117: rio_dma_transfer() calls
pin_user_pages_fast() and dma_req_free() unpin_user_pages(), still undirtied
after DMA_FROM_DEVICE. The release here dirties after DMA_FROM_DEVICE.

Short result: 5.3 released all ``nr_pages`` requested rather than the number
pinned (6.12.117 releases only the pages pinned); an all-or-nothing pin cannot
get that wrong.
"""

from typing import Final

from pinapi import (
    FOLL_WRITE, MaybeWrite, PAGE_SIZE, PinnedPage, PinnedPages, SgTable, VaddrPin, for_each_sg,
    sg_alloc_table_from_pages, sg_free_table, sg_page, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import stamp, user_buffer

SUBSYSTEM: Final = "rapidio"
KERNEL_FILES: Final = ("drivers/rapidio/devices/rio_mport_cdev.c",)
FUNCTIONS: Final = ("rio_dma_transfer", "dma_req_free")
CASE: Final = 1
API: Final = "pin"
CONTAINER: Final = "scatterlist"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = (
    "async transfers outlive the ioctl (until RIO_WAIT_FOR_ASYNC), yet are not FOLL_LONGTERM; the release "
    "dirties after DMA_FROM_DEVICE, which 6.12.117's does not"
)
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"drivers/rapidio/devices/rio_mport_cdev.c": ("rio_dma_transfer", "dma_req_free")}


class MportDmaReq:
    """``struct mport_dma_req``: pinned pages and their sg table."""

    def __init__(self, loc_addr: int, length: int, from_device: bool, owner: VaddrPin) -> None:
        offset = loc_addr % PAGE_SIZE
        nr_pages = (offset + length + PAGE_SIZE - 1) // PAGE_SIZE
        self.from_device = from_device
        flags = FOLL_WRITE if from_device else 0
        self.page_list: PinnedPages[MaybeWrite] = vaddr_pin_pages(loc_addr - offset, nr_pages, flags, owner)
        self.sgt: SgTable[PinnedPage[MaybeWrite]] = sg_alloc_table_from_pages(self.page_list, offset, length)

    def dma_req_free(self) -> None:
        sg_free_table(self.sgt)
        unpin_user_pages_dirty_lock(self.page_list, make_dirty=self.from_device)


def scenario() -> None:
    with user_buffer("rio", 2) as buf:
        req = MportDmaReq(buf.addr, 2 * PAGE_SIZE, from_device=True, owner=buf.owner)
        for i, sg in enumerate(for_each_sg(req.sgt)):
            sg_page(sg).for_write().write(sg.offset, stamp(b"srio", i))
        req.dma_req_free()
        buf.expect_stamped(b"srio", range(2))
