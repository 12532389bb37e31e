"""RDMA memory regions: the NIC reads and writes a registered buffer until
the region is deregistered.

drivers/infiniband/core/umem.c: ib_umem_get() pins the range in chunks of a
page's worth of pointers (``get_user_pages(..., FOLL_LONGTERM)``), appends
each chunk to the umem's sg table and maps it for the device;
__ib_umem_release() walks the table and releases each page, dirtying it if
the region was writable and the device may have written (in 2019
``put_user_pages_dirty_lock(&page, 1, umem->writable && dirty)``: the file is
in the series only for patch 01's new ``make_dirty`` argument).

Case 2, the textbook one: pin with FOLL_LONGTERM, as in 6.12.117:
ib_umem_get() loops pin_user_pages_fast() with FOLL_LONGTERM (FOLL_WRITE if
writable), and __ib_umem_release() unpins each sg entry with
unpin_user_page_range_dirty_lock().

Short result: the kernel accepts partial chunks and asks for the rest; an
error releases every chunk pinned so far, undirtied. Here each chunk is one
all-or-nothing ``vaddr_pin_pages()``; a failed chunk unpins the earlier ones.
"""

import errno
from typing import Final

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, PAGE_SIZE, KernelError, MaybeWrite, PinnedPage, SgTable, VaddrPin, for_each_sg,
    sg_alloc_table, sg_free_table, sg_page, sg_set_page, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import expect_error, stamp, user_buffer

SUBSYSTEM: Final = "infiniband/core"
KERNEL_FILES: Final = ("drivers/infiniband/core/umem.c",)
FUNCTIONS: Final = ("ib_umem_get", "__ib_umem_release")
CASE: Final = 2
API: Final = "pin+FOLL_LONGTERM"
CONTAINER: Final = "scatterlist"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"drivers/infiniband/core/umem.c": ("ib_umem_get", "__ib_umem_release")}

CHUNK: Final = 2  # pages per GUP call (PAGE_SIZE / sizeof(struct page *) in the kernel)


def __ib_umem_release(sgt: SgTable[PinnedPage[MaybeWrite]], writable: bool, dirty: bool) -> None:
    for sg in for_each_sg(sgt):
        if sg.length:
            unpin_user_pages_dirty_lock([sg_page(sg)], make_dirty=writable and dirty)
    sg_free_table(sgt)


def ib_umem_get(addr: int, nr_pages: int, writable: bool, owner: VaddrPin) -> SgTable[PinnedPage[MaybeWrite]]:
    """Pin and map the region; on failure nothing stays pinned."""
    flags = FOLL_LONGTERM | FOLL_WRITE if writable else FOLL_LONGTERM
    sgt = sg_alloc_table(nr_pages, PinnedPage[MaybeWrite])
    entries = iter(for_each_sg(sgt))
    try:
        for first in range(0, nr_pages, CHUNK):
            chunk = vaddr_pin_pages(addr + first * PAGE_SIZE, min(CHUNK, nr_pages - first), flags, owner)
            for page in chunk:
                sg_set_page(next(entries), page, PAGE_SIZE, 0)
    except KernelError:
        __ib_umem_release(sgt, writable, dirty=False)
        raise
    return sgt


def scenario() -> None:
    with user_buffer("ib_umem", 5) as buf:
        sgt = ib_umem_get(buf.addr, 5, writable=True, owner=buf.owner)
        for i, sg in enumerate(for_each_sg(sgt)):
            sg_page(sg).for_write().write(0, stamp(b"rdma", i))
        __ib_umem_release(sgt, writable=True, dirty=True)
        buf.expect_stamped(b"rdma", range(5))
        expect_error(errno.EFAULT, lambda: ib_umem_get(buf.page(3), 4, True, buf.owner))  # past the mapping
