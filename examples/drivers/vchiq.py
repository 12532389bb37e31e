"""VCHIQ bulk transfers (Raspberry Pi VideoCore): the VideoCore DMAs a user
buffer through an sg list; on a read, the ARM side then copies the unaligned
head and tail fragments into the user pages itself.

drivers/staging/vc04_services/interface/vchiq_arm/vchiq_2835_arm.c:
create_pagelist() fills ``pages`` with ``get_user_pages_fast(buf & PAGE_MASK,
n, type == PAGELIST_READ ? FOLL_WRITE : 0)`` and maps an sg list;
free_pagelist() memcpy()s the fragments in (a CPU write), set_page_dirty()s
every page on a read, and cleanup_pagelistinfo() put_page()s them.

Case 1 (short-lived DMA) with a case 5 part (the CPU writes the fragments):
a pin either way. In 6.12.117 vchiq_2835_arm.c is gone and these functions are
in vchiq_arm.c: create_pagelist() calls pin_user_pages_fast(), free_pagelist()
memcpy_to_page()s the fragments and set_page_dirty()s every page on a read,
and cleanup_pagelistinfo() unpin_user_pages() them. The fragment copy goes
through ``memcpy_to_page()`` on the pin.

Short result: the partial pages were put and create_pagelist() returned
NULL; all-or-nothing here.
"""

from typing import Final

from pinapi import (
    FOLL_WRITE, PAGE_SIZE, PinnedPage, PinnedPages, SgTable, VaddrPin, Write, for_each_sg,
    memcpy_to_page, sg_alloc_table_from_pages, sg_free_table, sg_page, unpin_user_pages_dirty_lock,
    vaddr_pin_pages,
)  # fmt: skip

from ._user import user_buffer

SUBSYSTEM: Final = "staging/vc04_services"
KERNEL_FILES: Final = ("drivers/staging/vc04_services/interface/vchiq_arm/vchiq_2835_arm.c",)
FUNCTIONS: Final = ("create_pagelist", "free_pagelist", "cleanup_pagelistinfo")
CASE: Final = 1
API: Final = "pin"
CONTAINER: Final = "scatterlist"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = "DMA (case 1) plus CPU writes of the head/tail fragments (case 5): a pin covers both"
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {
    "drivers/staging/vc04_services/interface/vchiq_arm/vchiq_2835_arm.c": (),
    "drivers/staging/vc04_services/interface/vchiq_arm/vchiq_arm.c": (
        "create_pagelist", "free_pagelist", "cleanup_pagelistinfo",
    ),
}

CACHE_LINE: Final = 32


class PagelistInfo:
    """``struct vchiq_pagelist_info`` for one bulk read."""

    def __init__(self, buf: int, count: int, owner: VaddrPin) -> None:
        offset = buf % PAGE_SIZE
        nr_pages = (offset + count + PAGE_SIZE - 1) // PAGE_SIZE
        self.offset = offset
        self.count = count
        self.pages: PinnedPages[Write] = vaddr_pin_pages(buf - offset, nr_pages, FOLL_WRITE, owner)
        self.sgt: SgTable[PinnedPage[Write]] = sg_alloc_table_from_pages(self.pages, offset, count)

    def free_pagelist(self, head: bytes, tail: bytes) -> None:
        """Copy the fragments the VideoCore left in its own buffer, dirty, unpin."""
        memcpy_to_page(self.pages[0], self.offset, head)
        end = self.offset + self.count
        memcpy_to_page(self.pages[-1], (end - len(tail)) % PAGE_SIZE, tail)
        sg_free_table(self.sgt)
        unpin_user_pages_dirty_lock(self.pages, make_dirty=True)


def scenario() -> None:
    with user_buffer("vchiq", 3) as buf:
        start, count = buf.addr + 8, 2 * PAGE_SIZE
        info = PagelistInfo(start, count, buf.owner)
        for sg in for_each_sg(info.sgt):  # cache-line aligned middle, by DMA
            sg_page(sg).write(CACHE_LINE, b"videocore")
        info.free_pagelist(head=b"H" * (CACHE_LINE - 8), tail=b"T" * 8)
        buf.expect(0, b"H" * (CACHE_LINE - 8), offset=8)
        buf.expect(1, b"videocore", offset=CACHE_LINE)
        buf.expect(2, b"T" * 8)
