"""The GUP benchmark: time taking and dropping references on a large range.

mm/gup_benchmark.c: __gup_benchmark_ioctl() walks the range
``nr_pages_per_call`` at a time with get_user_pages_fast() or
get_user_pages() (optionally FOLL_LONGTERM), then put_page()s the whole array
and reports both times.

Case 4: test code that touches no page data: plain references, released with
``release_pages()``. (In 6.12.117 the file is mm/gup_test.c: __gup_test_ioctl()
also times pins, PIN_FAST_BENCHMARK and PIN_LONGTERM_BENCHMARK, released with
unpin_user_pages(), and put_back_pages() put_page()s the GUP test's pages one
by one. The long-term variant of the 2019 get test is a pin now, so it is not
modelled here.)

Short result: partial batches are accepted and the walk goes on; a call that
gets nothing ends it.
"""

import time
from typing import Final

from pinapi import MM, PAGE_SIZE, FOLL_WRITE, KernelError, Page, get_user_pages_remote, release_pages

from ._user import user_buffer

SUBSYSTEM: Final = "mm"
KERNEL_FILES: Final = ("mm/gup_benchmark.c",)
FUNCTIONS: Final = ("__gup_benchmark_ioctl",)
CASE: Final = 4
API: Final = "plain reference"
CONTAINER: Final = "array"
RELEASE: Final = "release_pages"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"mm/gup_benchmark.c": (), "mm/gup_test.c": ("__gup_test_ioctl", "put_back_pages")}


def gup_benchmark(mm: MM, addr: int, size: int, nr_pages_per_call: int, write: bool) -> tuple[int, float, float]:
    """(pages got, get time, put time) for GUP_FAST_BENCHMARK."""
    pages: list[Page] = []
    start = time.perf_counter()
    next_addr = addr
    while next_addr < addr + size:
        nr = min(nr_pages_per_call, (addr + size - next_addr) // PAGE_SIZE)
        try:
            got = get_user_pages_remote(mm, next_addr, nr, FOLL_WRITE if write else 0)
        except KernelError:
            break
        pages += got
        next_addr += len(got) * PAGE_SIZE
    get_time = time.perf_counter() - start
    start = time.perf_counter()
    release_pages(pages)
    return len(pages), get_time, time.perf_counter() - start


def scenario() -> None:
    with user_buffer("gup_benchmark", 16) as buf:
        got, get_time, put_time = gup_benchmark(buf.mm, buf.addr, 16 * PAGE_SIZE, 5, write=True)
        assert got == 16 and get_time >= 0 and put_time >= 0
        assert gup_benchmark(buf.mm, buf.page(12), 8 * PAGE_SIZE, 3, write=False)[0] == 4  # past the mapping
        buf.expect_untouched(range(16))
