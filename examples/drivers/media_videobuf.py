"""videobuf USERPTR capture buffers: the capture device DMAs frames into a
user buffer through an sg list, for as long as the buffer is queued.

drivers/media/v4l2-core/videobuf-dma-sg.c: videobuf_dma_init_user_locked()
fills ``dma->pages`` with ``get_user_pages(..., FOLL_LONGTERM)`` (FOLL_WRITE
for DMA_FROM_DEVICE); videobuf_pages_to_sg() builds the sg list;
videobuf_dma_free() put_page()s each page, in 2019 without dirtying.

Case 2: pin with FOLL_LONGTERM. The 2020 conversion also fixed the missing
dirtying: ``unpin_user_pages_dirty_lock(pages, nr, direction ==
DMA_FROM_DEVICE)``, as here. The file is gone in 6.12.117
(drivers/media/v4l2-core/ has no videobuf-*.c left), so that conversion is
the last kernel state this module can be compared with.

Short result: 5.3 kept the partial count for videobuf_dma_free() to release
later; an all-or-nothing pin leaves nothing to release.
"""

from typing import Final

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MaybeWrite, PAGE_SIZE, PinnedPage, PinnedPages, SgTable, VaddrPin,
    for_each_sg, sg_alloc_table_from_pages, sg_free_table, sg_page, unpin_user_pages_dirty_lock,
    vaddr_pin_pages,
)  # fmt: skip

from ._user import stamp, user_buffer

SUBSYSTEM: Final = "media/v4l2-core"
KERNEL_FILES: Final = ("drivers/media/v4l2-core/videobuf-dma-sg.c",)
FUNCTIONS: Final = ("videobuf_dma_init_user_locked", "videobuf_pages_to_sg", "videobuf_dma_free")
CASE: Final = 2
API: Final = "pin+FOLL_LONGTERM"
CONTAINER: Final = "scatterlist"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"drivers/media/v4l2-core/videobuf-dma-sg.c": ()}


class VideobufDmabuf:
    """``struct videobuf_dmabuf`` for a USERPTR buffer."""

    def __init__(self, data: int, size: int, from_device: bool, owner: VaddrPin) -> None:
        offset = data % PAGE_SIZE
        nr_pages = (offset + size + PAGE_SIZE - 1) // PAGE_SIZE
        flags = FOLL_LONGTERM | FOLL_WRITE if from_device else FOLL_LONGTERM
        self.from_device = from_device
        self.pages: PinnedPages[MaybeWrite] = vaddr_pin_pages(data - offset, nr_pages, flags, owner)
        self.sglist: SgTable[PinnedPage[MaybeWrite]] = sg_alloc_table_from_pages(self.pages, offset, size)

    def videobuf_dma_free(self) -> None:
        sg_free_table(self.sglist)
        unpin_user_pages_dirty_lock(self.pages, make_dirty=self.from_device)


def scenario() -> None:
    with user_buffer("v4l2 capture", 3) as buf:
        frame = VideobufDmabuf(buf.addr, 3 * PAGE_SIZE, from_device=True, owner=buf.owner)
        for i, sg in enumerate(for_each_sg(frame.sglist)):
            sg_page(sg).for_write().write(sg.offset, stamp(b"frame", i))
        frame.videobuf_dma_free()
        buf.expect_stamped(b"frame", range(3))
