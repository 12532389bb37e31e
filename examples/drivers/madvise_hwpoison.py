"""MADV_HWPOISON / MADV_SOFT_OFFLINE: inject a memory error into the page
behind a user address.

mm/madvise.c: madvise_inject_error() takes the page with
``get_user_pages_fast(start, 1, 0, &page)``; an already-poisoned page is
put_page()d (the line the series changed), otherwise the reference is handed
to memory_failure() or soft_offline_page().

Case 4: only ``struct page`` (its pfn, its flags) is used: a plain reference,
as the kernel still does. In 6.12.117 madvise_inject_error() takes the page
with get_user_pages_fast() and hands the reference to memory_failure() or
soft_offline_page() (MF_COUNT_INCREASED), as in 2019; the put of an already
poisoned page, the line the series changed, is no longer in this function.
Here the page is put before the error is recorded, since memory_failure()'s
part is not modelled.

Short result: one page; none is the error.
"""

import errno
from typing import Final

from pinapi import MM, PAGE_SIZE, get_user_pages_remote, put_page

from ._user import expect_error, user_buffer

SUBSYSTEM: Final = "mm"
KERNEL_FILES: Final = ("mm/madvise.c",)
FUNCTIONS: Final = ("madvise_inject_error",)
CASE: Final = 4
API: Final = "plain reference"
CONTAINER: Final = "single page"
RELEASE: Final = "put_page"
JUDGEMENT: Final = (
    "the reference is put here before the pfn is recorded; 6.12.117 hands it to memory_failure() "
    "(MF_COUNT_INCREASED)"
)
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"mm/madvise.c": ("madvise_inject_error",)}


def madvise_inject_error(mm: MM, start: int, end: int, poisoned: set[int]) -> None:
    """Record each page's pfn as poisoned (memory_failure()'s part is not modelled)."""
    for addr in range(start, end, PAGE_SIZE):
        (page,) = get_user_pages_remote(mm, addr, 1, 0)
        pfn = page.pfn
        put_page(page)
        poisoned.add(pfn)


def scenario() -> None:
    poisoned: set[int] = set()
    with user_buffer("mce-test", 2) as buf:
        madvise_inject_error(buf.mm, buf.addr, buf.page(2), poisoned)
        madvise_inject_error(buf.mm, buf.addr, buf.page(1), poisoned)  # already poisoned
        assert len(poisoned) == 2
        expect_error(errno.EFAULT, lambda: madvise_inject_error(buf.mm, buf.page(2), buf.page(3), poisoned))
