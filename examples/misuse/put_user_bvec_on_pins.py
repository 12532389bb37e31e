"""put_user_bvec() on per-page pins from vaddr_pin_pages(): they are not a bvec.

Release per-page pins with unpin_user_pages() / unpin_user_pages_dirty_lock().
"""

from pinapi import FOLL_WRITE, MM, VaddrPin, put_user_bvec, vaddr_pin_pages


def put_user_bvec_on_a_pin_batch(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 2, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        put_user_bvec(pins, True)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]


def put_user_bvec_on_a_list_of_pins(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 2, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        put_user_bvec(list(pins), False)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
