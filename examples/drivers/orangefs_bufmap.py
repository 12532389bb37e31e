"""OrangeFS shared I/O buffer: the client-core daemon hands the kernel a
buffer, and the kernel CPU copies file data in and out of it until the daemon
unmaps or restarts.

fs/orangefs/orangefs-bufmap.c: orangefs_bufmap_map() pins the descriptor
with ``get_user_pages_fast(user_desc->ptr, page_count, FOLL_WRITE,
page_array)``; orangefs_bufmap_copy_from_iovec() / _to_iter() kmap and copy;
orangefs_bufmap_unmap() put_page()s each page.

Case 5 (the kernel writes page data) and long-lived (case 2): a long-term pin,
dirtied on release. In 6.12.117 orangefs_bufmap_map() calls
pin_user_pages_fast() with FOLL_WRITE and no FOLL_LONGTERM, and
orangefs_bufmap_unmap() is unpin_user_pages(), undirtied. The copies go
through ``memcpy_to_page()`` / ``memcpy_from_page()``.

Short result: a short count SetPageError()'d and put the partial pages and
returned ENOMEM; all-or-nothing here.
"""

from typing import Final

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, PinnedPages, VaddrPin, Write, memcpy_from_page, memcpy_to_page,
    unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import stamp, user_buffer

SUBSYSTEM: Final = "fs/orangefs"
KERNEL_FILES: Final = ("fs/orangefs/orangefs-bufmap.c",)
FUNCTIONS: Final = ("orangefs_bufmap_map", "orangefs_bufmap_copy_from_iovec", "orangefs_bufmap_unmap")
CASE: Final = 5
API: Final = "pin+FOLL_LONGTERM"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = (
    "CPU copies (case 5) into a daemon's long-lived buffer (case 2): a long-term pin, dirtied; 6.12.117 "
    "pins without FOLL_LONGTERM and unpins undirtied"
)
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"fs/orangefs/orangefs-bufmap.c": ("orangefs_bufmap_map", "orangefs_bufmap_unmap")}


class OrangefsBufmap:
    def __init__(self, ptr: int, page_count: int, owner: VaddrPin) -> None:
        self.page_array: PinnedPages[Write] = vaddr_pin_pages(ptr, page_count, FOLL_WRITE | FOLL_LONGTERM, owner)

    def copy_from_iovec(self, index: int, data: bytes) -> None:
        """A write(2) on an orangefs file: its data goes to the daemon."""
        memcpy_to_page(self.page_array[index], 0, data)

    def copy_to_iter(self, index: int, length: int) -> bytes:
        """A read(2): the daemon's data goes to the reader."""
        return memcpy_from_page(self.page_array[index], 0, length)

    def orangefs_bufmap_unmap(self) -> None:
        unpin_user_pages_dirty_lock(self.page_array, make_dirty=True)


def scenario() -> None:
    with user_buffer("pvfs2-client-core", 2, fill=b"from server") as buf:
        bufmap = OrangefsBufmap(buf.addr, 2, buf.owner)
        bufmap.copy_from_iovec(1, stamp(b"file write", 1))
        assert bufmap.copy_to_iter(0, len(buf.fill)) == buf.fill
        bufmap.orangefs_bufmap_unmap()
        buf.expect_stamped(b"file write", [1])
