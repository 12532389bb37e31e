"""The plain-reference API: ``get_user_pages()`` and ``struct page`` calls.

These take and drop ordinary references (FOLL_GET). They are right for code
that only manipulates ``struct page`` (cases 3 and 4 of pin_user_pages.rst) and
wrong for code that touches the page's data, which must pin.

Partial results follow the kernel: ``get_user_pages()`` returns the pages it got,
possibly fewer than asked, and the caller must ``put_page()`` each one; it
raises only when it got none.
"""

from __future__ import annotations

import errno
from collections import Counter
from collections.abc import Iterable

from typing_extensions import deprecated

from ._mm.debug import debug
from ._mm.errors import err
from ._mm.gup import FOLL, FOLL_GET, get_user_pages_locked, grab_folio, gup_fast_fallback, put_folio_refs
from ._mm.gup_cost import PAGE_POINTER_BYTES, counting
from ._highmem import KernelPage
from ._mm.mm_types import VM, VMA
from ._mm.mmap import MM
from ._mm.page_alloc import PG, Page, folio_put_check, kernel_lock
from ._pin import folio_mark_dirty
from ._mm.kthread import current_mm
from ._mm.validate import entry_point

__all__ = [
    "get_user_pages",
    "get_user_pages_remote",
    "get_user_pages_fast",
    "get_user_pages_fast_only",
    "follow_page",
    "get_page",
    "put_page",
    "release_pages",
    "set_page_dirty",
    "set_page_dirty_lock",
]


def _as_page(page: Page | KernelPage) -> Page:
    """The ``Page`` a struct-page call works on: a kernel page's own."""
    return page._page if type(page) is KernelPage else page


@entry_point
def get_user_pages_remote(mm: MM, start: int, nr_pages: int, gup_flags: int) -> list[Page]:
    """Take a plain reference on up to *nr_pages* pages of *mm* from *start*.
    A short list is a partial result the caller owns; raises if none."""
    with kernel_lock:
        pages: list[Page] = []
        _, error, _ = get_user_pages_locked(mm, start, nr_pages, gup_flags, FOLL.GET, pages)
        if error is not None and not pages:
            raise error
        return pages


@entry_point
def get_user_pages_fast(start: int, nr_pages: int, gup_flags: int) -> list[Page]:
    """``get_user_pages_fast()``: plain references on up to *nr_pages* pages
    of the current MM, GUP-fast first (no mmap lock, never faults), the slow
    path for the rest. A short list is a partial result the caller owns;
    raises if none."""
    with kernel_lock:
        pages: list[Page] = []
        _, error, _ = gup_fast_fallback(current_mm(), start, nr_pages, gup_flags, FOLL.GET, pages)
        if error is not None and not pages:
            raise error
        return pages


@entry_point
def get_user_pages_fast_only(start: int, nr_pages: int, gup_flags: int) -> list[Page]:
    """``get_user_pages_fast_only()`` (FOLL_FAST_ONLY): GUP-fast alone, no
    slow path; the pages it took without faulting, maybe none."""
    with kernel_lock:
        pages: list[Page] = []
        gup_fast_fallback(current_mm(), start, nr_pages, gup_flags, FOLL.GET | FOLL.FAST_ONLY, pages)
        return pages


@deprecated("get_user_pages() takes plain references: to touch page data use vaddr_pin_pages()")
@entry_point
def get_user_pages(start: int, nr_pages: int, gup_flags: int) -> list[Page]:
    """``get_user_pages_remote()`` on the current MM."""
    return get_user_pages_remote(current_mm(), start, nr_pages, gup_flags)


@entry_point
def follow_page(vma: VMA, address: int, foll_flags: int = 0) -> Page | None:
    """The page mapped at *address* with a plain reference, or None if nothing
    is mapped there (or, with FOLL_WRITE, not writable); never faults. For
    code that only touches ``struct page``. FOLL_FORCE lets FOLL_WRITE follow
    a private mapping without write permission to a page whose COW is already
    broken (``can_follow_write_pte()``)."""
    with kernel_lock:
        flags = FOLL(foll_flags)
        if flags & ~(FOLL.WRITE | FOLL.FORCE):
            raise err(errno.EINVAL, "follow_page() takes only FOLL_WRITE and FOLL_FORCE")
        if not vma.vm_start <= address < vma.vm_end:
            raise err(errno.EFAULT, f"{address:#x} is outside {vma!r}")
        page = vma.vm_mm.pgtable.lookup(address & ~0xFFF)
        cost = counting.active
        if cost is not None:  # one leaf read, under its page-table lock unless the PMD is empty
            cost.ptes += 1
            cost.locks += vma.vm_mm.pgtable.pmd(address) is not None
            cost.touch_pages(() if page is None else (page,))
        if page is None or (flags & FOLL.WRITE and not _can_follow_write(vma, page, flags)):
            return None
        if not grab_folio(page.folio, 1, FOLL_GET):
            raise err(errno.ENOMEM, f"_refcount of {page.folio!r} reads <= 0: it has overflowed")
        return page


def _can_follow_write(vma: VMA, page: Page, flags: FOLL) -> bool:
    """A writable mapping, or FOLL_FORCE on a private one whose page is an
    exclusive anonymous copy."""
    if vma.vm_flags & VM.WRITE:
        return True
    return bool(flags & FOLL.FORCE) and not vma.is_shared and bool(page.folio.flags & PG.anon_exclusive)


@entry_point
def get_page(page: Page | KernelPage) -> None:
    """Take one more plain reference on a page the caller holds."""
    page = _as_page(page)
    with kernel_lock:
        cost = counting.active
        if cost is not None:
            cost.touch_pages((page,))  # page_folio()
        if not grab_folio(page.folio, 1, FOLL_GET):
            raise err(errno.ENOMEM, f"_refcount of {page.folio!r} reads <= 0: it has overflowed")


@entry_point
def put_page(page: Page | KernelPage) -> None:
    """Drop one plain reference. With the debug pin counter on, warns when
    that reference belongs to a live pin."""
    page = _as_page(page)
    with kernel_lock:
        if debug.enabled:
            debug.check_put(page.folio)
        cost = counting.active
        if cost is not None:
            cost.touch_pages((page,))  # page_folio()
        put_folio_refs(page.folio, 1, FOLL_GET)


@entry_point
def release_pages(pages: Iterable[Page]) -> None:
    """``put_page()`` each page; all are checked before any is dropped (a page
    listed twice loses two references)."""
    with kernel_lock:
        drops = Counter(page.folio for page in pages)
        for page in pages:
            if debug.enabled:
                debug.check_put(page.folio)
        for folio, refs in drops.items():
            if not folio.test(PG.reserved):
                folio_put_check(folio, refs)
        cost = counting.active
        if cost is not None:  # each entry read, page_folio() of each
            cost.array(sum(drops.values()), PAGE_POINTER_BYTES)
            cost.touch_pages(pages)
        for page in pages:
            put_folio_refs(page.folio, 1, FOLL_GET)


@entry_point
def set_page_dirty(page: Page) -> None:
    """Mark the page's folio dirty; the caller holds the folio lock or knows
    the mapping cannot go away."""
    with kernel_lock:
        folio_mark_dirty(page.folio)


@entry_point
def set_page_dirty_lock(page: Page) -> None:
    """Lock the folio, mark it dirty, unlock it."""
    with kernel_lock:
        folio = page.folio
        cost = counting.active
        if cost is not None:
            cost.locks += 1  # folio_lock()
        folio.flags |= PG.locked
        folio_mark_dirty(folio)
        folio.flags &= ~PG.locked
