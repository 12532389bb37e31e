"""gup_flags from a conditional expression, held in a variable: ``flags =
write ? FOLL_WRITE : 0``. Which branch ran is known only at run time, so is
the pins' write permission: released with ``make_dirty=write``, written after
``for_write()``."""

from typing_extensions import assert_type

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MM, PAGE_SIZE, MaybeWrite, PinnedBvec, PinnedPages, VaddrPin,
    get_user_bvec, put_user_bvec, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip


def transfer(mm: MM, addr: int, nr_pages: int, write: bool) -> bytes:
    flags = FOLL_WRITE if write else 0
    pins = vaddr_pin_pages(addr, nr_pages, flags, VaddrPin(mm=mm))
    assert_type(pins, PinnedPages[MaybeWrite])
    if write:
        pins.for_write()[0].write(0, b"device data")
    data = pins[0].read(0, 11)
    unpin_user_pages_dirty_lock(pins, make_dirty=write)
    return data


def register_region(mm: MM, addr: int, length: int, writable: bool) -> None:
    """ib_umem_get()'s shape: FOLL_LONGTERM always, FOLL_WRITE if the region is writable."""
    flags = FOLL_LONGTERM | FOLL_WRITE if writable else FOLL_LONGTERM
    bvec = get_user_bvec(addr, length, flags, VaddrPin(mm=mm))
    assert_type(bvec, PinnedBvec[MaybeWrite])
    put_user_bvec(bvec, make_dirty=writable)


def scenario() -> None:
    mm = MM("conditional")
    buf = mm.mmap(2 * PAGE_SIZE)
    assert transfer(mm, buf, 1, write=True) == b"device data"
    assert transfer(mm, buf, 2, write=False) == b"device data"
    register_region(mm, buf, PAGE_SIZE, writable=False)
    register_region(mm, buf, 2 * PAGE_SIZE, writable=True)
    mm.exit()
