"""Storing pins where plain pages are expected, so the release that follows
looks right: a list typed list[Page], or a bare SgTable that forgets its kind.

The handle type is the only thing telling a later reader how to release a
page; keep it: list[PinnedPage], SgTable[PinnedPage], released with
unpin_user_pages().
"""

from pinapi import (
    FOLL_WRITE, MM, PAGE_SIZE, Page, SgTable, VaddrPin, for_each_sg, put_page, release_pages,
    sg_alloc_table_from_pages, sg_page, vaddr_pin_pages,
)  # fmt: skip


def pins_in_a_list_of_pages(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 2, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        pages: list[Page] = list(pins)  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]
        release_pages(pages)


def pins_in_a_bare_sg_table(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 2, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        sgt: SgTable = sg_alloc_table_from_pages(pins, 0, 2 * PAGE_SIZE)  # type: ignore[type-arg]  # pyright: ignore[reportMissingTypeArgument]
        for sg in for_each_sg(sgt):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
            put_page(sg_page(sg))  # pyright: ignore[reportUnknownArgumentType]
