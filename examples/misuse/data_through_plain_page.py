"""Touching a page's data through a plain reference (pin_user_pages.rst case 5).

get_user_pages() + write + put_page() is the bug pins were made for: writeback
and the page's other users cannot see the access. A plain reference allows
struct-page calls only. Pin with vaddr_pin_pages() and write through the pin
(memcpy_to_page(pin, ...)), or use a kernel page from alloc_page().
"""

from pinapi import (
    MM, follow_page, get_user_pages_remote, memcpy_from_page, memcpy_to_page, put_page,
)  # fmt: skip


def memcpy_to_a_plain_page(mm: MM, buf: int) -> None:
    pages = get_user_pages_remote(mm, buf, 1, 0)
    try:
        memcpy_to_page(pages[0], 0, b"DMA data")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    finally:
        put_page(pages[0])


def memcpy_from_a_plain_page(mm: MM, buf: int) -> None:
    pages = get_user_pages_remote(mm, buf, 1, 0)
    try:
        memcpy_from_page(pages[0], 0, 8)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    finally:
        put_page(pages[0])


def memcpy_to_a_followed_page(mm: MM, buf: int) -> None:
    vma = mm.find_vma(buf)
    assert vma is not None
    page = follow_page(vma, buf)
    assert page is not None
    try:
        memcpy_to_page(page, 0, b"DMA data")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    finally:
        put_page(page)


def write_method_on_a_plain_page(mm: MM, buf: int) -> None:
    pages = get_user_pages_remote(mm, buf, 1, 0)
    try:
        pages[0].write(0, b"DMA data")  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    finally:
        put_page(pages[0])
