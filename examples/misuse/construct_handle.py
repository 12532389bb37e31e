"""Constructing a handle directly instead of taking it from its factory.

A handle made by hand stands for no pin, table or kernel page. PinnedPage and
PinnedPages come from vaddr_pin_pages(), KernelPage from alloc_page(), sg
tables from sg_alloc_table*().
"""

from pinapi import MM, KernelPage, PinnedPage, PinnedPages, ScatterList, SgTable


def construct_a_pinned_page(mm: MM, buf: int) -> None:
    PinnedPage()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def construct_a_pin_batch(mm: MM, buf: int) -> None:
    PinnedPages()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def construct_a_kernel_page(mm: MM, buf: int) -> None:
    KernelPage()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def construct_an_sg_table(mm: MM, buf: int) -> None:
    SgTable[PinnedPage]()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def construct_an_sg_entry(mm: MM, buf: int) -> None:
    ScatterList[PinnedPage]()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
