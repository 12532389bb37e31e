"""Balance gallery, correct code: a handle handed on is not leaked. Returned
to the caller, stored in an object or a registry that outlives the call,
managed by ``with`` or an ``ExitStack``, passed to a function that takes
ownership (marked ``Owned[...]``, or releasing it on every path). Nothing
here may be reported."""

from collections.abc import Generator
from contextlib import ExitStack, contextmanager
from typing import Annotated, TypeVar

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, PAGE_SIZE, PinnedBvec, PinnedPage, PinnedPages, Read, SgTable, VaddrPin, Write,
    get_user_bvec, put_user_bvec, sg_alloc_table_from_pages, unpin_user_pages, unpin_user_pages_dirty_lock,
    vaddr_pin_pages,
)  # fmt: skip

_T = TypeVar("_T")

#: A parameter the function takes ownership of: it must release or hand it on.
Owned = Annotated[_T, "pinapi.owned"]

#: Module-level registry: pins registered here live until deregistered.
REGISTERED: dict[int, PinnedPages[Read]] = {}


def pin_for_the_caller(owner: VaddrPin, addr: int, nr_pages: int) -> PinnedPages[Write]:
    return vaddr_pin_pages(addr, nr_pages, FOLL_WRITE, owner)


def caller_releases_what_the_wrapper_returned(owner: VaddrPin, addr: int) -> None:
    pins = pin_for_the_caller(owner, addr, 2)
    pins[0].write(0, b"wrapped")
    unpin_user_pages_dirty_lock(pins, make_dirty=True)


class MemoryRegion:
    """Stored in the object: released by ``deregister()``, not by the constructor."""

    def __init__(self, owner: VaddrPin, addr: int, nr_pages: int) -> None:
        pins = vaddr_pin_pages(addr, nr_pages, FOLL_WRITE | FOLL_LONGTERM, owner)
        self.pins = pins
        self.sgt: SgTable[PinnedPage[Write]] = sg_alloc_table_from_pages(pins, 0, nr_pages * PAGE_SIZE)

    def deregister(self) -> None:
        unpin_user_pages_dirty_lock(self.pins, make_dirty=True)


def register(owner: VaddrPin, addr: int, key: int) -> None:
    REGISTERED[key] = vaddr_pin_pages(addr, 1, FOLL_LONGTERM, owner)


def managed_by_with(owner: VaddrPin, addr: int) -> bytes:
    with vaddr_pin_pages(addr, 2, 0, owner) as pins:
        if not pins[0].read(0, 1):
            return b""
        return pins[1].read(0, 8)


def managed_by_an_exit_stack(owner: VaddrPin, addrs: list[int]) -> list[bytes]:
    with ExitStack() as stack:
        bvecs = [stack.enter_context(get_user_bvec(a, 64, 0, owner)) for a in addrs]
        return [b[0].read(0, 8) for b in bvecs]


def released_by_an_exit_stack_callback(owner: VaddrPin, addr: int) -> bytes:
    with ExitStack() as stack:
        pins = vaddr_pin_pages(addr, 1, FOLL_WRITE, owner)
        stack.callback(unpin_user_pages_dirty_lock, pins, True)
        pins[0].write(0, b"cb")
        return pins[0].read(0, 2)


def complete(pins: Owned[PinnedPages[Write]], dirty: bool) -> None:
    """Marked: takes the pins; every path releases them."""
    unpin_user_pages_dirty_lock(pins, make_dirty=dirty)


def handed_to_a_marked_owner(owner: VaddrPin, addr: int) -> None:
    pins = vaddr_pin_pages(addr, 1, FOLL_WRITE, owner)
    pins[0].write(0, b"io")
    complete(pins, dirty=True)


def end_io(bvec: PinnedBvec[Write], error: bool) -> None:
    """Unmarked, but releases the bvec on every path: a call takes it."""
    if error:
        put_user_bvec(bvec, make_dirty=False)
        return
    put_user_bvec(bvec, make_dirty=True)


def handed_to_an_inferred_owner(owner: VaddrPin, addr: int, error: bool) -> None:
    bvec = get_user_bvec(addr, PAGE_SIZE, FOLL_WRITE, owner)
    end_io(bvec, error)


def kept_in_a_list_that_is_returned(owner: VaddrPin, addrs: list[int]) -> list[PinnedPages[Read]]:
    held: list[PinnedPages[Read]] = []
    for addr in addrs:
        held.append(vaddr_pin_pages(addr, 1, 0, owner))
    return held


def every_chunk_released(owner: VaddrPin, addrs: list[int]) -> None:
    chunks = kept_in_a_list_that_is_returned(owner, addrs)
    for chunk in chunks:
        unpin_user_pages(chunk)


@contextmanager
def pinned(owner: VaddrPin, addr: int, nr_pages: int) -> Generator[PinnedPages[Write]]:
    """A context-manager factory: yields the pins and releases them after."""
    pins = vaddr_pin_pages(addr, nr_pages, FOLL_WRITE, owner)
    try:
        yield pins
    finally:
        unpin_user_pages_dirty_lock(pins, make_dirty=True)


def released_through_a_dict(owner: VaddrPin, addrs: list[int]) -> None:
    by_addr: dict[int, PinnedPages[Read]] = {}
    for addr in addrs:
        by_addr[addr] = vaddr_pin_pages(addr, 1, 0, owner)
    for pins in by_addr.values():
        unpin_user_pages(pins)
