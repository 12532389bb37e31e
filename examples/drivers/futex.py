"""Futex keys: a futex word is identified by what backs it, so waiters in
different processes sharing a mapping meet on one key.

kernel/futex.c: get_futex_key() takes the page with
``get_user_pages_fast(address, 1, FOLL_WRITE, &page)`` (read-only again on
EFAULT for a read-only futex), reads ``page->mapping``, the index and the
inode to build the key, and put_page()s it before returning.

Case 4: only ``struct page`` is used, never the page's data (the futex value
is read with get_user() through the mapping): a plain reference, as the
kernel still does. In 6.12.117 (kernel/futex/core.c) get_futex_key() takes
the page only for a FLAGS_SHARED futex, reads its folio's mapping and drops it
with folio_put(); a private futex's key is (mm, address) with no page taken,
as it already was in 2019. Only private mappings are modelled, and the model
still takes the page for their key, as the shared path would, so that the
call site is there to check; a shared mapping's key (inode, page index) would
come from the same page.

Short result: one page; none is EFAULT.
"""

import errno
from typing import Final

from pinapi import MM, FOLL_WRITE, PAGE_SIZE, KernelError, get_user_pages_remote, put_page

from ._user import expect_error, user_buffer

SUBSYSTEM: Final = "kernel/futex"
KERNEL_FILES: Final = ("kernel/futex.c",)
FUNCTIONS: Final = ("get_futex_key",)
CASE: Final = 4
API: Final = "plain reference"
CONTAINER: Final = "single page"
RELEASE: Final = "put_page"
JUDGEMENT: Final = "a page is taken here for a private futex's key; 6.12.117 takes one only for FLAGS_SHARED futexes"
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"kernel/futex.c": (), "kernel/futex/core.c": ("get_futex_key",)}

def get_futex_key(mm: MM, uaddr: int, ro: bool = False) -> tuple[MM, int]:
    """The key of a private futex; EFAULT if nothing can back *uaddr*."""
    address = uaddr - uaddr % PAGE_SIZE
    try:
        (page,) = get_user_pages_remote(mm, address, 1, 0 if ro else FOLL_WRITE)
    except KernelError as e:
        if ro or e.errno != errno.EFAULT:
            raise
        return get_futex_key(mm, uaddr, ro=True)
    put_page(page)
    return mm, uaddr


def scenario() -> None:
    with user_buffer("futex waiter", 2, fill=b"\x00\x00\x00\x00") as buf:
        assert get_futex_key(buf.mm, buf.addr + 16) == (buf.mm, buf.addr + 16)
        buf.expect_untouched(range(2))
        expect_error(errno.EFAULT, lambda: get_futex_key(buf.mm, buf.page(2)))
    with user_buffer("futex ro", 1, writable=False) as ro:
        assert get_futex_key(ro.mm, ro.addr) == (ro.mm, ro.addr)
