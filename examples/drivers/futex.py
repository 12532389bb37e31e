"""Futex keys: a futex word is identified by what backs it, so waiters in
different processes sharing a mapping meet on one key.

kernel/futex.c: get_futex_key() takes the page with
``get_user_pages_fast(address, 1, FOLL_WRITE, &page)`` (read-only again on
EFAULT for a read-only futex), reads ``page->mapping``, the index and the
inode to build the key, and put_page()s it before returning.

Case 4: only ``struct page`` is used, never the page's data (the futex value
is read with get_user() through the mapping): a plain reference, as the
kernel still does. Only private mappings are modelled: their key is (mm,
address), once the page shows the address is backed; a shared mapping's key
(inode, page index) would come from the same page.

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
JUDGEMENT: Final = ""

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
