"""Before: drivers/media/v4l2-core/videobuf-dma-sg.c, 2019. Case 2; release
shape scatterlist, ``put_page()`` per page, never dirtied.

FOLL_LONGTERM on a plain reference (mypy ``arg-type``, pyright
``reportArgumentType``, with ``deprecated`` / ``reportDeprecated``) and the
capture DMA through ``sg_page()`` of an ``SgTable[Page]`` (``attr-defined`` /
``reportAttributeAccessIssue``). The missing dirtying is not a type error;
the after version, examples/drivers/media_videobuf.py, dirties.
"""

from typing import Final

import pinapi
from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MM, PAGE_SIZE, for_each_sg, kthread_use_mm, put_page,
    sg_alloc_table_from_pages, sg_free_table, sg_page,
)  # fmt: skip

AFTER: Final = "media_videobuf"
RELEASE_SHAPES: Final = ("scatterlist",)


def videobuf_capture(mm: MM, data: int) -> None:
    with kthread_use_mm(mm):
        pages = pinapi.get_user_pages(data, 3, FOLL_WRITE | FOLL_LONGTERM)  # type: ignore[deprecated, arg-type]  # pyright: ignore[reportDeprecated, reportArgumentType]
    sglist = sg_alloc_table_from_pages(pages, 0, 3 * PAGE_SIZE)
    for sg in for_each_sg(sglist):
        sg_page(sg).write(sg.offset, b"frame")  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    sg_free_table(sglist)
    for page in pages:
        put_page(page)
