"""execve() argument pages: argv and envp are copied into the top of the new
program's stack before it runs.

fs/exec.c: get_arg_page() takes the new mm's stack page with
``get_user_pages_remote(current, bprm->mm, pos, 1, FOLL_FORCE | (write ?
FOLL_WRITE : 0), &page, NULL, NULL)``; copy_strings() kmaps it and copies the
strings in; put_arg_page() put_page()s it.

The CPU writes page data, which is case 5 by the letter of the rst. The
kernel kept a plain reference: the mm is not yet visible to anyone, so
nothing can race with the copy. In 6.12.117 get_arg_page() calls
get_user_pages_remote() with FOLL_WRITE for a write and no FOLL_FORCE, and
put_arg_page() is put_page(). The contract lets only a pin carry data, so
here a short FOLL_WRITE pin on the new mm, without FOLL_FORCE as in 6.12.117,
written with ``memcpy_to_page()``.

Short result: one page; none is E2BIG / EFAULT.
"""

from typing import Final

from pinapi import MM, PAGE_SIZE, FOLL_WRITE, VaddrPin, memcpy_to_page, unpin_user_page, vaddr_pin_pages

from ._user import user_buffer

SUBSYSTEM: Final = "fs (exec)"
KERNEL_FILES: Final = ("fs/exec.c",)
FUNCTIONS: Final = ("get_arg_page", "put_arg_page", "copy_strings")
CASE: Final = 5
API: Final = "pin"
CONTAINER: Final = "single page"
RELEASE: Final = "unpin_user_page"
JUDGEMENT: Final = (
    "case 5 by the letter; the kernel kept FOLL_GET (get_user_pages_remote() in 6.12.117) since the new "
    "mm is private to execve"
)
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"fs/exec.c": ("get_arg_page", "put_arg_page", "copy_strings")}


def copy_strings(bprm_mm: MM, p: int, strings: list[bytes]) -> int:
    """Copy NUL-terminated *strings* to end at *p*, last first; returns the new p."""
    for s in reversed(strings):
        data = s + b"\0"
        p -= len(data)
        pos = p
        while data:
            offset = pos % PAGE_SIZE
            (page,) = vaddr_pin_pages(pos - offset, 1, FOLL_WRITE, VaddrPin(mm=bprm_mm))
            n = min(len(data), PAGE_SIZE - offset)
            memcpy_to_page(page, offset, data[:n])
            unpin_user_page(page)  # put_arg_page()
            data, pos = data[n:], pos + n
    return p


def scenario() -> None:
    with user_buffer("new program", 2, fill=b"\0") as stack:
        top = stack.page(2)
        argv = [b"/bin/sh", b"-c", b"x" * (PAGE_SIZE - 4)]  # the long one straddles the pages
        p = copy_strings(stack.mm, top, argv)
        assert stack.mm.read(p, top - p) == b"\0".join(argv) + b"\0"
