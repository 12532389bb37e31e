"""Before (and today): mm/memory.c __access_remote_vm(). Case 5 by the rst's
text; release shapes single page and dirty-lock.

A ptrace poke writes through a plain reference: mypy ``arg-type``, pyright
``reportArgumentType``. After: examples/drivers/access_remote_vm.py.
"""

from typing import Final

from pinapi import FOLL_FORCE, FOLL_WRITE, MM, get_user_pages_remote, memcpy_to_page, put_page, set_page_dirty_lock

AFTER: Final = "access_remote_vm"
RELEASE_SHAPES: Final = ("single page", "dirty-lock")


def ptrace_poke(mm: MM, addr: int) -> None:
    (page,) = get_user_pages_remote(mm, addr, 1, FOLL_FORCE | FOLL_WRITE)
    memcpy_to_page(page, 0, b"\xcc")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    set_page_dirty_lock(page)
    put_page(page)
