"""Flags the checker cannot follow, or FOLL_LONGTERM, to the plain-reference calls.

gup_flags built up from 0 are an int to mypy, pyright and pyrefly: the pin API
takes them (the run time checks every bit), the plain-reference calls do not,
since they must not get FOLL_LONGTERM. Pass FOLL_WRITE, FOLL_FORCE or 0 as
named constants or a conditional expression; follow_page() takes FOLL_WRITE
and FOLL_FORCE.
"""

from pinapi import FOLL_FORCE, FOLL_LONGTERM, MM, follow_page, get_user_pages_remote, put_page


def built_up_flags_to_get_user_pages(mm: MM, buf: int) -> None:
    gup_flags = 0
    gup_flags |= FOLL_LONGTERM
    pages = get_user_pages_remote(mm, buf, 1, gup_flags)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    put_page(pages[0])


def built_up_flags_to_follow_page(mm: MM, buf: int) -> None:
    vma = mm.find_vma(buf)
    assert vma is not None
    foll_flags = 0
    foll_flags |= FOLL_LONGTERM
    page = follow_page(vma, buf, foll_flags)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    if page is not None:
        put_page(page)


def longterm_force_to_follow_page(mm: MM, buf: int) -> None:
    vma = mm.find_vma(buf)
    assert vma is not None
    page = follow_page(vma, buf, FOLL_FORCE | FOLL_LONGTERM)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    if page is not None:
        put_page(page)
