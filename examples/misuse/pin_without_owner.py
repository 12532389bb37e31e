"""A pin with no owner: struct vaddr_pin names the process (mm), the file, or
both, so every pin can be traced to who holds it; with neither it is -EINVAL.

Give VaddrPin(mm=...), VaddrPin(file=...) or both.
"""

from pinapi import FOLL_WRITE, MM, PAGE_SIZE, VaddrPin, get_user_bvec, vaddr_pin_pages


def vaddr_pin_pages_for_nobody(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 1, FOLL_WRITE, VaddrPin()):  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
        pass


def get_user_bvec_for_nobody(mm: MM, buf: int) -> None:
    with get_user_bvec(buf, PAGE_SIZE, FOLL_WRITE, VaddrPin(None, None)):  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
        pass
