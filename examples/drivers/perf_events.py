"""perf sample physical addresses: PERF_SAMPLE_PHYS_ADDR turns a sampled user
virtual address into a physical one.

kernel/events/core.c: perf_virt_to_phys() takes the page with
``__get_user_pages_fast(virt, 1, 0, &p)`` (pagefault_disable'd), computes
``page_to_phys(p) + offset`` and put_page()s it at once.

Case 4: only ``struct page`` (its pfn) is used: a plain reference, as the
kernel still does (in 6.12.117 perf_virt_to_phys() calls
get_user_page_fast_only() with page faults disabled, then put_page()).

Short result: no page gives physical address 0.
"""

from typing import Final

from pinapi import MM, PAGE_SIZE, KernelError, follow_page, get_user_pages_remote, put_page

from ._user import user_buffer

SUBSYSTEM: Final = "kernel/events"
KERNEL_FILES: Final = ("kernel/events/core.c",)
FUNCTIONS: Final = ("perf_virt_to_phys",)
CASE: Final = 4
API: Final = "plain reference"
CONTAINER: Final = "single page"
RELEASE: Final = "put_page"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"kernel/events/core.c": ("perf_virt_to_phys",)}


def perf_virt_to_phys(mm: MM, virt: int) -> int:
    offset = virt % PAGE_SIZE
    try:
        (page,) = get_user_pages_remote(mm, virt - offset, 1, 0)
    except KernelError:
        return 0
    phys = page.pfn * PAGE_SIZE + offset
    put_page(page)
    return phys


def scenario() -> None:
    with user_buffer("perf record", 1) as buf:
        vma = buf.mm.find_vma(buf.addr)
        assert vma is not None
        page = follow_page(vma, buf.addr)
        assert page is not None
        assert perf_virt_to_phys(buf.mm, buf.addr + 0x123) == page.pfn * PAGE_SIZE + 0x123
        put_page(page)
        assert perf_virt_to_phys(buf.mm, buf.page(1)) == 0
        buf.expect_untouched([0])
