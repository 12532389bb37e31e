"""RDS zerocopy send: the payload's user pages go into the message's sg list
and are transmitted from there until the send completes.

net/rds/message.c: rds_message_zcopy_from_user() takes one page at a time
with ``iov_iter_get_pages(from, &pages, PAGE_SIZE, 1, &start)`` and
sg_set_page()s it into ``rm->data.op_sg``; the error path put_page()s the
pages already in the sg list (the line the series changed); completion
releases them in rds_message_purge().

Case 1: the device reads user pages for a send: a pin, undirtied. The kernel
has not converted this: in 6.12.117 rds_message_zcopy_from_user() takes each
page with iov_iter_get_pages2(), a plain reference, and both its error path
and rds_message_purge() put_page() them.

Short result: a page that cannot be got fails the send with EFAULT after
releasing the pages taken so far.
"""

import errno
from typing import Final

from pinapi import (
    PAGE_SIZE, KernelError, PinnedPage, Read, SgTable, VaddrPin, for_each_sg, sg_alloc_table, sg_free_table,
    sg_page, sg_set_page, unpin_user_page, vaddr_pin_pages,
)  # fmt: skip

from ._user import expect_error, user_buffer

SUBSYSTEM: Final = "net/rds"
KERNEL_FILES: Final = ("net/rds/message.c",)
FUNCTIONS: Final = ("rds_message_zcopy_from_user", "rds_message_purge")
CASE: Final = 1
API: Final = "pin"
CONTAINER: Final = "scatterlist"
RELEASE: Final = "unpin_user_page"
JUDGEMENT: Final = (
    "a pin for zerocopy send data (case 1); 6.12.117 still takes plain references (iov_iter_get_pages2 + "
    "put_page)"
)
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"net/rds/message.c": ("rds_message_zcopy_from_user", "rds_message_purge")}


def rds_message_purge(op_sg: SgTable[PinnedPage[Read]], nents: int) -> None:
    for i, sg in enumerate(for_each_sg(op_sg)):
        if i < nents:
            unpin_user_page(sg_page(sg))
    sg_free_table(op_sg)


def rds_message_zcopy_from_user(addr: int, total_len: int, owner: VaddrPin) -> SgTable[PinnedPage[Read]]:
    nr_pages = (total_len + PAGE_SIZE - 1) // PAGE_SIZE
    op_sg = sg_alloc_table(nr_pages, PinnedPage[Read])
    for i, sg in enumerate(for_each_sg(op_sg)):
        try:
            (page,) = vaddr_pin_pages(addr + i * PAGE_SIZE, 1, 0, owner)
        except KernelError:
            rds_message_purge(op_sg, i)
            raise
        sg_set_page(sg, page, min(PAGE_SIZE, total_len - i * PAGE_SIZE), 0)
    return op_sg


def scenario() -> None:
    with user_buffer("rds zcopy", 2, fill=b"payload") as buf:
        op_sg = rds_message_zcopy_from_user(buf.addr, PAGE_SIZE + 100, buf.owner)
        wire = [sg_page(sg).read(0, 7) for sg in for_each_sg(op_sg)]
        rds_message_purge(op_sg, op_sg.nents)
        assert wire == [b"payload"] * 2
        expect_error(errno.EFAULT, lambda: rds_message_zcopy_from_user(buf.page(1), 2 * PAGE_SIZE, buf.owner))
