"""Balance gallery: loops that leave pins or references held. A loop breaks
out early, skips the release with ``continue``, releases a partial result
only in part, or releases an element only on some iterations (itself or
through a helper that releases the element at an index)."""

from pinapi import (
    FOLL_WRITE, MM, PAGE_SIZE, KernelError, Page, VaddrPin, get_user_bvec, get_user_pages_remote, put_page,
    put_user_bvec, set_page_dirty_lock, unpin_user_pages, vaddr_pin_pages,
)  # fmt: skip


def continue_skips_the_unpin(owner: VaddrPin, addrs: list[int], skip: set[int]) -> int:
    done = 0
    for addr in addrs:
        pins = vaddr_pin_pages(addr, 1, 0, owner)  # balance: pin-leaked
        if addr in skip:
            continue
        done += len(pins[0].read(0, 8))
        unpin_user_pages(pins)
    return done  # balance: pin-leaked


def break_leaves_the_rest_of_a_partial_result(mm: MM, start: int) -> int:
    pages = get_user_pages_remote(mm, start, 8, 0)
    pfn = 0
    for page in pages:
        if page.pfn == 0:
            break
        pfn = page.pfn
        put_page(page)
    return pfn  # balance: pin-leaked


def dirty_pages_released_only(mm: MM, start: int, dirty: bool) -> None:
    pages = get_user_pages_remote(mm, start, 4, 0)
    for page in pages:
        if dirty:  # balance: pin-leaked
            set_page_dirty_lock(page)
            put_page(page)


def indexed_loop_stops_one_short(mm: MM, start: int) -> None:
    pages = get_user_pages_remote(mm, start, 4, FOLL_WRITE)
    for i in range(len(pages)):
        if i == len(pages) - 1:
            break
        put_page(pages[i])  # balance: pin-leaked


def handler_breaks_out_with_this_iteration_pinned(owner: VaddrPin, addr: int, sink: MM) -> int:
    done = 0
    while done < 4:
        bvec = get_user_bvec(addr + done * PAGE_SIZE, PAGE_SIZE, 0, owner)
        try:
            sink.write(addr, bvec[0].read(0, 8))
        except KernelError:
            break
        put_user_bvec(bvec, make_dirty=False)
        done += 1
    return done  # balance: pin-leaked


def nested_chunks_break_from_the_inner_loop(mm: MM, starts: list[int]) -> None:
    for start in starts:
        chunk = get_user_pages_remote(mm, start, 2, 0)  # balance: pin-leaked
        for page in chunk:
            if page.index < 0:
                break
            put_page(page)  # balance: pin-leaked


def _put_one(pages: list[Page], i: int) -> None:
    put_page(pages[i])


def helper_loop_breaks_at_a_bad_page(mm: MM, start: int) -> int:
    pages = get_user_pages_remote(mm, start, 4, 0)
    for i in range(len(pages)):
        if pages[i].pfn == 0:
            break
        _put_one(pages, i)
    return len(pages)  # balance: pin-leaked


def helper_loop_stops_one_short(mm: MM, start: int) -> int:
    pages = get_user_pages_remote(mm, start, 4, FOLL_WRITE)
    for i in range(len(pages) - 1):
        _put_one(pages, i)
    return len(pages)  # balance: pin-leaked
