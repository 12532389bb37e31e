"""ELF core dumps: every dumpable page of the dying process is copied into
the core file, one page at a time.

fs/binfmt_elf.c: elf_core_dump() and fs/binfmt_elf_fdpic.c:
elf_fdpic_dump_segments() call ``get_dump_page(addr)`` (``__get_user_pages``
with FOLL_FORCE | FOLL_DUMP | FOLL_GET), kmap the page, dump_emit() it and
put_page() it; no page leaves a hole (dump_skip()).

The CPU reads the page's data, for an instant. pin_user_pages.rst names
writes (case 5), not reads, and the kernel kept a plain reference: in
6.12.117 elf_core_dump() and elf_fdpic_core_dump() call dump_user_range()
(fs/coredump.c), which takes each page with get_dump_page() (still FOLL_FORCE
| FOLL_DUMP | FOLL_GET), copies it into a bounce page and put_page()s it.
The contract gives data access of either
direction only to a pin, so here a short read-only pin with FOLL_FORCE.

Short result: one page; none is a hole in the dump.
"""

from typing import Final

from pinapi import (
    MM, PAGE_SIZE, FOLL_FORCE, KernelError, VaddrPin, memcpy_from_page, unpin_user_page, vaddr_pin_pages,
)  # fmt: skip

from ._user import user_buffer

SUBSYSTEM: Final = "fs (core dump)"
KERNEL_FILES: Final = ("fs/binfmt_elf.c", "fs/binfmt_elf_fdpic.c")
FUNCTIONS: Final = ("elf_core_dump", "elf_fdpic_dump_segments", "get_dump_page")
CASE: Final = 5
API: Final = "pin"
CONTAINER: Final = "single page"
RELEASE: Final = "unpin_user_page"
JUDGEMENT: Final = "a CPU read, which the rst cases do not name; the kernel kept get_dump_page() + put_page()"
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {
    "fs/binfmt_elf.c": ("elf_core_dump",),
    "fs/binfmt_elf_fdpic.c": ("elf_fdpic_core_dump",),
    "fs/coredump.c": ("dump_user_range",),
    "mm/gup.c": ("get_dump_page",),
}


def dump_user_range(mm: MM, start: int, length: int) -> list[bytes | None]:
    """One entry per page: its data, or None for a hole (dump_skip())."""
    core: list[bytes | None] = []
    for addr in range(start, start + length, PAGE_SIZE):
        try:
            (page,) = vaddr_pin_pages(addr, 1, FOLL_FORCE, VaddrPin(mm=mm))
        except KernelError:
            core.append(None)
            continue
        core.append(memcpy_from_page(page, 0, PAGE_SIZE))
        unpin_user_page(page)
    return core


def scenario() -> None:
    with user_buffer("segfaulting", 2, fill=b"heap") as buf:
        core = dump_user_range(buf.mm, buf.addr, 3 * PAGE_SIZE)
        assert [c[:4] if c else c for c in core] == [b"heap", b"heap", None]
        buf.expect_untouched(range(2))
