"""Functions generic over the write permission: they read and release pins of
any permission, and hand back the caller's pins with theirs. (An sg table is
built where the permission is known: its kinds are a list, which pyright
cannot solve from a permission variable.)"""

from typing import TypeVar

from typing_extensions import assert_type

from pinapi import (
    FOLL_WRITE, MM, PAGE_SIZE, Permission, PinnedPage, PinnedPages, Read, SgTable, VaddrPin, Write,
    sg_alloc_table_from_pages, sg_free_table, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

P = TypeVar("P", bound=Permission)


def checksum(pins: PinnedPages[P]) -> int:
    """What a device computes over the pages: reads only, any pin."""
    return sum(b for pin in pins for b in pin.read(0, 16))


def first_page(pins: PinnedPages[P]) -> PinnedPage[P]:
    return pins[0]


def release(pins: PinnedPages[P]) -> int:
    """Unpin without dirtying, whatever the permission; returns how many."""
    n = pins.nr_pinned
    unpin_user_pages_dirty_lock(pins, make_dirty=False)
    return n


def scenario() -> None:
    mm = MM("generic")
    buf = mm.mmap(2 * PAGE_SIZE)
    mm.write(buf, b"\x01" * 16)
    reader = vaddr_pin_pages(buf, 2, 0, VaddrPin(mm=mm))
    writer = vaddr_pin_pages(buf, 2, FOLL_WRITE, VaddrPin(mm=mm))
    assert_type(first_page(reader), PinnedPage[Read])
    assert_type(first_page(writer), PinnedPage[Write])
    first_page(writer).write(0, b"\x02" * 16)
    assert checksum(reader) == checksum(writer) == 32
    table: SgTable[PinnedPage[Write]] = sg_alloc_table_from_pages(writer, 0, 2 * PAGE_SIZE)
    sg_free_table(table)
    assert release(reader) == release(writer) == 2
    mm.exit()
