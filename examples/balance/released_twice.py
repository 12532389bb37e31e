"""Balance gallery: a handle that reaches a release call twice on some path.
An error path releases and falls through to the release after it, a handler
releases what ``finally`` releases again, a callee releases what its caller
then releases."""

from pinapi import (
    FOLL_WRITE, KernelError, MM, PinnedPages, VaddrPin, Write, get_user_bvec, get_user_pages_remote, put_page,
    put_user_bvec, release_pages, unpin_user_pages, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip


def error_path_falls_through(owner: VaddrPin, addr: int, ok: bool) -> None:
    pins = vaddr_pin_pages(addr, 2, FOLL_WRITE, owner)
    if not ok:
        unpin_user_pages(pins)
    unpin_user_pages_dirty_lock(pins, make_dirty=ok)  # balance: pin-released-twice


def released_in_the_body_and_in_finally(owner: VaddrPin, addr: int) -> bytes:
    pins = vaddr_pin_pages(addr, 1, 0, owner)
    try:
        data = pins[0].read(0, 8)
        unpin_user_pages(pins)
    finally:
        unpin_user_pages(pins)  # balance: pin-released-twice
    return data


def handler_releases_then_the_normal_path_does(owner: VaddrPin, addr: int, backing: MM) -> None:
    pins = vaddr_pin_pages(addr, 1, FOLL_WRITE, owner)
    try:
        backing.write(addr, b"x")
    except KernelError:
        unpin_user_pages(pins)
    unpin_user_pages_dirty_lock(pins, make_dirty=True)  # balance: pin-released-twice


def the_callee_already_released_them(owner: VaddrPin, addr: int) -> None:
    pins = vaddr_pin_pages(addr, 2, FOLL_WRITE, owner)
    _finish_dma(pins)
    unpin_user_pages(pins)  # balance: pin-released-twice


def _finish_dma(pins: PinnedPages[Write]) -> None:
    pins[0].write(0, b"done")
    unpin_user_pages_dirty_lock(pins, make_dirty=True)


def loop_put_then_release_pages(mm: MM, start: int) -> None:
    pages = get_user_pages_remote(mm, start, 4, 0)
    for page in pages:
        put_page(page)
    release_pages(pages)  # balance: pin-released-twice


def released_on_every_retry(owner: VaddrPin, addr: int, tries: int) -> None:
    bvec = get_user_bvec(addr, 4096, FOLL_WRITE, owner)
    while True:
        put_user_bvec(bvec, make_dirty=True)  # balance: pin-released-twice
        tries -= 1
        if tries <= 0:
            break


def through_an_alias(mm: MM, start: int) -> None:
    pages = get_user_pages_remote(mm, start, 1, 0)
    same = pages
    release_pages(pages)
    release_pages(same)  # balance: pin-released-twice
