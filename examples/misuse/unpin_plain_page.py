"""Unpinning a plain reference: get_user_pages()/follow_page() references and
kernel pages are not pins.

Unpinning one subtracts a pin's worth of references that were never added.
Drop a plain reference with put_page(); pin with vaddr_pin_pages() if the
page's data will be touched.
"""

from pinapi import (
    MM, PAGE_SIZE, alloc_page, for_each_sg, get_user_pages_remote, put_page,
    sg_alloc_table_from_pages, sg_page, unpin_user_page, unpin_user_pages,
    unpin_user_pages_dirty_lock, vaddr_unpin_pages_dirty_lock, VaddrPin,
)  # fmt: skip


def unpin_user_page_on_a_plain_page(mm: MM, buf: int) -> None:
    pages = get_user_pages_remote(mm, buf, 1, 0)
    try:
        unpin_user_page(pages[0])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    finally:
        put_page(pages[0])


def unpin_user_pages_on_plain_pages(mm: MM, buf: int) -> None:
    pages = get_user_pages_remote(mm, buf, 4, 0)
    try:
        unpin_user_pages(pages)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    finally:
        for page in pages:
            put_page(page)


def unpin_dirty_on_plain_pages(mm: MM, buf: int) -> None:
    pages = get_user_pages_remote(mm, buf, 2, 0)
    try:
        unpin_user_pages_dirty_lock(pages, True)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]
    finally:
        for page in pages:
            put_page(page)


def vaddr_unpin_on_plain_pages(mm: MM, buf: int) -> None:
    pages = get_user_pages_remote(mm, buf, 2, 0)
    try:
        vaddr_unpin_pages_dirty_lock(pages, VaddrPin(mm=mm), False)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]
    finally:
        for page in pages:
            put_page(page)


def unpin_a_plain_page_out_of_an_sg_table(mm: MM, buf: int) -> None:
    pages = get_user_pages_remote(mm, buf, 2, 0)
    sgt = sg_alloc_table_from_pages(pages, 0, 2 * PAGE_SIZE)
    try:
        unpin_user_pages(sg_page(sg) for sg in for_each_sg(sgt))  # type: ignore[misc]  # pyright: ignore[reportArgumentType]
    finally:
        for page in pages:
            put_page(page)


def unpin_a_kernel_page(mm: MM, buf: int) -> None:
    page = alloc_page()
    try:
        unpin_user_page(page)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    finally:
        put_page(page)
