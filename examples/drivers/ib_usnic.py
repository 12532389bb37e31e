"""usNIC memory regions: pages pinned, kept in chunked sg lists and mapped
into the device's IOMMU domain for the region's life.

drivers/infiniband/hw/usnic/usnic_uiom.c: usnic_uiom_get_pages() loops
``get_user_pages(..., FOLL_LONGTERM)`` and stores each batch in a chunk's sg
list; usnic_uiom_put_pages() walks every chunk and releases each page with
``put_user_pages_dirty_lock(&page, 1, dirty)`` (patch 01's ``make_dirty``).

Case 2: pin with FOLL_LONGTERM, as in 6.12.117: usnic_uiom_get_pages() loops
pin_user_pages() with FOLL_LONGTERM and usnic_uiom_put_pages() calls
``unpin_user_pages_dirty_lock(&page, 1, dirty)``.

Short result: partial batches continue the loop; an error releases every
chunk so far. Here a chunk is one all-or-nothing pin.
"""

from typing import Final

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, PAGE_SIZE, PinnedPage, SgTable, VaddrPin, Write, for_each_sg,
    sg_alloc_table_from_pages, sg_free_table, sg_page, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import stamp, user_buffer

SUBSYSTEM: Final = "infiniband/hw/usnic"
KERNEL_FILES: Final = ("drivers/infiniband/hw/usnic/usnic_uiom.c",)
FUNCTIONS: Final = ("usnic_uiom_get_pages", "usnic_uiom_put_pages")
CASE: Final = 2
API: Final = "pin+FOLL_LONGTERM"
CONTAINER: Final = "scatterlist"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"drivers/infiniband/hw/usnic/usnic_uiom.c": ("usnic_uiom_get_pages", "usnic_uiom_put_pages")}

CHUNK_PAGES: Final = 2


def usnic_uiom_get_pages(addr: int, nr_pages: int, owner: VaddrPin) -> list[SgTable[PinnedPage[Write]]]:
    """One sg list per chunk; a chunk that fails to pin leaves none pinned."""
    chunks: list[SgTable[PinnedPage[Write]]] = []
    for first in range(0, nr_pages, CHUNK_PAGES):
        n = min(CHUNK_PAGES, nr_pages - first)
        pins = vaddr_pin_pages(addr + first * PAGE_SIZE, n, FOLL_LONGTERM | FOLL_WRITE, owner)
        chunks.append(sg_alloc_table_from_pages(pins, 0, n * PAGE_SIZE))
    return chunks


def usnic_uiom_put_pages(chunks: list[SgTable[PinnedPage[Write]]], dirty: bool) -> None:
    for chunk in chunks:
        for sg in for_each_sg(chunk):
            unpin_user_pages_dirty_lock([sg_page(sg)], make_dirty=dirty)
        sg_free_table(chunk)


def scenario() -> None:
    with user_buffer("usnic", 5) as buf:
        chunks = usnic_uiom_get_pages(buf.addr, 5, buf.owner)
        pages = [sg_page(sg) for chunk in chunks for sg in for_each_sg(chunk)]
        for i, page in enumerate(pages):
            page.write(0, stamp(b"usnic", i))
        usnic_uiom_put_pages(chunks, dirty=True)
        buf.expect_stamped(b"usnic", range(5))
