"""Xen privcmd dm_op: the hypervisor reads and writes the ioctl's user
buffers (device-model operations).

drivers/xen/privcmd.c: lock_pages() pins each dm_op buffer with
``get_user_pages_fast(kbufs[i].uptr, requested, FOLL_WRITE, pages)`` into one
array sized for the maximum, whose unused tail stays NULL; unlock_pages()
put_page()s the non-NULL slots. (Review of the series: put_user_pages() did
not skip NULL.)

Case 1: a pin for the ioctl (in 6.12.117 lock_pages() calls
pin_user_pages_fast() with FOLL_WRITE and unlock_pages() is
``unpin_user_pages_dirty_lock(pages, nr_pages, true)``). Here each
buffer is its own ``PinnedPages``, so there are no NULL slots to skip: what
was pinned is exactly what is released.

Short result: 5.3 advanced past a short count and under-pinned; here a
buffer is pinned whole or the ioctl fails, after unpinning the buffers
already locked.
"""

import errno
from typing import Final

from pinapi import (
    FOLL_WRITE, KernelError, PAGE_SIZE, PinnedPages, VaddrPin, Write, unpin_user_pages_dirty_lock,
    vaddr_pin_pages,
)  # fmt: skip

from ._user import dma_write, expect_error, user_buffer

SUBSYSTEM: Final = "xen"
KERNEL_FILES: Final = ("drivers/xen/privcmd.c",)
FUNCTIONS: Final = ("lock_pages", "unlock_pages", "privcmd_ioctl_dm_op")
CASE: Final = 1
API: Final = "pin"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"drivers/xen/privcmd.c": ("lock_pages", "unlock_pages")}


def unlock_pages(locked: list[PinnedPages[Write]]) -> None:
    for pages in locked:
        unpin_user_pages_dirty_lock(pages, make_dirty=True)


def lock_pages(kbufs: list[tuple[int, int]], owner: VaddrPin) -> list[PinnedPages[Write]]:
    """Pin each (uptr, size) buffer; on failure unpin the ones locked."""
    locked: list[PinnedPages[Write]] = []
    try:
        for uptr, size in kbufs:
            first = uptr - uptr % PAGE_SIZE
            requested = (uptr + size - first + PAGE_SIZE - 1) // PAGE_SIZE
            locked.append(vaddr_pin_pages(first, requested, FOLL_WRITE, owner))
    except KernelError:
        unlock_pages(locked)
        raise
    return locked


def privcmd_ioctl_dm_op(kbufs: list[tuple[int, int]], owner: VaddrPin) -> None:
    locked = lock_pages(kbufs, owner)
    for pages in locked:  # HYPERVISOR_dm_op
        dma_write(pages, b"dm_op")
    unlock_pages(locked)


def scenario() -> None:
    with user_buffer("qemu dm", 4) as buf:
        privcmd_ioctl_dm_op([(buf.addr, 16), (buf.page(2) + 8, PAGE_SIZE)], buf.owner)
        buf.expect_stamped(b"dm_op", [0])
        buf.expect(2, b"dm_op#0")
        buf.expect(3, b"dm_op#1")
        buf.expect_untouched([1])
        past_the_end = [(buf.addr, 8), (buf.page(3), 2 * PAGE_SIZE)]
        expect_error(errno.EFAULT, lambda: privcmd_ioctl_dm_op(past_the_end, buf.owner))
