"""Before: drivers/platform/goldfish/goldfish_pipe.c transfer_max_buffers(),
2019. Case 1; release shape array (``set_page_dirty()`` + ``put_page()``).

The emulator writes the pages through plain references: ``deprecated`` /
``reportDeprecated`` on the legacy call, ``attr-defined`` /
``reportAttributeAccessIssue`` on the write. After:
examples/drivers/goldfish_pipe.py.
"""

from typing import Final

import pinapi
from pinapi import FOLL_WRITE, MM, kthread_use_mm, put_page, set_page_dirty

AFTER: Final = "goldfish_pipe"
RELEASE_SHAPES: Final = ("array",)


def goldfish_pipe_read(mm: MM, address: int) -> None:
    with kthread_use_mm(mm):
        pages = pinapi.get_user_pages(address, 2, FOLL_WRITE)  # type: ignore[deprecated]  # pyright: ignore[reportDeprecated]
    for page in pages:
        page.write(0, b"emulator")  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    for page in pages:
        set_page_dirty(page)
        put_page(page)
