"""A struct-page call that takes or drops plain references, on a pin.

get_page() on a pin adds a plain reference no unpin will drop;
set_page_dirty_lock() is for plain references: dirty pinned pages with
unpin_user_pages_dirty_lock(pins, make_dirty=True).
"""

from pinapi import FOLL_WRITE, MM, VaddrPin, get_page, set_page_dirty_lock, vaddr_pin_pages


def get_page_on_a_pin(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 1, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        get_page(pins[0])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def set_page_dirty_lock_on_a_pin(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 1, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        set_page_dirty_lock(pins[0])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
