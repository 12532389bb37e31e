"""Balance gallery: pins and references that some path leaves held. Each
``# balance:`` comment marks a line ``pinapi check`` must report, with its rule.

The shape every one of these has in the kernel: a driver pins, hits an
error, and leaves without unpinning.
"""

import errno
from collections.abc import Iterator
from typing import Annotated, TypeVar

from pinapi import (
    FOLL_WRITE, KernelError, MM, PAGE_SIZE, PinnedPages, VaddrPin, Write, alloc_page, follow_page,
    get_user_bvec, get_user_pages_remote, memcpy_from_page, memcpy_to_page, put_page, put_user_bvec,
    unpin_user_pages, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

_T = TypeVar("_T")
Owned = Annotated[_T, "pinapi.owned"]


def early_return_on_a_bad_length(owner: VaddrPin, addr: int, length: int) -> int:
    pins = vaddr_pin_pages(addr, 4, FOLL_WRITE, owner)
    if length > 4 * PAGE_SIZE:
        return -errno.EINVAL  # balance: pin-leaked
    memcpy_to_page(pins[0], 0, b"header")
    unpin_user_pages_dirty_lock(pins, make_dirty=True)
    return 0


def raise_on_a_bad_header(owner: VaddrPin, addr: int) -> bytes:
    pins = vaddr_pin_pages(addr, 1, 0, owner)
    header = memcpy_from_page(pins[0], 0, 4)
    if header != b"HDR0":
        raise KernelError(errno.EPROTO, "bad header")  # balance: pin-leaked
    unpin_user_pages(pins)
    return header


def handler_returns_without_unpinning(owner: VaddrPin, addr: int, backing: MM) -> int:
    pins = vaddr_pin_pages(addr, 2, FOLL_WRITE, owner)
    try:
        backing.write(addr, b"sync")
    except KernelError as e:
        return -(e.errno or errno.EIO)  # balance: pin-leaked
    unpin_user_pages_dirty_lock(pins, make_dirty=True)
    return 0


def returns_from_inside_try_finally_that_does_not_release(owner: VaddrPin, addr: int, log: list[str]) -> int:
    bvec = get_user_bvec(addr, 100, FOLL_WRITE, owner)
    try:
        if not bvec.length:
            return 0  # balance: pin-leaked
        bvec[0].write(0, b"x")
    finally:
        log.append("done")
    put_user_bvec(bvec, make_dirty=True)
    return 1


def discarded(owner: VaddrPin, addr: int) -> None:
    vaddr_pin_pages(addr, 1, 0, owner)  # balance: pin-leaked


def overwritten(owner: VaddrPin, addr: int) -> None:
    pins = vaddr_pin_pages(addr, 1, 0, owner)
    pins = vaddr_pin_pages(addr + PAGE_SIZE, 1, 0, owner)  # balance: pin-leaked
    unpin_user_pages(pins)


def only_part_released(owner: VaddrPin, addr: int) -> bytes:
    pins = vaddr_pin_pages(addr, 4, 0, owner)
    data = pins[0].read(0, 8)
    unpin_user_pages(pins[:1])
    return data  # balance: pin-leaked


def the_none_branch_is_fine_but_the_other_is_not(backing: MM, addr: int) -> int:
    vma = backing.find_vma(addr)
    assert vma is not None
    page = follow_page(vma, addr)
    if page is None:
        return -errno.EFAULT
    return page.pfn  # balance: pin-leaked


def kernel_page_leaks_when_the_copy_fails(owner: VaddrPin, addr: int) -> bytes:
    bounce = alloc_page()
    try:
        with vaddr_pin_pages(addr, 1, 0, owner) as pins:
            memcpy_to_page(bounce, 0, pins[0].read(0, 64))
    except KernelError:
        return b""  # balance: pin-leaked
    data = memcpy_from_page(bounce, 0, 64)
    put_page(bounce)
    return data


def match_case_returns_early(owner: VaddrPin, addr: int, op: str) -> int:
    bvec = get_user_bvec(addr, 64, FOLL_WRITE, owner)
    match op:
        case "read":
            data = bvec[0].read(0, 4)
        case "probe":
            return bvec.nr_pages  # balance: pin-leaked
        case _:
            data = b""
    put_user_bvec(bvec, make_dirty=False)
    return len(data)


async def async_handler_forgets_the_pins(owner: VaddrPin, addr: int, backing: MM) -> None:
    pins = vaddr_pin_pages(addr, 1, FOLL_WRITE, owner)
    try:
        await _device_write(backing, addr)
    except KernelError:
        return  # balance: pin-leaked
    unpin_user_pages(pins)


async def _device_write(backing: MM, addr: int) -> None:
    backing.write(addr, b"irq")


def generator_yields_data_not_the_pins(owner: VaddrPin, addr: int) -> Iterator[bytes]:
    pins = vaddr_pin_pages(addr, 2, 0, owner)
    for pin in pins:
        yield pin.read(0, 16)  # balance: pin-leaked


def wrapper_result_dropped(owner: VaddrPin, addr: int) -> None:
    _pin_for_dma(owner, addr)  # balance: pin-leaked


def _pin_for_dma(owner: VaddrPin, addr: int) -> PinnedPages[Write]:
    return vaddr_pin_pages(addr, 2, FOLL_WRITE, owner)


def owner_keeps_them_when_busy(pins: Owned[PinnedPages[Write]], busy: bool) -> None:
    """Marked as taking the pins, so every path must release them."""
    if busy:
        return  # balance: pin-leaked
    unpin_user_pages(pins)


def returns_the_pfns_not_the_pages(mm: MM, start: int) -> list[int]:
    pages = get_user_pages_remote(mm, start, 4, 0)
    return [page.pfn for page in pages]  # balance: pin-leaked
