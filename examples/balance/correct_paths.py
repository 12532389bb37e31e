"""Balance gallery, correct code: every path releases exactly once. Error
paths that unwind, ``finally``, the kernel's checks of a GUP result, partial
results released page by page, loops that take and release per iteration.
Nothing here may be reported."""

import errno

from pinapi import (
    FOLL_WRITE, KernelError, MM, PAGE_SIZE, PinnedPages, VaddrPin, Write, alloc_page, follow_page,
    get_user_bvec, get_user_pages_remote, memcpy_from_page, memcpy_to_page, put_page, put_user_bvec,
    release_pages, set_page_dirty_lock, unpin_user_pages, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip


def every_error_path_unwinds(owner: VaddrPin, addr: int, length: int) -> int:
    pins = vaddr_pin_pages(addr, 2, FOLL_WRITE, owner)
    if length > 2 * PAGE_SIZE:
        unpin_user_pages(pins)
        return -errno.EINVAL
    try:
        memcpy_to_page(pins[0], 0, b"payload")
    except KernelError as e:
        unpin_user_pages(pins)
        return -(e.errno or errno.EIO)
    unpin_user_pages_dirty_lock(pins, make_dirty=True)
    return 0


def released_in_finally(owner: VaddrPin, addr: int, sink: MM) -> bytes:
    bvec = get_user_bvec(addr, 128, 0, owner)
    try:
        data = bvec[0].read(0, 16)
        if not data:
            return b""
        sink.write(addr, data)
        return data
    finally:
        put_user_bvec(bvec, make_dirty=False)


def nothing_held_when_the_pin_fails(owner: VaddrPin, addr: int) -> bytes:
    try:
        pins = vaddr_pin_pages(addr, 1, 0, owner)
    except KernelError:
        return b""
    data = pins[0].read(0, 4)
    unpin_user_pages(pins)
    return data


def empty_partial_result(mm: MM, start: int, nr_pages: int) -> int:
    pages = get_user_pages_remote(mm, start, nr_pages, 0)
    if not pages:
        return -errno.EFAULT
    n = len(pages)
    release_pages(pages)
    return n


def short_partial_result_put_page_by_page(mm: MM, start: int, nr_pages: int) -> int:
    pages = get_user_pages_remote(mm, start, nr_pages, FOLL_WRITE)
    if len(pages) < nr_pages:
        for page in pages:
            put_page(page)
        return -errno.EFAULT
    for page in pages:
        set_page_dirty_lock(page)
        put_page(page)
    return nr_pages


def released_by_index(mm: MM, start: int) -> None:
    pages = get_user_pages_remote(mm, start, 4, 0)
    for i in range(len(pages)):
        put_page(pages[i])


def unpin_one(pins: PinnedPages[Write], i: int) -> None:
    """Releases the element at *i* only: a loop over every index releases them all."""
    unpin_user_pages_dirty_lock([pins[i]], make_dirty=True)


def released_by_index_in_a_helper(owner: VaddrPin, addr: int) -> None:
    pins = vaddr_pin_pages(addr, 4, FOLL_WRITE, owner)
    for i in range(len(pins)):
        unpin_one(pins, i)


def written_then_released_in_a_helper(owner: VaddrPin, addr: int) -> None:
    pins = vaddr_pin_pages(addr, 2, FOLL_WRITE, owner)
    for i, pin in enumerate(pins):
        pin.write(0, b"done")
        unpin_one(pins, i)


def drained_with_pop(mm: MM, start: int) -> None:
    pages = get_user_pages_remote(mm, start, 4, 0)
    while pages:
        put_page(pages.pop())


def follow_page_checked_for_none(backing: MM, addr: int) -> int:
    vma = backing.find_vma(addr)
    if vma is None:
        return 0
    page = follow_page(vma, addr)
    if page is None:
        return 0
    pfn = page.pfn
    put_page(page)
    return pfn


def taken_and_released_per_iteration(owner: VaddrPin, addrs: list[int]) -> list[bytes]:
    out: list[bytes] = []
    for addr in addrs:
        try:
            (pin,) = vaddr_pin_pages(addr, 1, 0, owner)
        except KernelError:
            continue
        out.append(pin.read(0, 8))
        unpin_user_pages([pin])
    return out


def retried_until_it_pins(owner: VaddrPin, addr: int, tries: int) -> bytes:
    while True:
        try:
            bvec = get_user_bvec(addr, 64, 0, owner)
            break
        except KernelError:
            tries -= 1
            if tries <= 0:
                raise
    data = bvec[0].read(0, 8)
    put_user_bvec(bvec, make_dirty=False)
    return data


def each_case_releases(owner: VaddrPin, addr: int, op: str) -> bytes:
    pins = vaddr_pin_pages(addr, 1, FOLL_WRITE, owner)
    match op:
        case "write":
            pins[0].write(0, b"w")
            unpin_user_pages_dirty_lock(pins, make_dirty=True)
            return b""
        case _:
            data = pins[0].read(0, 1)
            unpin_user_pages(pins)
            return data


def bounce_buffer(owner: VaddrPin, addr: int) -> bytes:
    bounce = alloc_page()
    try:
        with vaddr_pin_pages(addr, 1, 0, owner) as pins:
            memcpy_to_page(bounce, 0, pins[0].read(0, 32))
        return memcpy_from_page(bounce, 0, 32)
    finally:
        put_page(bounce)


async def released_after_an_await(owner: VaddrPin, addr: int, sink: MM) -> None:
    pins = vaddr_pin_pages(addr, 1, 0, owner)
    try:
        await _flush(sink, addr, pins[0].read(0, 8))
    finally:
        unpin_user_pages(pins)


async def _flush(sink: MM, addr: int, data: bytes) -> None:
    sink.write(addr, data)


def the_first_page_early_the_rest_later(owner: VaddrPin, addr: int) -> None:
    pins = vaddr_pin_pages(addr, 4, 0, owner)
    unpin_user_pages(pins[:1])
    unpin_user_pages(p for p in pins if p.pinned)


def nested_handlers_unwind_in_reverse(owner: VaddrPin, addr: int, sink: MM) -> None:
    pins = vaddr_pin_pages(addr, 1, 0, owner)
    try:
        bvec = get_user_bvec(addr, 64, 0, owner)
        try:
            sink.write(addr, bvec[0].read(0, 8))
        except KernelError:
            put_user_bvec(bvec, make_dirty=False)
            raise
        put_user_bvec(bvec, make_dirty=False)
    except KernelError:
        unpin_user_pages(pins)
        raise
    unpin_user_pages(pins)
