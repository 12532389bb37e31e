"""Goldfish pipe: the emulator reads or writes a user buffer by physical
address for one read()/write() call.

drivers/platform/goldfish/goldfish_pipe.c: the driver's own static
pin_user_pages() (a name the kernel API took later) calls
``get_user_pages_fast(first_page, n, !is_write ? FOLL_WRITE : 0)``;
release_user_pages() in transfer_max_buffers() does ``set_page_dirty()`` when
the emulator wrote and consumed data, then ``put_page()``.

Case 1: short-lived DMA-like access, a pin without FOLL_LONGTERM, as in
6.12.117: the driver's pinning function is now goldfish_pin_pages(), calling
pin_user_pages_fast(), and transfer_max_buffers() releases with
``unpin_user_pages_dirty_lock(pages, n, !is_write && consumed > 0)``.

Short result: accepted; the transfer is truncated to the pages pinned. Here
the pipe asks for what it can take (at most MAX_BUFFERS_PER_COMMAND pages)
and loops, so an all-or-nothing pin gives the same truncation.
"""

from typing import Final

from pinapi import PAGE_SIZE, FOLL_WRITE, VaddrPin, unpin_user_pages_dirty_lock, vaddr_pin_pages

from ._user import dma_write, user_buffer

SUBSYSTEM: Final = "platform/goldfish"
KERNEL_FILES: Final = ("drivers/platform/goldfish/goldfish_pipe.c",)
FUNCTIONS: Final = ("goldfish_pipe_read_write", "transfer_max_buffers", "release_user_pages")
CASE: Final = 1
API: Final = "pin"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"drivers/platform/goldfish/goldfish_pipe.c": ("goldfish_pin_pages", "transfer_max_buffers")}

MAX_BUFFERS_PER_COMMAND: Final = 2


def transfer_max_buffers(address: int, nr_pages: int, is_write: bool, owner: VaddrPin) -> int:
    """One command: pin up to MAX_BUFFERS_PER_COMMAND pages, let the emulator
    transfer, release. Returns the pages consumed."""
    n = min(nr_pages, MAX_BUFFERS_PER_COMMAND)
    pages = vaddr_pin_pages(address, n, 0 if is_write else FOLL_WRITE, owner)
    if not is_write:
        dma_write(pages.for_write(), b"emulator")
    unpin_user_pages_dirty_lock(pages, make_dirty=not is_write and n > 0)
    return n


def goldfish_pipe_read(address: int, nr_pages: int, owner: VaddrPin) -> None:
    done = 0
    while done < nr_pages:
        done += transfer_max_buffers(address + done * PAGE_SIZE, nr_pages - done, False, owner)


def scenario() -> None:
    with user_buffer("goldfish", 5) as buf:
        goldfish_pipe_read(buf.addr, 5, buf.owner)
        buf.expect_stamped(b"emulator", [0, 1])
        buf.expect(2, b"emulator#0")
        buf.expect(4, b"emulator#0")
