"""A read pin: the device only reads the user's pages (a write(2) with
O_DIRECT, a crypto source buffer). No FOLL_WRITE, so the pages are released
clean, and nothing can write through them."""

from typing_extensions import assert_type

from pinapi import (
    MM, PAGE_SIZE, PinnedBvec, PinnedPages, Read, VaddrPin, get_user_bvec, memcpy_from_page,
    put_user_bvec, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip


def send(mm: MM, addr: int, nr_pages: int) -> bytes:
    pins = vaddr_pin_pages(addr, nr_pages, 0, VaddrPin(mm=mm))
    assert_type(pins, PinnedPages[Read])
    data = b"".join(memcpy_from_page(pin, 0, 8) for pin in pins)
    unpin_user_pages_dirty_lock(pins, make_dirty=False)
    return data


def send_bvec(mm: MM, addr: int, length: int) -> bytes:
    bvec = get_user_bvec(addr, length, 0, VaddrPin(mm=mm))
    assert_type(bvec, PinnedBvec[Read])
    data = b"".join(seg.read() for seg in bvec)
    put_user_bvec(bvec, False)
    return data


def scenario() -> None:
    mm = MM("reader")
    buf = mm.mmap(2 * PAGE_SIZE)
    mm.write(buf, b"outgoing")
    assert send(mm, buf, 2) == b"outgoing" + bytes(8)
    assert send_bvec(mm, buf, 8) == b"outgoing"
    mm.exit()
