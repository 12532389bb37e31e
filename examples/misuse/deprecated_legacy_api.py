"""Calling the legacy get_user_pages(): deprecated (PEP 702).

It takes plain references on the current MM. To touch page data use
vaddr_pin_pages(); code that only manipulates struct page (cases 3 and 4) says
so with get_user_pages_remote() or follow_page().
"""

import pinapi
from pinapi import MM, kthread_use_mm, put_page


def call_get_user_pages(mm: MM, buf: int) -> None:
    with kthread_use_mm(mm):
        pages = pinapi.get_user_pages(buf, 1, 0)  # type: ignore[deprecated]  # pyright: ignore[reportDeprecated]
    put_page(pages[0])
