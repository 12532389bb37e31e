"""Constructing a handle directly instead of taking it from its factory.

A handle made by hand stands for no pin, table or kernel page. PinnedPage and
PinnedPages come from vaddr_pin_pages(), KernelPage from alloc_page(), sg
tables from sg_alloc_table*(); a Page is a reference GUP took, and one made by
hand is a reference nobody took.
"""

from pinapi import (
    MM, KernelPage, Page, PinnedPage, PinnedPages, ScatterList, SgTable, Write, get_user_pages_remote, put_page,
)  # fmt: skip


def construct_a_pinned_page(mm: MM, buf: int) -> None:
    PinnedPage()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def construct_a_pin_batch(mm: MM, buf: int) -> None:
    PinnedPages()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def construct_a_kernel_page(mm: MM, buf: int) -> None:
    KernelPage()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def construct_an_sg_table(mm: MM, buf: int) -> None:
    SgTable[PinnedPage[Write]]()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def construct_an_sg_entry(mm: MM, buf: int) -> None:
    ScatterList[PinnedPage[Write]]()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def fabricate_a_plain_page(mm: MM, buf: int) -> None:
    (page,) = get_user_pages_remote(mm, buf, 1, 0)
    put_page(page)
    again = Page(page.folio, 0)  # type: ignore[call-arg, arg-type]  # pyright: ignore[reportCallIssue]
    put_page(again)  # drops the mapping's own reference
