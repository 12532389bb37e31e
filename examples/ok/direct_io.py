"""Case 1, direct I/O: pin for the transfer, DMA through the pins, unpin
dirtying what the device wrote."""

from typing import TYPE_CHECKING, Literal

from typing_extensions import assert_type

from pinapi import (
    FOLL_WRITE, MM, PAGE_SIZE, MaybeWrite, PinnedPage, PinnedPages, VaddrPin, Write, memcpy_from_page,
    memcpy_to_page, unpin_user_pages, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

if TYPE_CHECKING:
    from pinapi import GupFlags


def dio_flags(write_to_user: bool) -> "GupFlags[Write] | Literal[0]":
    """gup_flags are typed: the named FOLL_* constants or 0."""
    return FOLL_WRITE if write_to_user else 0


def dio_read(mm: MM, buf: int, nr_pages: int, write_to_user: bool) -> None:
    """The device fills the user buffer (a read(2) with O_DIRECT); which
    flags were passed is known only at run time, so is the permission."""
    pins = vaddr_pin_pages(buf, nr_pages, dio_flags(write_to_user), VaddrPin(mm=mm))
    assert_type(pins, PinnedPages[MaybeWrite])
    if write_to_user:
        for i, pin in enumerate(pins.for_write()):
            assert_type(pin, PinnedPage[Write])
            memcpy_to_page(pin, 0, bytes([i]) * 16)
    unpin_user_pages_dirty_lock(pins, make_dirty=write_to_user)


def dio_write(mm: MM, buf: int) -> bytes:
    """The device reads the user buffer (a write(2) with O_DIRECT)."""
    with vaddr_pin_pages(buf, 2, 0, VaddrPin(mm=mm)) as pins:
        data = memcpy_from_page(pins[0], 0, 4) + pins[1].read(0, 4)
    return data


def dio_release_early(mm: MM, buf: int) -> None:
    pins = vaddr_pin_pages(buf, 4, FOLL_WRITE, VaddrPin(mm=mm))
    unpin_user_pages(pins[:2])
    unpin_user_pages(p for p in pins if p.pinned)


def scenario() -> None:
    mm = MM("dio")
    buf = mm.mmap(8 * PAGE_SIZE)
    dio_read(mm, buf, 8, True)
    assert mm.read(buf + 3 * PAGE_SIZE, 16) == bytes([3]) * 16
    mm.write(buf, b"abcd")
    assert dio_write(mm, buf) == b"abcd" + bytes([1]) * 4
    dio_release_early(mm, buf)
    mm.exit()
