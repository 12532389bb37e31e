"""An sg table whose kind is left to the checker, or filled against it.

An empty table names what it will hold when it is allocated:
``sg_alloc_table(n, PinnedPage[Write])``. Left unnamed, checkers solve the
kind differently (or not at all, and then accept put_page() on what comes
out); filled with another kind or permission, what comes out is released the
wrong way.
"""

from pinapi import (
    FOLL_WRITE, MM, PAGE_SIZE, Page, PinnedPage, VaddrPin, Write, for_each_sg, sg_alloc_table, sg_set_page,
    vaddr_pin_pages,
)  # fmt: skip


def sg_table_of_no_kind(mm: MM, buf: int) -> None:
    sg_alloc_table(2)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def pin_into_a_table_of_pages(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 1, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        for sg in for_each_sg(sg_alloc_table(1, Page)):
            sg_set_page(sg, pins[0], PAGE_SIZE, 0)  # type: ignore[misc]  # pyright: ignore[reportArgumentType]


def read_pin_into_a_table_of_write_pins(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 1, 0, VaddrPin(mm=mm)) as pins:
        for sg in for_each_sg(sg_alloc_table(1, PinnedPage[Write])):
            sg_set_page(sg, pins[0], PAGE_SIZE, 0)  # type: ignore[misc]  # pyright: ignore[reportArgumentType]
