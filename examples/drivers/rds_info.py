"""RDS info getsockopt: the kernel CPU writes socket and connection
information straight into the caller's buffer.

net/rds/info.c: rds_info_getsockopt() takes the buffer with
``get_user_pages_fast(start, nr_pages, FOLL_WRITE, pages)``; the info
functions write through rds_info_copy() (kmap_atomic + memcpy); the pages are
put_page()d, never dirtied.

Case 5: a CPU write of page data, so a pin (in 6.12.117
rds_info_getsockopt() calls pin_user_pages_fast() with FOLL_WRITE and
releases with ``unpin_user_pages_dirty_lock(pages, nr_pages, true)``). The
copy goes through ``memcpy_to_page()``, and the release dirties what was
written.

Short result: 5.3 kept ``nr_pages = ret``, returned EAGAIN ("XXX ?") and put
the partial pages; all-or-nothing here.
"""

import errno
from typing import Final

from pinapi import (
    FOLL_WRITE, PAGE_SIZE, PinnedPages, VaddrPin, Write, memcpy_to_page,
    unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import expect_error, user_buffer

SUBSYSTEM: Final = "net/rds"
KERNEL_FILES: Final = ("net/rds/info.c",)
FUNCTIONS: Final = ("rds_info_getsockopt", "rds_info_copy")
CASE: Final = 5
API: Final = "pin"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"net/rds/info.c": ("rds_info_getsockopt", "rds_info_copy")}


class RdsInfoIterator:
    """``struct rds_info_iterator``: where the next copy lands."""

    def __init__(self, pages: PinnedPages[Write], offset: int) -> None:
        self.pages = pages
        self.addr = offset

    def rds_info_copy(self, data: bytes) -> None:
        while data:
            page, offset = divmod(self.addr, PAGE_SIZE)
            n = min(len(data), PAGE_SIZE - offset)
            memcpy_to_page(self.pages[page], offset, data[:n])
            data = data[n:]
            self.addr += n


def rds_info_getsockopt(optval: int, length: int, records: list[bytes], owner: VaddrPin) -> None:
    offset = optval % PAGE_SIZE
    nr_pages = (offset + length + PAGE_SIZE - 1) // PAGE_SIZE
    pages = vaddr_pin_pages(optval - offset, nr_pages, FOLL_WRITE, owner)
    it = RdsInfoIterator(pages, offset)
    for record in records:
        it.rds_info_copy(record)
    unpin_user_pages_dirty_lock(pages, make_dirty=True)


def scenario() -> None:
    with user_buffer("rds-info", 2) as buf:
        record = b"conn 10.0.0.1->10.0.0.2 "
        rds_info_getsockopt(buf.addr + PAGE_SIZE - 10, 40, [record], buf.owner)
        buf.expect(0, record[:10], offset=PAGE_SIZE - 10)
        buf.expect(1, record[10:])
        expect_error(errno.EFAULT, lambda: rds_info_getsockopt(buf.page(1) + 8, PAGE_SIZE, [record], buf.owner))
