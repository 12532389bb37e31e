"""put_page() on a pinned page: a pin is not a plain reference.

On a small folio a pin is 1024 references; put_page() drops one and leaves the
page unfreeable forever. Use unpin_user_page() / unpin_user_pages().
"""

from pinapi import FOLL_WRITE, MM, VaddrPin, put_page, vaddr_pin_pages


def put_page_on_a_pin(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 1, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        put_page(pins[0])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def put_page_on_each_pin(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 4, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        for page in pins:
            put_page(page)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
