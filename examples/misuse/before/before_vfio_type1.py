"""Before: drivers/vfio/vfio_iommu_type1.c vaddr_get_pfn()/put_pfn(), 2019.
Case 2; release shape single page (``SetPageDirty()`` + ``put_page()``).

FOLL_LONGTERM on a plain reference (mypy ``arg-type``, pyright
``reportArgumentType``, with ``deprecated`` / ``reportDeprecated``), and the
device's write through a ``Page`` (``attr-defined`` /
``reportAttributeAccessIssue``). After: examples/drivers/vfio_type1.py.
"""

from typing import Final

import pinapi
from pinapi import FOLL_LONGTERM, FOLL_WRITE, MM, kthread_use_mm, put_page, set_page_dirty

AFTER: Final = "vfio_type1"
RELEASE_SHAPES: Final = ("single page",)


def vaddr_get_pfn_and_put_pfn(mm: MM, vaddr: int) -> None:
    with kthread_use_mm(mm):
        (page,) = pinapi.get_user_pages(vaddr, 1, FOLL_WRITE | FOLL_LONGTERM)  # type: ignore[deprecated, arg-type]  # pyright: ignore[reportDeprecated, reportArgumentType]
    page.write(0, b"iova")  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    set_page_dirty(page)
    put_page(page)
