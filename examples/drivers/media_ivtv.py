"""ivtv user DMA: MPEG/YUV data in a user buffer is DMA'd to the card, with
highmem pages bounced through kernel pages first.

drivers/media/pci/ivtv/ivtv-udma.c: ivtv_udma_setup() takes the buffer with
``get_user_pages_unlocked(uaddr, count, dma->map, ...)``;
ivtv_udma_fill_sg_list() builds the sg list, copying highmem pages into bounce
pages; ivtv_udma_unmap() put_page()s each, undirtied.
drivers/media/pci/ivtv/ivtv-yuv.c: ivtv_yuv_prep_user_dma() does the same for
the Y plane and then the UV plane, in one ``dma->map`` array.

Case 1: short-lived DMA that only reads the pages: a pin, undirtied, as in
6.12.117: ivtv_udma_setup() and ivtv_yuv_prep_user_dma() call
pin_user_pages_unlocked(), ivtv_udma_unmap() unpin_user_pages(). The bounce
copy reads through the pin into a ``KernelPage``.

Short result: ivtv_udma_setup() put the partial pages and returned EINVAL;
ivtv_yuv_prep_user_dma() put the UV pages, then the Y pages, and returned
EFAULT. Here a failed UV pin unpins the Y plane.
"""

import errno
from typing import Final

from pinapi import (
    KernelError, KernelPage, PinnedPages, Read, VaddrPin, alloc_page, memcpy_from_page,
    memcpy_to_page, put_page, unpin_user_pages, vaddr_pin_pages,
)  # fmt: skip

from ._user import expect_error, user_buffer

SUBSYSTEM: Final = "media/pci/ivtv"
KERNEL_FILES: Final = ("drivers/media/pci/ivtv/ivtv-udma.c", "drivers/media/pci/ivtv/ivtv-yuv.c")
FUNCTIONS: Final = ("ivtv_udma_setup", "ivtv_udma_fill_sg_list", "ivtv_udma_unmap", "ivtv_yuv_prep_user_dma")
CASE: Final = 1
API: Final = "pin"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {
    "drivers/media/pci/ivtv/ivtv-udma.c": ("ivtv_udma_setup", "ivtv_udma_unmap"),
    "drivers/media/pci/ivtv/ivtv-yuv.c": ("ivtv_yuv_prep_user_dma",),
}


def ivtv_udma_fill_sg_list(planes: list[PinnedPages[Read]]) -> list[KernelPage]:
    """Bounce every page for the card (the highmem path, taken for all)."""
    bounce: list[KernelPage] = []
    for plane in planes:
        for page in plane:
            kpage = alloc_page()
            memcpy_to_page(kpage, 0, page.read(0, 16))
            bounce.append(kpage)
    return bounce


def ivtv_yuv_prep_user_dma(y: int, y_pages: int, uv: int, uv_pages: int, owner: VaddrPin) -> list[PinnedPages[Read]]:
    y_map = vaddr_pin_pages(y, y_pages, 0, owner)
    try:
        uv_map = vaddr_pin_pages(uv, uv_pages, 0, owner)
    except KernelError:
        unpin_user_pages(y_map)
        raise
    return [y_map, uv_map]


def ivtv_udma_unmap(planes: list[PinnedPages[Read]], bounce: list[KernelPage]) -> bytes:
    """Finish the transfer: what the card got, then release everything."""
    sent = b"".join(memcpy_from_page(kpage, 0, 6) for kpage in bounce)
    for kpage in bounce:
        put_page(kpage)
    for plane in planes:
        unpin_user_pages(plane)
    return sent


def scenario() -> None:
    with user_buffer("ivtv yuv", 3, fill=b"frame!") as buf:
        planes = ivtv_yuv_prep_user_dma(buf.addr, 2, buf.page(2), 1, buf.owner)
        assert ivtv_udma_unmap(planes, ivtv_udma_fill_sg_list(planes)) == b"frame!" * 3
        buf.expect_untouched(range(3))
        expect_error(errno.EFAULT, lambda: ivtv_yuv_prep_user_dma(buf.addr, 2, buf.page(2), 2, buf.owner))
