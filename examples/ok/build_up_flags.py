"""gup_flags built up across statements, the kernel's way: from 0, one bit at
a time. The checker cannot follow the bits (the variable is an int to mypy,
pyright and pyrefly), so the pins' write permission is known only at run
time: released with ``make_dirty=write``, the same run-time value, and
written after ``for_write()``, which checks it."""

from typing_extensions import assert_type

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MM, PAGE_SIZE, MaybeWrite, PinnedPages, VaddrPin, memcpy_to_page,
    unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip


def pin_user_buffer(mm: MM, addr: int, nr_pages: int, write: bool, longterm: bool) -> None:
    """``gup_flags = 0; if (write) gup_flags |= FOLL_WRITE;``"""
    gup_flags = 0
    if write:
        gup_flags |= FOLL_WRITE
    if longterm:
        gup_flags |= FOLL_LONGTERM
    pins = vaddr_pin_pages(addr, nr_pages, gup_flags, VaddrPin(mm=mm))
    assert_type(pins, PinnedPages[MaybeWrite])
    if write:
        for pin in pins.for_write():
            memcpy_to_page(pin, 0, b"device data")
    unpin_user_pages_dirty_lock(pins, make_dirty=write)


def scenario() -> None:
    mm = MM("build-up")
    buf = mm.mmap(4 * PAGE_SIZE)
    pin_user_buffer(mm, buf, 2, write=True, longterm=True)
    pin_user_buffer(mm, buf + 2 * PAGE_SIZE, 2, write=False, longterm=False)
    assert mm.read(buf + PAGE_SIZE, 11) == b"device data"
    mm.exit()
