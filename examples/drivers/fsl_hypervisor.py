"""Freescale hypervisor memcpy ioctl: the hypervisor copies between this
partition's user buffer and another partition, by physical address.

drivers/virt/fsl_hypervisor.c: ioctl_memcpy() takes the local buffer with
``get_user_pages_fast(local_vaddr - lb_offset, num_pages, source != -1 ?
FOLL_WRITE : 0, pages)``, builds an ``fh_sg_list`` of physical addresses for
fh_partition_memcpy(), then put_page()s each page.

Case 1: a pin for the ioctl. The kernel has not converted this file: in
6.12.117 ioctl_memcpy() still takes get_user_pages_fast() references and
put_page()s them, undirtied. A pin is what the contract requires of a page
whose data the hypervisor writes, and the release dirties it.

Short result: 5.3 jumped to the exit without setting an error, returning
success for a partial copy (6.12.117 fails it with ``-EFAULT``); here the pin
either covers the buffer or raises.
"""

import errno
from typing import Final

from pinapi import PAGE_SIZE, FOLL_WRITE, VaddrPin, unpin_user_pages_dirty_lock, vaddr_pin_pages

from ._user import dma_write, expect_error, user_buffer

SUBSYSTEM: Final = "virt/fsl_hypervisor"
KERNEL_FILES: Final = ("drivers/virt/fsl_hypervisor.c",)
FUNCTIONS: Final = ("ioctl_memcpy",)
CASE: Final = 1
API: Final = "pin"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = "the kernel has not converted it (get_user_pages_fast + put_page, undirtied, in 6.12.117)"
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"drivers/virt/fsl_hypervisor.c": ("ioctl_memcpy",)}


def ioctl_memcpy(local_vaddr: int, count: int, to_local: bool, owner: VaddrPin) -> None:
    lb_offset = local_vaddr % PAGE_SIZE
    num_pages = (lb_offset + count + PAGE_SIZE - 1) // PAGE_SIZE
    pages = vaddr_pin_pages(local_vaddr - lb_offset, num_pages, FOLL_WRITE if to_local else 0, owner)
    if to_local:  # fh_partition_memcpy() through an fh_sg_list of the pages
        dma_write(pages.for_write(), b"partition 2")
    unpin_user_pages_dirty_lock(pages, make_dirty=to_local)


def scenario() -> None:
    with user_buffer("fsl partition", 2) as buf:
        ioctl_memcpy(buf.addr, 2 * PAGE_SIZE, to_local=True, owner=buf.owner)
        buf.expect_stamped(b"partition 2", range(2))
        expect_error(errno.EFAULT, lambda: ioctl_memcpy(buf.page(1), 2 * PAGE_SIZE, True, buf.owner))
