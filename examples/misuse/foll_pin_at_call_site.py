"""FOLL_PIN or FOLL_GET at a call site: GUP sets them itself.

They are absent from the contract; to the plain-reference calls a raw flag
value is not a gup_flags either. (The pin API takes an int, as flags built up
from 0 are one to the checkers, and refuses FOLL_PIN at run time, and
FOLL_GET with it, as is_valid_gup_args() does.) To pin, call
vaddr_pin_pages(); it sets FOLL_PIN.
"""

import pinapi
from pinapi import MM, VaddrPin, get_user_pages_remote, vaddr_pin_pages


def foll_pin_passed_to_the_pin_api(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 1, pinapi.FOLL_PIN, VaddrPin(mm=mm)):  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownArgumentType]
        pass


def foll_pin_by_value(mm: MM, buf: int) -> None:
    pages = get_user_pages_remote(mm, buf, 1, 0x20000)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    del pages


def foll_get_passed_to_get_user_pages(mm: MM, buf: int) -> None:
    pages = get_user_pages_remote(mm, buf, 1, pinapi.FOLL_GET)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownArgumentType]
    del pages
