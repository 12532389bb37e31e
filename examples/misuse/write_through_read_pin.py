"""Writing page data through a pin taken without FOLL_WRITE.

A read pin may hold the shared zero page, or a page still shared
copy-on-write with another process: the write lands where the user never
sees it, or where another process does. Pin with FOLL_WRITE for the device
to write; when the flags are known only at run time, write through
``pins.for_write()``, which checks them (EPERM otherwise).
"""

from pinapi import (
    FOLL_WRITE, MM, PAGE_SIZE, VaddrPin, get_user_bvec, memcpy_to_page, sg_alloc_table_from_pages,
    for_each_sg, sg_page, vaddr_pin_pages,
)  # fmt: skip


def write_method_on_a_read_pin(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 1, 0, VaddrPin(mm=mm)) as pins:
        pins[0].write(0, b"DMA data")  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]


def memcpy_to_a_read_pin(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 1, 0, VaddrPin(mm=mm)) as pins:
        memcpy_to_page(pins[0], 0, b"DMA data")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def write_a_read_bvec_segment(mm: MM, buf: int) -> None:
    with get_user_bvec(buf, PAGE_SIZE, 0, VaddrPin(mm=mm)) as bvec:
        bvec[0].write(0, b"DMA data")  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]


def write_a_read_pin_out_of_an_sg_table(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 2, 0, VaddrPin(mm=mm)) as pins:
        for sg in for_each_sg(sg_alloc_table_from_pages(pins, 0, 2 * PAGE_SIZE)):
            sg_page(sg).write(0, b"DMA data")  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]


def for_write_on_a_read_pin(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 1, 0, VaddrPin(mm=mm)) as pins:
        pins.for_write()  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]


def write_before_checking_the_flags(mm: MM, buf: int) -> None:
    gup_flags = 0
    if mm.name == "writer":  # known only at run time
        gup_flags |= FOLL_WRITE
    with vaddr_pin_pages(buf, 1, gup_flags, VaddrPin(mm=mm)) as pins:
        memcpy_to_page(pins[0], 0, b"DMA data")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
