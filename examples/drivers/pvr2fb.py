"""PowerVR2 framebuffer write(): the SH DMA controller copies a user buffer
into video RAM.

drivers/video/fbdev/pvr2fb.c: pvr2fb_write() takes the buffer with
``get_user_pages_fast(buf, nr_pages, FOLL_WRITE, pages)`` (FOLL_WRITE is a
leftover of ``write=1``: the data flows out of the user pages), runs the DMA,
and put_page()s each page at ``out_unmap``.

Case 1: a pin for the syscall, as the kernel has: in 6.12.117 pvr2fb_write()
calls pin_user_pages_fast(), still with FOLL_WRITE, and releases with
unpin_user_pages(). The device only reads, so the pin here asks for no write
access and the release does not dirty.

Short result: ``nr_pages = ret``, put them, EINVAL; all-or-nothing here.
"""

from typing import Final

from pinapi import (
    KernelPage, PinnedPages, Read, VaddrPin, alloc_page, memcpy_from_page, memcpy_to_page, put_page,
    unpin_user_pages, vaddr_pin_pages,
)  # fmt: skip

from ._user import user_buffer

SUBSYSTEM: Final = "video/fbdev"
KERNEL_FILES: Final = ("drivers/video/fbdev/pvr2fb.c",)
FUNCTIONS: Final = ("pvr2fb_write",)
CASE: Final = 1
API: Final = "pin"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages"
JUDGEMENT: Final = "the DMA only reads the buffer, so no FOLL_WRITE here; 6.12.117 still pins it with FOLL_WRITE"
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"drivers/video/fbdev/pvr2fb.c": ("pvr2fb_write",)}


def pvr2fb_write(vram: list[KernelPage], buf: int, nr_pages: int, owner: VaddrPin) -> None:
    """DMA each user page into its VRAM page."""
    pages: PinnedPages[Read] = vaddr_pin_pages(buf, nr_pages, 0, owner)
    for src, dst in zip(pages, vram):
        memcpy_to_page(dst, 0, src.read())
    unpin_user_pages(pages)


def scenario() -> None:
    vram = [alloc_page() for _ in range(2)]
    with user_buffer("fb writer", 2, fill=b"pixels") as buf:
        pvr2fb_write(vram, buf.addr, 2, buf.owner)
        buf.expect_untouched(range(2))
    assert [memcpy_from_page(page, 0, 6) for page in vram] == [b"pixels"] * 2
    for page in vram:
        put_page(page)
