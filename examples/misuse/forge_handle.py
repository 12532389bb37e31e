"""Forging a handle without its factory: ``__new__``, a virtual subclass,
``__class__`` assignment, a subclass.

Each makes an object that passes for a pin (or makes a pin pass for a kernel
page, so isinstance() sends it to put_page()). Handles come only from
vaddr_pin_pages(), get_user_bvec(), alloc_page() and sg_alloc_table*().
"""

from pinapi import (
    FOLL_WRITE, MM, KernelPage, PinnedPage, PinnedPages, VaddrPin, Write, alloc_page, put_page, vaddr_pin_pages,
)  # fmt: skip


def new_a_pinned_page(mm: MM, buf: int) -> None:
    PinnedPage.__new__(PinnedPage)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def new_a_pin_batch(mm: MM, buf: int) -> None:
    PinnedPages.__new__(PinnedPages)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def register_a_pin_as_a_kernel_page(mm: MM, buf: int) -> None:
    KernelPage.register(PinnedPage)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def reclass_a_pin(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 1, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        pins[0].__class__ = KernelPage  # type: ignore[assignment, misc]  # pyright: ignore[reportAttributeAccessIssue]


def reclass_a_kernel_page(mm: MM, buf: int) -> None:
    page = alloc_page()
    try:
        page.__class__ = PinnedPage  # type: ignore[assignment, misc]  # pyright: ignore[reportAttributeAccessIssue]
    finally:
        put_page(page)


def subclass_a_pin(mm: MM, buf: int) -> None:
    class FakePin(PinnedPage[Write]):  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues]
        pass

    del FakePin
