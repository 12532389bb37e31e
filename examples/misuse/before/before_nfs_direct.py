"""Before: fs/nfs/direct.c nfs_direct_read_schedule_iovec(), 2019. Case 1;
release shape bvec: each page goes out as a (page, offset, length) segment
and comes back through ``put_page(bv_page)``.

The RPC reply is copied into plain references: ``deprecated`` /
``reportDeprecated`` on the legacy call, ``arg-type`` /
``reportArgumentType`` on the copy. After: examples/drivers/nfs_direct.py.
"""

from typing import Final

import pinapi
from pinapi import FOLL_WRITE, MM, PAGE_SIZE, Page, kthread_use_mm, memcpy_to_page, put_page

AFTER: Final = "nfs_direct"
RELEASE_SHAPES: Final = ("bvec",)


def nfs_direct_read(mm: MM, buf: int) -> None:
    with kthread_use_mm(mm):
        pagevec = pinapi.get_user_pages(buf, 2, FOLL_WRITE)  # type: ignore[deprecated]  # pyright: ignore[reportDeprecated]
    bvecs: list[tuple[Page, int, int]] = [(page, 0, PAGE_SIZE) for page in pagevec]
    for bv_page, bv_offset, _ in bvecs:
        memcpy_to_page(bv_page, bv_offset, b"READ reply")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    for bv_page, _, _ in bvecs:
        put_page(bv_page)
