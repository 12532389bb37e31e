"""Before: net/rds/info.c rds_info_getsockopt(), 2019. Case 5; release shape
array (``put_page()``, never dirtied).

The kernel writes socket info through kmap of plain references:
``deprecated`` / ``reportDeprecated`` on the legacy call, ``arg-type`` /
``reportArgumentType`` on the copy. After: examples/drivers/rds_info.py.
"""

from typing import Final

import pinapi
from pinapi import FOLL_WRITE, MM, kthread_use_mm, memcpy_to_page, put_page

AFTER: Final = "rds_info"
RELEASE_SHAPES: Final = ("array",)


def rds_info_getsockopt(mm: MM, optval: int) -> None:
    with kthread_use_mm(mm):
        pages = pinapi.get_user_pages(optval, 2, FOLL_WRITE)  # type: ignore[deprecated]  # pyright: ignore[reportDeprecated]
    memcpy_to_page(pages[0], 0, b"conn 10.0.0.1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    for page in pages:
        put_page(page)
