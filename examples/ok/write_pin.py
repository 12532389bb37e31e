"""A write pin: taken with FOLL_WRITE, written by the device and dirtied on
release, by unpin_user_pages_dirty_lock() or put_user_bvec()."""

from typing_extensions import assert_type

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MM, PAGE_SIZE, PinnedBvec, PinnedPages, VaddrPin, Write, get_user_bvec,
    memcpy_to_page, put_user_bvec, unpin_user_pages_dirty_lock, vaddr_pin_pages, vaddr_unpin_pages_dirty_lock,
)  # fmt: skip


def receive(mm: MM, addr: int, nr_pages: int, data: bytes) -> None:
    pins = vaddr_pin_pages(addr, nr_pages, FOLL_WRITE, VaddrPin(mm=mm))
    assert_type(pins, PinnedPages[Write])
    for pin in pins:
        memcpy_to_page(pin, 0, data)
    unpin_user_pages_dirty_lock(pins, make_dirty=True)


def receive_longterm(mm: MM, addr: int, data: bytes) -> None:
    owner = VaddrPin(mm=mm)
    pins = vaddr_pin_pages(addr, 1, FOLL_LONGTERM | FOLL_WRITE, owner)
    assert_type(pins, PinnedPages[Write])
    pins[0].write(8, data)
    vaddr_unpin_pages_dirty_lock(pins, owner, True)


def receive_bvec(mm: MM, addr: int, data: bytes) -> None:
    bvec = get_user_bvec(addr, len(data), FOLL_WRITE, VaddrPin(mm=mm))
    assert_type(bvec, PinnedBvec[Write])
    bvec[0].write(0, data)
    put_user_bvec(bvec, make_dirty=True)


def scenario() -> None:
    mm = MM("writer")
    buf = mm.mmap(2 * PAGE_SIZE)
    receive(mm, buf, 2, b"incoming")
    receive_longterm(mm, buf, b"longterm")
    receive_bvec(mm, buf + PAGE_SIZE, b"segment!")
    assert mm.read(buf, 16) == b"incominglongterm"
    assert mm.read(buf + PAGE_SIZE, 8) == b"segment!"
    mm.exit()
