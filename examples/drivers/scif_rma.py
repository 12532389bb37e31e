"""SCIF remote memory access: a registered window's pages are DMA'd by the
MIC card until the window is unregistered.

drivers/misc/mic/scif/scif_rma.c: __scif_pin_pages() pins the range with
``get_user_pages_fast()`` (FOLL_WRITE for a writable window, retrying
read-only); scif_destroy_pinned_pages() does ``SetPageDirty()`` on writable
pages and ``put_page()``, skipping NULL slots.

Case 2: long-lived DMA, pin with FOLL_LONGTERM. The kernel converted to
pin_user_pages_fast() in 2020 and later removed the MIC drivers: 6.12.117 has
no drivers/misc/mic/.

Short result: 5.3 overwrote ``nr_pages`` and mishandled a negative return
(a stable fix clamped it); an all-or-nothing pin cannot leave a partial
window.
"""

import errno
from typing import Final

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MaybeWrite, PinnedPages, VaddrPin, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import dma_write, expect_error, user_buffer

SUBSYSTEM: Final = "misc/mic/scif"
KERNEL_FILES: Final = ("drivers/misc/mic/scif/scif_rma.c",)
FUNCTIONS: Final = ("__scif_pin_pages", "scif_destroy_pinned_pages")
CASE: Final = 2
API: Final = "pin+FOLL_LONGTERM"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"drivers/misc/mic/scif/scif_rma.c": ()}

SCIF_PROT_WRITE: Final = 2


class ScifPinnedPages:
    def __init__(self, addr: int, nr_pages: int, prot: int, owner: VaddrPin) -> None:
        self.prot = prot
        flags = FOLL_LONGTERM | FOLL_WRITE if prot & SCIF_PROT_WRITE else FOLL_LONGTERM
        self.pages: PinnedPages[MaybeWrite] = vaddr_pin_pages(addr, nr_pages, flags, owner)

    def scif_destroy_pinned_pages(self) -> None:
        unpin_user_pages_dirty_lock(self.pages, make_dirty=bool(self.prot & SCIF_PROT_WRITE))


def scenario() -> None:
    with user_buffer("scif", 3) as buf:
        window = ScifPinnedPages(buf.addr, 3, SCIF_PROT_WRITE, buf.owner)
        dma_write(window.pages.for_write(), b"mic dma")
        window.scif_destroy_pinned_pages()
        buf.expect_stamped(b"mic dma", range(3))
    with user_buffer("scif ro", 1, writable=False) as ro:
        expect_error(errno.EFAULT, lambda: ScifPinnedPages(ro.addr, 1, SCIF_PROT_WRITE, ro.owner))
