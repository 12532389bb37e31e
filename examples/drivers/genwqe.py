"""GenWQE accelerator: user buffers are DMA'd by the card for one request, or
for as long as GENWQE_PIN_MEM keeps them.

drivers/misc/genwqe/card_utils.c: genwqe_user_vmap() fills ``m->page_list``
with ``get_user_pages_fast(data & PAGE_MASK, nr, write ? FOLL_WRITE : 0)`` and
builds a DMA list; genwqe_user_vunmap() / genwqe_free_user_pages() do
``set_page_dirty_lock()`` when writable, then ``put_page()``.

Case 1 for a request's buffers (a pin). In 6.12.117 genwqe_user_vmap() still
serves GENWQE_PIN_MEM (genwqe_pin_mem()) too and calls pin_user_pages_fast()
without FOLL_LONGTERM; genwqe_user_vunmap() releases with
unpin_user_pages_dirty_lock(..., m->write).

Short result: ``rc < nr_pages`` freed the partial pages and returned EFAULT.
"""

import errno
from typing import Final

from pinapi import (
    FOLL_WRITE, MaybeWrite, PAGE_SIZE, PinnedPages, VaddrPin, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import dma_write, expect_error, user_buffer

SUBSYSTEM: Final = "misc/genwqe"
KERNEL_FILES: Final = ("drivers/misc/genwqe/card_utils.c",)
FUNCTIONS: Final = ("genwqe_user_vmap", "genwqe_user_vunmap", "genwqe_free_user_pages")
CASE: Final = 1
API: Final = "pin"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = "per-request buffers are case 1; GENWQE_PIN_MEM holds the same kind long-term without FOLL_LONGTERM"
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {
    "drivers/misc/genwqe/card_utils.c": ("genwqe_user_vmap", "genwqe_user_vunmap"),
    "drivers/misc/genwqe/card_dev.c": ("genwqe_pin_mem",),
}


class DmaMapping:
    """``struct dma_mapping``: a user buffer mapped for the card."""

    def __init__(self, data: int, size: int, write: bool, owner: VaddrPin) -> None:
        offset = data % PAGE_SIZE
        nr_pages = (offset + size + PAGE_SIZE - 1) // PAGE_SIZE
        self.write = write
        flags = FOLL_WRITE if write else 0
        self.page_list: PinnedPages[MaybeWrite] = vaddr_pin_pages(data - offset, nr_pages, flags, owner)

    def genwqe_user_vunmap(self) -> None:
        unpin_user_pages_dirty_lock(self.page_list, make_dirty=self.write)


def scenario() -> None:
    with user_buffer("genwqe", 3) as buf:
        m = DmaMapping(buf.addr + 100, 2 * PAGE_SIZE, write=True, owner=buf.owner)
        dma_write(m.page_list.for_write(), b"ddcb out")
        m.genwqe_user_vunmap()
        buf.expect_stamped(b"ddcb out", range(3))
        expect_error(errno.EFAULT, lambda: DmaMapping(buf.page(2), 2 * PAGE_SIZE, True, buf.owner))
