"""Kernel-owned pages: a bounce buffer the driver may read and write freely,
filled from a pinned user page and released with put_page()."""

from typing_extensions import assert_type

from pinapi import (
    MM, PAGE_SIZE, KernelPage, VaddrPin, alloc_page, memcpy_from_page, memcpy_to_page,
    put_page, vaddr_pin_pages,
)  # fmt: skip


def bounce(mm: MM, buf: int) -> bytes:
    bounce_page = alloc_page()
    assert_type(bounce_page, KernelPage)
    with vaddr_pin_pages(buf, 1, 0, VaddrPin(mm=mm)) as pins:
        memcpy_to_page(bounce_page, 0, memcpy_from_page(pins[0], 0, 64))
    data = memcpy_from_page(bounce_page, 0, 64)
    put_page(bounce_page)
    return data


def scenario() -> None:
    mm = MM("bounce")
    buf = mm.mmap(PAGE_SIZE)
    mm.write(buf, b"z" * 64)
    assert bounce(mm, buf) == b"z" * 64
    mm.exit()
