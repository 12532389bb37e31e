"""radeon userptr TTMs: the GPU reads and writes a user buffer while the TTM
is bound; an optional MMU notifier unbinds it on invalidate.

drivers/gpu/drm/radeon/radeon_ttm.c: radeon_ttm_tt_pin_userptr() loops
``get_user_pages(userptr, n, write ? FOLL_WRITE : 0, pages)``, builds an sg
table and DMA-maps it; radeon_ttm_tt_unpin_userptr() walks the sg:
``set_page_dirty()`` unless read-only, ``mark_page_accessed()``,
``put_page()``; the error path release_pages()'d what it had.

Case 3 by the notifier, but the GPU writes page data, which the contract
gives only to a pin: here a pin without FOLL_LONGTERM (the notifier bounds
it). This is the call site whose 2020 review (Daniel Vetter: "not case 2 ...
has a mmu notifier") led to case 5 being added to pin_user_pages.rst. In
6.12.117 radeon_ttm_tt_pin_userptr() still uses get_user_pages()
(release_pages() on error) and radeon_ttm_tt_unpin_userptr() still
set_page_dirty()s, mark_page_accessed()s and put_page()s.

Short result: the kernel loop re-asks for the rest; an error releases the
pages got so far. All-or-nothing here.
"""

from typing import Final

from pinapi import (
    FOLL_WRITE, MaybeWrite, PAGE_SIZE, PinnedPage, SgTable, VaddrPin, for_each_sg,
    sg_alloc_table_from_pages, sg_free_table, sg_page, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import stamp, user_buffer

SUBSYSTEM: Final = "drm/radeon"
KERNEL_FILES: Final = ("drivers/gpu/drm/radeon/radeon_ttm.c",)
FUNCTIONS: Final = ("radeon_ttm_tt_pin_userptr", "radeon_ttm_tt_unpin_userptr")
CASE: Final = 1
API: Final = "pin"
CONTAINER: Final = "scatterlist"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = "case 3 by its notifier, but the GPU writes data: pinned here; 6.12.117 still uses get_user_pages"
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"drivers/gpu/drm/radeon/radeon_ttm.c": ("radeon_ttm_tt_pin_userptr", "radeon_ttm_tt_unpin_userptr")}

RADEON_GEM_USERPTR_READONLY: Final = 1


def radeon_ttm_tt_pin_userptr(userptr: int, num_pages: int, flags: int,
                              owner: VaddrPin) -> SgTable[PinnedPage[MaybeWrite]]:  # fmt: skip
    write = not flags & RADEON_GEM_USERPTR_READONLY
    pages = vaddr_pin_pages(userptr, num_pages, FOLL_WRITE if write else 0, owner)
    return sg_alloc_table_from_pages(pages, 0, num_pages * PAGE_SIZE)


def radeon_ttm_tt_unpin_userptr(sg: SgTable[PinnedPage[MaybeWrite]], flags: int) -> None:
    write = not flags & RADEON_GEM_USERPTR_READONLY
    unpin_user_pages_dirty_lock([sg_page(entry) for entry in for_each_sg(sg)], make_dirty=write)
    sg_free_table(sg)


def scenario() -> None:
    with user_buffer("radeon", 3) as buf:
        sg = radeon_ttm_tt_pin_userptr(buf.addr, 3, 0, buf.owner)
        for i, entry in enumerate(for_each_sg(sg)):
            sg_page(entry).for_write().write(0, stamp(b"r600 blit", i))
        radeon_ttm_tt_unpin_userptr(sg, 0)
        buf.expect_stamped(b"r600 blit", range(3))
