"""Case 2, RDMA: a long-term pin registered for the life of a memory region,
handed to the device through a scatterlist that keeps the pin type."""

from typing import TYPE_CHECKING

from typing_extensions import assert_type

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MM, PAGE_SIZE, PinnedPage, SgTable, VaddrPin, Write, for_each_sg,
    sg_alloc_table_from_pages, sg_free_table, sg_page, unpin_user_page, vaddr_pin_pages,
)  # fmt: skip

if TYPE_CHECKING:
    from pinapi import PinFlags


def ib_umem_get(mm: MM, addr: int, nr_pages: int) -> SgTable[PinnedPage[Write]]:
    """Register a memory region: pin it long-term, build the device's sg table."""
    flags = FOLL_WRITE | FOLL_LONGTERM
    assert_type(flags, "PinFlags[Write]")
    pins = vaddr_pin_pages(addr, nr_pages, flags, VaddrPin(mm=mm))
    sgt = sg_alloc_table_from_pages(pins, 0, nr_pages * PAGE_SIZE)
    assert_type(sgt, SgTable[PinnedPage[Write]])
    return sgt


def ib_umem_release(sgt: SgTable[PinnedPage[Write]]) -> None:
    """Deregister: the pages come back out of the sg table still typed as write pins."""
    for sg in for_each_sg(sgt):
        page = sg_page(sg)
        assert_type(page, PinnedPage[Write])
        unpin_user_page(page)
    sg_free_table(sgt)


def scenario() -> None:
    mm = MM("rdma")
    buf = mm.mmap(4 * PAGE_SIZE)
    sgt = ib_umem_get(mm, buf, 4)
    for sg in for_each_sg(sgt):
        sg_page(sg).write(sg.offset, b"RDMA write")
    ib_umem_release(sgt)
    assert mm.read(buf + 2 * PAGE_SIZE, 10) == b"RDMA write"
    mm.exit()
