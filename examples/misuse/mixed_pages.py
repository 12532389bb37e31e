"""One list or sg table mixing pinned and plain pages.

Nothing can release such a list correctly: unpin refuses the plain pages,
put_page refuses the pins. Keep pins and plain references apart; a table holds
one kind (SgTable[PinnedPage] or SgTable[Page]).
"""

from pinapi import (
    FOLL_WRITE, MM, PAGE_SIZE, Page, PinnedPage, SgTable, VaddrPin, Write, for_each_sg,
    get_user_pages_remote, put_page, release_pages, sg_alloc_table,
    sg_alloc_table_from_pages, sg_set_page, unpin_user_pages, vaddr_pin_pages,
)  # fmt: skip


def unpin_a_mixed_list(mm: MM, buf: int) -> None:
    plain = get_user_pages_remote(mm, buf, 1, 0)
    try:
        with vaddr_pin_pages(buf + PAGE_SIZE, 1, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
            unpin_user_pages([pins[0], plain[0]])  # type: ignore[list-item]  # pyright: ignore[reportArgumentType]
    finally:
        put_page(plain[0])


def release_a_mixed_list(mm: MM, buf: int) -> None:
    plain = get_user_pages_remote(mm, buf, 1, 0)
    try:
        with vaddr_pin_pages(buf + PAGE_SIZE, 1, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
            release_pages([plain[0], pins[0]])  # type: ignore[list-item]  # pyright: ignore[reportArgumentType]
    finally:
        put_page(plain[0])


def sg_table_from_mixed_pages(mm: MM, buf: int) -> None:
    plain = get_user_pages_remote(mm, buf, 1, 0)
    try:
        with vaddr_pin_pages(buf + PAGE_SIZE, 1, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
            sg_alloc_table_from_pages([pins[0], plain[0]], 0, 2 * PAGE_SIZE)  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]
    finally:
        put_page(plain[0])


def plain_page_into_a_pinned_table(mm: MM, buf: int) -> None:
    plain = get_user_pages_remote(mm, buf, 1, 0)
    try:
        with vaddr_pin_pages(buf + PAGE_SIZE, 2, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
            sgt = sg_alloc_table_from_pages(pins, 0, 2 * PAGE_SIZE)
            for sg in for_each_sg(sgt):
                sg_set_page(sg, plain[0], PAGE_SIZE, 0)  # type: ignore[misc]  # pyright: ignore[reportArgumentType]
    finally:
        put_page(plain[0])


def pin_into_a_table_of_plain_pages(mm: MM, buf: int) -> None:
    plain = get_user_pages_remote(mm, buf, 1, 0)
    try:
        with vaddr_pin_pages(buf + PAGE_SIZE, 1, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
            sgt = sg_alloc_table(2, Page)
            slots = list(for_each_sg(sgt))
            sg_set_page(slots[0], plain[0], PAGE_SIZE, 0)
            sg_set_page(slots[1], pins[0], PAGE_SIZE, 0)  # type: ignore[misc]  # pyright: ignore[reportArgumentType]
    finally:
        put_page(plain[0])


def a_table_typed_to_hold_both(sgt: SgTable[PinnedPage[Write] | Page]) -> int:  # type: ignore[type-var]  # pyright: ignore[reportInvalidTypeArguments]
    return sgt.nents
