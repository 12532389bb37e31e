"""FOLL_LONGTERM on a plain reference: long-term means pinned.

FOLL_LONGTERM requires FOLL_PIN (is_valid_gup_args: -EINVAL). RDMA-style
long-lived DMA uses vaddr_pin_pages(..., FOLL_LONGTERM, ...).
"""

from pinapi import FOLL_LONGTERM, FOLL_WRITE, MM, follow_page, get_user_pages_remote, put_page


def longterm_get_user_pages(mm: MM, buf: int) -> None:
    pages = get_user_pages_remote(mm, buf, 1, FOLL_LONGTERM)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    put_page(pages[0])


def longterm_write_get_user_pages(mm: MM, buf: int) -> None:
    pages = get_user_pages_remote(mm, buf, 1, FOLL_WRITE | FOLL_LONGTERM)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    put_page(pages[0])


def longterm_follow_page(mm: MM, buf: int) -> None:
    vma = mm.find_vma(buf)
    assert vma is not None
    page = follow_page(vma, buf, FOLL_LONGTERM)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    if page is not None:
        put_page(page)
