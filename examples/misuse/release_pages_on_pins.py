"""release_pages() on pinned pages: it drops plain references only.

Use unpin_user_pages(), or unpin_user_pages_dirty_lock() after DMA wrote them.
"""

from pinapi import FOLL_WRITE, MM, VaddrPin, release_pages, vaddr_pin_pages


def release_pages_on_a_pin_batch(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 4, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        release_pages(pins)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def release_pages_on_a_slice_of_pins(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 4, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        release_pages(pins[:2])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
