"""Before: drivers/gpu/drm/etnaviv/etnaviv_gem.c userptr, 2019.
Case 2; release shapes scatterlist and ``release_pages()``.

Long-lived GPU DMA through plain references in an sg table: the contract
rejects the legacy call (mypy ``deprecated``, pyright ``reportDeprecated``)
and the GPU's write through ``sg_page()`` of an ``SgTable[Page]`` (mypy
``attr-defined``, pyright ``reportAttributeAccessIssue``). After:
examples/drivers/drm_etnaviv.py (FOLL_LONGTERM, dirtied on release).
"""

from typing import Final

import pinapi
from pinapi import (
    FOLL_WRITE, MM, PAGE_SIZE, for_each_sg, kthread_use_mm, release_pages,
    sg_alloc_table_from_pages, sg_free_table, sg_page,
)  # fmt: skip

AFTER: Final = "drm_etnaviv"
RELEASE_SHAPES: Final = ("scatterlist", "release_pages")


def etnaviv_gem_userptr_get_pages(mm: MM, ptr: int) -> None:
    with kthread_use_mm(mm):
        pvec = pinapi.get_user_pages(ptr, 4, FOLL_WRITE)  # type: ignore[deprecated]  # pyright: ignore[reportDeprecated]
    sgt = sg_alloc_table_from_pages(pvec, 0, 4 * PAGE_SIZE)
    for sg in for_each_sg(sgt):
        sg_page(sg).write(sg.offset, b"gpu")  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    sg_free_table(sgt)
    release_pages(pvec)
