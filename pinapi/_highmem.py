"""Kernel-owned pages and kmap-style access to page data.

``alloc_page()`` gives the caller a ``KernelPage``: a page the kernel owns, whose
data it may read and write freely, released with ``put_page()``. The data access
calls (``memcpy_to_page()``, ``memcpy_from_page()``) accept such a page or a
``PinnedPage`` and nothing else: a plain reference from ``get_user_pages()`` or
``follow_page()`` allows only ``struct page`` calls (pin_user_pages.rst case 5).
"""

from __future__ import annotations

import errno
from typing import final

from ._handle import NoPublicConstructor
from ._mm.errors import err
from ._mm.page_alloc import Folio, Page, alloc_folio, kernel_lock, page_read, page_write
from ._mm.validate import entry_point
from ._pin import AnyPin, PinnedPage

__all__ = ["KernelPage", "alloc_page", "memcpy_to_page", "memcpy_from_page"]


@final
class KernelPage(metaclass=NoPublicConstructor):
    """A page from ``alloc_page()``: kernel memory, not a user page. Its data is
    the caller's to touch; ``put_page()`` releases it."""

    __slots__ = ("_page",)

    _page: Page

    _factory = "kernel pages come from alloc_page()"
    _kind = "kernel memory from alloc_page(), which put_page() frees"

    def __init__(self, folio: Folio) -> None:
        self._page = Page(folio, 0)

    @property
    def folio(self) -> Folio:
        return self._page.folio

    @property
    def pfn(self) -> int:
        return self._page.pfn

    def __repr__(self) -> str:
        return f"<KernelPage pfn={self.pfn:#x}>"


@entry_point
def alloc_page() -> KernelPage:
    """``alloc_page(GFP_KERNEL)``: a zeroed kernel page with one reference."""
    return KernelPage._create(alloc_folio(0))


def _data_page(page: AnyPin | KernelPage, fn: str, write: bool) -> Page:
    """The page whose data *fn* may touch: a live pin's (a write pin's, to
    write), or a live kernel page."""
    if type(page) is PinnedPage:
        return page._page(write)
    assert type(page) is KernelPage
    if page.folio.refcount() <= 0:
        raise err(errno.EINVAL, f"{fn}() on a KernelPage after put_page() freed it")
    return page._page


@entry_point
def memcpy_to_page(page: AnyPin | KernelPage, offset: int, data: bytes) -> None:
    """Copy *data* into the page at *offset*: only through a pin or a kernel page."""
    with kernel_lock:
        page_write(_data_page(page, "memcpy_to_page", True), offset, data)


@entry_point
def memcpy_from_page(page: AnyPin | KernelPage, offset: int, length: int) -> bytes:
    """Copy *length* bytes out of the page at *offset*: only through a pin or a
    kernel page."""
    with kernel_lock:
        return page_read(_data_page(page, "memcpy_from_page", False), offset, length)
