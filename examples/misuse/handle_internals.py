"""Reaching into a handle's internals to get at the page behind a pin.

A PinnedPage is opaque: no Page comes out of it, so nothing but the unpin calls
can release it. Data goes through the pin (pin.write(), memcpy_to_page(pin));
release through unpin_user_page().
"""

from pinapi import FOLL_WRITE, MM, VaddrPin, put_page, vaddr_pin_pages


def page_out_of_a_pin(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 1, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        page = pins[0]._page()  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownVariableType]
        put_page(page)  # pyright: ignore[reportUnknownArgumentType]


def pages_out_of_a_pin_batch(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 2, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        put_page(pins._record.pages[0])  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownArgumentType]


def swap_a_pin_in_a_batch(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 2, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        pins[0] = pins[1]  # type: ignore[index]  # pyright: ignore[reportIndexIssue]
