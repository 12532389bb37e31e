"""gup_flags the way kernel code builds them: from 0, one bit at a time, or a
conditional expression. Flags the checker cannot follow give a pin whose write
permission is known only at run time: released with ``make_dirty=write``, the
same run-time value, and written after ``for_write()``, which checks it."""

from typing_extensions import assert_type

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MM, PAGE_SIZE, MaybeWrite, PinnedBvec, PinnedPages, VaddrPin,
    get_user_bvec, memcpy_to_page, put_user_bvec, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip


def build_up(mm: MM, addr: int, nr_pages: int, write: bool, longterm: bool) -> None:
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


def conditional(mm: MM, addr: int, nr_pages: int, write: bool) -> bytes:
    """``flags = write ? FOLL_WRITE : 0``, held in a variable."""
    flags = FOLL_WRITE if write else 0
    pins = vaddr_pin_pages(addr, nr_pages, flags, VaddrPin(mm=mm))
    assert_type(pins, PinnedPages[MaybeWrite])
    data = pins[0].read(0, 11)
    unpin_user_pages_dirty_lock(pins, make_dirty=write)
    return data


def conditional_longterm(mm: MM, addr: int, length: int, writable: bool) -> None:
    """ib_umem_get()'s shape: FOLL_LONGTERM always, FOLL_WRITE if the region is writable."""
    flags = FOLL_LONGTERM | FOLL_WRITE if writable else FOLL_LONGTERM
    bvec = get_user_bvec(addr, length, flags, VaddrPin(mm=mm))
    assert_type(bvec, PinnedBvec[MaybeWrite])
    put_user_bvec(bvec, make_dirty=writable)


def scenario() -> None:
    mm = MM("flags")
    buf = mm.mmap(4 * PAGE_SIZE)
    build_up(mm, buf, 2, write=True, longterm=True)
    build_up(mm, buf + 2 * PAGE_SIZE, 2, write=False, longterm=False)
    assert mm.read(buf + PAGE_SIZE, 11) == b"device data"
    assert conditional(mm, buf, 1, write=False) == b"device data"
    conditional_longterm(mm, buf, PAGE_SIZE, writable=False)
    mm.exit()
