"""Before: drivers/infiniband/core/umem.c ib_umem_get()/__ib_umem_release(),
before put_user_pages_dirty_lock(). Case 2; release shapes scatterlist and
dirty-lock (``set_page_dirty_lock()`` + ``put_page()`` per sg page).

FOLL_LONGTERM on a plain reference (mypy ``arg-type``, pyright
``reportArgumentType``, with the legacy call's ``deprecated`` /
``reportDeprecated``) and the NIC's write through a ``Page`` (mypy
``attr-defined``, pyright ``reportAttributeAccessIssue``). After:
examples/drivers/ib_umem.py.
"""

from typing import Final

import pinapi
from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MM, PAGE_SIZE, for_each_sg, kthread_use_mm, put_page,
    set_page_dirty_lock, sg_alloc_table_from_pages, sg_free_table, sg_page,
)  # fmt: skip

AFTER: Final = "ib_umem"
RELEASE_SHAPES: Final = ("scatterlist", "dirty-lock")


def ib_umem_get_and_release(mm: MM, addr: int) -> None:
    with kthread_use_mm(mm):
        page_list = pinapi.get_user_pages(addr, 4, FOLL_WRITE | FOLL_LONGTERM)  # type: ignore[deprecated, arg-type]  # pyright: ignore[reportDeprecated, reportArgumentType]
    sgt = sg_alloc_table_from_pages(page_list, 0, 4 * PAGE_SIZE)
    for sg in for_each_sg(sgt):
        sg_page(sg).write(0, b"RDMA write")  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    for sg in for_each_sg(sgt):
        set_page_dirty_lock(sg_page(sg))
        put_page(sg_page(sg))
    sg_free_table(sgt)
