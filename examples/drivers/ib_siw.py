"""Soft-iWARP memory regions: the CPU, not a NIC, reads and writes registered
user memory for the region's life.

drivers/infiniband/sw/siw/siw_mem.c: siw_umem_get() loops
``get_user_pages(..., FOLL_LONGTERM)`` into per-chunk page lists;
siw_umem_release() / siw_free_plist() release each list with
``put_user_pages_dirty_lock(plist, n, umem->writable && dirty)`` (in the
series for patch 01's ``make_dirty``). The rx path kmaps the pages and copies
received data into them.

Case 2, and case 5 as well, since the kernel CPU writes the data: either way
a pin, with FOLL_LONGTERM for the lifetime. In 6.12.117 siw_umem_get() no
longer pins by itself: it takes the region with ib_umem_get() (FOLL_LONGTERM
pins, see ib_umem) and fills its page chunks from the umem's sg table;
siw_umem_release() is ib_umem_release(), which dirties a writable region, and
siw_free_plist() is gone. The copy goes through ``memcpy_to_page()`` on the
pin.

Short result: partial batches continue the loop; an error releases the whole
umem undirtied.
"""

from typing import Final

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, PAGE_SIZE, PinnedPages, VaddrPin, Write, memcpy_to_page,
    unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import stamp, user_buffer

SUBSYSTEM: Final = "infiniband/sw/siw"
KERNEL_FILES: Final = ("drivers/infiniband/sw/siw/siw_mem.c",)
FUNCTIONS: Final = ("siw_umem_get", "siw_umem_release", "siw_free_plist")
CASE: Final = 2
API: Final = "pin+FOLL_LONGTERM"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = "the CPU writes the data (case 5) of a long-lived registration (case 2): a long-term pin"
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {
    "drivers/infiniband/sw/siw/siw_mem.c": ("siw_umem_get", "siw_umem_release"),
    "drivers/infiniband/core/umem.c": ("ib_umem_get", "ib_umem_release"),
}

CHUNK_PAGES: Final = 2


class SiwUmem:
    """``struct siw_umem``: page chunks of one registration."""

    def __init__(self, start: int, nr_pages: int, owner: VaddrPin) -> None:
        self.writable = True
        self.chunks: list[PinnedPages[Write]] = []
        for first in range(0, nr_pages, CHUNK_PAGES):
            n = min(CHUNK_PAGES, nr_pages - first)
            self.chunks.append(vaddr_pin_pages(start + first * PAGE_SIZE, n, FOLL_LONGTERM | FOLL_WRITE, owner))

    def siw_rx_data(self, page_no: int, data: bytes) -> None:
        """The receive path copies payload into the MR (kmap + memcpy)."""
        memcpy_to_page(self.chunks[page_no // CHUNK_PAGES][page_no % CHUNK_PAGES], 0, data)

    def siw_umem_release(self, dirty: bool) -> None:
        for plist in self.chunks:
            unpin_user_pages_dirty_lock(plist, make_dirty=self.writable and dirty)


def scenario() -> None:
    with user_buffer("siw", 3) as buf:
        umem = SiwUmem(buf.addr, 3, buf.owner)
        for i in range(3):
            umem.siw_rx_data(i, stamp(b"siw rx", i))
        umem.siw_umem_release(dirty=True)
        buf.expect_stamped(b"siw rx", range(3))
