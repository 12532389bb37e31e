"""RDS RDMA: user memory registered as an MR, or named by an RDMA or atomic
operation, is read and written by the NIC until freed or completed.

net/rds/rdma.c: rds_pin_pages() takes ``get_user_pages_fast(addr, n,
FOLL_LONGTERM | (write ? FOLL_WRITE : 0), pages)`` for __rds_rdma_map(),
rds_cmsg_rdma_args() and rds_cmsg_atomic(), and puts the pages in an sg list;
rds_rdma_free_op() / rds_atomic_free_op() ``set_page_dirty()`` after an RDMA
READ or atomic and put_page() them.

Case 2: pin with FOLL_LONGTERM, as in 6.12.117: rds_pin_pages() calls
pin_user_pages_fast() with FOLL_LONGTERM, and rds_rdma_free_op() /
rds_atomic_free_op() release with unpin_user_pages_dirty_lock(); a release
that would dirty in atomic context is left to rds_message_put(), which
finishes it from a workqueue (not modelled: the model has no atomic
context).

Short result: ``ret < nr_pages`` put the partial pages and returned EFAULT
(later fixed to ``ret > 0``); all-or-nothing here.
"""

from typing import Final

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MaybeWrite, PAGE_SIZE, PinnedPage, SgTable, VaddrPin, for_each_sg,
    sg_alloc_table_from_pages, sg_free_table, sg_page, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import stamp, user_buffer

SUBSYSTEM: Final = "net/rds"
KERNEL_FILES: Final = ("net/rds/rdma.c",)
FUNCTIONS: Final = ("rds_pin_pages", "rds_cmsg_rdma_args", "rds_rdma_free_op", "rds_atomic_free_op")
CASE: Final = 2
API: Final = "pin+FOLL_LONGTERM"
CONTAINER: Final = "scatterlist"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {
    "net/rds/rdma.c": ("rds_pin_pages", "rds_rdma_free_op", "rds_rdma_op_unpin_pages", "rds_atomic_free_op"),
    "net/rds/message.c": ("rds_message_put",),
}


class RdsRdmaOp:
    """``struct rm_rdma_op``: the local pages of one RDMA operation."""

    def __init__(self, local_addr: int, nr_pages: int, is_read: bool, owner: VaddrPin) -> None:
        self.is_read = is_read  # RDMA READ: the NIC writes local memory
        flags = FOLL_LONGTERM | FOLL_WRITE if is_read else FOLL_LONGTERM
        pages = vaddr_pin_pages(local_addr, nr_pages, flags, owner)
        self.op_sg: SgTable[PinnedPage[MaybeWrite]] = sg_alloc_table_from_pages(pages, 0, nr_pages * PAGE_SIZE)

    def rds_rdma_free_op(self) -> None:
        unpin_user_pages_dirty_lock([sg_page(sg) for sg in for_each_sg(self.op_sg)], make_dirty=self.is_read)
        sg_free_table(self.op_sg)


def scenario() -> None:
    with user_buffer("rds-rdma", 4) as buf:
        read_op = RdsRdmaOp(buf.addr, 2, is_read=True, owner=buf.owner)
        for i, sg in enumerate(for_each_sg(read_op.op_sg)):
            sg_page(sg).for_write().write(0, stamp(b"remote", i))
        write_op = RdsRdmaOp(buf.page(2), 2, is_read=False, owner=buf.owner)
        sent = [sg_page(sg).read(0, len(buf.fill)) for sg in for_each_sg(write_op.op_sg)]
        read_op.rds_rdma_free_op()
        write_op.rds_rdma_free_op()
        buf.expect_stamped(b"remote", range(2))
        assert sent == [buf.fill] * 2
