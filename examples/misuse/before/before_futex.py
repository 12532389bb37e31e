"""Before: kernel/futex.c get_futex_key(), 2019. Case 4; release shape single
page.

Correct under the contract: only ``struct page`` is used, so a plain
reference is right; the flagged line is the legacy spelling
(``deprecated`` / ``reportDeprecated``). The series' conversion to
``put_user_page()`` is the mistake (``arg-type`` / ``reportArgumentType``),
seed 004's objection. After: examples/drivers/futex.py.
"""

from typing import Final

import pinapi
from pinapi import FOLL_WRITE, MM, kthread_use_mm, put_page, unpin_user_page

AFTER: Final = "futex"
RELEASE_SHAPES: Final = ("single page",)


def get_futex_key(mm: MM, address: int) -> int:
    with kthread_use_mm(mm):
        (page,) = pinapi.get_user_pages(address, 1, FOLL_WRITE)  # type: ignore[deprecated]  # pyright: ignore[reportDeprecated]
    pfn = page.pfn
    put_page(page)
    return pfn


def get_futex_key_as_converted(mm: MM, address: int) -> None:
    with kthread_use_mm(mm):
        (page,) = pinapi.get_user_pages(address, 1, FOLL_WRITE)  # type: ignore[deprecated]  # pyright: ignore[reportDeprecated]
    unpin_user_page(page)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
